// `/jobs`: active and recent jobs (newest first) and, with `?view=history`, the last 100
// finished jobs. Filters live in the URL so a view can be shared. The first page is loaded
// once; afterwards only jobs changed since the server's last answer (`updatedSince`) are
// fetched and merged, so rows keep their place and keyboard focus between refreshes.

import { api, config } from "./api.js";
import {
  ACTION_LABELS, FINAL, STATUSES, TYPE_LABELS, badge, confirmAction, duration, el, errorBox,
  progressBar, refreshTimes, resultSummary, statusLabel, time, toast, typeLabel,
} from "./ui.js";
import { subscribe } from "./realtime.js";

const PAGE = { active: 25, history: 100 };

/** Reads the view's filters from the URL. */
function readFilters() {
  const q = new URLSearchParams(location.search);
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

/** The API query for the filters; `delta` drops status/scope so jobs leaving the view are seen. */
function query(f, { delta = false } = {}) {
  const p = new URLSearchParams();
  if (f.type) p.set("type", f.type);
  if (f.status && !delta) p.set("status", f.status);
  p.set("scope", delta ? "all" : f.view === "history" ? "finished" : "all");
  p.set("order", f.view === "history" ? "completed" : "created");
  if (f.from || f.to) {
    p.set("dateField", dateField(f.view));
    if (f.from) p.set("from", dayStart(f.from));
    if (f.to) p.set("to", dayEnd(f.to));
  }
  if (f.q) p.set("q", f.q);
  return p;
}

/** Whether a job belongs in the view (used for jobs arriving through the delta). */
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

function sortKey(job, view) {
  return view === "history" ? job.completedAt || "" : job.createdAt || "";
}

export function renderList(main, role) {
  const f = readFilters();
  const state = { jobs: new Map(), rows: new Map(), cursor: null, serverTime: null, loadedAt: new Date().toISOString(), toasted: new Set() };
  document.title = f.view === "history" ? "History · Jobs" : "Jobs · Pivotr Mailer";
  document.getElementById(f.view === "history" ? "tab-history" : "tab-active").setAttribute("aria-current", "page");

  const heading = el("h1", { text: f.view === "history" ? "History: last 100 finished jobs" : "Active and recent jobs" });
  const form = filterForm(f);
  const status = el("p", { class: "muted refreshed", id: "refreshed" });
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
    const cells = {
      Job: el(
        "td",
        { class: "job" },
        el("a", { href: `/jobs/${encodeURIComponent(job.$id)}`, class: "ref", text: job.referenceId }),
        el("div", { class: "muted", text: typeLabel(job.type) }),
      ),
      Status: el("td", {}, badge(job.status)),
      Progress: el("td", { class: "progress-cell" }, progressBar(job)),
      Started: el("td", {}, time(job.startedAt)),
      Updated: el("td", {}, time(job.updatedAt)),
      Completed: el("td", {}, time(job.completedAt)),
      Duration: el("td", { text: duration(job.durationMs), "data-running-since": job.status === "RUNNING" ? job.startedAt : null }),
      ETA: el("td", { text: job.status === "RUNNING" && job.etaMs != null ? duration(job.etaMs) : "—" }),
      Result: el(
        "td",
        { class: "result" },
        job.status === "FAILED" && job.errorMessage ? el("div", { class: "error-text", text: job.errorMessage }) : null,
        job.status === "CANCELLED" && job.lastActor
          ? el("div", { class: "muted", text: `Cancelled by ${job.lastActor}${job.lastReason ? `: ${job.lastReason}` : ""}` })
          : null,
        el("div", { text: resultSummary(job) || (["FAILED", "CANCELLED"].includes(job.status) ? "" : "—") }),
      ),
      Actions: el("td", {}, el("div", { class: "actions" }, actionButtons(job), el("a", { href: `/jobs/${encodeURIComponent(job.$id)}#events`, class: "logs", "aria-label": `Logs of ${typeLabel(job.type)} ${job.referenceId}`, text: "Logs" }))),
    };
    const tr = el("tr", { "data-id": job.$id, "data-status": job.status, class: job.status === "RUNNING" ? "running" : null });
    for (const c of columns) {
      cells[c].setAttribute("data-label", c);
      tr.append(cells[c]);
    }
    return tr;
  }

  function actionButtons(job) {
    if (role !== "operator") return [];
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
    if (action === "cancel" || action === "pause") {
      const answer = await confirmAction(action, job);
      if (!answer) return;
      reason = answer.reason;
    }
    try {
      const res = await api.act(id, action, reason);
      const done = { pause: "Pause requested for", resume: "Resumed", cancel: "Cancelled", retry: "Retry queued for" }[action];
      toast(`${done} ${typeLabel(job.type)} ${job.referenceId}`, "success");
      if (res && res.job) upsert(res.job);
      render();
      refresh();
    } catch (e) {
      toast(`Could not ${action} ${job.referenceId}: ${e.message}`, "error");
      refresh();
    }
  }

  function upsert(job) {
    const known = state.jobs.get(job.$id);
    if (known && known.rev === job.rev && JSON.stringify(known.actions) === JSON.stringify(job.actions) && known.etaMs === job.etaMs && known.durationMs === job.durationMs) return;
    state.jobs.set(job.$id, job);
    state.rows.set(job.$id, row(job));
  }

  function notify(job, before) {
    if (!["COMPLETED", "FAILED"].includes(job.status) || state.toasted.has(job.$id)) return;
    const fresh = before ? !FINAL.includes(before) : (job.completedAt || "") >= state.loadedAt;
    if (!fresh) return;
    state.toasted.add(job.$id);
    if (job.status === "COMPLETED") toast(`${typeLabel(job.type)} ${job.referenceId} completed`, "success");
    else toast(`${typeLabel(job.type)} ${job.referenceId} failed: ${job.errorMessage || "no error message"}`, "error");
  }

  function render() {
    const ordered = [...state.jobs.values()].sort((a, b) => (sortKey(a, f.view) < sortKey(b, f.view) ? 1 : sortKey(a, f.view) > sortKey(b, f.view) ? -1 : 0));
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
    status.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${Math.round(config.pollMs / 1000)} s`;
  }

  async function loadPage() {
    const p = query(f);
    p.set("limit", String(PAGE[f.view]));
    if (state.cursor) p.set("cursor", state.cursor);
    const data = await api.list(p);
    for (const job of data.jobs) if (!state.jobs.has(job.$id)) upsert(job);
    state.cursor = f.view === "history" && state.jobs.size >= PAGE.history ? null : data.nextCursor;
    // The next delta reaches back over writes still in flight (docs/actions.md, Polling).
    if (!state.serverTime) state.serverTime = data.updatedSince;
    render();
  }

  let busy = false;
  async function refresh() {
    if (busy || !state.serverTime) return;
    busy = true;
    try {
      const p = query(f, { delta: true });
      p.set("updatedSince", state.serverTime);
      p.set("limit", "500");
      const data = await api.list(p);
      state.serverTime = data.updatedSince;
      const oldest = [...state.jobs.values()].reduce((m, j) => (m === null || sortKey(j, f.view) < m ? sortKey(j, f.view) : m), null);
      for (const job of data.jobs) {
        const before = state.jobs.get(job.$id);
        notify(job, before && before.status);
        if (!matches(job, f)) {
          state.jobs.delete(job.$id);
          state.rows.delete(job.$id);
        } else if (before || !state.cursor || oldest === null || sortKey(job, f.view) >= oldest) {
          upsert(job);
        }
      }
      if (f.view === "history") {
        // History shows the newest 100 only.
        const keep = [...state.jobs.values()].sort((a, b) => (sortKey(a, "history") < sortKey(b, "history") ? 1 : -1)).slice(0, PAGE.history);
        const ids = new Set(keep.map((j) => j.$id));
        for (const id of [...state.jobs.keys()]) if (!ids.has(id)) { state.jobs.delete(id); state.rows.delete(id); }
      }
      render();
      refreshTimes(main);
      stamp();
      loadSummary();
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
    const p = query(f);
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

  start();
  loadSummary();
  setInterval(() => {
    if (!document.hidden) refresh();
  }, config.pollMs);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  let soon = null;
  subscribe(() => {
    clearTimeout(soon);
    soon = setTimeout(refresh, 300);
  });
}

function filterForm(f) {
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
    el("div", { class: "field buttons" }, el("button", { type: "submit", text: "Apply" }), el("a", { href: f.view === "history" ? "/jobs?view=history" : "/jobs", class: "reset", text: "Reset" })),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, String(v));
    // A full navigation keeps the view's state simple and the URL shareable.
    location.assign(`/jobs${p.toString() ? `?${p}` : ""}`);
  });
  return form;
}

export async function loadSummary() {
  const box = document.getElementById("summary");
  try {
    const data = await api.summary();
    const totals = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    for (const c of data.counts || []) totals[c.status] = (totals[c.status] || 0) + c.count;
    box.replaceChildren(
      ...STATUSES.map((s) =>
        el("a", { class: `count s-${s.toLowerCase()}`, href: `/jobs?${new URLSearchParams(FINAL.includes(s) ? { view: "history", status: s } : { status: s })}` }, el("span", { class: "n", text: totals[s] }), el("span", { text: statusLabel(s) })),
      ),
    );
  } catch (e) {
    box.replaceChildren(el("span", { class: "muted", text: "Counts unavailable" }));
  }
}
