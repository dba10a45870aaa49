// A job's page state (dashboard/assets/detail-state.js) in Node alone, no browser, no server: the
// job kept at its newest revision whichever of the API's answer and a Realtime row comes first
// (the detail page's race of issue 26: an answer that left before a row arrived drew the older
// job over it), the log merged by id in time order from the answer, the row's `pendingLog` outbox
// and `job_events` rows, and a completion announced once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { byTime, createDetailState, mergeEntries, withEntry } from "../../dashboard/assets/detail-state.js";

const T0 = "2026-03-01T10:00:00.000Z";
const at = (s) => new Date(Date.parse(T0) + s * 1000).toISOString();
const wrap = (data) => JSON.stringify({ v: 1, data });

/** A log entry in the API's shape. */
function entry(id, s, extra = {}) {
  return { $id: id, jobId: "j1", at: at(s), kind: "progress", actor: "function:orchestrator", message: `m-${id}`, fromStatus: null, toStatus: null, details: {}, ...extra };
}

/** The job as the API answers it. */
function apiJob(rev, status = "RUNNING", extra = {}) {
  return { $id: "j1", type: "CAMPAIGN_RUN", referenceId: "camp", status, rev, run: 1, progress: rev * 10, metadata: {}, result: null, checkpoint: null, claims: [], updatedAt: at(rev), ...extra };
}

/** The API's answer for the page. */
const answer = (job, events) => ({ job, events, auditLogUrl: null });

/** The Realtime row of a `jobs` write: stored columns, the write's entries in its outbox. */
function jobRow(job, entries = [], from = null) {
  const outbox = entries.map((e) => ({ ...e, eventId: e.$id, jobRev: job.rev, details: wrap(e.details), fromStatus: e.fromStatus ?? from }));
  return { ...job, $tableId: "jobs", metadata: wrap(job.metadata), result: wrap(job.result), checkpoint: wrap(job.checkpoint), claims: wrap(job.claims), pendingLog: wrap(outbox) };
}

/** A `job_events` row. */
function eventRow(e) {
  return { ...e, $id: e.$id, eventId: e.$id, $tableId: "job_events", details: wrap(e.details) };
}

test("an answer older than the row already shown is dropped, a newer one taken", () => {
  const state = createDetailState("j1", "job_events");
  assert.equal(state.row(jobRow(apiJob(2))).changed, false, "nothing is drawn before the first answer");
  assert.equal(state.answer(answer(apiJob(2), [entry("e1", 1)])).changed, true);
  const row = state.row(jobRow(apiJob(4, "PAUSED"), [entry("e4", 4, { kind: "pauseRequested", toStatus: "PAUSED" })], "RUNNING"));
  assert.equal(row.changed, true);
  assert.deepEqual(row.observe.before, "RUNNING", "the counts learn the status the write left");
  assert.equal(row.observe.job.status, "PAUSED");
  // The poll that left before the pause arrives now.
  assert.deepEqual(state.answer(answer(apiJob(3), [entry("e1", 1)])), { changed: false, notice: null, observe: null });
  assert.equal(state.data.job.status, "PAUSED");
  assert.deepEqual(state.data.events.map((e) => e.$id), ["e1", "e4"], "the outbox entry stays");
  // A later answer is the truth again, its log included.
  const later = state.answer(answer(apiJob(5, "QUEUED"), [entry("e1", 1), entry("e4", 4), entry("e5", 5)]));
  assert.equal(later.changed, true);
  assert.deepEqual(later.observe, { job: state.data.job, before: null });
  assert.equal(state.data.job.status, "QUEUED");
  // An older row changes nothing either.
  assert.equal(state.row(jobRow(apiJob(4, "PAUSED"))).changed, false);
  assert.equal(state.data.job.rev, 5);
});

