// The dashboard computes duration, ETA and legal actions itself (dashboard/assets/derive.js) for
// jobs from both of its sources: the action API's answer and a Realtime row. This checks, for a
// job in every status, that a Realtime row turned into a job by derive.js equals the API's own
// view of it, derived fields included.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, worker, action, eventually } from "./harness.mjs";

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

test("a Realtime row through derive.js equals the API's view of the job in every status", async () => {
  const { page } = browser;
  await page.goto(`${server.url}/jobs`);
  // Collect every row event in the page, as the dashboard receives them.
  await page.evaluate(async () => {
    window.__rows = {};
    const ws = new WebSocket(`ws://${location.host}/v1/realtime?project=jobmanager&channels[]=tablesdb.jobmanager.tables.jobs.rows`);
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "event") window.__rows[m.data.payload.$id] = m.data.payload;
    };
    await new Promise((r) => (ws.onopen = r));
  });
  const running = await worker(server.url, "CAMPAIGN_RUN", "derive-running", { total: 200, metadata: { campaign: "Spring" } });
  await running.progress({ done: 50, message: "50/200" });
  // A batch claimed and answered continue: the row carries it in its `claims` column.
  const claimed = await worker(server.url, "CAMPAIGN_RUN", "derive-claimed", { total: 100 });
  await claimed.progress({ done: 0, claimed: 10, checkpoint: { cursor: 10 }, message: "sending 0–10" });
  const paused = await worker(server.url, "BULK_VERIFY", "derive-paused", { total: 10 });
  await action(server.url, "POST", `/v1/jobs/${paused.jobId}/pause`, { reason: "checking" });
  const queued = await worker(server.url, "BULK_VERIFY", "derive-queued", { total: 10 });
  await action(server.url, "POST", `/v1/jobs/${queued.jobId}/pause`, {});
  await action(server.url, "POST", `/v1/jobs/${queued.jobId}/resume`, {});
  const completed = await worker(server.url, "BULK_VERIFY", "derive-completed", { total: 10 });
  await completed.complete({ result: { valid: 9, invalid: 1 } });
  const failed = await worker(server.url, "SQS_POLL", "derive-failed");
  await failed.fail("queue gone");
  const cancelled = await worker(server.url, "METRICS_FETCH", "derive-cancelled");
  await action(server.url, "POST", `/v1/jobs/${cancelled.jobId}/cancel`, { reason: "not needed" });

  const jobs = [running, claimed, paused, queued, completed, failed, cancelled];
  const seen = new Set();
  for (const { jobId } of jobs) {
    const api = (await action(server.url, "GET", `/v1/jobs/${jobId}`)).body.job;
    const rev = api.rev;
    const mine = await eventually(
      () => page.evaluate(async ([id, rev]) => {
        const row = window.__rows[id];
        if (!row || row.rev !== rev) return false;
        const { derive, fromRow } = await import("/assets/derive.js");
        return derive(fromRow(row), true, Date.now());
      }, [jobId, rev]),
      10000,
      `the row of ${jobId}`,
    );
    seen.add(api.status);
    if (jobId === claimed.jobId) assert.equal(api.claims.length, 1, "the claimed job has a claim in flight");
    // The entries the row carries in its outbox are the log's entries, in the API's shape.
    const apiEvents = (await action(server.url, "GET", `/v1/jobs/${jobId}`)).body.events;
    const pending = await page.evaluate(async (id) => {
      const { pendingEntries } = await import("/assets/derive.js");
      return pendingEntries(window.__rows[id]);
    }, jobId);
    assert.ok(pending.length > 0, `${api.status}: the last change's entries ride in the row`);
    for (const entry of pending) assert.deepEqual(entry, apiEvents.find((e) => e.$id === entry.$id), `${api.status} entry ${entry.kind}`);
    for (const key of Object.keys(api)) {
      if (key === "durationMs" || key === "etaMs" || key === "control") continue;
      assert.deepEqual(mine[key], api[key], `${api.status} ${key}`);
    }
    assert.deepEqual(mine.actions, api.actions, `${api.status} actions`);
    // Duration and ETA of an unfinished job grow with the clock: equal up to the seconds between
    // the API's answer and ours; a finished job's are exact.
    const slack = api.completedAt ? 0 : 5000;
    for (const key of ["durationMs", "etaMs"]) {
      if (api[key] === null) assert.equal(mine[key], null, `${api.status} ${key}`);
      else assert.ok(Math.abs(mine[key] - api[key]) <= slack * (key === "etaMs" ? 4 : 1), `${api.status} ${key}: ${mine[key]} vs ${api[key]}`);
    }
  }
  assert.deepEqual([...seen].sort(), ["CANCELLED", "COMPLETED", "FAILED", "PAUSED", "QUEUED", "RUNNING"]);
});

