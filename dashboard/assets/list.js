// `{base}` (`/jobs`): every active job (queued, running, paused) first, then the most recent
// finished ones; with `?view=history`, the last 100 finished jobs. The state (filters, jobs by
// id and revision, order, what each source does) is list-state.js; this file is the view and
// its wiring. Pages are loaded once; afterwards changes arrive as Realtime row events and are
// applied from the row itself (no request per event). Only while the socket is down does the
// view poll for jobs changed since the server's last answer (`updatedSince`), every `pollMs`;
// with the socket up it resynchronises every `resyncMs` and on each reconnection. A changed row
// is patched in place (patch.js), never rebuilt, so a keyboard user's focus on its Pause button
// survives every update. Every job state seen, whatever its source, also goes to the counts
// above the views (summary.js).

import { api, config } from "./api.js";
import {
  STATUSES, TYPE_LABELS, act, actionButtons, badge, duration, el, errorBox, onActionClick, outcomeBadge, progressBar, refreshTimes, resultSummary, statusLabel, time, toast, typeLabel,
} from "./ui.js";
import { derive, fromRow, statusBefore } from "./derive.js";
import { createListState, deltaRequest, exportRequest, narrowed, pageRequests, readFilters, searchOf } from "./list-state.js";
import { keepFocus, patch } from "./patch.js";
import { rowsChannel, subscribe } from "./realtime.js";

const COLUMNS = {
  active: ["Job", "Status", "Progress", "Started", "Updated", "Completed", "Duration", "ETA", "Actions"],
  history: ["Job", "Status", "Started", "Completed", "Duration", "Result", "Actions"],
};

const jobHref = (base, id) => `${base}/${encodeURIComponent(id)}`;

/** One job's row (`job` derived), built afresh: patched onto the row shown, or added. */
function rowOf(job, view, base) {
  const failed = job.status === "FAILED" && job.errorMessage;
  const running = job.status === "RUNNING";
  const eta = job.etaMs != null;
  const cells = {
    Job: el("td", { class: "job" }, el("a", { href: jobHref(base, job.$id), class: "ref", text: job.referenceId }), el("div", { class: "muted", text: typeLabel(job.type) })),
    Status: el("td", {}, badge(job.status), outcomeBadge(job), failed && view !== "history" ? el("div", { class: "error-text row-error", title: job.errorMessage, text: job.errorMessage }) : null),
    Progress: el("td", { class: "progress-cell" }, progressBar(job)),
    Started: el("td", { class: "when" }, time(job.startedAt)),
    Updated: el("td", { class: "when" }, time(job.updatedAt)),
    Completed: el("td", { class: "when" }, time(job.completedAt)),
    Duration: el("td", { class: "duration", text: duration(job.durationMs), "data-running-since": running ? job.startedAt : null }),
    ETA: el("td", { class: "eta", text: eta ? duration(job.etaMs) : "—", "data-eta-progress": eta ? job.progress : null, "data-eta-since": eta ? job.startedAt : null }),
    Result: el(
      "td",
      { class: "result" },
      failed ? el("div", { class: "error-text row-error", text: job.errorMessage }) : null,
      job.status === "CANCELLED" && job.lastActor
        ? el("div", { class: "muted", text: `Cancelled by ${job.lastActor}${job.lastReason ? `: ${job.lastReason}` : ""}` })
        : null,
      el("div", { text: resultSummary(job) || (["FAILED", "CANCELLED"].includes(job.status) ? "" : "—") }),
    ),
    Actions: el(
      "td",
      {},
      el(
        "div",
        { class: "actions" },
        actionButtons(job, { named: true }),
        el("a", { href: `${jobHref(base, job.$id)}#events`, class: "logs", "data-key": "logs", "aria-label": `Logs of ${typeLabel(job.type)} ${job.referenceId}`, text: "Logs" }),
      ),
    ),
  };
  const tr = el("tr", { "data-id": job.$id, "data-status": job.status, class: running ? "running" : null });
  for (const c of COLUMNS[view]) {
    cells[c].setAttribute("data-label", c);
    tr.append(cells[c]);
  }
  return tr;
}

