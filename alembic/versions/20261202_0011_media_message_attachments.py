"""Media on thread messages: `media_files.message_id` (the message a `message_attachment` is on).

No foreign key, like the file's target: media stand below threads, and a file outlives nothing
by cascade; the message's delete detaches its files and the sweep catches the rest. The table's
RLS (enabled, forced, `tenant_isolation`) is unchanged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "media_files", sa.Column("message_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
    )
    op.create_index(op.f("ix_media_files_message_id"), "media_files", ["message_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_media_files_message_id"), table_name="media_files")
    op.drop_column("media_files", "message_id")
