// The list's state (dashboard/assets/list-state.js) in Node alone, no browser, no server: filters
// to and from the URL, the queries they make, the order of the rows, and what a page, a polled
// delta, a Realtime row and an action's answer do to the jobs held, in any order and any number
// of times. The two list races of issue 26 are here as cases: a copy older than the one shown
// arriving late, and a job finished in the same millisecond as the last loaded one.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  PAGE, ROUTINE, activeFilterCount, checkFilters, compare, createListState, dayEnd, dayStart, deltaRequest, exportRequest, grouped, matches, narrowed,
  pageRequests, query, readFilters, searchOf,
} from "../../dashboard/assets/list-state.js";

const T0 = "2026-03-01T10:00:00.000Z"; // when the view opened
const at = (s) => new Date(Date.parse(T0) + s * 1000).toISOString();

/** A job as the API answers it (the fields the list's state reads). */
function job({ id, status = "RUNNING", rev = 1, type = "BULK_VERIFY", ref = `ref-${id}`, created = -600, updated = -60, completed = null }) {
  return {
    $id: id, type, status, referenceId: ref, rev, progress: 10,
    createdAt: at(created), updatedAt: at(updated), startedAt: at(created), completedAt: completed === null ? null : at(completed),
  };
}
const finished = (id, completed, extra = {}) => job({ id, status: "COMPLETED", completed, updated: completed, ...extra });
const ids = (state) => state.ordered().map((j) => j.$id);
const active = () => readFilters("");

test("filters are read from the URL and written back with only the fields set", () => {
  const f = readFilters("?view=history&type=CAMPAIGN_RUN&status=FAILED&from=2026-01-01&to=2026-01-31&q=camp-");
  assert.deepEqual(f, { view: "history", type: "CAMPAIGN_RUN", status: "FAILED", from: "2026-01-01", to: "2026-01-31", q: "camp-" });
  assert.deepEqual(readFilters("?view=other&junk=1"), { view: "active", type: "", status: "", from: "", to: "", q: "" });
  // The filter form's fields, as FormData gives them (the hidden `view` empty on /jobs).
  assert.equal(searchOf([["view", ""], ["type", "SQS_POLL"], ["status", ""], ["from", ""], ["to", ""], ["q", "a b&c"]]), "?type=SQS_POLL&q=a+b%26c");
  assert.equal(searchOf([["view", ""], ["q", ""]]), "", "no filter: the bare path");
  assert.deepEqual(readFilters(searchOf([["view", "history"], ["q", "a b&c"]])), { ...readFilters("?view=history"), q: "a b&c" });
  assert.equal(narrowed(active()), false);
  assert.equal(narrowed(readFilters("?view=history")), false, "the view is not a filter");
  assert.equal(narrowed(readFilters("?to=2026-01-01")), true);
});

test("the queries follow the filters: dates on updatedAt, or completedAt in history; deltas see every status and type", () => {
  const f = readFilters("?type=SQS_POLL&status=RUNNING&from=2026-01-01&to=2026-01-02&q=x");
  const p = query(f, "active");
  assert.equal(p.get("type"), "SQS_POLL");
  assert.equal(p.get("status"), "RUNNING");
  assert.equal(p.get("order"), "created");
  assert.equal(p.get("dateField"), "updatedAt");
  assert.equal(p.get("from"), dayStart("2026-01-01"));
  assert.equal(p.get("to"), dayEnd("2026-01-02"));
  assert.equal(query(readFilters("?view=history&from=2026-01-01"), "finished").get("dateField"), "completedAt");
  assert.equal(query(readFilters("?view=history"), "finished").get("order"), "completed");

  const delta = deltaRequest(f, T0);
  assert.equal(delta.get("scope"), "all");
  assert.equal(delta.get("status"), null, "a job leaving the status filter is noticed");
  assert.equal(delta.get("type"), null, "the counts cover every type");
  assert.equal(delta.get("updatedSince"), T0);
  assert.equal(delta.get("q"), "x");

  assert.equal(exportRequest(readFilters("?view=history"), "csv").get("scope"), "finished");
  assert.equal(exportRequest(active(), "json").get("scope"), "all");
  assert.equal(exportRequest(active(), "json").get("format"), "json");
});

