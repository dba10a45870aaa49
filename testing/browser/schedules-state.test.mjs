// The Schedules view's state (dashboard/assets/schedules-state.js) in Node alone, no browser, no
// server: how an answer of `GET /v1/schedules` is read (defensively: names, reasons and errors
// are anyone's text), the order of the rows, a "run now" shown before the server lists it, the
// buttons per role, the confirm dialog's words, and how times, durations and links are worded.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  PENDING_MS, actionsFor, auditText, confirmTexts, consoleHref, createSchedulesState, cronText, durationText, localText, readSchedule, runFacts,
  stampText, utcText,
} from "../../dashboard/assets/schedules-state.js";

const T0 = Date.parse("2026-12-07T08:00:00.000Z");

/** A schedule as the contract answers it. */
function schedule(functionId, extra = {}) {
  return {
    functionId, name: functionId, schedule: "*/5 * * * *", scheduleText: "every 5 minutes", enabled: true,
    nextRunAt: "2026-12-07T08:05:00.000Z", health: "ok", healthReason: "ran on time",
    lastRun: { executionId: `e-${functionId}`, status: "completed", trigger: "schedule", startedAt: "2026-12-07T07:55:00.000Z", durationSeconds: 1.25, statusCode: 200, consoleUrl: null },
    recent: [], runs24h: 288, failures24h: 0, audit: [], ...extra,
  };
}

test("an answer is read into rows ordered by name, whatever order the server sent", () => {
  const state = createSchedulesState();
  state.load({ schedules: [schedule("sqs-poller"), schedule("b", { name: "Alpha" }), schedule("fetch-aws-metrics")], checkedAt: "2026-12-07T08:00:00Z", requests: 5 });
  assert.deepEqual(state.ordered(T0).map((s) => s.name), ["Alpha", "fetch-aws-metrics", "sqs-poller"]);
  assert.equal(state.requests, 5);
  assert.equal(state.checkedAt, "2026-12-07T08:00:00Z");
  assert.equal(state.get("b").name, "Alpha");
  assert.equal(state.get("missing"), null);
});

test("an answer without a list of schedules is refused, so the view shows an error instead of an empty page", () => {
  const state = createSchedulesState();
  assert.throws(() => state.load({ error: { message: "nope" } }), /no list of schedules/);
  assert.throws(() => state.load(null));
});

test("odd fields are read safely: unknown health is ok, lists are bounded, entries without ids are dropped", () => {
  const s = readSchedule({
    functionId: "f", name: "", health: "on-fire", enabled: "yes", nextRunAt: "not a date",
    recent: [...Array(15)].map((_, i) => ({ executionId: `e${i}`, status: "FAILED" })).concat([{ status: "failed" }]),
    audit: [...Array(8)].map((_, i) => ({ at: "2026-12-07T07:00:00Z", actor: "a", action: "run", reason: i })).concat([{ actor: "x" }]),
    runs24h: "12", lastRun: { status: "completed" },
  });
  assert.equal(s.name, "f", "a function without a name shows its id");
  assert.equal(s.health, "ok");
  assert.equal(s.enabled, true, "only an explicit false disables");
  assert.equal(s.nextRunAt, null);
  assert.equal(s.recent.length, 10);
  assert.equal(s.recent[0].status, "failed");
  assert.equal(s.audit.length, 5);
  assert.equal(s.audit[1].reason, "1");
  assert.equal(s.runs24h, 0, "a count that is not a number counts nothing");
  assert.equal(s.lastRun, null, "a run without an execution id is no run");
  assert.equal(readSchedule({ name: "no id" }), null);
});

test("hostile text is kept as it came, for the view to insert as text", () => {
  const name = `<img src=x onerror="window.__pwned=1">`;
  const s = readSchedule(schedule("f", { name, healthReason: "<b>late</b>", audit: [{ at: null, actor: "<script>", action: "disable", reason: "</li><li>" }] }));
  assert.equal(s.name, name);
  assert.equal(s.healthReason, "<b>late</b>");
  assert.equal(auditText(s.audit[0]), "<script> disabled it: “</li><li>”");
  assert.match(confirmTexts("disable", s).text, /^<img src=x/);
});

