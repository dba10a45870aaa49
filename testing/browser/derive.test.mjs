// The dashboard computes duration, ETA and legal actions itself (dashboard/assets/derive.js) for
// jobs from both of its sources: the action API's answer and a Realtime row. This checks, for a
// job in every status, that a Realtime row turned into a job by derive.js equals the API's own
// view of it, derived fields included; and, in Node alone, how its counts per status move.
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

// Issue 26 item 5: the counts per status move once per status change, whichever of an action's
// answer and the Realtime echo of the same write comes first (on jobs-dev the echo usually does,
// on Appwrite the answer), however often a state arrives, and never back for a late older one.
// The answer is the API's job (it carries `control` and `actions`); the echo is the stored row
// with the write's log entries in its `pendingLog` outbox, turned into a job by `fromRow`.
const T0 = "2026-03-01T10:00:00.000Z"; // when the summary read the counts
const later = (s) => new Date(Date.parse(T0) + s * 1000).toISOString();

/** A job as the action API answers it. */
function apiJob({ id = "j1", status, rev, createdAt = later(-600), updatedAt }) {
  return {
    $id: id, type: "BULK_VERIFY", status, referenceId: `ref-${id}`, progress: 10, rev, run: 1,
    createdAt, updatedAt, startedAt: createdAt, completedAt: null, metadata: {}, result: null,
    durationMs: 1000, etaMs: null, control: status === "PAUSED" ? "pause" : "continue",
    actions: status === "PAUSED" ? ["resume", "cancel"] : ["pause", "cancel"],
  };
}

/** The Realtime row of the same write: stored columns, and the write's entries in the outbox. */
function rowOf(job, from) {
  const { durationMs, etaMs, control, actions, ...stored } = job;
  const entry = {
    eventId: `e-${job.rev}`, jobId: job.$id, jobRev: job.rev, at: job.updatedAt, kind: "paused",
    actor: "user:u1", message: null, fromStatus: from, toStatus: job.status,
    details: JSON.stringify({ v: 1, data: {} }),
  };
  const older = { ...entry, eventId: "e-old", jobRev: job.rev - 1, fromStatus: "QUEUED", toStatus: from };
  return {
    ...stored, metadata: JSON.stringify({ v: 1, data: {} }), $tableId: "jobs",
    $updatedAt: job.updatedAt, pendingLog: JSON.stringify({ v: 1, data: [older, entry] }),
  };
}

/** Counts read at T0: two RUNNING jobs (one of them `j1`), nothing else. */
async function countsAtT0() {
  const { createCounts } = await import("../../dashboard/assets/derive.js");
  const counts = createCounts();
  counts.reading();
  counts.load({ counts: [{ type: "BULK_VERIFY", status: "RUNNING", count: 2 }], serverTime: T0 });
  return counts;
}
const tiles = (counts) => ({ RUNNING: counts.totals().RUNNING, PAUSED: counts.totals().PAUSED, QUEUED: counts.totals().QUEUED });

test("a pause moves one job from RUNNING to PAUSED once, whether its answer or its echo comes first", async () => {
  const { fromRow, statusBefore } = await import("../../dashboard/assets/derive.js");
  const shown = apiJob({ status: "RUNNING", rev: 3, updatedAt: later(-60) });
  const paused = apiJob({ status: "PAUSED", rev: 4, updatedAt: later(30) });
  const row = rowOf(paused, "RUNNING");
  const answer = (counts) => counts.observe(paused);
  const echo = (counts) => counts.observe(fromRow(row), statusBefore(row));
  for (const [name, first, second] of [["answer first", answer, echo], ["echo first", echo, answer]]) {
    const counts = await countsAtT0();
    counts.observe(shown); // the page the list loaded
    assert.deepEqual(tiles(counts), { RUNNING: 2, PAUSED: 0, QUEUED: 0 }, name);
    assert.equal(first(counts), true, `${name}: the first arrival moves the counts`);
    assert.equal(second(counts), false, `${name}: the second arrival of the same write is a no-op`);
    assert.equal(first(counts), false, `${name}: and so is any further copy`);
    assert.deepEqual(tiles(counts), { RUNNING: 1, PAUSED: 1, QUEUED: 0 }, name);
  }
});

test("a state older than the one counted changes nothing when it arrives late", async () => {
  const counts = await countsAtT0();
  counts.observe(apiJob({ status: "RUNNING", rev: 3, updatedAt: later(-60) }));
  counts.observe(apiJob({ status: "PAUSED", rev: 4, updatedAt: later(30) }));
  // The page's answer (or a delta) read before the pause, arriving after it.
  assert.equal(counts.observe(apiJob({ status: "RUNNING", rev: 3, updatedAt: later(-60) })), false);
  assert.deepEqual(tiles(counts), { RUNNING: 1, PAUSED: 1, QUEUED: 0 });
  // A newer write still moves the job on: resume, PAUSED to QUEUED.
  assert.equal(counts.observe(apiJob({ status: "QUEUED", rev: 5, updatedAt: later(40) })), true);
  assert.deepEqual(tiles(counts), { RUNNING: 1, PAUSED: 0, QUEUED: 1 });
  // A write that keeps the status (progress) moves nothing but is the new state to compare with.
  assert.equal(counts.observe(apiJob({ status: "QUEUED", rev: 6, updatedAt: later(41) })), false);
  assert.equal(counts.observe(apiJob({ status: "PAUSED", rev: 5, updatedAt: later(40) })), false);
  assert.deepEqual(tiles(counts), { RUNNING: 1, PAUSED: 0, QUEUED: 1 });
});

