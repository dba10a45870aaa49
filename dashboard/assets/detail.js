// `/jobs/:id`: one job's fields, progress, metadata, result, error, its full event log (who did
// what, and why) and the actions the caller may take. Refreshed every few seconds while open.

import { api, config } from "./api.js";
import { ACTION_LABELS, FINAL, badge, confirmAction, duration, el, errorBox, progressBar, refreshTimes, statusLabel, time, toast, typeLabel } from "./ui.js";
import { subscribe } from "./realtime.js";

const KIND_LABELS = {
  created: "Created", started: "Started", progress: "Progress", heartbeat: "Heartbeat",
  pauseRequested: "Pause requested", paused: "Paused", resumed: "Resumed", cancelled: "Cancelled",
  completed: "Completed", failed: "Failed", stalled: "Stalled", retried: "Retried",
};

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function renderDetail(main, id, role) {
  let last = null;
  let shown = "";

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
      ["Duration", duration(job.durationMs)],
      ["ETA", job.status === "RUNNING" && job.etaMs != null ? duration(job.etaMs) : "—"],
      ["Done / total", job.total != null ? `${job.done ?? 0} / ${job.total}` : job.done != null ? String(job.done) : "—"],
      ["Last action", job.lastActor ? `${job.lastActor}${job.lastReason ? `: ${job.lastReason}` : ""}` : "—"],
      ["Retry of", job.retryOf ? el("a", { href: `/jobs/${encodeURIComponent(job.retryOf)}`, text: job.retryOf }) : "—"],
      ["Idempotency key", job.idempotencyKey || "—"],
    ];
    return el("dl", { class: "fields" }, rows.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
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
            el("strong", { text: KIND_LABELS[e.kind] || e.kind }),
            e.fromStatus || e.toStatus ? el("span", { class: "muted", text: ` ${e.fromStatus ? statusLabel(e.fromStatus) : "—"} → ${e.toStatus ? statusLabel(e.toStatus) : "—"}` }) : null,
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

  async function perform(job, action) {
    let reason = "";
    if (action === "cancel" || action === "pause") {
      const answer = await confirmAction(action, job);
      if (!answer) return;
      reason = answer.reason;
    }
    try {
      const res = await api.act(job.$id, action, reason);
      if (action === "retry" && res && res.job) {
        toast(`Retry queued as a new job`, "success");
        location.assign(`/jobs/${encodeURIComponent(res.job.$id)}`);
        return;
      }
      const done = { pause: "Pause requested for", resume: "Resumed", cancel: "Cancelled" }[action];
      toast(`${done} ${typeLabel(job.type)} ${job.referenceId}`, "success");
      load();
    } catch (e) {
      toast(`Could not ${action} ${job.referenceId}: ${e.message}`, "error");
      load();
    }
  }

  function render(data) {
    const job = data.job;
    document.title = `${job.referenceId} · Jobs`;
    const audit = data.auditLogUrl
      ? el("a", { href: data.auditLogUrl, class: "audit", text: "Open the audit log for this job" })
      : el("span", { class: "muted", text: "No audit log link configured" });
    main.replaceChildren(
      ...[
      el("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, el("a", { href: "/jobs", text: "Jobs" }), " / ", el("span", { text: job.referenceId })),
      el("div", { class: "bar-head" },
        el("h1", {}, el("span", { text: `${typeLabel(job.type)} ` }), el("span", { class: "ref", text: job.referenceId })),
        badge(job.status),
      ),
      el("section", { class: "card", "aria-label": "Progress" }, progressBar(job), actions(job),
        job.metadata && job.metadata.observed === true
          ? el("p", { class: "muted observed", text: `Observed from Appwrite execution ${job.metadata.executionId || ""}: the function does not report to Job Manager, so it cannot be paused or resumed.` })
          : null),
      job.errorMessage ? el("section", { class: "card error-box", role: "note", "aria-label": "Error" }, el("h2", { text: "Error" }), el("pre", { class: "error-text", text: job.errorMessage })) : null,
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
    if (location.hash === "#events" && !shown) document.getElementById("events").scrollIntoView();
  }

  async function load() {
    try {
      const data = await api.job(id);
      const key = `${data.job.rev}:${data.events.length}:${(data.job.actions || []).join()}`;
      if (last && !FINAL.includes(last) && ["COMPLETED", "FAILED"].includes(data.job.status)) {
        toast(`${typeLabel(data.job.type)} ${data.job.referenceId} ${data.job.status === "COMPLETED" ? "completed" : `failed: ${data.job.errorMessage || ""}`}`, data.job.status === "COMPLETED" ? "success" : "error");
      }
      last = data.job.status;
      // Re-render only on change, so focus and text selection survive refreshes.
      if (key !== shown || !document.querySelector("#events")) {
        const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.action : null;
        render(data);
        shown = key;
        if (focused) {
          const again = main.querySelector(`button[data-action="${focused}"]`);
          if (again) again.focus();
        }
      } else {
        refreshTimes(main);
      }
    } catch (e) {
      if (e.status === 404) main.replaceChildren(el("div", { class: "state empty" }, el("h1", { text: "Job not found" }), el("p", { text: "It may have been removed by retention." }), el("a", { href: "/jobs", text: "Back to jobs" })));
      else if (!shown) main.replaceChildren(errorBox(`Could not load the job: ${e.message}`, load));
      else toast(`Refresh failed: ${e.message}`, "error");
    }
  }

  main.replaceChildren(el("div", { class: "state loading", "aria-busy": "true" }, el("span", { class: "spinner", "aria-hidden": "true" }), el("p", { text: "Loading job…" })));
  load();
  setInterval(() => {
    if (!document.hidden) load();
  }, config.pollMs);
  subscribe(load);
}
