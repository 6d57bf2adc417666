"""The queue's claim records the attempt: `saq_next_attempt(job)` reads a stored job's attempt
count so the claim can store it incremented, in the same statement that marks the job active.

SAQ's worker wrote every job a second time after claiming it, only to store `attempts + 1`
(and its worker id). The claim (app/queue/backend.py) now stores both itself. The function never
raises: a body that is not SAQ's JSON (or that PostgreSQL's jsonb refuses, such as a string
holding NUL) gives NULL, and for that job the worker records the attempt as SAQ does. So no
job's content can make a claim, and with it every job in the batch, fail.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION saq_next_attempt(job bytea) RETURNS integer
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        BEGIN
            RETURN coalesce((convert_from(job, 'UTF8')::jsonb ->> 'attempts')::integer, 0) + 1;
        EXCEPTION WHEN others THEN
            RETURN NULL;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION saq_next_attempt(bytea)")
