"""A team with booked creators can be deleted: the creator foreign keys of bookings and posts are
checked at the end of the statement (NO ACTION) instead of at once (RESTRICT).

Deleting a team cascades to its creators and, through its campaigns, to their bookings and
posts. With RESTRICT, PostgreSQL refused the creators' deletion before the cascade through the
campaigns had removed the rows pointing at them (DeleteTeam answered 409). NO ACTION checks once
the whole statement is done, so the cascade succeeds, and deleting a creator who is still booked
is still refused (the roster service says so first, with a clear 409).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CREATOR_KEYS = (
    ("campaign_creators", "fk_campaign_creators_creator_id_creators"),
    ("posts", "fk_posts_creator_id_creators"),
)


def _recreate(ondelete: str | None) -> None:
    for table, name in _CREATOR_KEYS:
        op.drop_constraint(name, table, type_="foreignkey")
        op.create_foreign_key(name, table, "creators", ["creator_id"], ["id"], ondelete=ondelete)


def upgrade() -> None:
    _recreate(None)


def downgrade() -> None:
    _recreate("RESTRICT")