/** The table: one row per job, drawn from the state's jobs, each row kept for as long as its job is shown. */
function createTable(f, base, caption, canAct) {
  const columns = COLUMNS[f.view];
  const tbody = el("tbody");
  const node = el(
    "table",
    { class: `jobs v-${f.view}` },
    el("caption", { class: "sr-only", text: caption }),
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: `c-${c.toLowerCase()}`, text: c })))),
    tbody,
  );
  // id → the row on the page and the job (object) it was drawn from.
  const shown = new Map();
  return {
    node,
    tbody,
    /** Shows `jobs` in this order: new rows added, changed ones patched, gone ones removed, focus kept. */
    show(jobs) {
      keepFocus(tbody, () => {
        const ids = new Set(jobs.map((j) => j.$id));
        for (const [id, r] of shown) {
          if (ids.has(id)) continue;
          r.tr.remove();
          shown.delete(id);
        }
        jobs.forEach((job, i) => {
          let r = shown.get(job.$id);
          if (!r) shown.set(job.$id, (r = { tr: rowOf(derive(job, canAct), f.view, base), job }));
          else if (r.job !== job) r.tr = patch(r.tr, rowOf(derive(job, canAct), f.view, base));
          r.job = job;
          // Only rows out of place move (a moved row loses focus; keepFocus gives it back).
          if (tbody.children[i] !== r.tr) tbody.insertBefore(r.tr, tbody.children[i] || null);
        });
      });
    },
    clear() {
      tbody.replaceChildren();
      shown.clear();
    },
    /** Where focus returns after a dialog opened from row `id`: its `action` button, else the row's first link. */
    returnTo(id, action, button) {
      if (button.isConnected) return button;
      const tr = shown.get(id) && shown.get(id).tr;
      return (tr && (tr.querySelector(`button[data-action="${action}"]`) || tr.querySelector("a[href]"))) || null;
    },
  };
}

function filterForm(f, base) {
  const types = el("select", { id: "f-type", name: "type" }, el("option", { value: "", text: "All types" }), Object.entries(TYPE_LABELS).map(([v, t]) => el("option", { value: v, text: t, selected: f.type === v })));
  const statuses = (f.view === "history" ? ["COMPLETED", "FAILED", "CANCELLED"] : STATUSES).map((s) => el("option", { value: s, text: statusLabel(s), selected: f.status === s }));
  const status = el("select", { id: "f-status", name: "status" }, el("option", { value: "", text: "All statuses" }), statuses);
  const field = (id, label, input) => el("div", { class: "field" }, el("label", { for: id, text: label }), input);
  const when = f.view === "history" ? "Completed" : "Updated";
  const form = el(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter jobs" },
    el("input", { type: "hidden", name: "view", value: f.view === "history" ? "history" : "" }),
    field("f-type", "Type", types),
    field("f-status", "Status", status),
    field("f-from", `${when} from`, el("input", { type: "date", id: "f-from", name: "from", value: f.from })),
    field("f-to", `${when} to`, el("input", { type: "date", id: "f-to", name: "to", value: f.to })),
    field("f-q", "Reference starts with", el("input", { type: "search", id: "f-q", name: "q", value: f.q, autocomplete: "off" })),
    el("div", { class: "field buttons" }, el("button", { type: "submit", text: "Apply" }), el("a", { href: f.view === "history" ? `${base}?view=history` : base, class: "reset", text: "Reset" })),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    // A new view for new filters keeps the view's state simple and the URL shareable.
    const link = el("a", { href: `${base}${searchOf(new FormData(form))}` });
    form.append(link);
    link.click();
    link.remove();
  });
  return form;
}

