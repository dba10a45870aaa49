// Issue 28 in the browser: a pause reads "Pausing…" until the worker confirms, then "Paused by
// dev-user: SES quota" on the row and the detail header; an 800-item verification's log reads
// in under 1,500 px; the offline banner (one toast, dimmed rows, durations stopped) and the
// "Live · updated" stamp; copy buttons for ids and absolute times with their zone in view; axe-core in
// both themes. Every wait is on a condition; time moves only on the page's fake clock.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, withBrowser, worker, action, execute, row, axe, withConfig, trackFetches, advance } from "./harness.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const badge = (scope) => scope.locator(".badge[data-status]").first();

test("a pause reads Pausing… until the worker confirms, then Paused by who paused and why, on the row and the detail header", async () => {
  await withBrowser(async ({ page, context }) => {
    const executionId = "exec-honest-1";
    const job = await worker(server.url, "CAMPAIGN_RUN", "camp-honest", { total: 100, executionId });
    await job.progress({ done: 10, executionId });
    await page.goto(`${server.url}/jobs`);
    const r = row(page, job.jobId);
    await r.waitFor();
    await page.locator('[data-part="refreshed"][data-mode="live"]').waitFor();
    assert.equal(await badge(r).textContent(), "Running");

    const paused = await action(server.url, "POST", `/v1/jobs/${job.jobId}/pause`, { reason: "SES quota" });
    assert.equal(paused.status, 200);
    assert.equal(paused.body.job.executionId, executionId, "the worker has not stopped yet");
    await r.locator(".badge.pending", { hasText: "Pausing…" }).waitFor();
    await r.locator(".stop-by", { hasText: "by dev-user: SES quota" }).waitFor();

    const detail = await context.newPage();
    await detail.goto(`${server.url}/jobs/${job.jobId}`);
    const head = detail.locator('[data-key="head"]');
    await head.locator(".badge", { hasText: "Pausing…" }).waitFor();
    assert.deepEqual(await axe(detail), [], "the pausing detail page");

    // The worker's next call is answered `pause`; it confirms with `paused`.
    const answer = await execute(server.url, "hook-campaign-run", { event: "paused", jobId: job.jobId, run: 1, executionId, checkpoint: { offset: 10 } });
    assert.equal(answer.job.executionId ?? null, null);
    await r.locator(".badge:not(.pending)", { hasText: /^Paused$/ }).waitFor();
    assert.equal(await r.locator(".stop-by").textContent(), "by dev-user: SES quota");
    await head.locator(".badge:not(.pending)", { hasText: /^Paused$/ }).waitFor();
    await detail.locator('[data-key="head-meta"] .stop-by', { hasText: "by dev-user: SES quota" }).waitFor();
    // The log's summary names the request and the worker's confirmation.
    const summary = detail.locator(".log-summary");
    await summary.locator("p", { hasText: "Pause requested by dev-user" }).waitFor();
    await summary.locator("p", { hasText: "(worker stopped)" }).waitFor();
    await detail.close();
  });
});

test("a cancelled job's header says the worker learns of it at its next report, then that it was told", async () => {
  await withBrowser(async ({ page }) => {
    const executionId = "exec-cancel-1";
    const job = await worker(server.url, "CAMPAIGN_RUN", "camp-cancel", { total: 10, executionId });
    // A claim in flight: the worker's next report settles it, which the log records.
    await job.progress({ done: 2, claimed: 4, checkpoint: { offset: 2 }, executionId });
    const cancelled = await action(server.url, "POST", `/v1/jobs/${job.jobId}/cancel`, { reason: "wrong list" });
    assert.equal(cancelled.status, 200);
    await page.goto(`${server.url}/jobs/${job.jobId}`);
    const head = page.locator('[data-key="head-meta"]');
    await head.locator(".stop-by", { hasText: "by dev-user: wrong list" }).waitFor();
    await head.locator(".cancel-note", { hasText: "The worker learns of the cancel at its next report" }).waitFor();
    await execute(server.url, "hook-campaign-run", { event: "progress", jobId: job.jobId, run: 1, done: 4, checkpoint: { offset: 4 }, executionId }).catch(() => null);
    await head.locator(".cancel-note", { hasText: /^Worker told: its report at .* was answered cancel$/ }).waitFor();
    assert.deepEqual(await axe(page), []);
  });
});

