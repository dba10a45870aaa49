// `{base}` (`/jobs`): every active job (queued, running, paused) first, then the most recent
// finished ones; with `?view=history`, the last 100 finished jobs. Filters live in the URL so a
// view can be shared. Pages are loaded once; afterwards changes arrive as Realtime row events
// and are applied from the row itself (no request per event). Only while the socket is down
// does the view poll for jobs changed since the server's last answer (`updatedSince`), every
// `pollMs`; with the socket up it resynchronises every `resyncMs` and on each reconnection.
// Rows are updated in place, so they keep their place and keyboard focus. Every job state seen,
// whatever its source, also goes to the counts above the views, which move once per status
// change (derive.js `createCounts`).

import { api, config } from "./api.js";
import {
  ACTION_LABELS, FINAL, STATUSES, TYPE_LABELS, badge, confirmAction, duration, el, errorBox, needsConfirm,
  outcomeBadge, progressBar, refreshTimes, resultSummary, statusLabel, time, toast, typeLabel,
} from "./ui.js";
import { ACTIVE, createCounts, derive, fromRow, statusBefore } from "./derive.js";
import { rowsChannel, subscribe } from "./realtime.js";

const PAGE = { recent: 25, history: 100, active: 500 };

/** Reads the view's filters from a query string. */
function readFilters(search) {
  const q = new URLSearchParams(search);
  return {
    view: q.get("view") === "history" ? "history" : "active",
    type: q.get("type") || "",
    status: q.get("status") || "",
    from: q.get("from") || "",
    to: q.get("to") || "",
    q: q.get("q") || "",
  };
}

function dateField(view) {
  return view === "history" ? "completedAt" : "updatedAt";
}

/** Date inputs hold local calendar days; the API wants instants. */
function dayStart(day) {
  return new Date(`${day}T00:00:00`).toISOString();
}
function dayEnd(day) {
  return new Date(`${day}T23:59:59.999`).toISOString();
}

/** The API query for the filters and a scope (`active`, `finished`, or `all` for deltas). */
function query(f, scope) {
  const p = new URLSearchParams();
  if (f.type) p.set("type", f.type);
  if (f.status && scope !== "all") p.set("status", f.status);
  p.set("scope", scope);
  p.set("order", scope === "finished" ? "completed" : "created");
  if (f.from || f.to) {
    p.set("dateField", dateField(f.view));
    if (f.from) p.set("from", dayStart(f.from));
    if (f.to) p.set("to", dayEnd(f.to));
  }
  if (f.q) p.set("q", f.q);
  return p;
}

/** Whether a job belongs in the view (used for jobs arriving by Realtime or a delta). */
function matches(job, f) {
  if (f.type && job.type !== f.type) return false;
  if (f.status && job.status !== f.status) return false;
  if (f.view === "history" && !FINAL.includes(job.status)) return false;
  if (f.q && !String(job.referenceId).startsWith(f.q)) return false;
  const at = job[dateField(f.view)];
  if (f.from && (!at || at < dayStart(f.from))) return false;
  if (f.to && (!at || at > dayEnd(f.to))) return false;
  return true;
}

/** Active jobs first (newest first), then finished ones by completion (newest first). */
function before(a, b) {
  const aActive = ACTIVE.includes(a.status);
  const bActive = ACTIVE.includes(b.status);
  if (aActive !== bActive) return aActive ? -1 : 1;
  const ka = aActive ? a.createdAt || "" : a.completedAt || "";
  const kb = bActive ? b.createdAt || "" : b.completedAt || "";
  if (ka !== kb) return ka < kb ? 1 : -1;
  // The server's tie-break (newest first, then id descending), so ties sort as it pages them.
  return a.$id < b.$id ? 1 : a.$id > b.$id ? -1 : 0;
}

