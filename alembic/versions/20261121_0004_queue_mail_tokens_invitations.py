"""Background work and email: SAQ's queue tables, the email outbox, single-use tokens, team
invitations, cron run records, and the system role's privileges.

SAQ's tables are created here (from SAQ's own migration statements) because the application
role may not create tables; `ApplicationQueue.init_db` only checks their version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from psycopg.sql import Identifier
from saq.queue.postgres_migrations import get_migrations

from app.db.migration_helpers import system_role

SAQ_TABLES = ("saq_jobs", "saq_stats", "saq_versions")

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create_saq_tables() -> None:
    migrations = get_migrations(jobs_table=Identifier("saq_jobs"), stats_table=Identifier("saq_stats"))
    for _, statements in migrations:
        for statement in statements:
            # SAQ composes psycopg SQL objects; render them and run each command here as the owner.
            for command in statement.as_string(None).split(";"):  # pyright: ignore[reportArgumentType]
                if command.strip():
                    op.execute(command)
    op.execute("CREATE TABLE IF NOT EXISTS saq_versions (version INT)")
    op.execute("DELETE FROM saq_versions")
    op.execute(f"INSERT INTO saq_versions (version) VALUES ({migrations[-1][0]})")


def _grant_system_role() -> None:
    """Only when the role exists: without a superuser, a DBA creates it (see README)."""
    role = system_role()
    op.execute(
        f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE quote_ident(rolname) = '{role}') THEN "
        f"GRANT USAGE ON SCHEMA public TO {role}; "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; "
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}; "
        "END IF; END $$"
    )


def _revoke_system_role() -> None:
    role = system_role()
    op.execute(
        f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE quote_ident(rolname) = '{role}') THEN "
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {role}; "
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}; "
        f"REVOKE USAGE ON SCHEMA public FROM {role}; "
        "END IF; END $$"
    )


def upgrade() -> None:
    _create_saq_tables()
    op.create_table(
        "email_messages",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_messages")),
    )
    op.create_index(
        "ix_email_messages_status_created", "email_messages", ["status", "created_at"], unique=False
    )
    op.create_index(op.f("ix_email_messages_to_address"), "email_messages", ["to_address"], unique=False)
    op.create_table(
        "scheduled_task_runs",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("due_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("worker_id", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_task_runs")),
    )
    op.create_index(
        "ix_scheduled_task_runs_task_due", "scheduled_task_runs", ["task", "due_at"], unique=False
    )
    op.create_table(
        "action_tokens",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("used_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_action_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_action_tokens_token_hash")),
    )
    op.create_index("ix_action_tokens_expires_at", "action_tokens", ["expires_at"], unique=False)
    op.create_index(op.f("ix_action_tokens_user_id"), "action_tokens", ["user_id"], unique=False)
    op.create_table(
        "team_invitations",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("team_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("accepted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("accepted_by_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("revoked_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'member', 'guest')", name=op.f("ck_team_invitations_role_valid")
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["users.id"],
            name=op.f("fk_team_invitations_accepted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_team_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_invitations_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_team_invitations_token_hash")),
    )
    op.create_index(op.f("ix_team_invitations_email"), "team_invitations", ["email"], unique=False)
    op.create_index("ix_team_invitations_expires_at", "team_invitations", ["expires_at"], unique=False)
    op.create_index(op.f("ix_team_invitations_team_id"), "team_invitations", ["team_id"], unique=False)
    op.enable_rls("team_invitations")
    op.create_policy(
        "team_invitations",
        "invitation_visibility",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid OR token_hash = NULLIF(current_setting('app.invitation_token', true), '') OR lower(email) = (SELECT lower(u.email) FROM users u WHERE u.id = NULLIF(current_setting('app.user_id', true), '')::uuid)",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
    )

    _grant_system_role()


def downgrade() -> None:
    _revoke_system_role()
    op.drop_policy(
        "team_invitations",
        "invitation_visibility",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid OR token_hash = NULLIF(current_setting('app.invitation_token', true), '') OR lower(email) = (SELECT lower(u.email) FROM users u WHERE u.id = NULLIF(current_setting('app.user_id', true), '')::uuid)",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
    )
    op.disable_rls("team_invitations")
    op.drop_index(op.f("ix_team_invitations_team_id"), table_name="team_invitations")
    op.drop_index("ix_team_invitations_expires_at", table_name="team_invitations")
    op.drop_index(op.f("ix_team_invitations_email"), table_name="team_invitations")
    op.drop_table("team_invitations")
    op.drop_index(op.f("ix_action_tokens_user_id"), table_name="action_tokens")
    op.drop_index("ix_action_tokens_expires_at", table_name="action_tokens")
    op.drop_table("action_tokens")
    op.drop_index("ix_scheduled_task_runs_task_due", table_name="scheduled_task_runs")
    op.drop_table("scheduled_task_runs")
    op.drop_index(op.f("ix_email_messages_to_address"), table_name="email_messages")
    op.drop_index("ix_email_messages_status_created", table_name="email_messages")
    op.drop_table("email_messages")
    for table in SAQ_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")
