// In Node alone (no browser, no server): the pure parts of issue 28's dashboard changes. How a
// stop reads ("Pausing…" until the worker confirms, `stopState` in derive.js), how the detail
// page's log groups and summarises its entries and what a cancelled job's worker knows (log.js),
// and the page's connection mode (connection.js), whose changes drive the banner and its single
// toast.
import { test } from "node:test";
import assert from "node:assert/strict";
import { actorName, stopState } from "../../dashboard/assets/derive.js";
import { cancelNote, controlActions, groupEntries, inlineDetails, lastFailure } from "../../dashboard/assets/log.js";
import { createConnection } from "../../dashboard/assets/connection.js";

test("a paused job reads Pausing… while its execution holds the run, then Paused by whoever paused it", () => {
  const job = { status: "PAUSED", executionId: "exec-1", lastActor: "user:ana", lastReason: "SES quota" };
  assert.deepEqual(stopState(job), { label: "Pausing…", pending: true, by: "by ana: SES quota" });
  assert.deepEqual(stopState({ ...job, executionId: null }), { label: "Paused", pending: false, by: "by ana: SES quota" });
  // A worker that never reported an execution id counts as stopped.
  assert.equal(stopState({ status: "PAUSED", lastActor: "user:bo" }).label, "Paused");
  assert.deepEqual(stopState({ status: "CANCELLED", executionId: "x", lastActor: "function:job-retention" }), { label: "Cancelled", pending: false, by: "by function:job-retention" });
  assert.deepEqual(stopState({ status: "RUNNING", executionId: "x", lastActor: "user:ana" }), { label: "Running", pending: false, by: "" });
  assert.equal(actorName("user:ana"), "ana");
  assert.equal(actorName(null), "");
});

const at = (s) => new Date(Date.UTC(2026, 11, 7, 8, 0, s)).toISOString();
const ev = (id, kind, s, extra = {}) => ({ $id: id, kind, at: at(s), actor: "function:bulk-verify-leads", message: null, details: {}, ...extra });

test("consecutive progress entries fold into one group, newest first, keyed by the oldest", () => {
  const events = [
    ev("a", "started", 0),
    ev("p1", "progress", 1), ev("p2", "progress", 2), ev("p3", "progress", 3),
    ev("r", "pauseRequested", 4, { actor: "user:ana", message: "SES quota" }),
    ev("p4", "progress", 5),
    ev("f", "failed", 6),
  ];
  const groups = groupEntries(events);
  assert.deepEqual(groups.map((g) => [g.kind, g.key, g.entries.map((e) => e.$id)]), [
    ["failed", "f", ["f"]],
    ["progress", "p4", ["p4"]],
    ["pauseRequested", "r", ["r"]],
    ["progress", "p1", ["p3", "p2", "p1"]],
    ["started", "a", ["a"]],
  ]);
  // A new progress entry joins the newest group without changing its key.
  const more = groupEntries([...events.slice(0, 4), ev("p3b", "progress", 3.5)]);
  assert.deepEqual(more[0].entries.map((e) => e.$id), ["p3b", "p3", "p2", "p1"]);
  assert.equal(more[0].key, "p1");
  assert.equal(lastFailure(events).$id, "f");
  assert.equal(lastFailure(events.slice(0, 3)), null);
});

test("the control summary names who paused, resumed and retried, when and why, newest first", () => {
  const events = [
    ev("a", "started", 0),
    ev("r", "pauseRequested", 4, { actor: "user:ana", message: "SES quota" }),
    ev("c", "paused", 5),
    ev("s", "resumed", 9, { actor: "user:bo" }),
    ev("p", "progress", 10),
  ];
  assert.deepEqual(controlActions(events).map((a) => [a.kind, a.actor, a.reason, a.worker]), [
    ["resumed", "user:bo", "", false],
    ["paused", "function:bulk-verify-leads", "", true],
    ["pauseRequested", "user:ana", "SES quota", false],
  ]);
  assert.equal(inlineDetails({ done: 400, total: 800 }), "done 400 · total 800");
  assert.equal(inlineDetails({ nested: { a: 1 } }), "");
});

test("the connection is connecting, then live, polling when the socket drops and offline when requests fail", () => {
  let t = 0;
  const c = createConnection(() => t);
  const seen = [];
  c.on((change) => seen.push([change.previous, change.mode, change.since]));
  assert.equal(c.mode(), "connecting");
  c.request(true);
  assert.equal(c.mode(), "connecting", "a request answered before the socket is up changes nothing");
  t = 1;
  c.socket(true);
  t = 2;
  c.socket(false);
  t = 3;
  c.request(false);
  c.request(false); // a second failed poll is no new change: one toast, not one per poll
  t = 4;
  c.request(true);
  t = 5;
  c.socket(true);
  assert.deepEqual(seen, [
    ["connecting", "live", 1],
    ["live", "polling", 2],
    ["polling", "offline", 3],
    ["offline", "polling", 4],
    ["polling", "live", 5],
  ]);
});

test("a cancelled job says whether its worker has been told, from the log", () => {
  const events = [ev("a", "started", 0), ev("c", "cancelled", 5, { actor: "user:ana" })];
  const job = { status: "CANCELLED", executionId: "exec-1" };
  assert.deepEqual(cancelNote(job, events), { told: false, at: null, text: "The worker learns of the cancel at its next report" });
  const told = cancelNote(job, [...events, ev("i", "ignored", 7)]);
  assert.equal(told.told, true);
  assert.equal(told.at, at(7));
  assert.match(told.text, /^Worker told: its report at .* was answered cancel$/);
  assert.equal(cancelNote({ status: "CANCELLED" }, events), null, "no worker held it");
  assert.equal(cancelNote({ status: "PAUSED", executionId: "x" }, events), null);
});