test("a page asks for every active job first, then finished ones a page at a time", () => {
  const first = pageRequests(active(), null);
  assert.deepEqual(first.map((r) => [r.scope, r.params.get("limit"), r.params.get("cursor")]), [["active", String(PAGE.active), null], ["finished", String(PAGE.recent), null]]);
  const older = pageRequests(active(), "c1");
  assert.deepEqual(older.map((r) => [r.scope, r.params.get("cursor")]), [["finished", "c1"]], "older pages: finished jobs only");
  assert.deepEqual(pageRequests(readFilters("?status=PAUSED"), null).map((r) => r.scope), ["active"]);
  assert.deepEqual(pageRequests(readFilters("?status=FAILED"), null).map((r) => r.scope), ["finished"]);
  const history = pageRequests(readFilters("?view=history"), null);
  assert.deepEqual(history.map((r) => [r.scope, r.params.get("limit")]), [["finished", String(PAGE.history)]]);
});

test("a job matches the view by type, status, reference substring or id, and date range", () => {
  const j = job({ id: "a", type: "SQS_POLL", ref: "queue-1", updated: 0 });
  assert.equal(matches(j, active()), true);
  assert.equal(matches(j, readFilters("?type=BULK_VERIFY")), false);
  assert.equal(matches(j, readFilters("?status=PAUSED")), false);
  assert.equal(matches(j, readFilters("?q=queue")), true);
  assert.equal(matches(j, readFilters("?q=ueue-")), true, "a substring of the reference");
  assert.equal(matches(j, readFilters("?q=a")), true, "the job's id exactly");
  assert.equal(matches(j, readFilters("?q=queue-2")), false);
  assert.equal(matches({ ...j, $id: "abc" }, readFilters("?q=ab")), false, "an id matches whole, not in part");
  assert.equal(matches(j, readFilters("?view=history")), false, "history holds finished jobs only");
  assert.equal(matches(j, readFilters("?to=2001-01-01")), false);
  assert.equal(matches({ ...j, updatedAt: null }, readFilters("?from=2001-01-01")), false, "no date: outside any range");
});

test("active jobs come first by creation, then finished ones by completion, ties by id descending", () => {
  const list = [
    finished("f1", -10), job({ id: "a-old", created: -900 }), finished("f3", -5), finished("f2", -5),
    job({ id: "a-new", status: "PAUSED", created: -100 }), job({ id: "q", status: "QUEUED", created: -500 }),
  ];
  assert.deepEqual([...list].sort(compare).map((j) => j.$id), ["a-new", "q", "a-old", "f3", "f2", "f1"]);
});

test("a page, a delta and a Realtime row each keep the newest revision of a job, whatever the order", () => {
  const state = createListState(active(), { loadedAt: T0 });
  state.page({ jobs: [job({ id: "a", rev: 3 })], updatedSince: at(-30), serverTime: at(0) });
  state.paged(null);
  assert.equal(state.serverTime, at(-30), "the next delta starts from updatedSince");
  // The Realtime row of a pause (rev 4), then the page's older copy again, then the action's answer.
  state.apply(job({ id: "a", rev: 4, status: "PAUSED" }));
  state.apply(job({ id: "a", rev: 3 }));
  assert.equal(state.get("a").status, "PAUSED", "an older copy arriving late changes nothing");
  const answer = job({ id: "a", rev: 4, status: "PAUSED" });
  state.apply(answer);
  assert.notEqual(state.get("a"), answer, "the same write again is not taken (the row need not be drawn again)");
  state.page({ jobs: [job({ id: "a", rev: 2 })], serverTime: at(5) });
  assert.equal(state.get("a").rev, 4, "a page answered before the change does not undo it");
  assert.equal(state.serverTime, at(-30), "only the first page sets where deltas start");
  // A delta moves the start on, and applies what it brings.
  assert.deepEqual(state.delta({ jobs: [job({ id: "a", rev: 5, status: "QUEUED" }), job({ id: "b", rev: 1 })], updatedSince: at(10) }), []);
  assert.equal(state.serverTime, at(10));
  assert.deepEqual(ids(state), ["b", "a"], "both held; created together, so by id descending");
  assert.equal(state.get("a").status, "QUEUED");
  assert.equal(state.get("b").rev, 1);
  // An answer without `updatedSince` (an older job-actions) keeps its `serverTime`.
  state.delta({ jobs: [], serverTime: at(20) });
  assert.equal(state.serverTime, at(20));
});

test("a job that leaves the filters leaves the view, and one that enters it joins", () => {
  const state = createListState(readFilters("?status=RUNNING"), { loadedAt: T0 });
  state.page({ jobs: [job({ id: "a", rev: 1 })], serverTime: T0 });
  state.paged(null);
  state.apply(job({ id: "a", rev: 2, status: "PAUSED" }));
  assert.deepEqual(ids(state), []);
  state.apply(job({ id: "a", rev: 3, status: "RUNNING" }));
  assert.deepEqual(ids(state), ["a"]);
  // The paused copy (rev 2) arriving again late does not take it out.
  state.apply(job({ id: "a", rev: 2, status: "PAUSED" }));
  assert.deepEqual(ids(state), ["a"]);
});

