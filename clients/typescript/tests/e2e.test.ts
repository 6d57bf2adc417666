/**
 * The frontend's journey through the generated SDK only, against a live API process.
 *
 * One `describe`, steps in order, sharing what earlier steps created (`state`). New features
 * add their steps at the end, reusing the team, the campaign and the posts made here (the
 * actions and the thread-over-the-socket steps are the latest).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  type BrandRead,
  type CampaignCreatorRead,
  type CampaignRead,
  type CreatorRead,
  type PostRead,
  type PostUpdate,
  type ProblemDetails,
  type TeamRead,
  type TodoRead,
  type TokenPair,
  createBrand,
  createCampaign,
  createCampaignCreator,
  createCreator,
  createPost,
  createTeam,
  createTodo,
  executeObjectAction,
  getCurrentUser,
  getTeamDashboard,
  listObjectActions,
  listPosts,
  login,
  postThreadMessage,
  refreshToken,
  register,
  updateCampaign,
  updatePost,
} from "../src";
import { RealtimeSocket, type ServerFrame } from "./realtime";
import { configureClient, ok, signIn, uniqueEmail } from "./support";

const state: {
  email: string;
  password: string;
  tokens?: TokenPair;
  team?: TeamRead;
  brand?: BrandRead;
  creators: CreatorRead[];
  campaign?: CampaignRead;
  bookings: CampaignCreatorRead[];
  accessToken?: string;
  post?: PostRead;
  draftPost?: PostRead;
  todo?: TodoRead;
  socket?: RealtimeSocket;
} = { email: uniqueEmail("ts-e2e"), password: "correct-horse-battery", creators: [], bookings: [] };

function need<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what} comes from an earlier step`);
  return value;
}

function teamPath() {
  return { team_id: need(state.team, "the team").id };
}

function campaignPath() {
  return { ...teamPath(), campaign_id: need(state.campaign, "the campaign").id };
}

/** A PUT body from what was read: every field, the version read, and the changes. */
function postUpdate(post: PostRead, changes: Partial<PostUpdate>): PostUpdate {
  const { creator_id, platform, caption, status, scheduled_at, published_at, published_url } = post;
  const { views, likes, comments, shares, version } = post;
  return {
    creator_id,
    platform,
    caption,
    status,
    scheduled_at,
    published_at,
    published_url,
    views,
    likes,
    comments,
    shares,
    version,
    ...changes,
  };
}