/** Seeds a BULK_VERIFY job of 800 leads through the hooks: 40 progress steps, a pause the worker confirms, a resume, more progress, a failure. */
async function verification(reference) {
  const total = 800;
  const job = await worker(server.url, "BULK_VERIFY", reference, { total, metadata: { list: "spring-import", source: "csv" } });
  let done = 0;
  for (let i = 0; i < 24; i += 1) {
    done += 20;
    await job.progress({ done, total, message: `${done} of ${total} leads verified`, checkpoint: { offset: done } });
  }
  const paused = await action(server.url, "POST", `/v1/jobs/${job.jobId}/pause`, { reason: "SMTP probe rate limit" });
  assert.equal(paused.status, 200);
  await execute(server.url, "hook-bulk-verify", { event: "paused", jobId: job.jobId, run: 1, checkpoint: { offset: done } });
  const resumed = await action(server.url, "POST", `/v1/jobs/${job.jobId}/resume`, { reason: "limit lifted" });
  assert.equal(resumed.status, 200);
  await job.pickUp(resumed.body.job.run);
  for (let i = 0; i < 16; i += 1) {
    done += 20;
    await job.progress({ done, total, message: `${done} of ${total} leads verified`, checkpoint: { offset: done } });
  }
  await job.fail("SMTP probe blocked by mx.example.invalid");
  return job;
}

test("an 800-item verification's detail page is under 1,500 px tall, with its failure first and progress folded", async () => {
  const job = await verification("leads-800");
  for (const colorScheme of ["light", "dark"]) {
    await withBrowser(async ({ page }) => {
      await page.goto(`${server.url}/jobs/${job.jobId}`);
      await page.locator("#events > ol.timeline").waitFor();
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      assert.ok(height < 1500, `${colorScheme}: the page is ${height} px tall`);
      // Newest first: the failure is the first entry, and a link jumps to it.
      const first = page.locator("#events > ol.timeline > li").first();
      assert.match(await first.getAttribute("class"), /k-failed/);
      assert.equal(await page.locator("a.jump").getAttribute("href"), `#${await first.getAttribute("id")}`);
      // 16 progress entries after the resume: the newest shown, 15 folded into one line.
      const groups = page.locator("#events .ev-group > details > summary");
      assert.match(await groups.first().textContent(), /^15 earlier progress entries/);
      assert.equal(await page.locator("#events > ol.timeline > li.k-progress .ev-msg").first().textContent(), "800 of 800 leads verified");
      assert.match(await groups.nth(1).textContent(), /^23 earlier progress entries/);
      await groups.first().click();
      await page.locator("#events .ev-group .ev-msg", { hasText: "500 of 800 leads verified" }).waitFor();
      // Details JSON is collapsed, with a short inline form.
      const details = page.locator("#events .ev-details").first();
      assert.equal(await details.getAttribute("open"), null);
      // The control summary.
      const summary = page.locator(".log-summary");
      await summary.locator("p", { hasText: /Resumed by dev-user at .*: limit lifted/ }).waitFor();
      await summary.locator("p", { hasText: /Pause requested by dev-user at .*: SMTP probe rate limit/ }).waitFor();
      assert.match(await summary.locator(".life").textContent(), /Heartbeats are not logged one by one/);
      assert.deepEqual(await axe(page), [], colorScheme);
    }, { colorScheme });
  }
});