export function renderList(main, role, { base, summary, search }) {
  const f = readFilters(search);
  const canAct = role === "operator";
  const state = { jobs: new Map(), rows: new Map(), cursor: null, serverTime: null, loadedAt: new Date().toISOString(), toasted: new Set(), up: false, stopped: false };
  document.title = f.view === "history" ? "History · Jobs" : "Jobs · Pivotr Mailer";
  const jobHref = (id) => `${base}/${encodeURIComponent(id)}`;

  const heading = el("h1", { text: f.view === "history" ? "History: last 100 finished jobs" : "Active and recent jobs" });
  const form = filterForm(f, base);
  const status = el("p", { class: "muted refreshed", "data-part": "refreshed" });
  const tableWrap = el("div", { class: "table-wrap" });
  const more = el("button", { type: "button", class: "ghost", id: "more", hidden: true, text: "Load older jobs" });
  const exports = el(
    "div",
    { class: "exports" },
    el("button", { type: "button", class: "ghost", text: "Export CSV", onclick: () => download("csv") }),
    el("button", { type: "button", class: "ghost", text: "Export JSON", onclick: () => download("json") }),
  );
  main.replaceChildren(el("div", { class: "bar-head" }, heading, exports), form, status, tableWrap, more);

  const columns =
    f.view === "history"
      ? ["Job", "Status", "Started", "Completed", "Duration", "Result", "Actions"]
      : ["Job", "Status", "Progress", "Started", "Updated", "Completed", "Duration", "ETA", "Actions"];
  const tbody = el("tbody");
  const table = el(
    "table",
    { class: "jobs" },
    el("caption", { class: "sr-only", text: heading.textContent }),
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", text: c })))),
    tbody,
  );

  function row(job) {
    const failed = job.status === "FAILED" && job.errorMessage;
    const cells = {
      Job: el(
        "td",
        { class: "job" },
        el("a", { href: jobHref(job.$id), class: "ref", text: job.referenceId }),
        el("div", { class: "muted", text: typeLabel(job.type) }),
      ),
      Status: el("td", {}, badge(job.status), outcomeBadge(job), failed && f.view !== "history" ? el("div", { class: "error-text row-error", text: job.errorMessage }) : null),
      Progress: el("td", { class: "progress-cell" }, progressBar(job)),
      Started: el("td", {}, time(job.startedAt)),
      Updated: el("td", {}, time(job.updatedAt)),
      Completed: el("td", {}, time(job.completedAt)),
      Duration: el("td", { class: "duration", text: duration(job.durationMs), "data-running-since": job.status === "RUNNING" ? job.startedAt : null }),
      ETA: el("td", { class: "eta", text: job.etaMs != null ? duration(job.etaMs) : "—", "data-eta-progress": job.etaMs != null ? job.progress : null, "data-eta-since": job.etaMs != null ? job.startedAt : null }),
      Result: el(
        "td",
        { class: "result" },
        failed ? el("div", { class: "error-text row-error", text: job.errorMessage }) : null,
        job.status === "CANCELLED" && job.lastActor
          ? el("div", { class: "muted", text: `Cancelled by ${job.lastActor}${job.lastReason ? `: ${job.lastReason}` : ""}` })
          : null,
        el("div", { text: resultSummary(job) || (["FAILED", "CANCELLED"].includes(job.status) ? "" : "—") }),
      ),
      Actions: el("td", {}, el("div", { class: "actions" }, actionButtons(job), el("a", { href: `${jobHref(job.$id)}#events`, class: "logs", "aria-label": `Logs of ${typeLabel(job.type)} ${job.referenceId}`, text: "Logs" }))),
    };
    const tr = el("tr", { "data-id": job.$id, "data-status": job.status, class: job.status === "RUNNING" ? "running" : null });
    for (const c of columns) {
      cells[c].setAttribute("data-label", c);
      tr.append(cells[c]);
    }
    return tr;
  }

  function actionButtons(job) {
    return (job.actions || [])
      .filter((a) => ACTION_LABELS[a])
      .map((action) =>
        el("button", {
          type: "button",
          class: `act a-${action}`,
          "data-action": action,
          "aria-label": `${ACTION_LABELS[action]} ${typeLabel(job.type)} ${job.referenceId}`,
          text: ACTION_LABELS[action],
          onclick: () => perform(job.$id, action),
        }),
      );
  }

  async function perform(id, action) {
    const job = state.jobs.get(id);
    if (!job) return;
    let reason = "";
    if (needsConfirm(action, job)) {
      const answer = await confirmAction(action, job);
      if (!answer) return;
      reason = answer.reason;
    }
    try {
      const res = await api.act(id, action, reason);
      const done = { pause: "Pause requested for", resume: "Resumed", cancel: "Cancelled", retry: "Retry queued for" }[action];
      const warning = action === "retry" && res && typeof res.warning === "string" ? res.warning : "";
      toast(`${done} ${typeLabel(job.type)} ${job.referenceId}${warning ? `. Note: ${warning}` : ""}`, warning ? "info" : "success", warning ? 20000 : 8000);
      // The answer is the changed job: apply it. Realtime brings the same write too, before or
      // after it; whichever comes second changes nothing, the counts included.
      if (res && res.job) apply(res.job);
      render();
      if (!state.up) refresh();
    } catch (e) {
      toast(`Could not ${action} ${job.referenceId}: ${e.message}`, "error");
      refresh();
    }
  }

  /** Shows `job` (API or Realtime shape, before derivation); keeps the row if nothing changed. */
  function upsert(job) {
    const view = derive(job, canAct);
    const known = state.jobs.get(view.$id);
    if (known && known.rev === view.rev && known.status === view.status) return;
    state.jobs.set(view.$id, view);
    state.rows.set(view.$id, row(view));
  }

  function notify(job, beforeStatus) {
    if (!["COMPLETED", "FAILED"].includes(job.status) || state.toasted.has(job.$id)) return;
    const fresh = beforeStatus ? !FINAL.includes(beforeStatus) : (job.completedAt || "") >= state.loadedAt;
    if (!fresh) return;
    state.toasted.add(job.$id);
    if (job.status === "COMPLETED") toast(`${typeLabel(job.type)} ${job.referenceId} completed`, "success");
    else toast(`${typeLabel(job.type)} ${job.referenceId} failed: ${job.errorMessage || "no error message"}`, "error");
  }

  /**
   * A changed job from Realtime (with the status its write left, when the row says), a delta or
   * an action's answer. Counted whether or not the view shows it.
   */
  function apply(job, before = null) {
    summary.observe(job, before);
    const known = state.jobs.get(job.$id);
    if (known && (job.rev ?? 0) < (known.rev ?? 0)) return; // an older copy than shown
    notify(job, known && known.status);
    if (!matches(job, f)) {
      state.jobs.delete(job.$id);
      state.rows.delete(job.$id);
      return;
    }
    // A finished job that sorts after every loaded finished one belongs to an unloaded page
    // (jobs finished in the same millisecond as the last loaded one too: ties go by id).
    if (!known && state.cursor && !ACTIVE.includes(job.status)) {
      const finished = [...state.jobs.values()].filter((j) => !ACTIVE.includes(j.status));
      const last = finished.length ? finished.reduce((a, b) => (before(a, b) > 0 ? a : b)) : null;
      if (last && before(job, last) > 0) return;
    }
    upsert(job);
  }

  function render() {
    if (state.stopped) return;
    const ordered = [...state.jobs.values()].sort(before);
    if (f.view === "history" && ordered.length > PAGE.history) {
      for (const j of ordered.splice(PAGE.history)) {
        state.jobs.delete(j.$id);
        state.rows.delete(j.$id);
      }
    }
    if (ordered.length === 0) {
      tableWrap.replaceChildren(
        el("div", { class: "state empty" }, el("p", { text: f.type || f.status || f.from || f.to || f.q ? "No jobs match these filters." : f.view === "history" ? "No finished jobs yet." : "No jobs yet. Jobs appear here when a worker starts one." })),
      );
    } else {
      if (table.parentNode !== tableWrap) tableWrap.replaceChildren(table);
      // Move only rows that are out of place, so a focused button keeps its focus.
      ordered.forEach((job, i) => {
        const node = state.rows.get(job.$id);
        if (tbody.children[i] !== node) tbody.insertBefore(node, tbody.children[i] || null);
      });
      while (tbody.children.length > ordered.length) tbody.lastChild.remove();
    }
    more.hidden = !state.cursor;
  }

  function stamp() {
    status.textContent = state.up
      ? `Live · updated ${new Date().toLocaleTimeString()}`
      : `Updated ${new Date().toLocaleTimeString()} · refreshes every ${Math.round(config.pollMs / 1000)} s`;
    status.dataset.mode = state.up ? "live" : "polling";
  }

  /** The first page: every active job, then a page of finished ones (history: the last 100). */
  async function loadPage() {
    const scopes = [];
    const finalFilter = f.status && FINAL.includes(f.status);
    const activeFilter = f.status && ACTIVE.includes(f.status);
    if (f.view !== "history" && !state.cursor && !finalFilter) scopes.push(["active", PAGE.active]);
    if (!activeFilter) scopes.push(["finished", f.view === "history" ? PAGE.history : PAGE.recent]);
    let next = null;
    for (const [scope, limit] of scopes) {
      const p = query(f, scope);
      p.set("limit", String(limit));
      if (scope === "finished" && state.cursor) p.set("cursor", state.cursor);
      const data = await api.list(p);
      for (const job of data.jobs) {
        if (!state.jobs.has(job.$id)) upsert(job);
        summary.observe(job);
      }
      // The next delta starts from the answer's `updatedSince` (it reaches back over writes still
      // in flight; docs/actions.md, Polling), or its `serverTime` from an older job-actions.
      if (!state.serverTime) state.serverTime = data.updatedSince || data.serverTime;
      if (scope === "finished") next = data.nextCursor;
    }
    state.cursor = f.view === "history" ? null : next;
    render();
  }

  let busy = false;
  /** Asks for every job changed since the last answer (while polling, and after reconnecting). */
  async function refresh({ counts = false } = {}) {
    if (busy || !state.serverTime || state.stopped) return;
    busy = true;
    try {
      const p = query(f, "all");
      if (f.type) p.delete("type"); // the counts cover every type
      p.set("updatedSince", state.serverTime);
      p.set("limit", "500");
      const data = await api.list(p);
      state.serverTime = data.updatedSince || data.serverTime;
      for (const job of data.jobs) apply(job);
      render();
      refreshTimes(main);
      stamp();
      if (counts) summary.load();
    } catch (e) {
      status.textContent = `Refresh failed: ${e.message}. Retrying…`;
    } finally {
      busy = false;
    }
  }

  async function start() {
    tableWrap.replaceChildren(el("div", { class: "state loading", "aria-busy": "true" }, el("span", { class: "spinner", "aria-hidden": "true" }), el("p", { text: "Loading jobs…" })));
    try {
      await loadPage();
      stamp();
    } catch (e) {
      tableWrap.replaceChildren(errorBox(`Could not load jobs: ${e.message}`, start));
    }
  }

  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      await loadPage();
    } catch (e) {
      toast(`Could not load more jobs: ${e.message}`, "error");
    } finally {
      more.disabled = false;
    }
  });

  async function download(format) {
    const p = query(f, f.view === "history" ? "finished" : "all");
    p.set("format", format);
    try {
      const { text, type } = await api.exportJobs(p);
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

  // What the counts remembered from an earlier view went stale while nothing kept it current.
  summary.forget();
  start();
  summary.load();
  // Polling only while the socket is down; the counts are kept from the changes seen and
  // reloaded once a minute of polling.
  let polls = 0;
  const poll = setInterval(() => {
    if (state.up || document.hidden) return;
    polls += 1;
    refresh({ counts: polls % Math.max(1, Math.round(60000 / config.pollMs)) === 0 });
  }, config.pollMs);
  const resync = setInterval(() => {
    if (state.up && !document.hidden) refresh({ counts: true });
  }, config.resyncMs);
  // Durations and relative times tick every second, without asking anyone.
  const tick = setInterval(() => refreshTimes(main), 1000);
  const onVisible = () => {
    if (!document.hidden && !state.up) refresh();
  };
  document.addEventListener("visibilitychange", onVisible);
  const unsubscribe = subscribe(
    [rowsChannel(config.tableId)],
    (data) => {
      const action = (data.events || [])[0] || "";
      if (action.endsWith(".delete")) return; // pruned rows age out of the view
      apply(fromRow(data.payload), statusBefore(data.payload));
      render();
    },
    (up) => {
      state.up = up;
      // (Re)connected: catch up on what changed while the socket was down.
      if (up) refresh();
      stamp();
    },
  );
  return () => {
    state.stopped = true;
    clearInterval(poll);
    clearInterval(resync);
    clearInterval(tick);
    document.removeEventListener("visibilitychange", onVisible);
    unsubscribe();
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
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, String(v));
    // A new view for new filters keeps the view's state simple and the URL shareable.
    const link = el("a", { href: `${base}${p.toString() ? `?${p}` : ""}` });
    form.append(link);
    link.click();
    link.remove();
  });
  return form;
}

