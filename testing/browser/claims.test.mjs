// What the detail page says about work a worker has claimed but not confirmed: the confirmed
// count, the batches in flight (a superseded run's last batch named as such), a worker call that
// was ignored because its run is over, and the "Outcome unknown" marker of a job whose worker
// ended without its final report, with the retry warning that work may repeat. The job is driven
// through the campaign hook exactly as a worker would (docs/hooks.md: runs, claims), the operator
// through job-actions; every wait is on a condition. axe-core checks the page as it changes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, execute, action, eventually, row, axe } from "./harness.mjs";

const HOOK = "hook-campaign-run";

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A campaign started with `total` and one batch claimed (answered `continue`): 0–10, cursor 10. */
async function claimedCampaign(referenceId) {
  const started = await execute(server.url, HOOK, { event: "start", referenceId, total: 100 });
  const jobId = started.job.$id;
  const run = started.run;
  const claim = await execute(server.url, HOOK, { event: "progress", jobId, run, done: 0, claimed: 10, total: 100, checkpoint: { cursor: 10 } });
  assert.equal(claim.control, "continue", "the claim is answered continue");
  assert.deepEqual(claim.job.claims.map(({ run, done, claimed }) => ({ run, done, claimed })), [{ run, done: 0, claimed: 10 }]);
  return { jobId, run };
}

const text = async (locator) => (await locator.textContent()).trim();

test("the detail page shows confirmed done, the batch in flight of a superseded run and the ignored call of that run", async () => {
  const { page, errors } = browser;
  const { jobId, run: oldRun } = await claimedCampaign("camp-claims");

  await page.goto(`${server.url}/jobs/${jobId}`);
  const counts = page.locator(".card .counts");
  const inFlight = counts.locator(".in-flight li");
  const confirmed = counts.locator(".confirmed");
  await inFlight.first().waitFor();
  await page.locator('[data-part="main"][data-live="true"]').waitFor(); // later changes come by Realtime
  assert.equal(await text(confirmed), "0 of 100 sent");
  assert.equal(await text(inFlight), `0–10 (run ${oldRun})`);
  assert.doesNotMatch(await text(counts), /[0-9a-f]{16}/, "the claim's checkpoint digest is not shown");

  // The operator pauses, then resumes: the resume begins a new run while the old worker is still
  // sending the batch it claimed.
  assert.equal((await action(server.url, "POST", `/v1/jobs/${jobId}/pause`, { reason: "checking the template" })).status, 200);
  const resumed = await action(server.url, "POST", `/v1/jobs/${jobId}/resume`, {});
  assert.equal(resumed.status, 200);
  const newRun = resumed.body.job.run;
  assert.ok(newRun > oldRun, `the resume began run ${newRun}`);
  await eventually(async () => (await text(inFlight)) === `0–10 (run ${oldRun}, superseded: finishing its last batch)`, 10000, "the old run's claim shown as superseded");
  assert.equal(await text(confirmed), "0 of 100 sent", "a claim is not counted as done");
  assert.equal(await page.locator(".fields dd", { hasText: "of 100 sent" }).textContent(), "0 of 100 sent");
  assert.deepEqual(await axe(page, { include: "main" }), [], "axe: batches in flight");

  // The old worker, done with its batch, confirms its pause with the run of its first start: that
  // run is over, so the call changes nothing but is logged as ignored.
  const late = await execute(server.url, HOOK, { event: "paused", jobId, run: oldRun, checkpoint: { cursor: 10 } });
  assert.equal(late.code, "superseded");
  assert.equal(late.control, "cancel");
  const message = `paused call from run ${oldRun} ignored: superseded by run ${newRun}`;
  const entry = page.locator("#events .ev.k-ignored", { hasText: message });
  await entry.waitFor({ timeout: 10000 });
  assert.equal(await text(entry.locator(".ev-kind")), "Ignored");
  assert.match(await text(entry), /\(not applied\)/);
  assert.doesNotMatch(await text(entry), /→/, "an ignored call moves no status");
  assert.equal(await text(entry.locator(".ev-msg")), message);
  // A list item of the log for assistive technology, named by its text.
  assert.equal(await page.getByRole("listitem").filter({ hasText: message }).count(), 1);
  // That later call of the old run shows it carried its claim out: the batch is confirmed.
  await eventually(async () => (await inFlight.count()) === 0, 10000, "the claim confirmed");
  assert.equal(await text(confirmed), "10 of 100 sent");
  assert.deepEqual(await axe(page, { include: "main" }), [], "axe: the ignored entry");
  await page.emulateMedia({ colorScheme: "dark" });
  try {
    assert.deepEqual(await axe(page, { include: "main" }), [], "axe: the ignored entry, dark");
  } finally {
    await page.emulateMedia({ colorScheme: "light" });
  }
  assert.deepEqual(errors, []);
});

