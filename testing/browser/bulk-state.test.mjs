// The pure part of the bulk actions (dashboard/assets/bulk.js) and the throughput counts
// (dashboard/assets/throughput.js) in Node alone: which action is valid for which selected job,
// batches of at most 100 ids, the "select all matching" query, adding up batch answers, and the
// finished and failed jobs per type and hour of the last 24 hours, whatever order states arrive in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BATCH, chunks, merge, selectAllRequest, validActions } from "../../dashboard/assets/bulk.js";
import { HOURS, createThroughput, hourStart, throughputRequest } from "../../dashboard/assets/throughput.js";
import { readFilters } from "../../dashboard/assets/list-state.js";

const j = (id, status, extra = {}) => ({ $id: id, status, type: "CAMPAIGN_RUN", ...extra });

test("each bulk action is offered for exactly the selected jobs it is valid for", () => {
  const jobs = [j("f", "FAILED"), j("x", "CANCELLED"), j("r", "RUNNING"), j("q", "QUEUED"), j("p", "PAUSED"), j("c", "COMPLETED")];
  assert.deepEqual(validActions(jobs), { retry: ["f", "x"], cancel: ["r", "q", "p"], pause: ["r", "q"], resume: ["p"] });
  assert.deepEqual(validActions([j("c", "COMPLETED")]), {}, "a completed job allows nothing");
  assert.deepEqual(validActions([]), {});
});

test("ids go in batches of at most 100, in order", () => {
  const ids = Array.from({ length: 250 }, (_, i) => `j${i}`);
  const runs = chunks(ids);
  assert.equal(BATCH, 100);
  assert.deepEqual(runs.map((r) => r.length), [100, 100, 50]);
  assert.deepEqual(runs.flat(), ids);
  assert.deepEqual(chunks([]), []);
});

test("select all matching asks for the view's filters, 500 a page, from the cursor", () => {
  const history = selectAllRequest(readFilters("?view=history&status=FAILED&type=BULK_VERIFY"), "c9");
  assert.deepEqual(Object.fromEntries(history), { type: "BULK_VERIFY", status: "FAILED", scope: "finished", order: "completed", limit: "500", cursor: "c9" });
  const recent = selectAllRequest(readFilters("?q=camp-"));
  assert.deepEqual(Object.fromEntries(recent), { scope: "all", order: "created", q: "camp-", limit: "500" });
});

test("batch answers add up, failures kept per job", () => {
  const total = merge([
    { requested: 100, succeeded: 99, failed: 1, results: [{ id: "a", ok: false, status: 409, error: { code: "invalid_transition", message: "no" } }] },
    { requested: 20, succeeded: 20, failed: 0, results: [{ id: "b", ok: true, job: {} }] },
  ]);
  assert.deepEqual([total.requested, total.succeeded, total.failed, total.results.map((r) => r.id)], [120, 119, 1, ["a", "b"]]);
});

const NOW = Date.parse("2026-03-01T10:30:00.000Z");
const ago = (h, m = 0) => new Date(NOW - h * 3600000 - m * 60000).toISOString();

test("throughput reads the finished jobs of the 24 hours up to the current one", () => {
  const p = throughputRequest(NOW);
  assert.deepEqual(Object.fromEntries(p), { scope: "finished", order: "completed", dateField: "completedAt", from: "2026-02-28T11:00:00.000Z", limit: "500" });
  assert.equal(throughputRequest(NOW, "c1").get("cursor"), "c1");
  assert.equal(hourStart(NOW), Date.parse("2026-03-01T10:00:00.000Z"));
});

test("throughput counts each finished job once per type and hour, failed ones apart, whatever order states arrive in", () => {
  const t = createThroughput();
  assert.equal(t.add({ $id: "r", type: "CAMPAIGN_RUN", status: "RUNNING", completedAt: null }), false, "an active job is not counted");
  t.add({ $id: "a", type: "CAMPAIGN_RUN", status: "COMPLETED", completedAt: ago(0, 10) });
  t.add({ $id: "b", type: "CAMPAIGN_RUN", status: "FAILED", completedAt: ago(0, 20) });
  t.add({ $id: "c", type: "METRICS_FETCH", status: "COMPLETED", completedAt: ago(23) });
  t.add({ $id: "old", type: "METRICS_FETCH", status: "COMPLETED", completedAt: ago(25) });
  assert.equal(t.add({ $id: "a", type: "CAMPAIGN_RUN", status: "COMPLETED", completedAt: ago(0, 10) }), false, "the same state again changes nothing");
  const c = t.counts(NOW);
  assert.equal(c.hours.length, HOURS);
  assert.equal(c.hours[HOURS - 1], hourStart(NOW));
  assert.deepEqual([c.types.CAMPAIGN_RUN.finished[HOURS - 1], c.types.CAMPAIGN_RUN.failed[HOURS - 1]], [2, 1]);
  assert.equal(c.types.METRICS_FETCH.finished[0], 1, "23 hours ago is the oldest hour");
  assert.equal(c.types.METRICS_FETCH.finished.reduce((a, b) => a + b), 1, "older than the window is left out");
  assert.equal(t.size(), 3, "and forgotten");
  assert.deepEqual(c.types.SQS_POLL.finished, Array(HOURS).fill(0), "every type is listed");
  // An hour later the window moves on: the job of 23 hours ago leaves it.
  assert.equal(t.counts(NOW + 3600000).types.METRICS_FETCH.finished.reduce((a, b) => a + b), 0);
});