/** The page around the table: heading, exports, filters, the refresh line, "Load older jobs". */
function listView(main, f, base, canAct, { onExport, onMore, onAction }) {
  const title = f.view === "history" ? "History: last 100 finished jobs" : "Active and recent jobs";
  const exportButton = (format) => el("button", { type: "button", class: "ghost", text: `Export ${format.toUpperCase()}`, onclick: () => onExport(format) });
  const status = el("p", { class: "muted refreshed", "data-part": "refreshed" });
  const tableWrap = el("div", { class: "table-wrap" });
  const more = el("button", { type: "button", class: "ghost", id: "more", hidden: true, text: "Load older jobs", onclick: () => onMore(more) });
  const table = createTable(f, base, title, canAct);
  onActionClick(table.tbody, (action, button) => onAction(button.closest("tr").dataset.id, action, button));
  main.replaceChildren(el("div", { class: "bar-head" }, el("h1", { text: title }), el("div", { class: "exports" }, exportButton("csv"), exportButton("json"))), filterForm(f, base), status, tableWrap, more);
  const empty = () =>
    el("div", { class: "state empty" }, el("p", { text: narrowed(f) ? "No jobs match these filters." : f.view === "history" ? "No finished jobs yet." : "No jobs yet. Jobs appear here when a worker starts one." }));
  return {
    table,
    loading() {
      tableWrap.replaceChildren(el("div", { class: "state loading", "aria-busy": "true" }, el("span", { class: "spinner", "aria-hidden": "true" }), el("p", { text: "Loading jobs…" })));
    },
    failed(message, retry) {
      tableWrap.replaceChildren(errorBox(message, retry));
    },
    show(jobs, hasMore) {
      if (jobs.length === 0) {
        table.clear();
        tableWrap.replaceChildren(empty());
      } else {
        if (table.node.parentNode !== tableWrap) tableWrap.replaceChildren(table.node);
        table.show(jobs);
      }
      more.hidden = !hasMore;
    },
    stamp(up) {
      status.textContent = up
        ? `Live · updated ${new Date().toLocaleTimeString()}`
        : `Updated ${new Date().toLocaleTimeString()} · refreshes every ${Math.round(config.pollMs / 1000)} s`;
      status.dataset.mode = up ? "live" : "polling";
    },
    problem(text) {
      status.textContent = text;
    },
  };
}

function announce(job) {
  if (job.status === "COMPLETED") toast(`${typeLabel(job.type)} ${job.referenceId} completed`, "success");
  else toast(`${typeLabel(job.type)} ${job.referenceId} failed: ${job.errorMessage || "no error message"}`, "error");
}

