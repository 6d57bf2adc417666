"""Row-level security on the credential and identity tables, including the lookups made before
anyone is signed in: with no context nothing is visible, another user's context sees none of
these rows, and a lookup that names a secret (email, token digest) sees only the row it names."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.rls import LOOKUP_EMAIL_SETTING, TOKEN_DIGEST_SETTING
from app.db.tenancy import TenantContext, select_by_secret, set_tenant
from app.lib.crypto import token_digest
from app.lib.roles import TeamRole
from app.users.models import OidcLoginFlow, RefreshToken, User
from app.users.services import RefreshTokenService
from tests.factories import DEFAULT_PASSWORD_HASH, TeamFactory, TeamMemberFactory, UserFactory

USER_OWNED_TABLES = ("refresh_tokens", "action_tokens", "login_failures", "email_messages")
IDENTITY_TABLES = ("users", *USER_OWNED_TABLES, "oidc_login_flows", "scheduled_task_runs")


@dataclass
class Credentials:
    user: User
    refresh_token: str
    action_token: str
    state: str


async def _credentials_of(owner: asyncpg.Connection, user: User, *, tag: str) -> Credentials:
    """One row of each credential table for `user`, written as the owner (who bypasses RLS)."""
    refresh, action, state = f"refresh-{tag}", f"action-{tag}", f"state-{tag}"
    audit = "gen_random_uuid(), now(), now()"
    await owner.execute(
        "INSERT INTO refresh_tokens (id, created_at, updated_at, user_id, family_id, token_hash, expires_at) "
        f"VALUES ({audit}, $1, gen_random_uuid(), $2, now() + interval '1 day')",
        user.id,
        token_digest(refresh),
    )
    await owner.execute(
        "INSERT INTO action_tokens (id, created_at, updated_at, user_id, purpose, token_hash, expires_at) "
        f"VALUES ({audit}, $1, 'password_reset', $2, now() + interval '1 hour')",
        user.id,
        token_digest(action),
    )
    await owner.execute(
        f"INSERT INTO login_failures (id, created_at, updated_at, email, address) VALUES ({audit}, $1, $2)",
        user.email,
        f"10.0.0.{len(tag)}",
    )
    await owner.execute(
        "INSERT INTO oidc_login_flows (id, created_at, updated_at, provider, state_hash, flow_token_hash, "
        f"nonce, code_verifier, redirect_uri, expires_at) VALUES ({audit}, 'google', $1, 'f', 'n', 'v', "
        "'http://localhost/cb', now() + interval '10 minutes')",
        token_digest(state),
    )
    await owner.execute(
        "INSERT INTO email_messages (id, created_at, updated_at, to_address, template, subject, html_body, "
        f"text_body, status, attempts) VALUES ({audit}, $1, 'welcome', 'Hi', '<p>Hi</p>', 'Hi', 'queued', 0)",
        user.email,
    )
    await owner.execute(
        "INSERT INTO scheduled_task_runs (id, created_at, updated_at, task, due_at) "
        f"VALUES ({audit}, 'purge_{tag}', now())"
    )
    return Credentials(user=user, refresh_token=refresh, action_token=action, state=state)


async def _count(session: AsyncSession, table: str) -> int:
    return (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


@pytest.fixture
async def ada(owner_connection: asyncpg.Connection) -> Credentials:
    return await _credentials_of(owner_connection, await UserFactory.create_async(), tag="ada")


@pytest.fixture
async def bob(owner_connection: asyncpg.Connection) -> Credentials:
    return await _credentials_of(owner_connection, await UserFactory.create_async(), tag="bob")


async def test_without_context_no_identity_table_shows_anything(
    db_session: AsyncSession, ada: Credentials, owner_connection: asyncpg.Connection
) -> None:
    for table in IDENTITY_TABLES:
        assert await owner_connection.fetchval(f"SELECT count(*) > 0 FROM {table}"), table
        assert await _count(db_session, table) == 0, table


async def test_another_users_context_sees_none_of_ada_s_rows(
    db_session: AsyncSession, ada: Credentials, bob: Credentials
) -> None:
    set_tenant(db_session, TenantContext(user_id=bob.user.id))
    users = (await db_session.execute(select(User.id))).scalars().all()
    assert users == [bob.user.id]
    for table in ("refresh_tokens", "action_tokens"):
        owners = (await db_session.execute(text(f"SELECT user_id FROM {table}"))).scalars().all()
        assert owners == [bob.user.id], table
    for table in ("login_failures", "email_messages", "oidc_login_flows", "scheduled_task_runs"):
        assert await _count(db_session, table) == 0, table


async def test_a_users_own_context_sees_their_tokens_only(
    db_session: AsyncSession, ada: Credentials, bob: Credentials
) -> None:
    set_tenant(db_session, TenantContext(user_id=ada.user.id))
    assert await _count(db_session, "refresh_tokens") == 1
    assert await _count(db_session, "action_tokens") == 1
    assert await _count(db_session, "email_messages") == 0  # the outbox is the operators'


async def test_a_digest_lookup_sees_only_its_row(
    db_session: AsyncSession, ada: Credentials, bob: Credentials
) -> None:
    lookup = select_by_secret(
        RefreshToken, TOKEN_DIGEST_SETTING, token_digest(ada.refresh_token), match=RefreshToken.token_hash
    )
    found = (await db_session.execute(lookup)).scalars().all()
    assert [token.user_id for token in found] == [ada.user.id]
    # The setting stays for the transaction, and shows that row and nothing else.
    assert await _count(db_session, "refresh_tokens") == 1
    assert await _count(db_session, "oidc_login_flows") == 0  # ada's state digest was not named
    assert await _count(db_session, "users") == 0


async def test_a_lookup_of_an_unknown_digest_sees_nothing(db_session: AsyncSession, ada: Credentials) -> None:
    lookup = select_by_secret(
        RefreshToken, TOKEN_DIGEST_SETTING, token_digest("guessed"), match=RefreshToken.token_hash
    )
    assert (await db_session.execute(lookup)).first() is None
    assert await _count(db_session, "refresh_tokens") == 0


async def test_an_email_lookup_shows_that_account_and_its_failures_only(
    db_session: AsyncSession, ada: Credentials, bob: Credentials
) -> None:
    lookup = select_by_secret(User, LOOKUP_EMAIL_SETTING, ada.user.email, match=User.email)
    assert [user.id for user in (await db_session.execute(lookup)).scalars()] == [ada.user.id]
    assert (await db_session.execute(select(User.id))).scalars().all() == [ada.user.id]
    assert await _count(db_session, "login_failures") == 1
    assert await _count(db_session, "email_messages") == 0  # knowing an address never shows its mail


async def test_a_lookup_sees_its_row_where_the_policy_alone_could_drive_the_index(
    db_session: AsyncSession, ada: Credentials, bob: Credentials
) -> None:
    """The flows' policy is a bare `state_hash = setting`, so the planner may scan the index by
    it: the setting must be made before the scan starts, which the LATERAL form guarantees."""
    lookup = select_by_secret(
        OidcLoginFlow, TOKEN_DIGEST_SETTING, token_digest(bob.state), match=OidcLoginFlow.state_hash
    )
    found = (await db_session.execute(lookup)).scalars().all()
    assert [flow.state_hash for flow in found] == [token_digest(bob.state)]


async def test_a_valid_refresh_token_enters_its_users_context_in_the_lookup(
    db_session: AsyncSession, ada: Credentials, bob: Credentials
) -> None:
    stored = await RefreshTokenService(session=db_session).repository.get_presented(ada.refresh_token)
    assert stored is not None
    setting = (await db_session.execute(text("SELECT current_setting('app.user_id', true)"))).scalar_one()
    assert setting == str(ada.user.id)
    assert (await db_session.execute(select(User.id))).scalars().all() == [ada.user.id]


async def test_a_revoked_refresh_token_enters_no_context(
    db_session: AsyncSession, ada: Credentials, owner_connection: asyncpg.Connection
) -> None:
    await owner_connection.execute("UPDATE refresh_tokens SET revoked_at = now()")
    stored = await RefreshTokenService(session=db_session).repository.get_presented(ada.refresh_token)
    assert stored is not None
    assert stored.revoked_at is not None
    assert (await db_session.execute(select(User.id))).first() is None


async def test_team_members_see_each_other_but_not_strangers(db_session: AsyncSession, ada, bob) -> None:
    stranger = await UserFactory.create_async()
    team = await TeamFactory.create_with_owner(ada.user)
    await TeamMemberFactory.create_async(team_id=team.id, user_id=bob.user.id, role=TeamRole.MEMBER)

    set_tenant(db_session, TenantContext(user_id=ada.user.id, team_id=team.id))
    visible = set((await db_session.execute(select(User.id))).scalars())
    assert visible == {ada.user.id, bob.user.id}
    assert stranger.id not in visible


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE users SET password_hash = 'x' WHERE id = :id",
        "DELETE FROM users WHERE id = :id",
        "SELECT id FROM users WHERE id = :id FOR UPDATE",
    ],
)
async def test_a_team_member_sees_but_cannot_change_another_members_account(
    db_session: AsyncSession,
    ada: Credentials,
    bob: Credentials,
    owner_connection: asyncpg.Connection,
    statement,
) -> None:
    team = await TeamFactory.create_with_owner(ada.user)
    await TeamMemberFactory.create_async(team_id=team.id, user_id=bob.user.id, role=TeamRole.MEMBER)
    set_tenant(db_session, TenantContext(user_id=ada.user.id, team_id=team.id))
    assert (await db_session.execute(select(User.id).where(User.id == bob.user.id))).first() is not None

    result = await db_session.execute(text(statement), {"id": bob.user.id})
    if statement.startswith("SELECT"):
        assert result.first() is None  # a lock needs the right to change the row
    else:
        assert result.rowcount == 0  # pyright: ignore[reportAttributeAccessIssue]
    await db_session.commit()
    stored = await owner_connection.fetchval("SELECT password_hash FROM users WHERE id = $1", bob.user.id)
    assert stored == DEFAULT_PASSWORD_HASH


async def test_an_email_lookup_does_not_let_the_transaction_change_that_account(
    db_session: AsyncSession, ada: Credentials, owner_connection: asyncpg.Connection
) -> None:
    await db_session.execute(select_by_secret(User, LOOKUP_EMAIL_SETTING, ada.user.email, match=User.email))
    result = await db_session.execute(
        text("UPDATE users SET password_hash = 'x' WHERE id = :id"), {"id": ada.user.id}
    )
    assert result.rowcount == 0  # pyright: ignore[reportAttributeAccessIssue]
    await db_session.commit()
    assert (
        await owner_connection.fetchval("SELECT password_hash FROM users WHERE id = $1", ada.user.id) != "x"
    )


async def test_a_platform_admin_sees_every_account(db_session: AsyncSession, ada, bob) -> None:
    admin_id: UUID = (await UserFactory.create_async(is_platform_admin=True)).id
    set_tenant(db_session, TenantContext(user_id=admin_id, is_platform_admin=True))
    visible = set((await db_session.execute(select(User.id))).scalars())
    assert visible >= {ada.user.id, bob.user.id, admin_id}


async def test_an_anonymous_request_cannot_queue_mail(db_session: AsyncSession) -> None:
    with pytest.raises(Exception, match="row-level security"):
        await db_session.execute(
            text(
                "INSERT INTO email_messages (id, created_at, updated_at, to_address, template, subject, "
                "html_body, text_body, status, attempts) VALUES (gen_random_uuid(), now(), now(), "
                "'x@example.com', 'welcome', 'Hi', 'Hi', 'Hi', 'queued', 0)"
            )
        )