test("a finished job shows its result beside the confirmed count", async () => {
  const { page } = browser;
  const started = await execute(server.url, HOOK, { event: "start", referenceId: "camp-result", total: 1000 });
  await execute(server.url, HOOK, { event: "complete", jobId: started.job.$id, run: started.run, result: { sent: 990, failed: 6, bounced: 4 } });
  await page.goto(`${server.url}/jobs/${started.job.$id}`);
  const counts = page.locator(".card .counts");
  await counts.waitFor();
  assert.equal(await text(counts.locator(".confirmed")), "1,000 of 1,000 sent");
  assert.equal(await text(counts.locator(".result-counts")), "bounced 4 · failed 6 · sent 990");
  assert.equal(await counts.locator(".in-flight").count(), 0);
});

test("an outcome-unknown failure is marked, and retrying it or a job with a batch in flight warns that work may repeat", async () => {
  const { page, errors } = browser;
  // Rendering only: the page keys off the error message's `outcome unknown:` prefix (what the
  // execution observer writes when a worker's execution ends without its final report), so a
  // failure reported through the hook with that message stands in for the observer's.
  const started = await execute(server.url, HOOK, { event: "start", referenceId: "camp-outcome", total: 100 });
  const failedId = started.job.$id;
  await execute(server.url, HOOK, { event: "fail", jobId: failedId, run: started.run, error: "outcome unknown: test" });

  await page.goto(`${server.url}/jobs/${failedId}`);
  const marker = page.locator(".bar-head .badge.outcome-unknown");
  await marker.waitFor();
  assert.equal(await text(marker), "Outcome unknown");
  const box = page.getByRole("note").filter({ hasText: "Outcome unknown" });
  assert.match(await text(box), /some or all of its work may have been done/);
  assert.equal(await text(box.locator(".error-text")), "outcome unknown: test");
  assert.deepEqual(await axe(page, { include: "main" }), [], "axe: outcome unknown");

  // Retry asks first, saying why, and backing out retries nothing.
  await page.getByRole("button", { name: "Retry" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  assert.match(await text(dialog), /Work may repeat/);
  assert.match(await text(dialog), /re-checks those recipients/);
  assert.deepEqual(await axe(page, { include: "dialog" }), [], "axe: the retry dialog");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  assert.equal(new URL(page.url()).pathname, `/jobs/${failedId}`);
  const view = await action(server.url, "GET", `/v1/jobs?scope=all&q=camp-outcome`);
  assert.equal(view.body.jobs.length, 1, "no retry was created");

  // The list marks it too.
  await page.goto(`${server.url}/jobs?view=history`);
  await row(page, failedId).locator(".badge.outcome-unknown").waitFor();

  // A cancelled job whose claimed batch is still in flight: the same warning, naming the batch;
  // confirming retries it.
  const { jobId, run } = await claimedCampaign("camp-cancelled-in-flight");
  assert.equal((await action(server.url, "POST", `/v1/jobs/${jobId}/cancel`, { reason: "wrong audience" })).status, 200);
  await page.goto(`${server.url}/jobs/${jobId}`);
  await page.locator(".counts .in-flight li", { hasText: `0–10 (run ${run})` }).waitFor();
  assert.equal(await page.locator(".badge.outcome-unknown").count(), 0, "only outcome-unknown failures carry the marker");
  await page.getByRole("button", { name: "Retry" }).click();
  await dialog.waitFor();
  assert.match(await text(dialog), /A batch was still in flight and never confirmed \(0–10 \(run \d+\)\)/);
  assert.match(await text(dialog), /work may repeat/);
  const answered = page.waitForResponse((r) => r.url().endsWith("/functions/job-actions/executions") && r.request().postData().includes(`/v1/jobs/${jobId}/retry`));
  await dialog.getByRole("button", { name: "Retry job" }).click();
  const retried = JSON.parse((await (await answered).json()).responseBody);
  const toast = page.locator(".toast", { hasText: "Retry queued as a new job" });
  await toast.waitFor();
  // The server's own warning (docs/actions.md, Retry), when it gives one, is shown with it.
  if (typeof retried.warning === "string") assert.ok((await text(toast)).includes(retried.warning), "the retry's warning is shown");
  await eventually(async () => !page.url().endsWith(`/jobs/${jobId}`) && (await page.locator(`.fields a[href$="/jobs/${jobId}"]`).count()) === 1, 10000, "the retry's page");
  assert.deepEqual(errors, []);
});