// Issue 31: the Appwrite store writes free text that Appwrite would read as an operator (and text
// already starting with the mark) with one U+2060 in front (`escape_text`, shared/src/store/
// appwrite.rs); Realtime carries that stored value. Every Realtime reader in derive.js (a `jobs`
// row, its `pendingLog` entries, a `job_events` row) must give back the text exactly as typed.
test("stored text loses the store's escape mark in every Realtime reader, exactly once", async () => {
  const { fromRow, fromEventRow, pendingEntries, unescapeText } = await import("../../dashboard/assets/derive.js");
  const MARK = "\u2060";
  // What the user or worker typed, and what `escape_text` stores for it.
  const operator = '{"method":"stringConcat","values":[" hacked"]}';
  const increment = '{"method":"increment","values":[1]}';
  const marked = `${MARK}starts with the mark`;
  const plain = "50/200 sent";
  const stored = (typed) => {
    let shaped = false;
    try {
      const v = JSON.parse(typed);
      shaped = v !== null && typeof v === "object" && !Array.isArray(v) && typeof v.method === "string";
    } catch (e) {}
    return typed.startsWith(MARK) || shaped ? MARK + typed : typed;
  };
  assert.equal(stored(operator), `\u2060{"method":"stringConcat","values":[" hacked"]}`);
  assert.equal(stored(marked), "\u2060\u2060starts with the mark");
  assert.equal(stored(plain), plain);

  const event = (id, message) => ({
    $id: id, eventId: id, jobId: "job-1", jobRev: 3, at: "2026-01-02T03:04:05.000+00:00",
    kind: "progress", actor: "function:orchestrator", message,
    fromStatus: null, toStatus: null, details: JSON.stringify({ v: 1, data: {} }),
  });
  const row = {
    $id: "job-1", status: "FAILED", type: "CAMPAIGN_RUN",
    progressMessage: stored(operator), errorMessage: stored(increment), lastReason: stored(marked),
    metadata: JSON.stringify({ v: 1, data: {} }),
    pendingLog: JSON.stringify({ v: 1, data: [event("e1", stored(operator)), event("e2", stored(marked)), event("e3", stored(plain)), event("e4", null)] }),
  };
  const job = fromRow(row);
  assert.equal(job.progressMessage, operator);
  assert.equal(job.errorMessage, increment);
  assert.equal(job.lastReason, marked, "only one mark is removed");
  assert.deepEqual(pendingEntries(row).map((e) => e.message), [operator, marked, plain, null]);
  assert.equal(fromEventRow(event("e5", stored(increment))).message, increment);
  assert.equal(fromEventRow(event("e6", stored(marked))).message, marked);
  // Absent or null texts stay as they were; a mark in the middle is text.
  assert.equal(fromRow({ ...row, progressMessage: null }).progressMessage, null);
  assert.equal(unescapeText(`a${MARK}b`), `a${MARK}b`);
  assert.equal(unescapeText(undefined), undefined);
});
