// `{base}/:id`: one job's fields (times written out with their zone, the id with a copy button),
// its status as it really stands ("Pausing…" until the worker confirms, then "Paused by ana:
// reason"), progress, metadata, result, error, its event log made for reading (log.js) and the
// actions the caller may take. The
// state (the job at its newest revision, the log merged from every source) is detail-state.js;
// this file draws it and wires it up. Loaded once; then the job's row and its new log rows arrive
// as Realtime events and are applied as they are. Only while the socket is down does the page
// poll every `pollMs`; the banner (banner.js) says so, and says when requests fail, once, not
// at every poll. Each change patches the page in place (patch.js), so the button, link or
// text the user is on stays where it is.

import { api, config } from "./api.js";
import {
  FINAL, act, actionButtons, claimText, claimsOf, doneText, duration, el, errorBox, onActionClick, outcomeBadge, outcomeUnknown, progressBar, refreshTimes, resultSummary, toast, typeLabel,
} from "./ui.js";
import { copyButton, onCopyClick, statusBadge, stopBy, written } from "./cells.js";
import { connection } from "./connection.js";
import { cancelNote, readableLog } from "./log.js";
import { actorName, derive } from "./derive.js";
import { createDetailState } from "./detail-state.js";
import { keepFocus, patchChildren } from "./patch.js";
import { rowsChannel, subscribe } from "./realtime.js";

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/** The Appwrite console page of a worker's execution, from `config.consoleExecutionUrl`. */
function consoleLink(job) {
  if (!job.executionId) return "—";
  const template = config.consoleExecutionUrl;
  if (!template) return el("code", { text: job.executionId });
  const href = template
    .replaceAll("{project}", encodeURIComponent(config.project))
    .replaceAll("{functionId}", encodeURIComponent(job.functionId || job.metadata?.functionId || ""))
    .replaceAll("{executionId}", encodeURIComponent(job.executionId));
  // Only http(s) links: the template is configuration, the id comes from a worker.
  if (!/^https?:\/\//.test(href)) return el("code", { text: job.executionId });
  return el("a", { href, class: "console-link", target: "_blank", rel: "noopener noreferrer", text: `Execution ${job.executionId} in the Appwrite console` });
}

/**
 * The job's fields, times written out with their zone. Optional ones with nothing to say (no
 * ETA, no retry, no execution, no key) are left out, so the page stays short; each pair is
 * keyed, so one appearing does not shift the others.
 */
function fields(job, base) {
  const eta = job.etaMs != null;
  const rows = [
    ["Job id", [el("code", { text: job.$id }), " ", copyButton(job.$id, `${typeLabel(job.type)} ${job.referenceId}`)]],
    ["Type", `${typeLabel(job.type)} (${job.type})`],
    ["Reference", job.referenceId],
    ["Status", [statusBadge(job), stopBy(job)]],
    ["Created", written(job.createdAt)],
    ["Started", written(job.startedAt)],
    ["Updated", written(job.updatedAt)],
    ["Last heartbeat", written(job.heartbeatAt)],
    ["Completed", written(job.completedAt)],
    ["Duration", el("span", { class: "duration", text: duration(job.durationMs), "data-running-since": job.status === "RUNNING" ? job.startedAt : null })],
    ["ETA", eta ? el("span", { class: "eta", text: duration(job.etaMs), "data-eta-progress": job.progress, "data-eta-since": job.startedAt }) : null],
    ["Done (confirmed)", doneText(job) || "—"],
    ["Last action", job.lastActor ? `${actorName(job.lastActor)}${job.lastReason ? `: ${job.lastReason}` : ""}` : "—"],
    ["Retry of", job.retryOf ? el("a", { href: `${base}/${encodeURIComponent(job.retryOf)}`, text: job.retryOf }) : null],
    ["Worker execution", job.executionId ? consoleLink(job) : null],
    ["Idempotency key", job.idempotencyKey || null],
  ];
  return el("dl", { class: "fields paired" }, rows.filter(([, v]) => v !== null).map(([k, v]) => el("div", { class: "pair", "data-key": k }, el("dt", { text: k }), el("dd", {}, v))));
}

/**
 * The counts under the progress bar: what the worker confirmed, the batches it claimed and has
 * not confirmed yet (in flight; a claim of a run a resume superseded is that worker finishing its
 * last batch), and a finished job's result counters.
 */
function counts(job) {
  const items = [];
  const done = doneText(job);
  if (done) items.push(["Confirmed", el("span", { class: "confirmed", text: done })]);
  const claims = claimsOf(job);
  if (claims.length) {
    items.push(["In flight", el("ul", { class: "in-flight" }, claims.map((c) =>
      el("li", { class: c.run < job.run ? "superseded" : null, "data-run": c.run, text: claimText(c, job) })))]);
  }
  const result = FINAL.includes(job.status) ? resultSummary(job) : "";
  if (result) items.push(["Result", el("span", { class: "result-counts", text: result })]);
  if (!items.length) return null;
  return el("dl", { class: "counts", "data-key": "counts" }, items.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
}

function errorSection(job) {
  if (!job.errorMessage) return null;
  if (outcomeUnknown(job)) {
    return el("section", { class: "card error-box outcome-box", role: "note", "aria-labelledby": "h-error", "data-key": "outcome" },
      el("h2", { id: "h-error" }, outcomeBadge(job)),
      el("p", { text: "The worker's execution ended without its final report, so this job was marked failed without knowing how far it got: some or all of its work may have been done. Check what was done before retrying." }),
      el("pre", { class: "error-text", text: job.errorMessage }));
  }
  return el("section", { class: "card error-box", role: "note", "aria-label": "Error", "data-key": "error" }, el("h2", { text: "Error" }), el("pre", { class: "error-text", text: job.errorMessage }));
}

/** A JSON panel, collapsed to one line that says how big it is; keyed so one appearing does not shift the others. */
function jsonPanel(key, title, value) {
  const size = value && typeof value === "object" ? Object.keys(value).length : null;
  const what = size === null ? "" : ` (${size} ${size === 1 ? "key" : "keys"})`;
  return el("details", { class: "json-panel", "data-key": key },
    el("summary", {}, el("h3", { text: title }), el("span", { class: "muted", text: what })),
    el("pre", { class: "json", tabindex: "0", text: pretty(value) }));
}

/** The page's sections for `data` (`job` derived), built afresh and patched onto the page. */
function sections(data, job, base) {
  const audit = data.auditLogUrl
    ? el("a", { href: data.auditLogUrl, class: "audit", text: "Open the audit log for this job" })
    : el("span", { class: "muted", text: "No audit log link configured" });
  const actions = job.actions.length ? el("div", { class: "actions", "data-key": "actions" }, actionButtons(job)) : null;
  return [
    el("nav", { class: "crumbs", "aria-label": "Breadcrumb", "data-key": "crumbs" }, el("a", { href: base, text: "Jobs" }), " / ", el("span", { text: job.referenceId })),
    el("div", { class: "bar-head", "data-key": "head" },
      el("h1", {}, el("span", { text: `${typeLabel(job.type)} ` }), el("span", { class: "ref", text: job.referenceId })),
      el("span", { class: "badges" }, statusBadge(job), outcomeBadge(job)),
    ),
    el("div", { class: "head-meta", "data-key": "head-meta" }, stopBy(job),
      cancelNote(job, data.events) ? el("span", { class: "muted cancel-note", text: cancelNote(job, data.events).text }) : null,
      el("p", { class: "muted stamp", "data-part": "stamp", text: stamp() })),
    el("section", { class: "card", "aria-label": "Progress", "data-key": "progress" }, progressBar(job), counts(job), actions,
      job.metadata && job.metadata.observed === true
        ? el("p", { class: "muted observed", "data-key": "observed", text: `Observed from Appwrite execution ${job.metadata.executionId || ""}: the function does not report to Job Manager, so it cannot be paused or resumed.` })
        : null),
    errorSection(job),
    el("section", { class: "card", "aria-labelledby": "h-fields", "data-key": "fields" },
      el("h2", { id: "h-fields", text: "Details" }),
      fields(job, base),
      el("div", { class: "json-panels" },
        jsonPanel("metadata", "Metadata", job.metadata || {}),
        job.result ? jsonPanel("result", "Result", job.result) : null,
        job.checkpoint != null ? jsonPanel("checkpoint", "Checkpoint", job.checkpoint) : null),
    ),
    el("section", { class: "card", id: "events", "aria-labelledby": "h-events", "data-key": "events" },
      el("div", { class: "bar-head" }, el("h2", { id: "h-events", text: `Event log (${data.events.length})` }), audit),
      readableLog(job, data.events),
    ),
  ].filter(Boolean);
}

/** "Live · updated 08:03:14" while the socket is up (nothing missed up to now), else when the page last heard. */
let heard = null;
function stamp() {
  if (connection.mode() === "live") heard = Date.now();
  const at = heard ? new Date(heard).toLocaleTimeString() : "—";
  return connection.mode() === "live" ? `Live · updated ${at}` : `Not live · last updated ${at}`;
}

function notFound(base) {
  return el("div", { class: "state empty" }, el("h1", { text: "Job not found" }), el("p", { text: "It may have been removed by retention." }), el("a", { href: base, text: "Back to jobs" }));
}

export function renderDetail(main, id, role, { base, summary }) {
  const state = createDetailState(id, config.eventsTableId);
  const canAct = role === "operator";
  let drawn = false;
  let up = false;
  let stopped = false;
  // Whether the last load failed: a failing refresh is told once, not at every poll.
  let failing = false;

  /** Draws what the state holds: the first time as a whole, then by patching in place. */
  function draw() {
    const job = derive(state.data.job, canAct);
    document.title = `${job.referenceId} · Jobs`;
    keepFocus(main, () => patchChildren(main, sections(state.data, job, base)));
    if (!drawn && location.hash === "#events") main.querySelector("#events").scrollIntoView();
    drawn = true;
  }

  /** What a state change asks for: the counts see the job, a completion is announced, the page redrawn. */
  function settle({ changed, notice, observe }) {
    if (observe && summary) summary.observe(observe.job, observe.before);
    if (notice) toast(`${typeLabel(notice.type)} ${notice.referenceId} ${notice.status === "COMPLETED" ? "completed" : `failed: ${notice.errorMessage || ""}`}`, notice.status === "COMPLETED" ? "success" : "error");
    if (changed || !main.querySelector("#events")) draw();
  }

  async function perform(action, button) {
    // The job as it is now (a live update may have come since the button was drawn).
    const job = derive(state.data.job, canAct);
    const back = () => (button.isConnected ? button : main.querySelector(`button[data-action="${action}"]`) || main.querySelector(".actions button"));
    try {
      const res = await act(job, action, back);
      if (!res) return;
      // The header's counts move with the answer (or with the echo, whichever is first: once).
      if (summary && res.job) summary.observe(res.job);
      if (action === "retry" && res.job) {
        // The server says when work may repeat (or be missing); keep its words.
        toast(res.warning ? `Retry queued as a new job. Note: ${res.warning}` : "Retry queued as a new job", res.warning ? "info" : "success", res.warning ? 20000 : 8000);
        const go = el("a", { href: `${base}/${encodeURIComponent(res.job.$id)}` });
        main.append(go);
        go.click();
        return;
      }
      const done = { pause: "Pause requested for", resume: "Resumed", cancel: "Cancelled" }[action];
      toast(`${done} ${typeLabel(job.type)} ${job.referenceId}`, "success");
      if (!up) load();
    } catch (e) {
      toast(`Could not ${action} ${job.referenceId}: ${e.message}`, "error");
      load();
    }
  }

  async function load() {
    try {
      const next = await api.job(id);
      // The user may have left the view while the answer was on its way: the page is no
      // longer ours to draw on.
      if (stopped) return;
      heard = Date.now();
      failing = false;
      settle(state.answer(next));
    } catch (e) {
      if (stopped) return;
      if (e.status === 404) main.replaceChildren(notFound(base));
      else if (!drawn) main.replaceChildren(errorBox(`Could not load the job: ${e.message}`, load));
      // Otherwise the banner says the page is offline (banner.js), once, not at every poll.
      else if (e.status !== 0 && !failing) toast(`Refresh failed: ${e.message}`, "error");
      failing = true;
    }
  }

  // `main` outlives this view: its listener goes with the view.
  const offActions = onActionClick(main, perform);
  const offCopy = onCopyClick(main);
  main.replaceChildren(el("div", { class: "state loading", "aria-busy": "true" }, el("span", { class: "spinner", "aria-hidden": "true" }), el("p", { text: "Loading job…" })));
  load();
  const poll = setInterval(() => {
    if (!up && !document.hidden) load();
  }, config.pollMs);
  const tick = setInterval(() => {
    refreshTimes(main);
    const line = main.querySelector('[data-part="stamp"]');
    if (line) line.textContent = stamp();
  }, 1000);
  const unsubscribe = subscribe(
    [`${rowsChannel(config.tableId)}.${id}`, rowsChannel(config.eventsTableId)],
    (event) => stopped || settle(state.row(event.payload)),
    (now) => {
      up = now;
      main.dataset.live = String(now);
      if (now && state.data) load(); // catch up on what changed while the socket was down
    },
  );
  return () => {
    stopped = true;
    offActions();
    offCopy();
    clearInterval(poll);
    clearInterval(tick);
    unsubscribe();
  };
}
