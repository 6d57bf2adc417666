"""TOTP secrets sealed at rest, and single-use two-factor challenges.

- `totp_credentials.secret` widens to hold a sealed value (`v1.<key id>.<data>`, AES-256-GCM)
  and every plain secret already stored is sealed here, with the newest key of
  `DATA_ENCRYPTION_KEYS` (or the one derived from `SECRET_KEY`): the migrate step is given the
  same secrets as the API, so the data migration sees the key. The code reads sealed values
  only, so a plain secret written into the table later is refused, not trusted.
- `mfa_challenges`: one row per challenge handed out at sign-in (its id is the token's `jti`),
  deleted by the sign-in that uses it; the user's own rows only, like the other 2FA tables.

Downgrade opens the sealed secrets again (it needs the same keys).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from collections.abc import Callable, Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from app.config import get_config
from app.lib.encryption import DataCipher

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWN_ROWS = "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"


def _secret_context(user_id: object) -> str:
    return f"totp-secret:{user_id}"  # as app.users.mfa.secret_context (not imported: it may change)


def _rewrite_secrets(transform: Callable[[str, str], str | None]) -> None:
    """Apply `transform(secret, context)` to every stored secret (None: leave it as it is).

    The owner is not exempt from the table's policy (FORCE), so it is lifted for this
    transaction's rewrite only.
    """
    op.execute("ALTER TABLE totp_credentials NO FORCE ROW LEVEL SECURITY")
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, user_id, secret FROM totp_credentials")).all()
    for row in rows:
        rewritten = transform(row.secret, _secret_context(row.user_id))
        if rewritten is not None:
            connection.execute(
                sa.text("UPDATE totp_credentials SET secret = :secret WHERE id = :id"),
                {"secret": rewritten, "id": row.id},
            )
    op.execute("ALTER TABLE totp_credentials FORCE ROW LEVEL SECURITY")


def _cipher() -> DataCipher:
    return DataCipher(get_config().auth.data_encryption_keys)


def upgrade() -> None:
    op.alter_column(
        "totp_credentials", "secret", type_=sa.String(length=255), existing_type=sa.String(length=64)
    )
    cipher = _cipher()
    _rewrite_secrets(
        lambda secret, context: None if secret.startswith("v1.") else cipher.seal(secret, context=context)
    )
    op.create_table(
        "mfa_challenges",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mfa_challenges_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_challenges")),
    )
    op.create_index("ix_mfa_challenges_expires_at", "mfa_challenges", ["expires_at"], unique=False)
    op.create_index(op.f("ix_mfa_challenges_user_id"), "mfa_challenges", ["user_id"], unique=False)
    op.enable_rls("mfa_challenges")
    op.create_policy("mfa_challenges", "own_rows", using=OWN_ROWS, with_check=OWN_ROWS)


def downgrade() -> None:
    op.drop_policy("mfa_challenges", "own_rows", using=OWN_ROWS, with_check=OWN_ROWS)
    op.disable_rls("mfa_challenges")
    op.drop_index(op.f("ix_mfa_challenges_user_id"), table_name="mfa_challenges")
    op.drop_index("ix_mfa_challenges_expires_at", table_name="mfa_challenges")
    op.drop_table("mfa_challenges")
    cipher = _cipher()
    _rewrite_secrets(
        lambda secret, context: cipher.open(secret, context=context) if secret.startswith("v1.") else None
    )
    op.alter_column(
        "totp_credentials", "secret", type_=sa.String(length=64), existing_type=sa.String(length=255)
    )
