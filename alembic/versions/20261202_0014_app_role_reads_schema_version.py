"""Let the application role read `alembic_version`, so `/ready` can tell whether the schema is at
the code's head without owner credentials (read only: the role still cannot migrate).

`alembic_version` is created before revision 0001's default privileges, so it had no grant.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from app.db.migration_helpers import app_role

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(f"GRANT SELECT ON alembic_version TO {app_role()}")


def downgrade() -> None:
    op.execute(f"REVOKE SELECT ON alembic_version FROM {app_role()}")
