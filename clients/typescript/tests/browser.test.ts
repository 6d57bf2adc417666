/**
 * The developer's tools in a real browser (the system Chromium, driven by playwright-core):
 * Swagger UI with the app's own assets, Authorize with a token from Login, "Try it out" on
 * ListTeams; and the job queue UI at /saq with a job listed. Screenshots go to artifacts/.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { type Browser, type Page, chromium } from "playwright-core";

import { login, register } from "../src";
import { baseUrl, configureClient, ok, uniqueEmail } from "./support";

const ARTIFACTS = process.env.BROWSER_ARTIFACTS ?? path.resolve(__dirname, "..", "..", "artifacts");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CEILING_MS = 60_000;

let browser: Browser;
let page: Page;
let accessToken = "";
const foreignRequests: string[] = [];
const failedRequests: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe("Swagger UI and the job queue UI in Chromium", () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    configureClient();
    const email = uniqueEmail("browser");
    // Registering enqueues the verification email: the job /saq lists (no worker runs here).
    ok(await register({ body: { email, password: "correct-horse-battery", name: "Browser" } }), 201);
    accessToken = ok(await login({ body: { email, password: "correct-horse-battery" } })).access_token;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(CEILING_MS);
    page.on("request", (request) => {
      const url = request.url();
      if (!url.startsWith(baseUrl) && !url.startsWith("data:")) foreignRequests.push(url);
    });
    page.on("requestfailed", (request) => failedRequests.push(`${request.url()} ${request.failure()?.errorText}`));
  });

  after(async () => {
    await browser?.close();
  });

  it("renders every tag with the app's own assets", async () => {
    const schema = (await (await fetch(`${baseUrl}/schema/openapi.json`)).json()) as { tags: { name: string }[] };
    await page.goto(`${baseUrl}/schema/swagger`);
    await page.locator(".swagger-ui .opblock-tag").first().waitFor();
    const shown = await page.locator(".swagger-ui .opblock-tag").evaluateAll((nodes) =>
      nodes.map((node) => node.getAttribute("data-tag")),
    );
    assert.deepEqual(
      shown,
      schema.tags.map((tag) => tag.name),
    );
    await shot("swagger-tags");
    assert.deepEqual(foreignRequests, [], "every asset comes from the app (no CDN)");
    assert.deepEqual(failedRequests, []);
  });

  it("Authorize with a token from Login", async () => {
    await page.locator(".swagger-ui .auth-wrapper .btn.authorize").click();
    const dialog = page.locator(".swagger-ui .modal-ux");
    await dialog.locator("input").first().fill(accessToken);
    await dialog.locator(".auth-btn-wrapper .btn.authorize").click();
    await dialog.locator(".auth-btn-wrapper .btn-done").waitFor();
    await shot("swagger-authorized");
    await dialog.locator(".auth-btn-wrapper .btn-done").click();
    await dialog.waitFor({ state: "detached" });
  });

  it("Try it out on ListTeams answers 200", async () => {
    const operation = page.locator("#operations-Teams-ListTeams");
    await operation.locator(".opblock-summary").first().click();
    await operation.locator(".try-out__btn").click();
    await operation.locator(".btn.execute").click();
    const status = operation.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor();
    assert.equal((await status.innerText()).trim(), "200");
    await operation.screenshot({ path: path.join(ARTIFACTS, "swagger-list-teams-200.png") });
  });

  it("/saq lists the queued job", async () => {
    await page.goto(`${baseUrl}/saq/queues/default`);
    const job = page.locator("td", { hasText: "send_email" }).first();
    await job.waitFor();
    await shot("saq-queue");
    await page.goto(`${baseUrl}/saq/`);
    await page.locator("td", { hasText: "default" }).first().waitFor();
    await shot("saq-home");
    assert.deepEqual(foreignRequests, [], "the job UI's assets come from the app");
  });
});