test("a row's fields are read as the API gives them and merged over the job shown", () => {
  const state = createDetailState("j1", "job_events");
  state.answer(answer(apiJob(1, "RUNNING", { auditOnly: "kept" }), []));
  state.row(jobRow(apiJob(2, "RUNNING", { metadata: { campaign: "Spring" }, claims: [{ run: 1, done: 0, claimed: 10 }] })));
  assert.deepEqual(state.data.job.metadata, { campaign: "Spring" }, "JSON columns unwrapped");
  assert.deepEqual(state.data.job.claims, [{ run: 1, done: 0, claimed: 10 }]);
  assert.equal(state.data.job.auditOnly, "kept", "fields the row lacks stay as answered");
  assert.equal(state.data.job.pendingLog, undefined, "store-only columns are not job fields");
});

test("log entries from the outbox and from job_events are merged once each, in time order", () => {
  const state = createDetailState("j1", "job_events");
  state.answer(answer(apiJob(1), [entry("e1", 1), entry("e3", 3)]));
  // The outbox of a write carries e2 (older than e3: written in flight) and e4; e3 again.
  state.row(jobRow(apiJob(2), [entry("e2", 2), entry("e3", 3), entry("e4", 4)]));
  assert.deepEqual(state.data.events.map((e) => e.$id), ["e1", "e2", "e3", "e4"]);
  // The same entries again from job_events, once the outbox is cut: nothing changes.
  assert.equal(state.row(eventRow(entry("e4", 4))).changed, false);
  // Another job's entry is not ours.
  assert.equal(state.row(eventRow({ ...entry("x1", 5), jobId: "other" })).changed, false);
  // A new one from job_events joins in order.
  assert.equal(state.row(eventRow(entry("e0", 0))).changed, true);
  assert.deepEqual(state.data.events.map((e) => e.$id), ["e0", "e1", "e2", "e3", "e4"]);
  // Another job's row is not ours either.
  assert.equal(state.row({ ...jobRow(apiJob(9)), $id: "other" }).changed, false);
});

test("an entry the outbox kept without its details is replaced by its job_events row", () => {
  const state = createDetailState("j1", "job_events");
  const cut = entry("e2", 2, { details: { omitted: true } });
  state.answer(answer(apiJob(1), [entry("e1", 1)]));
  state.row(jobRow(apiJob(2), [cut]));
  const full = entry("e2", 2, { details: { call: "progress", run: 1 } });
  assert.equal(state.row(eventRow(full)).changed, true);
  assert.deepEqual(state.data.events.map((e) => [e.$id, e.details]), [["e1", {}], ["e2", { call: "progress", run: 1 }]]);
  assert.equal(state.row(eventRow(full)).changed, false, "and only once");
});

test("a completion or failure seen happening is announced once; one already finished is not", () => {
  const state = createDetailState("j1", "job_events");
  assert.equal(state.answer(answer(apiJob(1, "COMPLETED"), [])).notice, null, "finished when the page opened");
  const running = createDetailState("j1", "job_events");
  running.answer(answer(apiJob(1), []));
  const done = running.row(jobRow(apiJob(2, "FAILED", { errorMessage: "boom" })));
  assert.equal(done.notice && done.notice.status, "FAILED");
  assert.equal(done.notice.errorMessage, "boom");
  assert.equal(running.answer(answer(apiJob(2, "FAILED"), [])).notice, null, "the answer of the same write after it");
  const paused = createDetailState("j1", "job_events");
  paused.answer(answer(apiJob(1), []));
  assert.equal(paused.row(jobRow(apiJob(2, "PAUSED"))).notice, null, "only completions and failures");
});

test("entries sort by time and merge by id", () => {
  assert.deepEqual([entry("b", 2), entry("a", 1), entry("c", 2)].sort(byTime).map((e) => e.$id), ["a", "b", "c"]);
  const events = [entry("a", 1)];
  assert.equal(mergeEntries(events, [entry("a", 1)]), events, "nothing new: the same list");
  assert.equal(withEntry(events, entry("a", 1)), events);
  assert.deepEqual(mergeEntries(events, [entry("z", 0)]).map((e) => e.$id), ["z", "a"]);
});
