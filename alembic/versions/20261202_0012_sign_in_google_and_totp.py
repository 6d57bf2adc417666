"""Sign in with Google and TOTP two-factor: users.google_subject, oidc_login_flows (pre-user, no
policy, like login_failures), totp_credentials and mfa_recovery_codes (the user's own rows only).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWN_ROWS = "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"


def _audit_columns() -> list[sa.Column]:
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.add_column("users", sa.Column("google_subject", sa.String(length=255), nullable=True))
    op.create_unique_constraint(op.f("uq_users_google_subject"), "users", ["google_subject"])
    op.create_table(
        "oidc_login_flows",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("flow_token_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("used_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        *_audit_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_login_flows")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_oidc_login_flows_state_hash")),
    )
    op.create_index("ix_oidc_login_flows_expires_at", "oidc_login_flows", ["expires_at"], unique=False)
    op.create_table(
        "totp_credentials",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_totp_credentials_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_credentials")),
        sa.UniqueConstraint("user_id", name=op.f("uq_totp_credentials_user_id")),
    )
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mfa_recovery_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_recovery_codes")),
        sa.UniqueConstraint("user_id", "code_hash", name="uq_mfa_recovery_codes_user_code"),
    )
    op.create_index(op.f("ix_mfa_recovery_codes_user_id"), "mfa_recovery_codes", ["user_id"], unique=False)
    for table in ("totp_credentials", "mfa_recovery_codes"):
        op.enable_rls(table)
        op.create_policy(table, "own_rows", using=OWN_ROWS, with_check=OWN_ROWS)


def downgrade() -> None:
    for table in ("mfa_recovery_codes", "totp_credentials"):
        op.drop_policy(table, "own_rows", using=OWN_ROWS, with_check=OWN_ROWS)
        op.disable_rls(table)
    op.drop_index(op.f("ix_mfa_recovery_codes_user_id"), table_name="mfa_recovery_codes")
    op.drop_table("mfa_recovery_codes")
    op.drop_table("totp_credentials")
    op.drop_index("ix_oidc_login_flows_expires_at", table_name="oidc_login_flows")
    op.drop_table("oidc_login_flows")
    op.drop_constraint(op.f("uq_users_google_subject"), "users", type_="unique")
    op.drop_column("users", "google_subject")
