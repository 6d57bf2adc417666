"""Row-level security declarations.

A model declares its policy by inheriting a base from `app.db.base` (or by setting
`__rls_policy__`); the base records an `RlsPolicy` in the table's MetaData. Their path into
migrations is `app.db.rls_alembic`, kept apart so that serving never imports Alembic.

Every expression reads the tenant context through `NULLIF(current_setting(..., true), '')`: a
transaction-local setting reads back as '' (not NULL) after its transaction ends, and a bare
cast of '' to uuid would raise instead of failing closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData, Table

RLS_INFO_KEY = "rls_policy"

CURRENT_TEAM_ID = "NULLIF(current_setting('app.team_id', true), '')::uuid"
CURRENT_USER_ID = "NULLIF(current_setting('app.user_id', true), '')::uuid"
CURRENT_CAMPAIGN_IDS = "NULLIF(current_setting('app.campaign_ids', true), '')"
CURRENT_INVITATION_TOKEN = "NULLIF(current_setting('app.invitation_token', true), '')"
IS_PLATFORM_ADMIN = "COALESCE(current_setting('app.is_platform_admin', true), '') = 'on'"

# Lookups made before anyone is signed in (or about someone else) name what they look for; the
# policies show the rows that match, so knowing the secret (an email, a token's digest) is what
# grants the row. `app.db.tenancy.select_by_secret` sets them in the lookup statement itself.
LOOKUP_EMAIL_SETTING = "app.lookup_email"
TOKEN_DIGEST_SETTING = "app.token_digest"
GOOGLE_SUBJECT_SETTING = "app.google_subject"
CLIENT_ADDRESS_SETTING = "app.client_address"
EMAIL_ID_SETTING = "app.email_id"
USER_ID_SETTING = "app.user_id"
PLATFORM_ADMIN_SETTING = "app.is_platform_admin"
CURRENT_LOOKUP_EMAIL = f"NULLIF(current_setting('{LOOKUP_EMAIL_SETTING}', true), '')"
CURRENT_TOKEN_DIGEST = f"NULLIF(current_setting('{TOKEN_DIGEST_SETTING}', true), '')"
CURRENT_GOOGLE_SUBJECT = f"NULLIF(current_setting('{GOOGLE_SUBJECT_SETTING}', true), '')"
CURRENT_CLIENT_ADDRESS = f"NULLIF(current_setting('{CLIENT_ADDRESS_SETTING}', true), '')"
CURRENT_EMAIL_ID = f"NULLIF(current_setting('{EMAIL_ID_SETTING}', true), '')::uuid"


@dataclass(frozen=True, slots=True)
class RlsPolicy:
    """One permissive policy for all commands, with the same rule for reads and writes by default."""

    using: str
    with_check: str | None = None
    name: str = "tenant_isolation"
    changes: str | None = None
    """Which visible rows an UPDATE or DELETE (or a `SELECT ... FOR UPDATE`) may touch, when fewer
    than `using` shows: emitted as the restrictive policies `restrictions()` names."""

    @property
    def check(self) -> str:
        return self.with_check or self.using

    def restrictions(self) -> list[RestrictivePolicy]:
        if self.changes is None:
            return []
        return [
            RestrictivePolicy(name=f"{self.name}_{command.lower()}", command=command, using=self.changes)
            for command in ("UPDATE", "DELETE")
        ]


@dataclass(frozen=True, slots=True)
class RestrictivePolicy:
    """A restrictive policy for one command: ANDed with the permissive one."""

    name: str
    command: str
    using: str


TEAM_POLICY = RlsPolicy(using=f"team_id = {CURRENT_TEAM_ID}")
"""Rows of the team named by the request's (verified) tenant context, nothing else."""

CAMPAIGN_POLICY = RlsPolicy(
    using=(
        f"team_id = {CURRENT_TEAM_ID} AND ({CURRENT_CAMPAIGN_IDS} IS NULL"
        f" OR campaign_id = ANY (string_to_array({CURRENT_CAMPAIGN_IDS}, ',')::uuid[]))"
    )
)
"""The team policy, narrowed to the campaigns a campaign guest may see (`app.campaign_ids`)."""


def declare_policy(table: Table, policy: RlsPolicy) -> None:
    """Record `policy` for `table` in its MetaData (not in `Table.info`, which Alembic renders)."""
    table.metadata.info.setdefault(RLS_INFO_KEY, {})[table.name] = policy


def policy_of(table: Table) -> RlsPolicy | None:
    policy = table.metadata.info.get(RLS_INFO_KEY, {}).get(table.name)
    return policy if isinstance(policy, RlsPolicy) else None


def secured_tables(metadata: MetaData) -> list[Table]:
    return [table for table in metadata.sorted_tables if policy_of(table) is not None]