test("a job created after the counts were read is added once, as a retry's new job is", async () => {
  const { fromRow } = await import("../../dashboard/assets/derive.js");
  const counts = await countsAtT0();
  const retry = apiJob({ id: "j9", status: "QUEUED", rev: 1, createdAt: later(5), updatedAt: later(5) });
  assert.equal(counts.observe(retry), true);
  assert.equal(counts.observe(fromRow(rowOf(retry, null))), false, "its echo");
  assert.deepEqual(tiles(counts), { RUNNING: 2, PAUSED: 0, QUEUED: 1 });
  // One created before the counts were read is in them already, whatever its status now.
  assert.equal(counts.observe(apiJob({ id: "j8", status: "QUEUED", rev: 1, createdAt: later(-5), updatedAt: later(-5) })), false);
  assert.deepEqual(tiles(counts), { RUNNING: 2, PAUSED: 0, QUEUED: 1 });
});

test("a job outside the page moves from the status its row's log says it left, once", async () => {
  const { fromRow, statusBefore } = await import("../../dashboard/assets/derive.js");
  const counts = await countsAtT0();
  // Never loaded (another type, another page): its row says this write left RUNNING.
  const paused = apiJob({ id: "j2", status: "PAUSED", rev: 8, updatedAt: later(30) });
  const row = rowOf(paused, "RUNNING");
  assert.equal(statusBefore(row), "RUNNING", "the entry of the row's own revision, not an older one");
  assert.equal(counts.observe(fromRow(row), statusBefore(row)), true);
  assert.equal(counts.observe(fromRow(row), statusBefore(row)), false);
  assert.deepEqual(tiles(counts), { RUNNING: 1, PAUSED: 1, QUEUED: 0 });
  // A write the counts were read after is in them already; one whose row does not say what it
  // left (a delta, a page) is only remembered, so its next change moves it.
  const old = apiJob({ id: "j3", status: "PAUSED", rev: 8, updatedAt: later(-30) });
  assert.equal(counts.observe(fromRow(rowOf(old, "RUNNING")), "RUNNING"), false);
  assert.equal(counts.observe(apiJob({ id: "j4", status: "PAUSED", rev: 2, updatedAt: later(50) })), false);
  assert.deepEqual(tiles(counts), { RUNNING: 1, PAUSED: 1, QUEUED: 0 });
  assert.equal(counts.observe(apiJob({ id: "j4", status: "QUEUED", rev: 3, updatedAt: later(60) })), true);
  assert.deepEqual(tiles(counts), { RUNNING: 1, PAUSED: 0, QUEUED: 1 });
  assert.equal(statusBefore({ rev: 2, pendingLog: null }), null);
});

test("a change seen while the counts are being read again is kept when it is newer than the read", async () => {
  const counts = await countsAtT0();
  counts.observe(apiJob({ id: "a", status: "RUNNING", rev: 3, updatedAt: later(-60) }));
  counts.observe(apiJob({ id: "b", status: "RUNNING", rev: 3, updatedAt: later(-60) }));
  counts.reading();
  // `a` paused before the second read (its answer has it), `b` after it (its answer does not);
  // `c` was created between the two reads (the second counts it) and written again after both.
  counts.observe(apiJob({ id: "a", status: "PAUSED", rev: 4, updatedAt: later(100) }));
  counts.observe(apiJob({ id: "b", status: "PAUSED", rev: 4, updatedAt: later(300) }));
  counts.observe(apiJob({ id: "c", status: "QUEUED", rev: 2, createdAt: later(150), updatedAt: later(250) }));
  const second = [
    { type: "BULK_VERIFY", status: "RUNNING", count: 1 },
    { type: "BULK_VERIFY", status: "PAUSED", count: 1 },
    { type: "BULK_VERIFY", status: "QUEUED", count: 1 },
  ];
  counts.load({ counts: second, serverTime: later(200) });
  assert.deepEqual(tiles(counts), { RUNNING: 0, PAUSED: 2, QUEUED: 1 });
});

test("changes seen before the counts are loaded are remembered, and finished jobs forgotten once counted", async () => {
  const { createCounts } = await import("../../dashboard/assets/derive.js");
  const counts = createCounts();
  assert.equal(counts.totals(), null);
  assert.equal(counts.observe(apiJob({ status: "RUNNING", rev: 3, updatedAt: later(-60) })), false);
  counts.reading();
  counts.load({ counts: [{ type: "BULK_VERIFY", status: "RUNNING", count: 1 }], serverTime: T0 });
  const done = { ...apiJob({ status: "COMPLETED", rev: 4, updatedAt: later(10) }), completedAt: later(10) };
  assert.equal(counts.observe(done), true);
  assert.deepEqual(tiles(counts), { RUNNING: 0, PAUSED: 0, QUEUED: 0 });
  assert.equal(counts.totals().COMPLETED, 1);
  assert.equal(counts.size(), 1);
  // A later read includes the completion: the finished job need not be remembered any more, and
  // its echo arriving after that is recognised as counted by its time.
  counts.reading();
  counts.load({ counts: [{ type: "BULK_VERIFY", status: "COMPLETED", count: 1 }], serverTime: later(20) });
  assert.equal(counts.size(), 0);
  assert.equal(counts.observe(done), false);
  assert.equal(counts.totals().COMPLETED, 1);
  // A read that failed leaves the counts as they were.
  counts.reading();
  counts.failed();
  assert.equal(counts.totals().COMPLETED, 1);
});
