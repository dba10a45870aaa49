// `{base}/schedules`: one row per scheduled function of the project, read from `GET
// /v1/schedules` (job-actions, which asks Appwrite's Functions and Executions APIs; docs/schedules.md):
// the cron expression in words, the next run in UTC and the viewer's time zone, the last run,
// runs and failures over 24 hours, a health badge and the last audit entries; operators get
// Run now and Disable / Enable, each confirmed in the shell's dialog (ui.js `ask`). The view
// reads on load, every `REFRESH_MS` while the tab is visible, and after each action; the
// server says how many Appwrite requests each refresh cost, and the view shows it. Rows are
// patched in place (patch.js) and take their clicks by delegation, so a refresh never takes
// the keyboard focus off a button. Every text from a function or a user goes in as text (`el`).

import { call, config } from "./api.js";
import { ask, el, errorBox, refreshTimes, time, toast } from "./ui.js";
import { keepFocus, patchChildren } from "./patch.js";
import {
  ACTION_LABELS, HEALTH_LABELS, actionsFor, auditText, confirmTexts, consoleHref, createSchedulesState, cronText, doneText, durationText, localText, runFacts,
  runStatusLabel, stampText, utcText,
} from "./schedules-state.js";

/** How often the view reads again while visible: a schedule's health moves with the clock, not with Realtime. */
export const REFRESH_MS = 30000;

const path = (functionId, action) => `/v1/schedules/${encodeURIComponent(functionId)}${action ? `/${action}` : ""}`;

const schedulesApi = {
  list: () => call("GET", "/v1/schedules"),
  act: (functionId, action, reason) => call("POST", path(functionId, action), reason ? { reason } : {}),
};

/** The status class of an execution status (the job badges' colours). */
const RUN_CLASS = { completed: "s-completed", failed: "s-failed", processing: "s-running", waiting: "s-queued", scheduled: "s-queued", cancelled: "s-cancelled" };

function runBadge(run) {
  return el("span", { class: `badge ${RUN_CLASS[run.status] || "s-queued"}`, text: runStatusLabel(run.status) });
}

function consoleLinkOf(run, s) {
  const href = consoleHref(run, s.functionId, config.consoleExecutionUrl, config.project);
  if (!href) return el("code", { class: "exec-id", text: run.executionId });
  return el("a", {
    href, target: "_blank", rel: "noopener noreferrer", class: "console-link",
    "aria-label": `Execution ${run.executionId} of ${s.name} in the Appwrite console`, text: "Open in console",
  });
}

/** An instant as relative time, then UTC, then the viewer's zone. */
function when(iso) {
  if (!iso) return el("span", { class: "muted", text: "—" });
  return el(
    "div",
    { class: "when-3" },
    time(iso),
    el("div", { class: "utc", text: utcText(iso) }),
    el("div", { class: "muted local", text: localText(iso) }),
  );
}

function lastRunCell(s) {
  const run = s.requested || s.lastRun;
  if (!run) return el("span", { class: "muted", text: "No run in the record" });
  return el(
    "div",
    { class: "last-run" },
    s.requested ? el("div", { class: "muted", text: "Run requested from this page" }) : null,
    el("div", { class: "badges" }, runBadge(run), run.statusCode ? el("span", { class: "code", text: `HTTP ${run.statusCode}` }) : null),
    el("div", {}, run.startedAt ? time(run.startedAt) : el("span", { class: "muted", text: "not started yet" }), run.durationSeconds !== null ? el("span", { class: "muted", text: ` · took ${durationText(run.durationSeconds)}` }) : null),
    el("div", { class: "muted small" }, run.trigger ? `${run.trigger} · ` : "", consoleLinkOf(run, s)),
  );
}

