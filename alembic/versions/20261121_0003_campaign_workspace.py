"""Campaign workspace: events, creators, campaigns, posts, to-dos, guest access; the guest role.

Hand-written steps (autogenerate cannot see them): the events table is append-only for the
application role, and `team_members.role` accepts `guest`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.db.migration_helpers import grant_read_only

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "creators",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("team_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "handles",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "follower_counts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column(
            "tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("archived_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_creators_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creators")),
    )
    op.create_index("ix_creators_tags", "creators", ["tags"], unique=False, postgresql_using="gin")
    op.create_index(op.f("ix_creators_team_id"), "creators", ["team_id"], unique=False)
    op.create_index(
        "ix_creators_team_name", "creators", ["team_id", sa.literal_column("lower(name)")], unique=False
    )
    op.create_table(
        "events",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("team_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("actor_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("object_type", sa.String(length=50), nullable=False),
        sa.Column("object_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("event_type", sa.String(length=20), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "event_type IN ('created', 'updated', 'deleted', 'status_changed')",
            name=op.f("ck_events_event_type_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_events_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_events_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_actor_id"), "events", ["actor_id"], unique=False)
    op.create_index(
        "ix_events_object",
        "events",
        ["object_type", "object_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_events_team_created",
        "events",
        ["team_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(op.f("ix_events_team_id"), "events", ["team_id"], unique=False)
    op.create_table(
        "campaigns",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("team_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("brand_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_campaigns_currency_iso4217")),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'paused', 'completed', 'archived')",
            name=op.f("ck_campaigns_status_valid"),
        ),
        sa.CheckConstraint("budget >= 0", name=op.f("ck_campaigns_budget_not_negative")),
        sa.CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name=op.f("ck_campaigns_dates_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_campaigns_brand_id_brands"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_campaigns_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("id", "team_id", name="uq_campaigns_id_team"),
    )
    op.create_index(op.f("ix_campaigns_brand_id"), "campaigns", ["brand_id"], unique=False)
    op.create_index(op.f("ix_campaigns_team_id"), "campaigns", ["team_id"], unique=False)
    op.create_index(
        "ix_campaigns_team_name", "campaigns", ["team_id", sa.literal_column("lower(name)")], unique=False
    )
    op.create_index("ix_campaigns_team_status", "campaigns", ["team_id", "status"], unique=False)
    op.create_table(
        "campaign_creators",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("team_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("campaign_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("creator_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("agreed_fee", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("deliverables", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("agreed_fee >= 0", name=op.f("ck_campaign_creators_agreed_fee_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id", "team_id"],
            ["campaigns.id", "campaigns.team_id"],
            name=op.f("fk_campaign_creators_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_campaign_creators_creator_id_creators"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_creators")),
        sa.UniqueConstraint("campaign_id", "creator_id", name=op.f("uq_campaign_creators_campaign_id")),
    )
    op.create_index(
        op.f("ix_campaign_creators_campaign_id"), "campaign_creators", ["campaign_id"], unique=False
    )
    op.create_index(
        op.f("ix_campaign_creators_creator_id"), "campaign_creators", ["creator_id"], unique=False
    )
    op.create_index(op.f("ix_campaign_creators_team_id"), "campaign_creators", ["team_id"], unique=False)
    op.create_table(
        "campaign_guest_access",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("team_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("campaign_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id", "team_id"],
            ["campaigns.id", "campaigns.team_id"],
            name=op.f("fk_campaign_guest_access_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_campaign_guest_access_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_campaign_guest_access_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_guest_access")),
        sa.UniqueConstraint("campaign_id", "user_id", name=op.f("uq_campaign_guest_access_campaign_id")),
    )
    op.create_index(
        op.f("ix_campaign_guest_access_campaign_id"), "campaign_guest_access", ["campaign_id"], unique=False
    )
    op.create_index(
        op.f("ix_campaign_guest_access_team_id"), "campaign_guest_access", ["team_id"], unique=False
    )
    op.create_index(
        op.f("ix_campaign_guest_access_user_id"), "campaign_guest_access", ["user_id"], unique=False
    )
    op.create_table(
        "posts",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("team_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("campaign_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("creator_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("scheduled_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("published_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("published_url", sa.String(length=500), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("shares", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'changes_requested', 'approved', 'scheduled', 'published')",
            name=op.f("ck_posts_status_valid"),
        ),
        sa.CheckConstraint(
            "views >= 0 AND likes >= 0 AND comments >= 0 AND shares >= 0",
            name=op.f("ck_posts_metrics_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id", "team_id"],
            ["campaigns.id", "campaigns.team_id"],
            name=op.f("fk_posts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name=op.f("fk_posts_creator_id_creators"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    op.create_index(op.f("ix_posts_campaign_id"), "posts", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_posts_creator_id"), "posts", ["creator_id"], unique=False)
    op.create_index(op.f("ix_posts_team_id"), "posts", ["team_id"], unique=False)
    op.create_index("ix_posts_team_status", "posts", ["team_id", "status"], unique=False)
    op.create_table(
        "todos",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("team_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("campaign_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("assignee_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("post_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'in_progress', 'done')", name=op.f("ck_todos_status_valid")),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_todos_assignee_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id", "team_id"],
            ["campaigns.id", "campaigns.team_id"],
            name=op.f("fk_todos_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_todos_post_id_posts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_todos")),
    )
    op.create_index(op.f("ix_todos_assignee_id"), "todos", ["assignee_id"], unique=False)
    op.create_index(op.f("ix_todos_campaign_id"), "todos", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_todos_post_id"), "todos", ["post_id"], unique=False)
    op.create_index(op.f("ix_todos_team_id"), "todos", ["team_id"], unique=False)
    op.create_index("ix_todos_team_status_due", "todos", ["team_id", "status", "due_date"], unique=False)
    op.enable_rls("creators")
    op.create_policy(
        "creators",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
    )
    op.enable_rls("events")
    op.create_policy(
        "events",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
    )
    op.enable_rls("campaigns")
    op.create_policy(
        "campaigns",
        "campaign_visibility",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
    )
    op.enable_rls("campaign_creators")
    op.create_policy(
        "campaign_creators",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
    )
    op.enable_rls("campaign_guest_access")
    op.create_policy(
        "campaign_guest_access",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
    )
    op.enable_rls("posts")
    op.create_policy(
        "posts",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
    )
    op.enable_rls("todos")
    op.create_policy(
        "todos",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
    )
    grant_read_only("events")
    op.drop_constraint(op.f("ck_team_members_role_valid"), "team_members", type_="check")
    op.create_check_constraint(
        op.f("ck_team_members_role_valid"), "team_members", "role IN ('owner', 'admin', 'member', 'guest')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM team_members WHERE role = 'guest'")
    op.drop_constraint(op.f("ck_team_members_role_valid"), "team_members", type_="check")
    op.create_check_constraint(
        op.f("ck_team_members_role_valid"), "team_members", "role IN ('owner', 'admin', 'member')"
    )
    op.drop_policy(
        "todos",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
    )
    op.disable_rls("todos")
    op.drop_policy(
        "posts",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
    )
    op.disable_rls("posts")
    op.drop_policy(
        "campaign_guest_access",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
    )
    op.disable_rls("campaign_guest_access")
    op.drop_policy(
        "campaign_creators",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR campaign_id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
    )
    op.disable_rls("campaign_creators")
    op.drop_policy(
        "campaigns",
        "campaign_visibility",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND (NULLIF(current_setting('app.campaign_ids', true), '') IS NULL OR id = ANY (string_to_array(NULLIF(current_setting('app.campaign_ids', true), ''), ',')::uuid[]))",
    )
    op.disable_rls("campaigns")
    op.drop_policy(
        "events",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
    )
    op.disable_rls("events")
    op.drop_policy(
        "creators",
        "tenant_isolation",
        using="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
        with_check="team_id = NULLIF(current_setting('app.team_id', true), '')::uuid",
    )
    op.disable_rls("creators")
    op.drop_index("ix_todos_team_status_due", table_name="todos")
    op.drop_index(op.f("ix_todos_team_id"), table_name="todos")
    op.drop_index(op.f("ix_todos_post_id"), table_name="todos")
    op.drop_index(op.f("ix_todos_campaign_id"), table_name="todos")
    op.drop_index(op.f("ix_todos_assignee_id"), table_name="todos")
    op.drop_table("todos")
    op.drop_index("ix_posts_team_status", table_name="posts")
    op.drop_index(op.f("ix_posts_team_id"), table_name="posts")
    op.drop_index(op.f("ix_posts_creator_id"), table_name="posts")
    op.drop_index(op.f("ix_posts_campaign_id"), table_name="posts")
    op.drop_table("posts")
    op.drop_index(op.f("ix_campaign_guest_access_user_id"), table_name="campaign_guest_access")
    op.drop_index(op.f("ix_campaign_guest_access_team_id"), table_name="campaign_guest_access")
    op.drop_index(op.f("ix_campaign_guest_access_campaign_id"), table_name="campaign_guest_access")
    op.drop_table("campaign_guest_access")
    op.drop_index(op.f("ix_campaign_creators_team_id"), table_name="campaign_creators")
    op.drop_index(op.f("ix_campaign_creators_creator_id"), table_name="campaign_creators")
    op.drop_index(op.f("ix_campaign_creators_campaign_id"), table_name="campaign_creators")
    op.drop_table("campaign_creators")
    op.drop_index("ix_campaigns_team_status", table_name="campaigns")
    op.drop_index("ix_campaigns_team_name", table_name="campaigns")
    op.drop_index(op.f("ix_campaigns_team_id"), table_name="campaigns")
    op.drop_index(op.f("ix_campaigns_brand_id"), table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_index(op.f("ix_events_team_id"), table_name="events")
    op.drop_index("ix_events_team_created", table_name="events")
    op.drop_index("ix_events_object", table_name="events")
    op.drop_index(op.f("ix_events_actor_id"), table_name="events")
    op.drop_table("events")
    op.drop_index("ix_creators_team_name", table_name="creators")
    op.drop_index(op.f("ix_creators_team_id"), table_name="creators")
    op.drop_index("ix_creators_tags", table_name="creators", postgresql_using="gin")
    op.drop_table("creators")
