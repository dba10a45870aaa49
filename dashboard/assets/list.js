// `{base}` (`/jobs`): every active job (queued, running, paused) first, then the most recent
// finished ones; with `?view=history`, the last 100 finished jobs. The state (filters, jobs by
// id and revision, order, what each source does) is list-state.js; this file is the view and
// its wiring. Pages are loaded once; afterwards changes arrive as Realtime row events and are
// applied from the row itself (no request per event). Only while the socket is down does the
// view poll for jobs changed since the server's last answer (`updatedSince`), every `pollMs`;
// with the socket up it resynchronises every `resyncMs` and on each reconnection. A changed row
// is patched in place (patch.js), never rebuilt, so a keyboard user's focus on its Pause button
// survives every update. Every job state seen, whatever its source, also goes to the counts
// above the views (summary.js) and to the throughput section (throughput.js).
// The unfiltered "recent" view shows outcomes first: its finished routine jobs (list-state.js
// `ROUTINE`) are a folded section of their own, loaded when opened, so a hundred metrics runs
// never push a campaign's outcome off the first screen. Filters come checked (filters.js); an
// operator's rows carry checkboxes for the bulk actions (bulk.js).

import { api, config } from "./api.js";
import {
  act, actionButtons, badge, duration, el, errorBox, onActionClick, outcomeBadge, progressBar, refreshTimes, resultSummary, time, toast, typeLabel,
} from "./ui.js";
import { derive, fromRow, statusBefore } from "./derive.js";
import { ROUTINE, checkFilters, createListState, deltaRequest, exportRequest, grouped, narrowed, pageRequests, readFilters, searchOf } from "./list-state.js";
import { countedStatuses, filterForm, problemsNote, typeChips } from "./filters.js";
import { createBulk } from "./bulk.js";
import { createThroughputView } from "./throughput.js";
import { keepFocus, patch, patchChildren } from "./patch.js";
import { rowsChannel, subscribe } from "./realtime.js";
import { copyButton, onCopyClick, statusBadge, stopBy, when } from "./cells.js";

const COLUMNS = {
  active: ["Job", "Status", "Progress", "Started", "Updated", "Completed", "Duration", "ETA", "Actions"],
  history: ["Job", "Status", "Started", "Completed", "Duration", "Result", "Actions"],
};

const jobHref = (base, id) => `${base}/${encodeURIComponent(id)}`;

/** The columns of a view; an operator's rows start with a checkbox for the bulk actions. */
const columnsOf = (view, canAct) => (canAct ? ["Select", ...COLUMNS[view]] : COLUMNS[view]);

