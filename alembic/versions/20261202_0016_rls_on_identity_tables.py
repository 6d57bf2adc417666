"""Row-level security on the credential and identity tables: users, refresh_tokens,
login_failures, action_tokens, oidc_login_flows, email_messages and scheduled_task_runs.

Lookups made before anyone is signed in name what they look for in a transaction-local
setting (`app.lookup_email`, `app.token_digest`, `app.google_subject`, `app.client_address`,
`app.email_id`), set in the lookup statement itself (`app.db.tenancy.select_by_secret`); the
policies show the rows that match it. With no context nothing is visible. Restrictive UPDATE
and DELETE policies keep the accounts a transaction merely sees (teammates, a looked-up one)
from being changed by it. The expressions are
frozen here as they were written in the models (app/users/models.py, app/mail/models.py,
app/system/models.py) at this revision.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, policy, USING, WITH CHECK)
POLICIES: tuple[tuple[str, str, str, str], ...] = (
    (
        "users",
        "user_visibility",
        "id = NULLIF(current_setting('app.user_id', true), '')::uuid OR COALESCE(current_setting('app.is_platform_admin', true), '') = 'on' OR email = NULLIF(current_setting('app.lookup_email', true), '') OR google_subject = NULLIF(current_setting('app.google_subject', true), '') OR EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = NULLIF(current_setting('app.team_id', true), '')::uuid AND m.user_id = users.id)",
        "id = NULLIF(current_setting('app.user_id', true), '')::uuid OR COALESCE(current_setting('app.is_platform_admin', true), '') = 'on' OR email = NULLIF(current_setting('app.lookup_email', true), '') OR google_subject = NULLIF(current_setting('app.google_subject', true), '')",
    ),
    (
        "refresh_tokens",
        "token_visibility",
        "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid OR token_hash = NULLIF(current_setting('app.token_digest', true), '')",
        "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid OR token_hash = NULLIF(current_setting('app.token_digest', true), '')",
    ),
    (
        "login_failures",
        "throttle_visibility",
        "email = NULLIF(current_setting('app.lookup_email', true), '') OR address = NULLIF(current_setting('app.client_address', true), '')",
        "email = NULLIF(current_setting('app.lookup_email', true), '') OR address = NULLIF(current_setting('app.client_address', true), '')",
    ),
    (
        "action_tokens",
        "action_token_visibility",
        "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid OR token_hash = NULLIF(current_setting('app.token_digest', true), '') OR user_id = (SELECT u.id FROM users u WHERE u.email = NULLIF(current_setting('app.lookup_email', true), ''))",
        "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid OR token_hash = NULLIF(current_setting('app.token_digest', true), '') OR user_id = (SELECT u.id FROM users u WHERE u.email = NULLIF(current_setting('app.lookup_email', true), ''))",
    ),
    (
        "oidc_login_flows",
        "flow_visibility",
        "state_hash = NULLIF(current_setting('app.token_digest', true), '')",
        "state_hash = NULLIF(current_setting('app.token_digest', true), '')",
    ),
    (
        "email_messages",
        "outbox_visibility",
        "id = NULLIF(current_setting('app.email_id', true), '')::uuid OR COALESCE(current_setting('app.is_platform_admin', true), '') = 'on'",
        "id = NULLIF(current_setting('app.email_id', true), '')::uuid OR COALESCE(current_setting('app.is_platform_admin', true), '') = 'on' OR NULLIF(current_setting('app.user_id', true), '')::uuid IS NOT NULL OR to_address = NULLIF(current_setting('app.lookup_email', true), '')",
    ),
    (
        "scheduled_task_runs",
        "operators_only",
        "COALESCE(current_setting('app.is_platform_admin', true), '') = 'on'",
        "COALESCE(current_setting('app.is_platform_admin', true), '') = 'on'",
    ),
)

USERS_CHANGED_BY = (
    "id = NULLIF(current_setting('app.user_id', true), '')::uuid "
    "OR COALESCE(current_setting('app.is_platform_admin', true), '') = 'on'"
)
"""Restrictive: of the accounts a transaction sees (teammates, a looked-up one), only one's own
(or, for a platform admin, any) may be updated, locked for update or deleted."""


def upgrade() -> None:
    for table, name, using, with_check in POLICIES:
        op.enable_rls(table)
        op.create_policy(table, name, using=using, with_check=with_check)
    op.create_policy(
        "users",
        "user_visibility_update",
        using=USERS_CHANGED_BY,
        with_check=USERS_CHANGED_BY,
        command="UPDATE",
        restrictive=True,
    )
    op.create_policy(
        "users",
        "user_visibility_delete",
        using=USERS_CHANGED_BY,
        with_check="",
        command="DELETE",
        restrictive=True,
    )


def downgrade() -> None:
    op.drop_policy("users", "user_visibility_delete")
    op.drop_policy("users", "user_visibility_update")
    for table, name, using, with_check in reversed(POLICIES):
        op.drop_policy(table, name, using=using, with_check=with_check)
        op.disable_rls(table)
