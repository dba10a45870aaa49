// `{base}/:id`: one job's fields, progress, metadata, result, error, its full event log (who did
// what, and why, with the worker's progress messages) and the actions the caller may take.
// Loaded once; then the job's row and its new log rows arrive as Realtime events and are
// applied as they are. Only while the socket is down does the page poll every `pollMs`.

import { api, config } from "./api.js";
import {
  ACTION_LABELS, FINAL, badge, claimText, claimsOf, confirmAction, doneText, duration, el, errorBox, needsConfirm,
  outcomeBadge, outcomeUnknown, progressBar, refreshTimes, resultSummary, statusLabel, time, toast, typeLabel,
} from "./ui.js";
import { derive, fromEventRow, fromRow, pendingEntries, statusBefore } from "./derive.js";
import { rowsChannel, subscribe } from "./realtime.js";

const KIND_LABELS = {
  created: "Created", started: "Started", progress: "Progress", heartbeat: "Heartbeat",
  pauseRequested: "Pause requested", paused: "Paused", resumed: "Resumed", cancelled: "Cancelled",
  completed: "Completed", failed: "Failed", stalled: "Stalled", retried: "Retried",
  ignored: "Ignored",
};

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

export function renderDetail(main, id, role, { base, summary }) {
  let last = null;
  let shown = "";
  let data = null;
  let up = false;
  let stopped = false;
  const canAct = role === "operator";

  function fields(job) {
    const rows = [
      ["Job id", job.$id],
      ["Type", `${typeLabel(job.type)} (${job.type})`],
      ["Reference", job.referenceId],
      ["Status", badge(job.status)],
      ["Created", time(job.createdAt)],
      ["Started", time(job.startedAt)],
      ["Updated", time(job.updatedAt)],
      ["Last heartbeat", time(job.heartbeatAt)],
      ["Completed", time(job.completedAt)],
      ["Duration", el("span", { class: "duration", text: duration(job.durationMs), "data-running-since": job.status === "RUNNING" ? job.startedAt : null })],
      ["ETA", el("span", { class: "eta", text: job.etaMs != null ? duration(job.etaMs) : "—", "data-eta-progress": job.etaMs != null ? job.progress : null, "data-eta-since": job.etaMs != null ? job.startedAt : null })],
      ["Done (confirmed)", doneText(job) || "—"],
      ["Last action", job.lastActor ? `${job.lastActor}${job.lastReason ? `: ${job.lastReason}` : ""}` : "—"],
      ["Retry of", job.retryOf ? el("a", { href: `${base}/${encodeURIComponent(job.retryOf)}`, text: job.retryOf }) : "—"],
      ["Worker execution", consoleLink(job)],
      ["Idempotency key", job.idempotencyKey || "—"],
    ];
    return el("dl", { class: "fields" }, rows.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
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
    return el("dl", { class: "counts" }, items.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
  }

  function errorSection(job) {
    if (!job.errorMessage) return null;
    if (outcomeUnknown(job)) {
      return el("section", { class: "card error-box outcome-box", role: "note", "aria-labelledby": "h-error" },
        el("h2", { id: "h-error" }, outcomeBadge(job)),
        el("p", { text: "The worker's execution ended without its final report, so this job was marked failed without knowing how far it got: some or all of its work may have been done. Check what was done before retrying." }),
        el("pre", { class: "error-text", text: job.errorMessage }));
    }
    return el("section", { class: "card error-box", role: "note", "aria-label": "Error" }, el("h2", { text: "Error" }), el("pre", { class: "error-text", text: job.errorMessage }));
  }

  function timeline(events) {
    if (!events.length) return el("p", { class: "muted", text: "No events recorded." });
    return el(
      "ol",
      { class: "timeline" },
      events.map((e) =>
        el(
          "li",
          { class: `ev k-${String(e.kind).toLowerCase()}` },
          el("div", { class: "ev-head" },
            el("strong", { class: "ev-kind", text: KIND_LABELS[e.kind] || e.kind }),
            // A worker call that was not applied (its run is over): it changed nothing.
            e.kind === "ignored" ? el("span", { class: "muted", text: " (not applied)" }) : null,
            (e.fromStatus || e.toStatus) && e.kind !== "progress" && e.kind !== "ignored" ? el("span", { class: "muted", text: ` ${e.fromStatus ? statusLabel(e.fromStatus) : "—"} → ${e.toStatus ? statusLabel(e.toStatus) : "—"}` }) : null,
            el("span", { class: "ev-at" }, time(e.at)),
          ),
          el("div", { class: "ev-actor" }, "by ", el("code", { text: e.actor })),
          e.message ? el("div", { class: "ev-msg", text: e.message }) : null,
          e.details && Object.keys(e.details).length ? el("pre", { class: "details", text: pretty(e.details) }) : null,
        ),
      ),
    );
  }

  function actions(job) {
    if (role !== "operator" || !(job.actions || []).length) return null;
    return el("div", { class: "actions" }, job.actions.filter((a) => ACTION_LABELS[a]).map((action) =>
      el("button", { type: "button", class: `act a-${action}`, "data-action": action, text: ACTION_LABELS[action], onclick: () => perform(job, action) }),
    ));
  }

  async function perform(shownJob, action) {
    // The job as it is now (a live update may have come since the button was drawn).
    const job = data && data.job.$id === shownJob.$id ? derive(data.job, canAct) : shownJob;
    let reason = "";
    if (needsConfirm(action, job)) {
      const answer = await confirmAction(action, job);
      if (!answer) return;
      reason = answer.reason;
    }
    try {
      const res = await api.act(job.$id, action, reason);
      // The header's counts move with the answer (or with the echo, whichever is first: once).
      if (summary && res && res.job) summary.observe(res.job);
      if (action === "retry" && res && res.job) {
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

  function render(data) {
    const job = derive(data.job, canAct);
    document.title = `${job.referenceId} · Jobs`;
    const audit = data.auditLogUrl
      ? el("a", { href: data.auditLogUrl, class: "audit", text: "Open the audit log for this job" })
      : el("span", { class: "muted", text: "No audit log link configured" });
    main.replaceChildren(
      ...[
      el("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, el("a", { href: base, text: "Jobs" }), " / ", el("span", { text: job.referenceId })),
      el("div", { class: "bar-head" },
        el("h1", {}, el("span", { text: `${typeLabel(job.type)} ` }), el("span", { class: "ref", text: job.referenceId })),
        el("span", { class: "badges" }, badge(job.status), outcomeBadge(job)),
      ),
      el("section", { class: "card", "aria-label": "Progress" }, progressBar(job), counts(job), actions(job),
        job.metadata && job.metadata.observed === true
          ? el("p", { class: "muted observed", text: `Observed from Appwrite execution ${job.metadata.executionId || ""}: the function does not report to Job Manager, so it cannot be paused or resumed.` })
          : null),
      errorSection(job),
      el("div", { class: "grid" },
        el("section", { class: "card", "aria-labelledby": "h-fields" }, el("h2", { id: "h-fields", text: "Details" }), fields(job)),
        el("section", { class: "card", "aria-labelledby": "h-meta" },
          el("h2", { id: "h-meta", text: "Metadata" }),
          el("pre", { class: "json", tabindex: "0", text: pretty(job.metadata || {}) }),
          job.result ? [el("h2", { text: "Result" }), el("pre", { class: "json", tabindex: "0", text: pretty(job.result) })] : null,
          job.checkpoint != null ? [el("h2", { text: "Checkpoint" }), el("pre", { class: "json", tabindex: "0", text: pretty(job.checkpoint) })] : null,
        ),
      ),
      el("section", { class: "card", id: "events", "aria-labelledby": "h-events" },
        el("div", { class: "bar-head" }, el("h2", { id: "h-events", text: `Event log (${data.events.length})` }), audit),
        timeline(data.events),
      ),
      ].filter(Boolean),
    );
    if (location.hash === "#events" && !shown) main.querySelector("#events").scrollIntoView();
  }

  /** Shows `next` (the API's answer, or one changed by an event) if it differs from what is shown. */
  function show(next) {
    const job = next.job;
    const key = `${job.rev}:${next.events.length}:${job.status}`;
    if (last && !FINAL.includes(last) && ["COMPLETED", "FAILED"].includes(job.status)) {
      toast(`${typeLabel(job.type)} ${job.referenceId} ${job.status === "COMPLETED" ? "completed" : `failed: ${job.errorMessage || ""}`}`, job.status === "COMPLETED" ? "success" : "error");
    }
    last = job.status;
    data = next;
    // Re-render only on change, so focus and text selection survive updates.
    if (key !== shown || !main.querySelector("#events")) {
      const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.action : null;
      render(next);
      shown = key;
      if (focused) {
        const again = main.querySelector(`button[data-action="${focused}"]`);
        if (again) again.focus();
      }
    }
  }

  async function load() {
    try {
      const next = await api.job(id);
      // The user may have left the view while the answer was on its way: the page is no
      // longer ours to draw on.
      if (stopped) return;
      // An answer that left before a Realtime event arrived may be older than what is shown.
      if (data && (next.job.rev ?? 0) < (data.job.rev ?? 0)) return;
      if (summary) summary.observe(next.job);
      show(next);
    } catch (e) {
      if (stopped) return;
      if (e.status === 404) main.replaceChildren(el("div", { class: "state empty" }, el("h1", { text: "Job not found" }), el("p", { text: "It may have been removed by retention." }), el("a", { href: base, text: "Back to jobs" })));
      else if (!shown) main.replaceChildren(errorBox(`Could not load the job: ${e.message}`, load));
      else toast(`Refresh failed: ${e.message}`, "error");
    }
  }

  function onEvent(event) {
    if (!data || stopped) return;
    const row = event.payload;
    if (row.$tableId === config.eventsTableId || "eventId" in row) {
      const entry = fromEventRow(row);
      if (entry.jobId !== id) return;
      const known = data.events.find((e) => e.$id === entry.$id);
      // A known entry is replaced only when the row's outbox had kept it without its details
      // (too large for the row): the job_events row carries them in full.
      if (known && !(known.details && known.details.omitted)) return;
      const others = data.events.filter((e) => e.$id !== entry.$id);
      show({ ...data, events: [...others, entry].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)) });
    } else if (row.$id === id) {
      const job = fromRow(row);
      if ((job.rev ?? 0) < (data.job.rev ?? 0)) return;
      if (summary) summary.observe({ ...data.job, ...job }, statusBefore(row));
      const known = new Set(data.events.map((e) => e.$id));
      const added = pendingEntries(row).filter((e) => e.jobId === id && !known.has(e.$id));
      const events = added.length ? [...data.events, ...added].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)) : data.events;
      show({ ...data, job: { ...data.job, ...job }, events });
    }
  }

  main.replaceChildren(el("div", { class: "state loading", "aria-busy": "true" }, el("span", { class: "spinner", "aria-hidden": "true" }), el("p", { text: "Loading job…" })));
  load();
  const poll = setInterval(() => {
    if (!up && !document.hidden) load();
  }, config.pollMs);
  const tick = setInterval(() => refreshTimes(main), 1000);
  const unsubscribe = subscribe(
    [`${rowsChannel(config.tableId)}.${id}`, rowsChannel(config.eventsTableId)],
    onEvent,
    (now) => {
      up = now;
      main.dataset.live = String(now);
      if (now && data) load(); // catch up on what changed while the socket was down
    },
  );
  return () => {
    stopped = true;
    clearInterval(poll);
    clearInterval(tick);
    unsubscribe();
  };
}