function recentList(s) {
  if (!s.recent.length) return null;
  return el(
    "ol",
    { class: "recent", "aria-label": `Recent runs of ${s.name}, newest first` },
    s.recent.map((r) =>
      el(
        "li",
        { class: `dot ${RUN_CLASS[r.status] || "s-queued"}`, title: `${runFacts(r)}${r.startedAt ? ` · ${utcText(r.startedAt)}` : ""}`, "data-key": r.executionId },
        el("span", { "aria-hidden": "true", text: r.status === "failed" ? "✕" : r.status === "completed" ? "✓" : "•" }),
        el("span", { class: "sr-only", text: `${runStatusLabel(r.status)}${r.startedAt ? ` ${utcText(r.startedAt)}` : ""}` }),
      ),
    ),
  );
}

function auditList(s) {
  if (!s.audit.length) return el("p", { class: "muted small", text: "No operator actions yet." });
  return el(
    "ul",
    { class: "audit" },
    s.audit.map((a, i) => el("li", { "data-key": `${a.at || ""}-${i}` }, a.at ? time(a.at) : null, " ", el("span", { text: auditText(a) }))),
  );
}

/** One schedule's row, built afresh and patched onto the one shown (keyed by function id). */
function rowOf(s, role, busy) {
  const actions = actionsFor(s, role);
  const field = (label, ...value) => el("div", { class: "sf" }, el("dt", { text: label }), el("dd", {}, ...value));
  return el(
    "li",
    { class: `sched h-${s.health}`, "data-key": s.functionId, "data-function-id": s.functionId, "data-health": s.health, "data-enabled": String(s.enabled) },
    el(
      "div",
      { class: "sched-head" },
      el("h2", {}, el("span", { class: "name", text: s.name }), s.name !== s.functionId ? el("code", { class: "fid", text: s.functionId }) : null),
      el("span", { class: `badge health h-${s.health}`, text: HEALTH_LABELS[s.health] }),
      el("span", { class: "health-reason", text: s.healthReason }),
    ),
    el(
      "dl",
      { class: "sched-fields" },
      field("Schedule", el("span", { class: "cron-words", text: cronText(s) }), " ", el("code", { class: "cron", text: s.schedule })),
      field("Next run", s.enabled ? when(s.nextRunAt) : el("span", { class: "muted", text: "None: disabled" })),
      field("Last run", lastRunCell(s), recentList(s)),
      field("Last 24 h", el("span", { class: "runs24", text: `${s.runs24h} ${s.runs24h === 1 ? "run" : "runs"}` }), " · ", el("span", { class: s.failures24h ? "fails24 error-text" : "fails24", text: `${s.failures24h} failed` })),
      field("Audit", auditList(s)),
    ),
    actions.length
      ? el(
        "div",
        { class: "actions", "data-key": "actions" },
        actions.map((a) =>
          el("button", {
            type: "button",
            class: `act a-${a}${a === "run" ? "" : " ghost"}`,
            "data-action": a,
            "data-key": a,
            // Not `disabled`: a disabled button drops the keyboard focus the user has on it.
            "aria-disabled": busy ? "true" : null,
            "aria-label": `${ACTION_LABELS[a]} ${s.name}`,
            text: ACTION_LABELS[a],
          }),
        ),
      )
      : null,
  );
}

