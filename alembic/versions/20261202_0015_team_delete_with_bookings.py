"""A team with booked creators can be deleted: the creator foreign keys of bookings and posts
become deferrable, and `DeleteTeam` defers them to the end of its transaction.

Deleting a team cascades to its creators and, through its campaigns, to their bookings and
posts. PostgreSQL runs each cascade as its own step and checked the creators' keys right after
the creators went, before the cascade through the campaigns had removed the rows pointing at
them (DeleteTeam answered 409). Deferred, the keys are checked at commit, when all of them are
gone. Everywhere else they stay immediate (deleting a creator who is still booked is refused,
and the roster service says so first, with a clear 409).

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

CREATOR_KEYS = (
    ("campaign_creators", "fk_campaign_creators_creator_id_creators"),
    ("posts", "fk_posts_creator_id_creators"),
)


def upgrade() -> None:
    for table, name in CREATOR_KEYS:
        op.drop_constraint(name, table, type_="foreignkey")
        op.create_foreign_key(name, table, "creators", ["creator_id"], ["id"], deferrable=True)


def downgrade() -> None:
    for table, name in CREATOR_KEYS:
        op.drop_constraint(name, table, type_="foreignkey")
        op.create_foreign_key(name, table, "creators", ["creator_id"], ["id"], ondelete="RESTRICT")
