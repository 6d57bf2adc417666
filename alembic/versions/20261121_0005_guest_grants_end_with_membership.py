"""A campaign guest's grants end with their membership (FK to team_members, ON DELETE CASCADE).

Grants of people who already left are removed first, so the constraint can be added.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM campaign_guest_access g WHERE NOT EXISTS "
        "(SELECT 1 FROM team_members m WHERE m.team_id = g.team_id AND m.user_id = g.user_id)"
    )
    op.create_foreign_key(
        op.f("fk_campaign_guest_access_team_id_team_members"),
        "campaign_guest_access",
        "team_members",
        ["team_id", "user_id"],
        ["team_id", "user_id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_campaign_guest_access_team_id_team_members"), "campaign_guest_access", type_="foreignkey"
    )