/** One job's row (`job` derived), built afresh: patched onto the row shown, or added. */
function rowOf(job, view, base, canAct) {
  const failed = job.status === "FAILED" && job.errorMessage;
  const running = job.status === "RUNNING";
  const eta = job.etaMs != null;
  const cells = {
    // Its `checked` is the selection's, set by the table after every update (never an attribute).
    Select: el("td", { class: "pick-cell" }, el("input", { type: "checkbox", class: "pick", "aria-label": `Select ${typeLabel(job.type)} ${job.referenceId}` })),
    Job: el("td", { class: "job" }, el("a", { href: jobHref(base, job.$id), class: "ref", text: job.referenceId }), " ", copyButton(job.$id, `${typeLabel(job.type)} ${job.referenceId}`), el("div", { class: "muted", text: typeLabel(job.type) })),
    // The honest status ("Pausing…" until the worker confirms) and who stopped it (cells.js);
    // History's Result column already says who cancelled.
    Status: el("td", {}, statusBadge(job), outcomeBadge(job), job.status === "PAUSED" || view !== "history" ? stopBy(job) : null, failed && view !== "history" ? el("div", { class: "error-text row-error", title: job.errorMessage, text: job.errorMessage }) : null),
    Progress: el("td", { class: "progress-cell" }, progressBar(job)),
    Started: el("td", { class: "when" }, when(job.startedAt)),
    Updated: el("td", { class: "when" }, when(job.updatedAt)),
    Completed: el("td", { class: "when" }, when(job.completedAt)),
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
  for (const c of columnsOf(view, canAct)) {
    cells[c].setAttribute("data-label", c);
    tr.append(cells[c]);
  }
  return tr;
}

/**
 * The table: one row per job, drawn from the state's jobs, each row kept for as long as its job
 * is shown. With `bulk` (an operator's view), each row's checkbox and the header's "every job
 * shown" one follow its selection.
 */
function createTable(f, base, caption, canAct, bulk = null) {
  const columns = columnsOf(f.view, canAct && bulk !== null);
  const tbody = el("tbody");
  const every = bulk ? el("input", { type: "checkbox", class: "pick-all", "aria-label": `Select every job in ${caption}` }) : null;
  const head = (c) => (c === "Select" ? el("th", { scope: "col", class: "c-select" }, every) : el("th", { scope: "col", class: `c-${c.toLowerCase()}`, text: c }));
  const node = el(
    "table",
    { class: `jobs v-${f.view}${bulk ? " selectable" : ""}` },
    el("caption", { class: "sr-only", text: caption }),
    el("thead", {}, el("tr", {}, columns.map(head))),
    tbody,
  );
  // id → the row on the page and the job (object) it was drawn from.
  const shown = new Map();
  if (bulk) {
    tbody.addEventListener("change", (e) => {
      const box = e.target.closest("input.pick");
      if (box) bulk.pick(box.closest("tr").dataset.id, box.checked);
    });
    every.addEventListener("change", () => bulk.pickAll([...shown.values()].map((r) => r.job), every.checked));
  }
  const rowFor = (job) => rowOf(derive(job, canAct), f.view, base, canAct && bulk !== null);
  return {
    node,
    tbody,
    /** Sets every checkbox from the selection. */
    picks() {
      if (!bulk) return;
      let on = 0;
      for (const [id, r] of shown) {
        const box = r.tr.querySelector("input.pick");
        const want = bulk.has(id);
        if (box && box.checked !== want) box.checked = want;
        if (want) on += 1;
      }
      every.checked = on > 0 && on === shown.size;
      every.indeterminate = on > 0 && on < shown.size;
    },
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
          if (!r) shown.set(job.$id, (r = { tr: rowFor(job), job }));
          else if (r.job !== job) r.tr = patch(r.tr, rowFor(job));
          r.job = job;
          // Only rows out of place move (a moved row loses focus; keepFocus gives it back).
          if (tbody.children[i] !== r.tr) tbody.insertBefore(r.tr, tbody.children[i] || null);
        });
      });
      this.picks();
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

/**
 * The folded section of a grouped "recent" view holding its finished routine jobs: loaded when
 * first opened (`onOpen`), its own table and "Load older" button; its summary carries the count.
 */
function routineSection(f, base, canAct, bulk, { onOpen, onMore, onAction }) {
  const names = ROUTINE.map(typeLabel).join(" and ");
  const label = el("span", { text: `Routine jobs (${names})` });
  const n = el("span", { class: "muted routine-count" });
  const wrap = el("div", { class: "table-wrap" });
  const more = el("button", { type: "button", class: "ghost more", hidden: true, text: "Load older routine jobs", onclick: () => onMore(more) });
  const table = createTable(f, base, `Finished routine jobs (${names})`, canAct, bulk);
  onActionClick(table.tbody, (action, button) => onAction(button.closest("tr").dataset.id, action, button));
  const node = el("details", { class: "routine" }, el("summary", {}, label, " ", n), wrap, more);
  let opened = false;
  node.addEventListener("toggle", () => {
    if (node.open && !opened) {
      opened = true;
      onOpen();
    }
  });
  return {
    node,
    table,
    /** The count of finished routine jobs kept (from the summary), or null while unknown. */
    count(total) {
      const text = total == null ? "" : `${total.toLocaleString("en-US")} finished`;
      if (n.textContent !== text) n.textContent = text;
    },
    loading() {
      wrap.replaceChildren(el("div", { class: "state loading", "aria-busy": "true" }, el("span", { class: "spinner", "aria-hidden": "true" }), el("p", { text: "Loading routine jobs…" })));
    },
    failed(message, retry) {
      wrap.replaceChildren(errorBox(message, retry));
    },
    show(jobs, hasMore) {
      if (!jobs.length) {
        table.clear();
        wrap.replaceChildren(el("div", { class: "state empty" }, el("p", { text: "No finished routine jobs kept." })));
      } else {
        if (table.node.parentNode !== wrap) wrap.replaceChildren(table.node);
        table.show(jobs);
      }
      more.hidden = !hasMore;
    },
  };
}

