// Sign-in for the standalone deployment, against the dev server's Account API with development
// users: the sign-in page, wrong passwords, an operator (buttons), a viewer (no buttons), a user
// in neither team (the no-role screen), sign-out. Screenshots of the sign-in page for the docs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, openBrowser, worker, row, screenshots, withConfig, eventually } from "./harness.mjs";

const USERS = JSON.stringify([
  { id: "ops", email: "ops@pivotr.test", teams: ["jobs-operators"], password: "ops-password" },
  { id: "view", email: "view@pivotr.test", teams: ["jobs-viewers"], password: "view-password" },
  { id: "new", email: "new@pivotr.test", password: "new-password" },
]);
let server;
let jobId;
before(async () => {
  server = await startServer({ env: { JOBS_DEV_USERS: USERS } });
  jobId = (await worker(server.url, "CAMPAIGN_RUN", "campaign-signin", { total: 10 })).jobId;
  mkdirSync(screenshots, { recursive: true });
});
after(async () => {
  await server?.stop();
});

async function signIn(page, email, password) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a signed-out visitor gets the sign-in page; an operator signs in, acts, and signs out", async () => {
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    await page.goto(`${server.url}/jobs`);
    await page.getByRole("heading", { name: "Sign in to Jobs" }).waitFor();
    assert.equal(await page.locator('[data-part="summary"]').isHidden(), true, "no counts before sign-in");
    await page.screenshot({ path: join(screenshots, "sign-in.png") });
    await signIn(page, "ops@pivotr.test", "not-the-password");
    await page.locator('[data-part="sign-in-error"]', { hasText: "Wrong email or password." }).waitFor();

    await signIn(page, "ops@pivotr.test", "ops-password");
    const r = row(page, jobId);
    await r.waitFor();
    await r.getByRole("button", { name: /^Pause/ }).waitFor();
    assert.match(await page.locator('[data-part="who"]').textContent(), /ops@pivotr\.test.*Operator/);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Jobs" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Sign in to Jobs" }).waitFor();
    assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
  } finally {
    await browser.close();
  }
});

test("a viewer signs in and sees jobs without action buttons", async () => {
  const browser = await openBrowser();
  try {
    const { page } = browser;
    await page.goto(`${server.url}/jobs`);
    await signIn(page, "view@pivotr.test", "view-password");
    const r = row(page, jobId);
    await r.waitFor();
    assert.match(await page.locator('[data-part="who"]').textContent(), /Viewer \(read-only\)/);
    assert.equal(await page.locator("button.act").count(), 0);
    await r.locator("a.ref").click();
    await page.getByRole("heading", { name: /campaign-signin/ }).waitFor();
    assert.equal(await page.locator("button.act").count(), 0);
  } finally {
    await browser.close();
  }
});

test("a signed-in user in neither team gets the no-role screen and can sign out", async () => {
  const browser = await openBrowser();
  try {
    const { page } = browser;
    await page.goto(`${server.url}/jobs`);
    await signIn(page, "new@pivotr.test", "new-password");
    await page.getByRole("heading", { name: "You have no access to jobs yet" }).waitFor();
    assert.match(await page.locator(".no-role").textContent(), /new@pivotr\.test/);
    assert.equal(await page.locator("table.jobs").count(), 0);
    await page.screenshot({ path: join(screenshots, "no-role.png") });
    await page.locator(".no-role").getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Jobs" }).waitFor();
  } finally {
    await browser.close();
  }
});

test("OAuth providers from the configuration are offered as Appwrite's OAuth2 sign-in links", async () => {
  const browser = await openBrowser();
  try {
    const { page } = browser;
    await withConfig(page, { oauthProviders: ["github"] });
    await page.goto(`${server.url}/jobs`);
    const link = page.getByRole("link", { name: "GitHub" });
    await link.waitFor();
    const href = new URL(await link.getAttribute("href"), server.url);
    assert.equal(href.pathname, "/v1/account/sessions/oauth2/github");
    assert.equal(href.searchParams.get("project"), "jobmanager");
    assert.equal(href.searchParams.get("success"), `${server.url}/jobs`);
  } finally {
    await browser.close();
  }
});

test("Realtime delivers a row only to sockets whose user may read the table", async () => {
  const viewer = await openBrowser();
  const nobody = await openBrowser();
  try {
    const listen = async (page, email, password) => {
      await page.goto(`${server.url}/jobs`);
      await signIn(page, email, password);
      await page.locator('[data-part="who"]', { hasText: email }).waitFor();
      await page.evaluate(async () => {
        window.__got = [];
        window.__pongs = 0;
        const ws = new WebSocket(`ws://${location.host}/v1/realtime?project=jobmanager&channels[]=rows`);
        ws.onmessage = (e) => {
          const m = JSON.parse(e.data);
          if (m.type === "event") window.__got.push(m.data.payload.$id);
          if (m.type === "pong") window.__pongs += 1;
        };
        await new Promise((r) => (ws.onopen = r));
        window.__ws = ws;
      });
    };
    await listen(viewer.page, "view@pivotr.test", "view-password");
    await listen(nobody.page, "new@pivotr.test", "new-password");
    const job = await worker(server.url, "SQS_POLL", "rt-permissions");
    await eventually(() => viewer.page.evaluate((id) => window.__got.includes(id), job.jobId), 10000, "the viewer's event");
    // A round trip on the other socket after the viewer got the row: nothing came before it.
    await nobody.page.evaluate(() => window.__ws.send(JSON.stringify({ type: "ping" })));
    await eventually(() => nobody.page.evaluate(() => window.__pongs > 0), 10000, "the pong");
    assert.deepEqual(await nobody.page.evaluate(() => window.__got), []);
  } finally {
    await viewer.close();
    await nobody.close();
  }
});