export function renderSchedules(main, role) {
  const state = createSchedulesState();
  const busy = new Set();
  let stopped = false;
  let loaded = false;
  let reading = null;
  let lastRead = 0;
  // Counts the changes actions made to the state: a read begun before one is older than it and
  // is dropped (the read after the action follows).
  let changes = 0;
  document.title = "Schedules · Jobs";

  const status = el("p", { class: "muted refreshed", "data-part": "refreshed" });
  const problem = el("p", { class: "error-text", role: "alert", "data-part": "refresh-error", hidden: true });
  const list = el("ul", { class: "schedules", "aria-label": "Scheduled functions" });
  const wrap = el("div", { class: "sched-wrap" });
  const refreshButton = el("button", { type: "button", class: "ghost", "data-part": "refresh", text: "Refresh now", onclick: () => refresh() });
  main.replaceChildren(
    el(
      "div",
      { class: "bar-head" },
      el("h1", { text: "Schedules" }),
      el("div", { class: "exports" }, refreshButton),
    ),
    el("p", { class: "muted intro", text: "Every function of the project with a schedule, from Appwrite's own record of executions. Times are UTC (Appwrite runs schedules in UTC) and your time zone." }),
    status,
    problem,
    wrap,
  );

  function render() {
    if (stopped) return;
    const rows = state.ordered(Date.now());
    if (!rows.length) {
      wrap.replaceChildren(el("div", { class: "state empty" }, el("p", { text: "No function of this project has a schedule." })));
      return;
    }
    if (list.parentNode !== wrap) wrap.replaceChildren(list);
    keepFocus(list, () => patchChildren(list, rows.map((s) => rowOf(s, role, busy.has(s.functionId)))));
    refreshTimes(list);
  }

  /**
   * Reads the schedules, one read at a time: asked during one, it waits for it, then reads again
   * unless that read just ended (`force`, after an action: always).
   */
  async function refresh({ force = false } = {}) {
    if (stopped) return;
    while (reading) {
      await reading;
      if (!force && Date.now() - lastRead < 1000) return;
    }
    const seen = changes;
    reading = (async () => {
      try {
        const answer = await schedulesApi.list();
        if (stopped || seen !== changes) return;
        state.load(answer);
        loaded = true;
        lastRead = Date.now();
        problem.hidden = true;
        problem.textContent = "";
        status.textContent = stampText(Date.now(), state.requests, REFRESH_MS);
        render();
      } catch (e) {
        if (stopped) return;
        if (!loaded) {
          wrap.replaceChildren(errorBox(`Could not load schedules: ${e.message}`, () => refresh()));
        } else {
          problem.textContent = `Refresh failed: ${e.message}. Showing the last answer; retrying in ${Math.round(REFRESH_MS / 1000)} s.`;
          problem.hidden = false;
        }
      }
    })();
    try {
      await reading;
    } finally {
      reading = null;
    }
  }

  /** Where focus goes back after the dialog: the invoking button, or its successor in the row. */
  function returnTo(functionId, action, button) {
    return () => {
      if (button.isConnected) return button;
      const li = [...list.children].find((n) => n.dataset.functionId === functionId);
      return (li && (li.querySelector(`button[data-action="${action}"]`) || li.querySelector("button[data-action]"))) || null;
    };
  }

  async function perform(functionId, action, button) {
    const s = state.get(functionId);
    if (!s || busy.has(functionId)) return;
    const answer = await ask(confirmTexts(action, s), returnTo(functionId, action, button));
    if (!answer || stopped) return;
    busy.add(functionId);
    render();
    try {
      const res = await schedulesApi.act(functionId, action, answer.reason);
      changes += 1;
      if (action === "run") state.requested(res || {}, Date.now());
      else if (res) state.replace(res);
      toast(doneText(action, s, res), "success");
    } catch (e) {
      toast(`Could not ${ACTION_LABELS[action].toLowerCase()} ${s.name}: ${e.message}`, "error");
    } finally {
      busy.delete(functionId);
      render();
    }
    await refresh({ force: true });
  }

  const onClick = (e) => {
    const button = e.target.closest && e.target.closest("button[data-action]");
    if (!button || !list.contains(button)) return;
    const li = button.closest("li[data-function-id]");
    if (li) perform(li.dataset.functionId, button.dataset.action, button);
  };
  list.addEventListener("click", onClick);

  wrap.replaceChildren(el("div", { class: "state loading", "aria-busy": "true" }, el("span", { class: "spinner", "aria-hidden": "true" }), el("p", { text: "Loading schedules…" })));
  refresh();
  // Health moves with the clock (a run not coming makes a schedule late), so the view reads
  // again while someone looks, and not while the tab is hidden.
  const timer = setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
  const ticker = setInterval(() => refreshTimes(list), 5000);
  const onVisible = () => {
    if (!document.hidden && Date.now() - lastRead >= REFRESH_MS) refresh();
  };
  document.addEventListener("visibilitychange", onVisible);
  return () => {
    stopped = true;
    clearInterval(timer);
    clearInterval(ticker);
    document.removeEventListener("visibilitychange", onVisible);
    list.removeEventListener("click", onClick);
  };
}
