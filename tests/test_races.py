"""Parallel requests get the answers serial ones would: the throttle holds, the losers of a delete see 404."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.conftest import ApiClient
from tests.factories import (
    BrandFactory,
    CampaignCreatorFactory,
    CampaignFactory,
    CreatorFactory,
    PostFactory,
    UserFactory,
)

PARALLEL = 20


async def test_parallel_wrong_passwords_never_pass_the_limit(test_client: ApiClient, settings) -> None:
    user = await UserFactory.create_async()
    limit = settings.auth.login_max_failures_per_account
    responses = await asyncio.gather(
        *[
            test_client.post("/api/auth/login", json={"email": user.email, "password": "wrong password"})
            for _ in range(30)
        ]
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses[401] == limit, statuses
    assert statuses[429] == 30 - limit, statuses


async def test_a_good_login_does_not_count_as_a_failure(test_client: ApiClient, settings) -> None:
    user = await UserFactory.create_async()
    for _ in range(settings.auth.login_max_failures_per_account + 1):
        response = await test_client.post(
            "/api/auth/login", json={"email": user.email, "password": "correct horse battery staple"}
        )
        assert response.status_code == 200, response.text


async def _delete_in_parallel(client: ApiClient, url: str) -> Counter[int]:
    responses = await asyncio.gather(*[client.delete(url) for _ in range(PARALLEL)])
    for response in responses:
        if response.status_code != 204:
            assert response.json()["code"] == "not_found", response.text
    return Counter(r.status_code for r in responses)


async def test_parallel_deletes_of_a_brand_one_wins_the_rest_see_404(
    authenticated_client: ApiClient, team
) -> None:
    brand = await BrandFactory.create_async(team_id=team.id)
    statuses = await _delete_in_parallel(authenticated_client, f"/api/teams/{team.id}/brands/{brand.id}")
    assert statuses == Counter({204: 1, 404: PARALLEL - 1})


async def test_parallel_deletes_of_a_creator_one_wins_the_rest_see_404(
    authenticated_client: ApiClient, team
) -> None:
    creator = await CreatorFactory.create_async(team_id=team.id)
    statuses = await _delete_in_parallel(authenticated_client, f"/api/teams/{team.id}/creators/{creator.id}")
    assert statuses == Counter({204: 1, 404: PARALLEL - 1})


async def test_parallel_deletes_of_a_post_one_wins_the_rest_see_404(
    authenticated_client: ApiClient, team
) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    post = await PostFactory.for_booking(await CampaignCreatorFactory.book(campaign))
    url = f"/api/teams/{team.id}/campaigns/{campaign.id}/posts/{post.id}"
    statuses = await _delete_in_parallel(authenticated_client, url)
    assert statuses == Counter({204: 1, 404: PARALLEL - 1})
