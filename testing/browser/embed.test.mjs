// The dashboard mounted inside a host page that is not ours (testing/browser/host: React, the
// official Appwrite Web SDK, the host's own header and styles) at /app/jobs: list, in-page
// navigation to a job and back, live updates, and the SDK's `client.subscribe` receiving the
// same row events from the dev server. Hostile text stays inert on every new surface.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, openBrowser, worker, eventually, row, screenshots } from "./harness.mjs";
import { startHost } from "./host/server.mjs";

let server;
let hostApp;
before(async () => {
  server = await startServer();
  hostApp = await startHost(server.url);
  mkdirSync(screenshots, { recursive: true });
});
after(async () => {
  await hostApp?.stop();
  await server?.stop();
});

test("mounted in a React host page, the dashboard lists, navigates in place and updates live", async () => {
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    const job = await worker(server.url, "CAMPAIGN_RUN", "campaign-embedded", { total: 200 });
    await job.progress({ done: 50, message: "50/200 emails sent" });
    const done = await worker(server.url, "BULK_VERIFY", "leads-embedded", { total: 10 });
    await done.complete({ result: { valid: 9, invalid: 1 } });
    await page.goto(`${hostApp.url}/app/jobs`);
    const r = row(page, job.jobId);
    await r.waitFor();
    await page.locator('[data-part="refreshed"][data-mode="live"]').waitFor();
    assert.equal(await page.locator(".host-nav").count(), 1, "the host's header is still there");
    assert.equal(await r.locator("a.ref").getAttribute("href"), `/app/jobs/${job.jobId}`);
    await page.screenshot({ path: join(screenshots, "embedded.png") });
    const loadedAt = await page.evaluate(() => window.__hostLoadedAt);

    await job.progress({ done: 150, message: "150/200 emails sent" });
    await eventually(async () => (await r.locator(".pct").textContent()) === "75%", 10000, "75%");
    // The official Web SDK, subscribed by the host, receives the same row changes. It subscribes
    // on its own schedule (a message after `connected`), so report until it has seen one.
    let sent = 150;
    const seen = await eventually(async () => {
      const events = await page.evaluate(() => window.__sdkEvents);
      const mine = events.find((e) => e.payload.$id === job.jobId && e.payload.progress >= 75);
      if (mine) return mine;
      sent = Math.min(sent + 2, 198);
      await job.progress({ done: sent, message: `${sent}/200 emails sent` });
      return false;
    }, 20000, "the SDK's event");
    assert.ok(seen.events.some((e) => e.endsWith(`rows.${job.jobId}.update`)), seen.events.join());
    assert.ok(seen.channels.includes("tablesdb.jobmanager.tables.jobs.rows"));

    await r.locator("a.ref").click();
    await page.waitForURL(`${hostApp.url}/app/jobs/${job.jobId}`);
    await page.getByRole("heading", { name: /campaign-embedded/ }).waitFor();
    await page.goBack();
    await row(page, job.jobId).waitFor();
    assert.equal(await page.evaluate(() => window.__hostLoadedAt), loadedAt, "navigation stayed in the host page");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("hostile text arriving by Realtime, in list rows, the log and the embedded view stays inert", async () => {
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    const payload = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;
    const job = await worker(server.url, "BULK_VERIFY", `xss-${payload}`.slice(0, 120), { total: 10 });
    await page.goto(`${hostApp.url}/app/jobs`);
    await row(page, job.jobId).waitFor();
    await page.locator('[data-part="refreshed"][data-mode="live"]').waitFor();
    await job.progress({ done: 5, message: payload });
    await job.fail(`failed ${payload}`);
    await row(page, job.jobId).locator(".row-error").waitFor({ timeout: 10000 });
    assert.match(await row(page, job.jobId).locator(".row-error").first().textContent(), /<img src=x onerror=/);
    await row(page, job.jobId).locator("a.ref").click();
    await page.locator(".ev-msg").first().waitFor();
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator(".host-jobs img, .host-jobs script").count(), 0);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
