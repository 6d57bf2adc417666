"""Benchmark data: 100 teams and about a million rows, one team hot (the one the benchmark reads).

Inserted with `INSERT ... SELECT generate_series(...)` as the owner, one team at a time inside
that team's tenant context (the policies' WITH CHECK holds even for an owner without BYPASSRLS).
Generated once per database: a second run finds the marker team and reuses the rows.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

MARKER = "bench-hot-team"
TEAMS = 100


@dataclass(frozen=True)
class Sizes:
    brands: int
    creators: int
    campaigns: int
    bookings_per_campaign: int
    todos_per_campaign: int
    events: int


COLD = Sizes(
    brands=20, creators=1500, campaigns=60, bookings_per_campaign=15, todos_per_campaign=5, events=3000
)
"""Per cold team: 20 + 1,500 + 60 + 900 bookings + 900 posts + 300 to-dos + 3,000 events ≈ 6,700 rows."""
HOT = Sizes(
    brands=100, creators=20000, campaigns=300, bookings_per_campaign=10, todos_per_campaign=5, events=40000
)
"""The hot team: 100 brands (a full page), 20,000 creators to search, 300 campaigns with 3,000 bookings
and posts, 40,000 events."""


@dataclass(frozen=True)
class BenchData:
    user_id: uuid.UUID
    team_id: uuid.UUID
    """The hot team, owned by `user_id`."""
    write_team_id: uuid.UUID
    """Where CreateBrand writes (so the hot team's lists stay as generated)."""
    brand_id: uuid.UUID
    campaign_id: uuid.UUID
    """A campaign of the hot team with 100+ posts."""
    rows: int


async def ensure_data(owner_dsn: str) -> BenchData:
    conn = await asyncpg.connect(owner_dsn)
    try:
        existing = await conn.fetchrow("SELECT id FROM teams WHERE name = $1", MARKER)
        if existing is None:
            began = time.monotonic()
            await _generate(conn)
            print(f"generated the benchmark data in {time.monotonic() - began:.0f} s", flush=True)
        return await _describe(conn)
    finally:
        await conn.close()


async def _describe(conn: asyncpg.Connection) -> BenchData:
    team_id = await conn.fetchval("SELECT id FROM teams WHERE name = $1", MARKER)
    write_team_id = await conn.fetchval("SELECT id FROM teams WHERE name = $1", MARKER + "-writes")
    user_id = await conn.fetchval(
        "SELECT user_id FROM team_members WHERE team_id = $1 AND role = 'owner'", team_id
    )
    async with conn.transaction():  # the benchmark's user owns the write team too
        await conn.execute("SELECT set_config('app.team_id', $1, true)", str(write_team_id))
        await conn.execute(
            "INSERT INTO team_members (id, team_id, user_id, role, created_at, updated_at) "
            "VALUES (gen_random_uuid(), $1, $2, 'owner', now(), now()) ON CONFLICT DO NOTHING",
            write_team_id,
            user_id,
        )
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.team_id', $1, true)", str(team_id))
        brand_id = await conn.fetchval(
            "SELECT id FROM brands WHERE team_id = $1 ORDER BY id LIMIT 1", team_id
        )
        campaign_id = await conn.fetchval(
            "SELECT campaign_id FROM posts WHERE team_id = $1 GROUP BY campaign_id "
            "ORDER BY count(*) DESC, campaign_id LIMIT 1",
            team_id,
        )
    rows = 0
    for table in ("brands", "creators", "campaigns", "campaign_creators", "posts", "todos", "events"):
        rows += int(
            await conn.fetchval(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'") or 0
        )
    found: list[Any] = [user_id, team_id, write_team_id, brand_id, campaign_id]
    return BenchData(*found, rows=rows)


async def _generate(conn: asyncpg.Connection) -> None:
    for index in range(TEAMS + 1):
        if index == 0:
            name, sizes = MARKER, HOT
        elif index == 1:
            name, sizes = MARKER + "-writes", Sizes(0, 0, 0, 0, 0, 0)
        else:
            name, sizes = f"bench-team-{index:03d}", COLD
        await _team(conn, name, sizes, hot_campaign=index == 0)
    await conn.execute("ANALYZE")


async def _team(conn: asyncpg.Connection, name: str, sizes: Sizes, *, hot_campaign: bool) -> None:
    user_id, team_id = uuid.uuid4(), uuid.uuid4()
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.team_id', $1, true)", str(team_id))
        await conn.execute(
            "INSERT INTO users (id, email, name, password_hash, is_active, is_platform_admin, created_at, updated_at) "
            "VALUES ($1, $2, 'Bench', 'x', true, false, now(), now())",
            user_id,
            f"{name}-{user_id}@example.com",
        )
        await conn.execute(
            "INSERT INTO teams (id, name, version, created_at, updated_at) VALUES ($1, $2, 1, now(), now())",
            team_id,
            name,
        )
        await conn.execute(
            "INSERT INTO team_members (id, team_id, user_id, role, created_at, updated_at) "
            "VALUES (gen_random_uuid(), $1, $2, 'owner', now(), now())",
            team_id,
            user_id,
        )
        await fill_team(conn, team_id, user_id, sizes)
        if hot_campaign:  # one campaign with 150 posts, for ListPosts (100)
            await conn.execute(_HOT_CAMPAIGN_POSTS, team_id)


async def fill_team(conn: asyncpg.Connection, team_id: uuid.UUID, owner_id: uuid.UUID, sizes: Sizes) -> None:
    """Brands, creators, campaigns, bookings, a post per booking, to-dos and events for one team
    (in the caller's transaction, whose `app.team_id` must be `team_id`)."""
    for statement in _STATEMENTS:
        await conn.execute(
            statement,
            team_id,
            sizes.brands,
            sizes.creators,
            sizes.campaigns,
            sizes.bookings_per_campaign,
            sizes.todos_per_campaign,
            sizes.events,
            owner_id,
        )


# $1 team, $2 brands, $3 creators, $4 campaigns, $5 bookings per campaign, $6 to-dos per
# campaign, $7 events, $8 the owner. Every statement takes all eight (unused ones are cast).
_PARAMS = "$1::uuid, $2::int, $3::int, $4::int, $5::int, $6::int, $7::int, $8::uuid"
_STATEMENTS = [
    "WITH p(team_id, brands, creators, campaigns, bookings, todos, events, owner) AS (SELECT "
    + _PARAMS
    + ") "
    "INSERT INTO brands (id, team_id, name, website, description, version, created_at, updated_at) "
    "SELECT gen_random_uuid(), p.team_id, 'Brand ' || lpad(i::text, 4, '0'), 'https://example.com/' || i, "
    "'A brand the benchmark made.', 1, now(), now() FROM p, generate_series(1, p.brands) i",
    "WITH p(team_id, brands, creators, campaigns, bookings, todos, events, owner) AS (SELECT "
    + _PARAMS
    + ") "
    "INSERT INTO creators (id, team_id, name, handles, follower_counts, contact_email, tags, version, "
    "created_at, updated_at) "
    "SELECT gen_random_uuid(), p.team_id, 'Creator ' || substr(md5(i::text), 1, 10), "
    "jsonb_build_object('instagram', '@creator' || i), jsonb_build_object('instagram', i * 7), "
    "'creator' || i || '@example.com', ARRAY['fashion', 'tech'], 1, now(), now() "
    "FROM p, generate_series(1, p.creators) i",
    "WITH p(team_id, brands, creators, campaigns, bookings, todos, events, owner) AS (SELECT "
    + _PARAMS
    + "), "
    "b AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM brands WHERE team_id = (SELECT team_id FROM p)) "
    "INSERT INTO campaigns (id, team_id, name, brand_id, status, budget, currency, start_date, end_date, "
    "description, version, created_at, updated_at) "
    "SELECT gen_random_uuid(), p.team_id, 'Campaign ' || lpad(i::text, 4, '0'), b.id, "
    "(ARRAY['draft', 'active', 'paused', 'completed', 'archived'])[1 + i % 5], 10000 + i, "
    "(ARRAY['EUR', 'USD'])[1 + i % 2], current_date - 30, current_date + 30, NULL, 1, now(), now() "
    "FROM p, generate_series(1, p.campaigns) i, b WHERE b.n = 1 + (i % GREATEST(p.brands, 1))",
    "WITH p(team_id, brands, creators, campaigns, bookings, todos, events, owner) AS (SELECT "
    + _PARAMS
    + "), "
    "c AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM campaigns WHERE team_id = (SELECT team_id FROM p)), "
    "r AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM creators WHERE team_id = (SELECT team_id FROM p)) "
    "INSERT INTO campaign_creators (id, team_id, campaign_id, creator_id, agreed_fee, deliverables, version, "
    "created_at, updated_at) "
    "SELECT gen_random_uuid(), p.team_id, c.id, r.id, 100 + j, 'One post', 1, now(), now() "
    "FROM p, c, generate_series(1, p.bookings) j, r "
    "WHERE r.n = 1 + ((c.n * p.bookings + j) % GREATEST(p.creators, 1))",
    "WITH p(team_id, brands, creators, campaigns, bookings, todos, events, owner) AS (SELECT "
    + _PARAMS
    + ") "
    "INSERT INTO posts (id, team_id, campaign_id, creator_id, platform, caption, status, views, likes, comments, "
    "shares, version, created_at, updated_at) "
    "SELECT gen_random_uuid(), cc.team_id, cc.campaign_id, cc.creator_id, 'instagram', 'A post', "
    "(ARRAY['draft', 'submitted', 'approved', 'published'])[1 + (hashtext(cc.id::text) & 3)], 10, 1, 0, 0, 1, "
    "now(), now() FROM p, campaign_creators cc WHERE cc.team_id = p.team_id",
    "WITH p(team_id, brands, creators, campaigns, bookings, todos, events, owner) AS (SELECT "
    + _PARAMS
    + ") "
    "INSERT INTO todos (id, team_id, campaign_id, title, status, due_date, version, created_at, updated_at) "
    "SELECT gen_random_uuid(), c.team_id, c.id, 'To-do ' || j, (ARRAY['open', 'in_progress', 'done'])[1 + j % 3], "
    "current_date + (j - 3), 1, now(), now() "
    "FROM p, campaigns c, generate_series(1, p.todos) j WHERE c.team_id = p.team_id",
    "WITH p(team_id, brands, creators, campaigns, bookings, todos, events, owner) AS (SELECT "
    + _PARAMS
    + ") "
    "INSERT INTO events (id, team_id, actor_id, object_type, object_id, event_type, changes, created_at, updated_at) "
    "SELECT gen_random_uuid(), p.team_id, p.owner, 'brand', gen_random_uuid(), 'updated', "
    "jsonb_build_object('name', jsonb_build_object('old', 'A', 'new', 'B')), "
    "now() - make_interval(secs => i), now() FROM p, generate_series(1, p.events) i",
]
_HOT_CAMPAIGN_POSTS = (
    "INSERT INTO posts (id, team_id, campaign_id, creator_id, platform, caption, status, views, likes, comments, "
    "shares, version, created_at, updated_at) "
    "SELECT gen_random_uuid(), cc.team_id, cc.campaign_id, cc.creator_id, 'tiktok', 'Another post ' || i, 'draft', "
    "0, 0, 0, 0, 1, now(), now() "
    "FROM (SELECT * FROM campaign_creators WHERE team_id = $1 ORDER BY campaign_id, id LIMIT 10) cc, "
    "generate_series(1, 14) i"
)