describe("a frontend runs a campaign through the generated client", () => {
  before(configureClient);
  after(() => state.socket?.close());

  it("Register", async () => {
    const user = ok(
      await register({ body: { email: state.email, password: state.password, name: "Ada Frontend" } }),
      201,
    );
    assert.equal(user.email, state.email);
  });

  it("Login", async () => {
    const tokens = ok(await login({ body: { email: state.email, password: state.password } }));
    assert.equal(typeof tokens.access_token, "string");
    state.tokens = tokens;
    signIn(tokens.access_token);
    const me = ok(await getCurrentUser());
    assert.equal(me.email, state.email);
  });

  it("RefreshToken: a new pair; the old refresh token is spent", async () => {
    const old = need(state.tokens, "the login");
    const tokens = ok(await refreshToken({ body: { refresh_token: old.refresh_token } }));
    assert.notEqual(tokens.refresh_token, old.refresh_token);
    state.tokens = tokens;
    signIn(tokens.access_token);
    const reused = await refreshToken({ body: { refresh_token: old.refresh_token } });
    assert.equal(reused.response.status, 401);
    // the reuse revoked the family: sign in again to carry on
    const fresh = ok(await login({ body: { email: state.email, password: state.password } }));
    signIn(fresh.access_token);
    state.accessToken = fresh.access_token;
  });

  it("CreateTeam", async () => {
    state.team = ok(await createTeam({ body: { name: "Frontend Team" } }), 201);
    assert.equal(state.team.role, "owner");
  });

  it("CreateBrand", async () => {
    state.brand = ok(await createBrand({ path: teamPath(), body: { name: "Acme" } }), 201);
  });

  it("CreateCreator", async () => {
    for (const [name, handle] of [
      ["Ada", "@ada"],
      ["Bob", "@bob"],
    ] as const) {
      const creator = ok(
        await createCreator({ path: teamPath(), body: { name, handles: { tiktok: handle }, tags: ["fashion"] } }),
        201,
      );
      state.creators.push(creator);
    }
  });

  it("CreateCampaign: money is a string with two decimals", async () => {
    const campaign = ok(
      await createCampaign({
        path: teamPath(),
        body: {
          name: "Launch",
          brand_id: need(state.brand, "the brand").id,
          budget: "5000",
          currency: "EUR",
          start_date: "2026-03-01",
          end_date: "2026-04-30",
        },
      }),
      201,
    );
    assert.equal(campaign.budget, "5000.00");
    assert.equal(campaign.status, "draft");
    assert.equal(campaign.start_date, "2026-03-01");
    state.campaign = campaign;
  });

  it("CreateCampaignCreator", async () => {
    for (const [creator, fee] of state.creators.map((c, i) => [c, i === 0 ? "1500" : "900.5"] as const)) {
      const booking = ok(
        await createCampaignCreator({ path: campaignPath(), body: { creator_id: creator.id, agreed_fee: fee } }),
        201,
      );
      state.bookings.push(booking);
    }
    assert.deepEqual(
      state.bookings.map((b) => b.agreed_fee),
      ["1500.00", "900.50"],
    );
  });

  it("CreatePost", async () => {
    const [ada, bob] = state.creators;
    state.post = ok(
      await createPost({
        path: campaignPath(),
        body: { creator_id: need(ada, "Ada").id, platform: "tiktok", caption: "Launch day" },
      }),
      201,
    );
    assert.equal(state.post.status, "draft");
    state.draftPost = ok(
      await createPost({ path: campaignPath(), body: { creator_id: need(bob, "Bob").id, platform: "instagram" } }),
      201,
    );
  });

  it("UpdatePost: through review to published", async () => {
    let post = need(state.post, "the post");
    for (const changes of [
      { status: "submitted" },
      { status: "approved" },
      { status: "scheduled", scheduled_at: "2026-03-10T18:00:00Z" },
      { status: "published", published_url: "https://tiktok.example/@ada/1" },
    ] satisfies Partial<PostUpdate>[]) {
      post = ok(await updatePost({ path: { ...campaignPath(), post_id: post.id }, body: postUpdate(post, changes) }));
      assert.equal(post.status, changes.status);
    }
    assert.notEqual(post.published_at, null);
    state.post = post;
  });

  it("CreateTodo", async () => {
    state.todo = ok(
      await createTodo({
        path: campaignPath(),
        body: { title: "Pay Ada", due_date: "2026-03-15", post_id: need(state.post, "the post").id },
      }),
      201,
    );
    assert.equal(state.todo.status, "open");
  });

  it("ListPosts: filters and paging", async () => {
    const all = ok(await listPosts({ path: campaignPath(), query: { limit: 1, offset: 0, sort: "created_at" } }));
    assert.equal(all.total, 2);
    assert.equal(all.items.length, 1);
    assert.equal(all.limit, 1);
    const second = ok(await listPosts({ path: campaignPath(), query: { limit: 1, offset: 1, sort: "created_at" } }));
    assert.equal(second.items.length, 1);
    assert.notEqual(second.items[0]?.id, all.items[0]?.id);
    const published = ok(await listPosts({ path: campaignPath(), query: { status: "published", platform: "tiktok" } }));
    assert.deepEqual(
      published.items.map((p) => p.id),
      [need(state.post, "the post").id],
    );
    const none = ok(await listPosts({ path: campaignPath(), query: { status: "published", platform: "instagram" } }));
    assert.equal(none.total, 0);
  });

  it("UpdateCampaign with a stale version: a typed 409 problem", async () => {
    const campaign = need(state.campaign, "the campaign");
    const body = {
      name: campaign.name,
      brand_id: campaign.brand_id,
      status: campaign.status,
      budget: campaign.budget,
      currency: campaign.currency,
      start_date: campaign.start_date,
      end_date: campaign.end_date,
      description: campaign.description,
      version: campaign.version,
    };
    const fresh = ok(await updateCampaign({ path: campaignPath(), body: { ...body, status: "active" } }));
    assert.equal(fresh.version, campaign.version + 1);
    const stale = await updateCampaign({ path: campaignPath(), body: { ...body, name: "Lost update" } });
    assert.equal(stale.response.status, 409);
    const problem: ProblemDetails | undefined = stale.error;
    assert.ok(problem, "the 409 carries problem details");
    assert.equal(problem.status, 409);
    assert.equal(problem.current_version, fresh.version);
    assert.equal(stale.response.headers.get("content-type"), "application/problem+json");
    state.campaign = fresh;
  });

  it("GetTeamDashboard", async () => {
    const dashboard = ok(await getTeamDashboard({ path: teamPath() }));
    assert.equal(dashboard.campaigns_by_status.active, 1);
    assert.equal(dashboard.posts_by_status.published, 1);
    const eur = dashboard.money.find((m) => m.currency === "EUR");
    assert.ok(eur, "money in EUR");
    assert.equal(eur.budget, "5000.00");
    assert.equal(eur.committed, "2400.50");
    assert.equal(eur.spent, "1500.00");
    assert.equal(eur.remaining, "2599.50");
  });

  it("ListObjectActions, then ExecuteObjectAction by name: a typed result, and a typed 409 when stale", async () => {
    const draft = need(state.draftPost, "the draft post");
    const path = { ...teamPath(), object_type: "post", object_id: draft.id };
    const actions = ok(await listObjectActions({ path }));
    const submit = actions.items.find((action) => action.name === "submit_for_review");
    assert.ok(submit, `a draft post offers submit_for_review (offered: ${actions.items.map((a) => a.name)})`);
    assert.equal(submit.available, true);
    assert.equal(submit.unavailable_reason, null);
    const approve = actions.items.find((action) => action.name === "approve");
    assert.ok(approve, "a post has an approve action");
    assert.equal(approve.available, false, "a draft cannot be approved yet");
    assert.equal(typeof approve.unavailable_reason, "string");

    const executed = ok(
      await executeObjectAction({
        path: { ...path, action_name: submit.name },
        body: { action: "post.submit_for_review", version: draft.version },
      }),
    );
    assert.equal(executed.object_type, "post");
    assert.equal(executed.action, submit.action);
    if (executed.object_type !== "post") return; // narrows the result union to PostActionResult
    const submitted: PostRead = executed.object;
    assert.equal(submitted.id, draft.id);
    assert.equal(submitted.status, "submitted");
    assert.equal(submitted.version, draft.version + 1);

    const stale = await executeObjectAction({
      path: { ...path, action_name: "approve" },
      body: { action: "post.approve", version: draft.version },
    });
    assert.equal(stale.response.status, 409);
    const problem: ProblemDetails | undefined = stale.error;
    assert.ok(problem, "the 409 carries problem details");
    assert.equal(problem.status, 409);
    assert.equal(problem.current_version, submitted.version);
    assert.equal(stale.response.headers.get("content-type"), "application/problem+json");

    const listed = ok(await listObjectActions({ path }));
    assert.equal(listed.items.find((action) => action.name === "approve")?.available, true);
    state.draftPost = submitted;
  });

  it("a thread message arrives over the WebSocket", async () => {
    const post = need(state.draftPost, "the submitted post");
    const socket = await RealtimeSocket.open(need(state.accessToken, "the access token"));
    state.socket = socket;
    const topic = `thread:${teamPath().team_id}:post:${post.id}`;
    const answer = await socket.subscribe(topic);
    assert.equal(answer.type, "subscribed", `subscribing to ${topic}: ${JSON.stringify(answer)}`);

    const body = `Looks good, @Bob: ${uniqueEmail("note")}`;
    const posted = ok(
      await postThreadMessage({ path: { ...teamPath(), object_type: "post", object_id: post.id }, body: { body } }),
      201,
    );
    assert.equal(posted.body, body);
    const frame = await socket.next(
      (f: ServerFrame) => f.type === "message" && f.message.id === posted.id,
      `the message frame of ${posted.id} on ${topic}`,
    );
    assert.ok(frame.type === "message");
    assert.equal(frame.topic, topic);
    assert.equal(frame.action, "created");
    assert.equal(frame.message.body, body);
    assert.equal(frame.message.kind, posted.kind);
  });
});