/**
 * The counts per status above every view: read from the API, then moved by the job states the
 * list sees (`observe`), once per status change (derive.js `createCounts`). A repaint changes
 * the numbers in place, so a focused count keeps its focus.
 */
export function createSummary(box, base) {
  const counts = createCounts();
  function paint() {
    const totals = counts.totals();
    if (!totals) return;
    const shown = box.querySelectorAll(".count");
    if (shown.length === STATUSES.length) {
      for (const a of shown) a.querySelector(".n").textContent = String(Math.max(0, totals[a.dataset.status] || 0));
      return;
    }
    box.replaceChildren(
      ...STATUSES.map((s) =>
        el("a", { class: `count s-${s.toLowerCase()}`, "data-status": s, href: `${base}?${new URLSearchParams(FINAL.includes(s) ? { view: "history", status: s } : { status: s })}` }, el("span", { class: "n", text: Math.max(0, totals[s] || 0) }), el("span", { text: statusLabel(s) })),
      ),
    );
  }
  return {
    async load() {
      counts.reading();
      let data = null;
      try {
        data = await api.summary();
      } catch (e) {
        // Shown below, as an answer without counts is.
      }
      if (!data || !Array.isArray(data.counts)) {
        counts.failed();
        box.replaceChildren(el("span", { class: "muted", text: "Counts unavailable" }));
        return;
      }
      counts.load(data);
      paint();
    },
    /** A job state seen (a page, a delta, an action's answer, a Realtime row). */
    observe(job, before = null) {
      if (counts.observe(job, before)) paint();
    },
    /** Forgets the jobs seen so far (a new view starts from its own page). */
    forget() {
      counts.forget();
    },
    stop() {},
  };
}