test("a finished job past the loaded page stays out, ties with the last loaded one included", () => {
  const state = createListState(active(), { loadedAt: T0 });
  // The first page of finished jobs ends with f-b, completed at -50; there is a next page.
  state.page({ jobs: [finished("f-c", -10), finished("f-b", -50)], serverTime: T0 });
  state.paged("cursor-1");
  // A job that finished long ago changes (its log, say): it belongs to a page not loaded.
  state.apply(finished("f-old", -500, { rev: 2 }));
  // Finished in the same millisecond as f-b, but after it in the server's order (a smaller id).
  state.apply(finished("f-a", -50, { rev: 2 }));
  assert.deepEqual(ids(state), ["f-c", "f-b"]);
  // Before it in the server's order (a larger id), or newer: it is shown.
  state.apply(finished("f-bb", -50, { rev: 2 }));
  state.apply(finished("f-new", 5, { rev: 2, created: 0 }));
  assert.deepEqual(ids(state), ["f-new", "f-c", "f-bb", "f-b"]);
  // An active job is always shown; with every page loaded, so is any finished one.
  state.apply(job({ id: "a", created: -1000 }));
  assert.deepEqual(ids(state)[0], "a");
  state.paged(null);
  state.apply(finished("f-old", -500, { rev: 3 }));
  assert.equal(ids(state).at(-1), "f-old");
});

test("a finished job already shown is updated even when it sorts past the loaded page", () => {
  const state = createListState(active(), { loadedAt: T0 });
  state.page({ jobs: [finished("f-b", -50), job({ id: "r" })], serverTime: T0 });
  state.paged("cursor-1");
  // A later write of a job held: taken, though by its order it sorts past the loaded page.
  state.apply({ ...finished("f-b", -50, { rev: 2 }), progress: 50 });
  assert.equal(state.get("f-b").progress, 50);
});

test("history keeps its last 100 finished jobs and forgets older ones", () => {
  const state = createListState(readFilters("?view=history"), { loadedAt: T0 });
  state.page({ jobs: Array.from({ length: 100 }, (_, i) => finished(`f${String(i).padStart(3, "0")}`, -1000 + i)), serverTime: T0 });
  state.paged("ignored in history");
  assert.equal(state.cursor, null, "history has no further pages");
  state.apply(finished("newest", 10, { created: 0 }));
  const shown = state.ordered();
  assert.equal(shown.length, 100);
  assert.equal(shown[0].$id, "newest");
  assert.equal(state.get("f000"), undefined, "the oldest is forgotten");
  assert.equal(state.size(), 100);
  state.apply(job({ id: "running" }));
  assert.equal(state.get("running"), undefined, "history holds no active job");
});

test("a completion or failure is announced once, and only when it happened in front of the view", () => {
  const state = createListState(active(), { loadedAt: T0 });
  state.page({ jobs: [job({ id: "a", rev: 1 }), job({ id: "b", rev: 1 }), finished("old", -100)], serverTime: T0 });
  state.paged(null);
  const done = finished("a", 5, { rev: 2 });
  assert.equal(state.apply(done), done, "the running job held finished");
  assert.equal(state.apply(finished("a", 5, { rev: 2 })), null, "its echo is not announced again");
  const failed = { ...job({ id: "b", rev: 2, status: "FAILED", updated: 6 }), completedAt: at(6), errorMessage: "boom" };
  assert.deepEqual(state.delta({ jobs: [failed], serverTime: at(7) }), [failed]);
  assert.equal(state.apply(finished("old", -100, { rev: 2 })), null, "a job that was finished when seen is not announced");
  // Never seen: announced only if it finished after the view opened (another type, say).
  assert.equal(state.apply(finished("before-open", -1)), null);
  const after = finished("after-open", 1);
  assert.equal(state.apply(after), after);
  // Announced even when the filters keep it out of the view (a running-only view).
  const narrow = createListState(readFilters("?status=RUNNING"), { loadedAt: T0 });
  narrow.page({ jobs: [job({ id: "x" })], serverTime: T0 });
  const x = finished("x", 2, { rev: 2 });
  assert.equal(narrow.apply(x), x);
  assert.deepEqual(ids(narrow), []);
  // Cancelled jobs are not announced (the action's own toast says it).
  assert.equal(state.apply(job({ id: "c", status: "CANCELLED", rev: 2, updated: 8 })), null);
});