async function download(f, format) {
  try {
    const { text, type } = await api.exportJobs(exportRequest(f, format));
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = el("a", { href: url, download: `jobs-${f.view}-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    toast(`Export failed: ${e.message}`, "error");
  }
}

const DONE = { pause: "Pause requested for", resume: "Resumed", cancel: "Cancelled", retry: "Retry queued for" };

export function renderList(main, role, { base, summary, search }) {
  const f = readFilters(search);
  const canAct = role === "operator";
  const state = createListState(f, { loadedAt: new Date().toISOString() });
  let up = false;
  let stopped = false;
  document.title = f.view === "history" ? "History · Jobs" : "Jobs · Pivotr Mailer";
  const view = listView(main, f, base, canAct, { onExport: (format) => download(f, format), onMore: loadMore, onAction: perform });

  const render = () => stopped || view.show(state.ordered(), Boolean(state.cursor));

  /** A job state from Realtime (with the status its write left, when the row says), a delta or an answer. */
  function apply(job, before = null) {
    summary.observe(job, before); // counted whether or not the view shows it
    const notice = state.apply(job);
    if (notice) announce(notice);
  }

  async function perform(id, action, button) {
    const held = state.get(id);
    if (!held) return;
    const job = derive(held, canAct);
    try {
      const res = await act(job, action, () => view.table.returnTo(id, action, button));
      if (!res) return;
      const warning = action === "retry" && typeof res.warning === "string" ? res.warning : "";
      toast(`${DONE[action]} ${typeLabel(job.type)} ${job.referenceId}${warning ? `. Note: ${warning}` : ""}`, warning ? "info" : "success", warning ? 20000 : 8000);
      // The answer is the changed job: apply it. Realtime brings the same write too, before or
      // after it; whichever comes second changes nothing, the counts included.
      if (res.job) apply(res.job);
      render();
      if (!up) refresh();
    } catch (e) {
      toast(`Could not ${action} ${job.referenceId}: ${e.message}`, "error");
      refresh();
    }
  }

  /** The first page: every active job, then a page of finished ones (history: the last 100). */
  async function loadPage() {
    let next = null;
    for (const { scope, params } of pageRequests(f, state.cursor)) {
      const answer = await api.list(params);
      for (const job of answer.jobs) summary.observe(job);
      state.page(answer);
      if (scope === "finished") next = answer.nextCursor;
    }
    const notices = state.paged(next);
    render();
    for (const job of notices) announce(job);
  }

  let busy = false;
  /** Asks for every job changed since the last answer (while polling, and after reconnecting). */
  async function refresh({ counts = false } = {}) {
    if (busy || !state.serverTime || stopped) return;
    busy = true;
    try {
      const answer = await api.list(deltaRequest(f, state.serverTime));
      for (const job of answer.jobs) summary.observe(job);
      for (const job of state.delta(answer)) announce(job);
      render();
      refreshTimes(main);
      view.stamp(up);
      if (counts) summary.load();
    } catch (e) {
      view.problem(`Refresh failed: ${e.message}. Retrying…`);
    } finally {
      busy = false;
    }
  }

  async function start() {
    view.loading();
    try {
      await loadPage();
      view.stamp(up);
    } catch (e) {
      view.failed(`Could not load jobs: ${e.message}`, start);
    }
  }

  async function loadMore(button) {
    button.disabled = true;
    try {
      await loadPage();
    } catch (e) {
      toast(`Could not load more jobs: ${e.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  // What the counts remembered from an earlier view went stale while nothing kept it current.
  summary.forget();
  start();
  summary.load();
  return live({
    tick: () => refreshTimes(main),
    isUp: () => up,
    poll: (counts) => refresh({ counts }),
    onRow(data) {
      const action = (data.events || [])[0] || "";
      if (action.endsWith(".delete")) return; // pruned rows age out of the view
      apply(fromRow(data.payload), statusBefore(data.payload));
      render();
    },
    onState(now) {
      up = now;
      // (Re)connected: catch up on what changed while the socket was down.
      if (now) refresh();
      view.stamp(now);
    },
    stop: () => (stopped = true),
  });
}

/**
 * The list's clocks and socket: Realtime rows to `onRow`; polling every `pollMs` only while the
 * socket is down (the counts reloaded once a minute of polling); a resync every `resyncMs` while
 * it is up; `tick` every second (durations, relative times). Returns the view's `stop()`.
 */
function live({ tick, isUp, poll, onRow, onState, stop }) {
  let polls = 0;
  const pollTimer = setInterval(() => {
    if (isUp() || document.hidden) return;
    polls += 1;
    poll(polls % Math.max(1, Math.round(60000 / config.pollMs)) === 0);
  }, config.pollMs);
  const resync = setInterval(() => {
    if (isUp() && !document.hidden) poll(true);
  }, config.resyncMs);
  const ticker = setInterval(tick, 1000);
  const onVisible = () => {
    if (!document.hidden && !isUp()) poll(false);
  };
  document.addEventListener("visibilitychange", onVisible);
  const unsubscribe = subscribe([rowsChannel(config.tableId)], onRow, onState);
  return () => {
    stop();
    clearInterval(pollTimer);
    clearInterval(resync);
    clearInterval(ticker);
    document.removeEventListener("visibilitychange", onVisible);
    unsubscribe();
  };
}