test("a run now shows in its row at once, until the server lists it or it is too old", () => {
  const state = createSchedulesState();
  state.load({ schedules: [schedule("f")], requests: 3 });
  assert.equal(state.requested({ functionId: "other", executionId: "x", status: "waiting" }, T0), null, "not a schedule shown");
  const run = state.requested({ functionId: "f", executionId: "e-new", status: "waiting" }, T0);
  assert.equal(run.trigger, "http");
  let row = state.ordered(T0 + 1000)[0];
  assert.equal(row.requested.executionId, "e-new");
  assert.equal(row.recent[0].executionId, "e-new");

  // A refresh that does not list it yet keeps it; one that does replaces it with the server's copy.
  state.load({ schedules: [schedule("f")], requests: 3 });
  assert.equal(state.ordered(T0 + 2000)[0].requested.executionId, "e-new");
  const listed = { executionId: "e-new", status: "processing", trigger: "http", startedAt: "2026-12-07T08:00:01Z" };
  state.load({ schedules: [schedule("f", { lastRun: listed, recent: [listed] })], requests: 3 });
  row = state.ordered(T0 + 3000)[0];
  assert.equal(row.requested, undefined);
  assert.equal(row.recent.length, 1);
  assert.equal(row.lastRun.status, "processing");

  // Never listed (the server's page of executions missed it): dropped after PENDING_MS.
  state.requested({ functionId: "f", executionId: "e-lost", status: "waiting" }, T0);
  assert.ok(state.ordered(T0 + PENDING_MS)[0].requested);
  assert.equal(state.ordered(T0 + PENDING_MS + 1)[0].requested, undefined);
});

test("an enable or disable answer replaces its schedule", () => {
  const state = createSchedulesState();
  state.load({ schedules: [schedule("f"), schedule("g")] });
  const s = state.replace(schedule("f", { enabled: false, health: "disabled", audit: [{ at: "2026-12-07T08:00:00Z", actor: "ops", action: "disable", reason: "noisy" }] }));
  assert.equal(s.enabled, false);
  assert.equal(state.get("f").health, "disabled");
  assert.equal(state.get("f").audit[0].reason, "noisy");
  assert.equal(state.ordered(T0).length, 2);
});

test("operators get Run now and the switch that fits; viewers get no button", () => {
  assert.deepEqual(actionsFor(readSchedule(schedule("f")), "operator"), ["run", "disable"]);
  assert.deepEqual(actionsFor(readSchedule(schedule("f", { enabled: false })), "operator"), ["run", "enable"]);
  assert.deepEqual(actionsFor(readSchedule(schedule("f")), "viewer"), []);
  assert.deepEqual(actionsFor(readSchedule(schedule("f")), undefined), []);
});

test("the disable dialog says that manual executions stop too", () => {
  const s = readSchedule(schedule("sqs-poller"));
  const t = confirmTexts("disable", s);
  assert.match(t.text, /manual executions/);
  assert.match(t.text, /sqs-poller/);
  assert.equal(t.yes, "Disable");
  assert.match(confirmTexts("run", s).text, /asynchronous execution/);
  assert.match(confirmTexts("enable", s).title, /Enable/);
  assert.match(t.note, /audit/);
});

test("times are worded in UTC and in a given time zone", () => {
  assert.equal(utcText("2026-12-07T08:05:00Z"), "2026-12-07 08:05 UTC");
  assert.equal(utcText("nope"), "—");
  assert.equal(localText("2026-12-07T08:05:00Z", "Asia/Kolkata"), "Mon 13:35 (Asia/Kolkata)");
  assert.equal(localText("2026-12-07T08:05:00Z", "UTC"), "Mon 08:05 (UTC)");
  assert.equal(stampText(T0 + 12000, 5, 30000, "UTC"), "Updated 08:00:12 · 5 Appwrite requests · refreshes every 30 s");
  assert.equal(stampText(T0, 1, 30000, "UTC"), "Updated 08:00:00 · 1 Appwrite request · refreshes every 30 s");
  assert.equal(stampText(T0, null, 30000, "UTC"), "Updated 08:00:00 · refreshes every 30 s");
});

test("durations, run facts and the cron line read as people say them", () => {
  assert.equal(durationText(null), "—");
  assert.equal(durationText(0.007174839), "7 ms");
  assert.equal(durationText(1.25), "1.3 s");
  assert.equal(durationText(42.4), "42 s");
  assert.equal(durationText(185), "3m 05s");
  const s = readSchedule(schedule("f"));
  assert.equal(runFacts(s.lastRun), "Completed · HTTP 200 · 1.3 s · schedule");
  assert.equal(cronText(s), "every 5 minutes");
  assert.equal(cronText(readSchedule(schedule("f", { scheduleText: "" }))), "*/5 * * * *");
});

test("console links come from the server or the configured template, and only as http(s)", () => {
  const run = { executionId: "e 1", consoleUrl: null };
  const template = "https://cloud.example/console/project-{project}/functions/function-{functionId}/execution-{executionId}";
  assert.equal(consoleHref(run, "f/x", "", "p"), null);
  assert.equal(consoleHref(run, "f/x", template, "p"), "https://cloud.example/console/project-p/functions/function-f%2Fx/execution-e%201");
  assert.equal(consoleHref({ ...run, consoleUrl: "https://server.example/e" }, "f", template, "p"), "https://server.example/e");
  assert.equal(consoleHref({ ...run, consoleUrl: "javascript:alert(1)" }, "f", "", "p"), null);
  assert.equal(consoleHref(run, "f", "javascript:{executionId}", "p"), null);
});
