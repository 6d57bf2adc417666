"""Isolation is the database's job: the catalog, the role, and queries with and without context."""

from __future__ import annotations

import asyncpg
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import tenant_session
from app.db.rls import policy_of
from app.db.tenancy import TenantContext, bind_team_membership, set_tenant
from app.metadata import metadata
from tests.factories import BrandFactory, TeamFactory, UserFactory

APP_ROLE = "campaign_app"
IDENTITY_TABLES = (
    "users",
    "refresh_tokens",
    "login_failures",
    "action_tokens",
    "oidc_login_flows",
    "email_messages",
    "scheduled_task_runs",
)


NOT_ROW_SECURED = {
    "alembic_version": "Alembic's own bookkeeping: one revision string, no one's data.",
    "saq_jobs": "SAQ's queue (PostgreSQL-backed, in our database): requests enqueue in their own "
    "transaction and the worker polls it with no tenant context; payloads carry ids, not data.",
    "saq_stats": "SAQ's worker statistics: queue-level counters, no one's data.",
    "saq_versions": "SAQ's schema version: one integer.",
}
"""Every other table in `public` is row-level secured; each exception says why."""


async def test_every_table_in_public_has_forced_rls_and_a_policy(
    owner_connection: asyncpg.Connection,
) -> None:
    rows = await owner_connection.fetch(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname
                  AND p.schemaname = n.nspname) AS policies
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        """
    )
    names = {row["relname"] for row in rows}
    assert names >= {"brands", "team_members", *IDENTITY_TABLES}
    assert set(NOT_ROW_SECURED) <= names, "an allowlisted table is gone: drop it from the list"
    for row in rows:
        if row["relname"] in NOT_ROW_SECURED:
            continue
        assert row["relrowsecurity"], f"{row['relname']}: RLS not enabled"
        assert row["relforcerowsecurity"], f"{row['relname']}: RLS not forced"
        assert row["policies"] >= 1, f"{row['relname']}: no policy"


async def test_policies_have_using_and_with_check(owner_connection: asyncpg.Connection) -> None:
    rows = await owner_connection.fetch(
        "SELECT tablename, policyname, permissive, qual, with_check, cmd FROM pg_policies"
    )
    assert rows
    for row in rows:
        assert row["qual"], row["tablename"]
        if row["permissive"] == "PERMISSIVE":
            assert row["cmd"] == "ALL", row["policyname"]
            assert row["with_check"], row["tablename"]
            continue
        declared = policy_of(metadata.tables[row["tablename"]])
        assert declared is not None
        assert (row["policyname"], row["cmd"]) in {(r.name, r.command) for r in declared.restrictions()}


def test_every_model_table_declares_a_policy() -> None:
    for table in metadata.sorted_tables:
        assert policy_of(table) is not None, table.name


async def test_the_database_has_every_declared_policy(owner_connection: asyncpg.Connection) -> None:
    """Migrations emitted what the models declare, restrictive write policies included."""
    rows = await owner_connection.fetch("SELECT tablename, policyname, cmd FROM pg_policies")
    present = {(row["tablename"], row["policyname"], row["cmd"]) for row in rows}
    for table in metadata.sorted_tables:
        policy = policy_of(table)
        assert policy is not None
        assert (table.name, policy.name, "ALL") in present, table.name
        for restriction in policy.restrictions():
            assert (table.name, restriction.name, restriction.command) in present, restriction.name


async def test_application_role_cannot_bypass_rls(owner_connection: asyncpg.Connection) -> None:
    role = await owner_connection.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1", APP_ROLE
    )
    assert role is not None
    assert not any(role.values())
    owned = await owner_connection.fetchval(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = $1", APP_ROLE
    )
    assert owned == 0


async def test_requests_run_as_the_application_role_even_when_the_owner_is_a_superuser(
    app: Litestar, db_session: AsyncSession, owner_connection: asyncpg.Connection
) -> None:
    owner_is_superuser = await owner_connection.fetchval(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    )
    assert owner_is_superuser  # both the embedded server and CI's DATABASE_URL connect as superusers
    who = (await db_session.execute(text("SELECT current_user, session_user"))).one()
    assert tuple(who) == (APP_ROLE, APP_ROLE)
    assert app.state.engine.url.username == APP_ROLE


async def test_without_tenant_context_nothing_is_visible(db_session: AsyncSession, team) -> None:
    await BrandFactory.create_async(team_id=team.id)
    for table in ("brands", "team_members", "teams"):
        count = (await db_session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
        assert count == 0, table


async def test_a_finished_transactions_context_reads_empty_and_still_fails_closed(
    db_session: AsyncSession, team
) -> None:
    await BrandFactory.create_async(team_id=team.id)
    set_tenant(db_session, TenantContext(team_id=team.id))
    assert (await db_session.execute(text("SELECT count(*) FROM brands"))).scalar_one() == 1
    await db_session.commit()

    set_tenant(db_session, None)
    leftover = (await db_session.execute(text("SELECT current_setting('app.team_id', true)"))).scalar_one()
    assert leftover == ""  # transaction-local: '' after the transaction, not NULL
    assert (await db_session.execute(text("SELECT count(*) FROM brands"))).scalar_one() == 0


async def test_context_is_applied_at_the_start_of_every_transaction(db_session: AsyncSession, team) -> None:
    set_tenant(db_session, TenantContext(team_id=team.id))
    for _ in range(2):
        setting = (await db_session.execute(text("SELECT current_setting('app.team_id', true)"))).scalar_one()
        assert setting == str(team.id)
        await db_session.commit()


async def test_one_teams_context_never_sees_another_teams_rows(db_session: AsyncSession) -> None:
    owner = await UserFactory.create_async()
    team_a = await TeamFactory.create_with_owner(owner)
    team_b = await TeamFactory.create_with_owner(owner)
    brand_b = await BrandFactory.create_async(team_id=team_b.id)

    set_tenant(db_session, TenantContext(team_id=team_a.id))
    ids = (await db_session.execute(text("SELECT id FROM brands"))).scalars().all()
    assert brand_b.id not in ids
    assert ids == []


async def test_writing_into_another_team_is_refused_by_the_policy(app: Litestar, team) -> None:
    other = await TeamFactory.create_with_owner(await UserFactory.create_async())
    with pytest.raises(Exception, match="row-level security"):
        async with tenant_session(app.state.session_maker, TenantContext(team_id=team.id)) as session:
            await session.execute(
                text(
                    "INSERT INTO brands (id, team_id, name, version, created_at, updated_at) "
                    "VALUES (gen_random_uuid(), :team_id, 'Sneaky', 1, now(), now())"
                ),
                {"team_id": other.id},
            )


async def test_membership_binding_enters_the_team_only_for_members(
    db_session: AsyncSession, user, team
) -> None:
    stranger = await UserFactory.create_async()
    set_tenant(db_session, TenantContext(user_id=stranger.id))
    assert await bind_team_membership(db_session, team_id=team.id, user_id=stranger.id) is None
    assert (await db_session.execute(text("SELECT count(*) FROM teams"))).scalar_one() == 0
    await db_session.rollback()

    set_tenant(db_session, TenantContext(user_id=user.id))
    assert await bind_team_membership(db_session, team_id=team.id, user_id=user.id) == "owner"
    setting = (await db_session.execute(text("SELECT current_setting('app.team_id', true)"))).scalar_one()
    assert setting == str(team.id)


async def test_application_role_cannot_change_the_schema(db_session: AsyncSession) -> None:
    with pytest.raises(Exception, match=r"permission denied|must be owner"):
        await db_session.execute(text("ALTER TABLE brands DISABLE ROW LEVEL SECURITY"))