/**
 * The page around the table: heading, exports, what was wrong with the URL, filters, type chips,
 * throughput, the refresh line, the bulk bar, the table, "Load older jobs", the routine section.
 */
function listView(main, f, base, canAct, { onExport, onMore, onAction, problems, reversed, bulk, throughput, routine }) {
  const title = f.view === "history" ? "History: last 100 finished jobs" : "Active and recent jobs";
  const exportButton = (format) => el("button", { type: "button", class: "ghost", text: `Export ${format.toUpperCase()}`, onclick: () => onExport(format) });
  const status = el("p", { class: "muted refreshed", "data-part": "refreshed" });
  const tableWrap = el("div", { class: "table-wrap" });
  const more = el("button", { type: "button", class: "ghost", id: "more", hidden: true, text: "Load older jobs", onclick: () => onMore(more) });
  const table = createTable(f, base, title, canAct, bulk);
  onActionClick(table.tbody, (action, button) => onAction(button.closest("tr").dataset.id, action, button));
  const chips = typeChips(f, base, null);
  main.replaceChildren(
    el("div", { class: "bar-head" }, el("h1", { text: title }), el("div", { class: "exports" }, exportButton("csv"), exportButton("json"))),
    problemsNote(problems) || "",
    filterForm(f, base, { reversed }),
    chips,
    throughput ? throughput.node : "",
    status,
    bulk ? bulk.bar : "",
    tableWrap,
    more,
    routine ? routine.node : "",
    bulk ? bulk.dialog : "",
  );
  const empty = () =>
    el(
      "div",
      { class: "state empty" },
      el("p", { text: narrowed(f) ? "No jobs match these filters." : f.view === "history" ? "No finished jobs yet." : routine ? "No active jobs and no finished campaigns or verifications yet." : "No jobs yet. Jobs appear here when a worker starts one." }),
    );
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
    /** The type chips' counts (type → count), patched in place. */
    chips(byType) {
      patchChildren(chips, [...typeChips(f, base, byType).childNodes]);
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

/** What a failed page load says: the API's own message for a refused request. */
function loadError(e) {
  return e.status === 400 ? `The server refused these filters: ${e.message}` : `Could not load jobs: ${e.message}`;
}

export function renderList(main, role, { base, summary, search }) {
  const { filters: f, problems, reversed } = checkFilters(readFilters(search));
  if (problems.length && typeof history !== "undefined") {
    // The address says what the controls say: the values cleared are gone from it too.
    const fixed = searchOf(Object.entries(f).map(([k, v]) => [k, k === "view" && v === "active" ? "" : v]));
    history.replaceState(history.state, "", `${location.pathname}${fixed}${location.hash}`);
  }
  const canAct = role === "operator";
  const loadedAt = new Date().toISOString();
  const state = createListState(f, { loadedAt, part: grouped(f) ? "outcomes" : "all" });
  // The routine section's own state, once it is opened (grouped views only).
  let routineState = null;
  let up = false;
  let stopped = false;
  document.title = f.view === "history" ? "History · Jobs" : "Jobs · Pivotr Mailer";
  const held = (id) => state.get(id) || (routineState && routineState.get(id)) || null;
  // Built below; the bulk bar paints the tables' checkboxes through them once they exist.
  let view = null;
  let routine = null;
  const bulk = canAct
    ? createBulk({
        filters: f,
        held,
        onJobs: (jobs) => {
          for (const job of jobs) apply(job);
          render();
          if (!up) refresh();
        },
        onChange: () => {
          view && view.table.picks();
          routine && routine.table.picks();
        },
      })
    : null;
  const throughput = f.view === "active" ? createThroughputView((params) => api.list(params)) : null;
  routine = grouped(f) ? routineSection(f, base, canAct, bulk, { onOpen: openRoutine, onMore: loadMoreRoutine, onAction: perform }) : null;
  view = listView(main, f, base, canAct, { onExport: (format) => download(f, format), onMore: loadMore, onAction: perform, problems, reversed, bulk, throughput, routine });

  const render = () => {
    if (stopped) return;
    view.show(state.ordered(), Boolean(state.cursor));
    if (routineState) routine.show(routineState.ordered(), Boolean(routineState.cursor));
    if (bulk) bulk.refresh();
  };
  const paintCounts = () => {
    const byType = summary.byType ? summary.byType(countedStatuses(f.view)) : null;
    view.chips(byType);
    if (routine) {
      const done = summary.byType ? summary.byType(countedStatuses("history")) : null;
      routine.count(done ? ROUTINE.reduce((n, t) => n + (done[t] || 0), 0) : null);
    }
  };
  const offCounts = summary.onChange ? summary.onChange(paintCounts) : () => {};
  paintCounts(); // what a summary read for an earlier view says, until this view's own arrives

  /** A job state from Realtime (with the status its write left, when the row says), a delta or an answer. */
  function apply(job, before = null) {
    summary.observe(job, before); // counted whether or not the view shows it
    if (throughput) throughput.observe(job);
    const notice = state.apply(job);
    // The routine section announces nothing: a job it holds finished before it was shown there,
    // and one finishing in front of the user was active, held and announced by the outcomes.
    if (routineState) routineState.apply(job);
    if (notice) announce(notice);
  }

  async function perform(id, action, button) {
    const held_ = held(id);
    if (!held_) return;
    const job = derive(held_, canAct);
    const table = state.get(id) ? view.table : routine.table;
    try {
      const res = await act(job, action, () => table.returnTo(id, action, button));
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

  /** One page of `into` (the view's state or the routine section's): its requests, then `paged`. */
  async function loadPageOf(into, part) {
    let next = null;
    for (const { scope, params } of pageRequests(f, into.cursor, part)) {
      const answer = await api.list(params);
      for (const job of answer.jobs) summary.observe(job);
      into.page(answer);
      if (scope === "finished") next = answer.nextCursor;
    }
    return into.paged(next);
  }

  /** The first page: every active job, then a page of finished ones (history: the last 100). */
  async function loadPage() {
    const notices = await loadPageOf(state, grouped(f) ? "outcomes" : "all");
    render();
    for (const job of notices) announce(job);
  }

  async function openRoutine() {
    routineState = createListState(f, { loadedAt, part: "routine" });
    routine.loading();
    try {
      await loadPageOf(routineState, "routine");
      render();
    } catch (e) {
      const retry = () => {
        routineState = null;
        openRoutine();
      };
      routine.failed(loadError(e), retry);
    }
  }

  async function loadMoreRoutine(button) {
    try {
      await loadPageOf(routineState, "routine");
      render();
    } catch (e) {
      toast(`Could not load more routine jobs: ${e.message}`, "error");
    }
  }

  let busy = false;
  /** Asks for every job changed since the last answer (while polling, and after reconnecting). */
  async function refresh({ counts = false } = {}) {
    if (busy || !state.serverTime || stopped) return;
    busy = true;
    try {
      const answer = await api.list(deltaRequest(f, state.serverTime));
      for (const job of answer.jobs) summary.observe(job);
      if (throughput) for (const job of answer.jobs) throughput.observe(job);
      if (routineState) routineState.delta(answer);
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
    if (reversed) {
      // The API refuses a reversed range; the form says why, and nothing is asked.
      view.failed("No jobs shown: the date range is reversed (see the filters above).");
      return;
    }
    view.loading();
    try {
      await loadPage();
      view.stamp(up);
    } catch (e) {
      view.failed(loadError(e), start);
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
  const offCopy = onCopyClick(main);
  start();
  summary.load();
  return live({
    tick: () => {
      refreshTimes(main);
      // Live means nothing was missed up to now: the stamp says so every second.
      if (up) view.stamp(true);
      if (throughput) throughput.tick();
    },
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
    stop: () => {
      stopped = true;
      offCopy();
      offCounts();
    },
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