test("a finished job that arrives before the first page is answered is judged once the page ends", () => {
  const f = readFilters("");
  const state = createListState(f, { loadedAt: "2026-01-01T00:00:00.000Z" });
  const done = (id, at) => ({ $id: id, status: "COMPLETED", rev: 2, type: "BULK_VERIFY", referenceId: id, createdAt: at, completedAt: at, updatedAt: at });
  // A catch-up answers before the page: one job inside the page, one past its end.
  state.apply(done("j-old", "2026-01-01T00:00:01.000Z"));
  state.apply(done("j-new", "2026-01-01T00:00:09.000Z"));
  assert.equal(state.size(), 0, "nothing is shown before the page says where it ends");
  state.page({ jobs: [done("j-mid", "2026-01-01T00:00:05.000Z")], serverTime: "2026-01-01T00:00:10.000Z" });
  state.paged("j-mid");
  assert.deepEqual(state.ordered().map((j) => j.$id), ["j-new", "j-mid"], "the one past the page's end stays out");
});

test("values the view cannot use are cleared and named; a reversed range is kept and flagged", () => {
  const { filters, problems, reversed } = checkFilters(readFilters("?type=FOO&status=BAR&from=notadate&to=2026-02-30&q=x"));
  assert.deepEqual(filters, { view: "active", type: "", status: "", from: "", to: "", q: "x" });
  assert.deepEqual(problems.map((p) => [p.field, p.value]), [["type", "FOO"], ["status", "BAR"], ["from", "notadate"], ["to", "2026-02-30"]]);
  assert.match(problems[0].message, /Unknown type “FOO”/);
  assert.equal(reversed, false);

  const history = checkFilters(readFilters("?view=history&status=RUNNING"));
  assert.equal(history.filters.status, "");
  assert.match(history.problems[0].message, /finished jobs only/);

  const back = checkFilters(readFilters("?from=2026-03-10&to=2026-03-01"));
  assert.deepEqual([back.filters.from, back.filters.to, back.problems.length, back.reversed], ["2026-03-10", "2026-03-01", 0, true]);
  const fine = checkFilters(readFilters("?type=SQS_POLL&status=PAUSED&from=2026-03-01&to=2026-03-01"));
  assert.deepEqual([fine.problems, fine.reversed], [[], false]);
  assert.equal(activeFilterCount(fine.filters), 4);
});

test("the unfiltered recent view splits outcomes from routine jobs; any filter or history does not", () => {
  assert.equal(grouped(readFilters("")), true);
  for (const q of ["?q=x", "?type=SQS_POLL", "?status=FAILED", "?view=history"]) assert.equal(grouped(readFilters(q)), false, q);
  const f = readFilters("");
  const outcomes = pageRequests(f, null, "outcomes");
  assert.deepEqual(outcomes.map((r) => [r.scope, r.params.get("type")]), [["active", null], ["finished", "CAMPAIGN_RUN,BULK_VERIFY"]]);
  const routine = pageRequests(f, "c1", "routine");
  assert.deepEqual(routine.map((r) => [r.scope, r.params.get("type"), r.params.get("cursor")]), [["finished", ROUTINE.join(","), "c1"]]);
  assert.deepEqual(pageRequests(f, null, "routine").map((r) => r.scope), ["finished"], "no active request: active routine jobs are in the outcomes");

  const metricsRunning = job({ id: "m", type: "METRICS_FETCH" });
  const metricsDone = finished("m", -1, { type: "METRICS_FETCH", rev: 2 });
  const campaignDone = finished("c", -1, { type: "CAMPAIGN_RUN" });
  assert.equal(matches(metricsRunning, f, "outcomes"), true, "an active routine job stays on top");
  assert.equal(matches(metricsDone, f, "outcomes"), false);
  assert.equal(matches(metricsDone, f, "routine"), true);
  assert.equal(matches(campaignDone, f, "routine"), false);

  // A routine job finishing moves from the outcomes' state to the routine section's.
  const top = createListState(f, { loadedAt: T0, part: "outcomes" });
  const below = createListState(f, { loadedAt: T0, part: "routine" });
  top.page({ jobs: [metricsRunning], updatedSince: T0 });
  top.paged(null);
  below.page({ jobs: [], updatedSince: T0 });
  below.paged(null);
  for (const s of [top, below]) s.apply(metricsDone);
  assert.deepEqual([ids(top), ids(below)], [[], ["m"]]);
});