test("offline: one banner and one toast, dimmed rows, stopped durations; live: the stamp keeps time", async () => {
  const job = await worker(server.url, "CAMPAIGN_RUN", "camp-offline", { total: 100 });
  await job.progress({ done: 5 });
  await withBrowser(async ({ page }) => {
    await withConfig(page, { pollMs: 1000 });
    await trackFetches(page);
    let sockets = 0;
    let current = null;
    let refuse = false;
    await page.routeWebSocket((url) => url.pathname.endsWith("/realtime"), (ws) => {
      sockets += 1;
      if (refuse) return ws.close();
      current = ws;
      ws.connectToServer();
    });
    await page.clock.install();
    await page.goto(`${server.url}/jobs`);
    const r = row(page, job.jobId);
    await r.waitFor();
    const stamp = page.locator('[data-part="refreshed"][data-mode="live"]');
    await stamp.waitFor();
    const before = await stamp.textContent();
    await advance(page, 2000);
    const after = await stamp.textContent();
    assert.match(after, /^Live · updated /);
    assert.notEqual(after, before, "the stamp moves while live");
    assert.equal(await page.locator(".connection-banner:not([hidden])").count(), 0, "no banner while live");

    // The socket drops (and every reconnection is refused): polling, said once, politely.
    refuse = true;
    await current.close();
    const banner = page.locator(".connection-banner");
    await banner.filter({ hasText: "Live updates are off" }).waitFor();
    assert.equal(await banner.getAttribute("role"), "status");
    assert.equal(await banner.getAttribute("aria-live"), "polite");

    // Requests fail too: offline.
    await page.route("**/v1/functions/job-actions/executions", (route) => route.abort());
    await advance(page, 1000);
    await banner.filter({ hasText: /^Offline since / }).waitFor();
    await page.locator('.jm[data-connection="offline"]').waitFor();
    const duration = r.locator("td.duration");
    const frozen = await duration.textContent();
    for (let i = 0; i < 3; i += 1) await advance(page, 1000);
    assert.equal(await duration.textContent(), frozen, "durations stop ticking");
    assert.equal(await page.locator(".toast", { hasText: "Offline" }).count(), 1, "one toast, not one per poll");
    assert.match(await r.evaluate((tr) => getComputedStyle(tr).filter), /grayscale/);

    // Back: the next poll reaches the server.
    await page.unroute("**/v1/functions/job-actions/executions");
    await advance(page, 1000);
    await banner.filter({ hasText: "Live updates are off" }).waitFor();
    await page.locator(".toast", { hasText: "Back online" }).waitFor();
    assert.ok(sockets >= 1);
  });
});

test("the detail page shows the offline banner once and no toast per failed poll", async () => {
  const job = await worker(server.url, "CAMPAIGN_RUN", "camp-offline-detail", { total: 100 });
  await withBrowser(async ({ page }) => {
    await withConfig(page, { pollMs: 1000, realtime: false });
    await trackFetches(page);
    await page.clock.install();
    await page.goto(`${server.url}/jobs/${job.jobId}`);
    await page.locator("#events").waitFor();
    const banner = page.locator(".connection-banner");
    await banner.filter({ hasText: "Live updates are off" }).waitFor();
    await page.route("**/v1/functions/job-actions/executions", (route) => route.abort());
    for (let i = 0; i < 4; i += 1) await advance(page, 1000);
    await banner.filter({ hasText: /^Offline since / }).waitFor();
    assert.equal(await page.locator(".toast").count(), 1, "the banner's one toast, no 'Refresh failed' per poll");
    assert.match(await page.locator('[data-part="stamp"]').textContent(), /^Not live · last updated /);
  });
});

test("ids copy with a labelled button and a Copied status; times show their zone without hovering and are written out on the detail page", async () => {
  const job = await worker(server.url, "CAMPAIGN_RUN", "camp-copy", { total: 10 });
  await withBrowser(async ({ page, context }) => {
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    await page.goto(`${server.url}/jobs`);
    const r = row(page, job.jobId);
    const copy = r.getByRole("button", { name: "Copy id of Campaign run camp-copy" });
    await copy.click();
    await r.locator(".copy-status", { hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), job.jobId);

    // The absolute time with its zone stands under the relative one, without hovering (drawn by
    // CSS from `data-abs`, so the cell's text stays the relative time).
    const pair = r.locator("td.when .when-pair").first();
    const after = await pair.evaluate((n) => { const st = getComputedStyle(n, "::after"); return { content: st.content, visibility: st.visibility, display: st.display }; });
    assert.match(after.content, /\d{1,2}:\d{2}:\d{2}.*(UTC|GMT|[A-Z]{2,5}|[+-]\d)/);
    assert.deepEqual([after.visibility, after.display], ["visible", "block"]);
    assert.match(await pair.getAttribute("title"), /\d{4}.*\d{1,2}:\d{2}:\d{2}/, "the full date on hover");
    for (const colorScheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme });
      assert.deepEqual(await axe(page), [], `list, ${colorScheme}`);
    }

    await page.goto(`${server.url}/jobs/${job.jobId}`);
    const fields = page.locator("dl.fields");
    await fields.waitFor();
    await fields.getByRole("button", { name: "Copy id of Campaign run camp-copy" }).click();
    await fields.locator(".copy-status", { hasText: "Copied" }).waitFor();
    const created = fields.locator("dt:text-is('Created') + dd .abs");
    assert.match(await created.textContent(), /\d{4}.*\d{1,2}:\d{2}:\d{2}/);
    for (const colorScheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme });
      assert.deepEqual(await axe(page), [], `detail, ${colorScheme}`);
    }
  });
});
