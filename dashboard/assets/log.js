// The detail page's event log, made for reading (issue 28): newest first, with a link to the
// failure when there is one; a run of consecutive progress entries shown as its newest entry
// plus one collapsed line counting the earlier ones (expandable); details JSON collapsed; above
// it, a summary of the control actions (who paused, resumed, cancelled, retried, when, why) and
// of the worker's signs of life. Heartbeats are not logged (`heartbeat` in
// shared/src/usecase/worker.rs writes `heartbeatAt` and `metadata.lastHeartbeat` only), so the
// summary says when the last one was, never how many there were. The grouping and the summary
// are plain functions of the entries (`groupEntries`, `controlActions`), checked in Node by
// testing/browser/log.test.mjs.

import { actorName } from "./derive.js";
import { el, statusLabel } from "./ui.js";
import { written, zoned } from "./cells.js";

export const KIND_LABELS = {
  created: "Created", started: "Started", progress: "Progress", heartbeat: "Heartbeat",
  pauseRequested: "Pause requested", paused: "Paused", resumed: "Resumed", cancelled: "Cancelled",
  completed: "Completed", failed: "Failed", stalled: "Stalled", retried: "Retried",
  ignored: "Ignored", alerted: "Alerted",
};

/** Kinds that record a person's (or the sweeper's) control action, and a worker's pause. */
const CONTROL = ["pauseRequested", "paused", "resumed", "cancelled", "retried", "stalled"];
/** Kinds collapsed when several follow each other. */
const COLLAPSED = ["progress", "ignored"];

/**
 * The entries (in time order) newest first, consecutive entries of a collapsed kind in one
 * group: `{kind, key, entries}` with `entries` newest first; `key` is the group's oldest entry's
 * id, so a group growing at its newest end keeps its place on the page.
 */
export function groupEntries(events) {
  const groups = [];
  for (const e of [...events].reverse()) {
    const last = groups[groups.length - 1];
    if (last && COLLAPSED.includes(e.kind) && last.kind === e.kind) {
      last.entries.push(e);
      last.key = e.$id;
    } else {
      groups.push({ kind: e.kind, key: e.$id, entries: [e] });
    }
  }
  return groups;
}

/** The control actions, newest first: `{kind, actor, at, reason, worker}`. */
export function controlActions(events) {
  return [...events].reverse().filter((e) => CONTROL.includes(e.kind)).map((e) => ({
    kind: e.kind,
    actor: e.actor,
    at: e.at,
    reason: e.message || "",
    // A `paused` entry is the worker's confirmation (or the observer's), not a person's action.
    worker: e.kind === "paused",
  }));
}

/**
 * What is known of a cancelled job's worker (docs/dashboard.md § Honest states): a cancel is
 * final at once and the worker learns of it at its next report, answered `cancel`; a report
 * that came after the cancel shows in the log as an `ignored` entry. Null when no worker held
 * the job (no execution id) or the job is not cancelled.
 */
export function cancelNote(job, events) {
  if (job.status !== "CANCELLED" || !job.executionId) return null;
  const cancel = [...events].reverse().find((e) => e.kind === "cancelled");
  const told = cancel && events.find((e) => e.kind === "ignored" && e.at >= cancel.at && e.$id !== cancel.$id);
  return told
    ? { told: true, at: told.at, text: `Worker told: its report at ${zoned(told.at)} was answered cancel` }
    : { told: false, at: null, text: "The worker learns of the cancel at its next report" };
}

/** The newest failure entry (failed or stalled), or null. */
export function lastFailure(events) {
  for (let i = events.length - 1; i >= 0; i -= 1) if (["failed", "stalled"].includes(events[i].kind)) return events[i];
  return null;
}

/** A short inline form of a flat details object ("done 400 · total 800"), or "" when it is not flat. */
export function inlineDetails(details) {
  const entries = Object.entries(details || {});
  if (!entries.length || entries.length > 5) return "";
  if (entries.some(([, v]) => v !== null && typeof v === "object")) return "";
  const text = entries.map(([k, v]) => `${k} ${v}`).join(" · ");
  return text.length <= 80 ? text : "";
}

function entry(e, extra = {}) {
  const details = e.details && Object.keys(e.details).length ? e.details : null;
  return el(
    "li",
    { class: `ev k-${String(e.kind).toLowerCase()}`, id: `ev-${e.$id}`, "data-key": e.$id, ...extra },
    // One line where it fits: what, the move, who, when; then what was said and the details.
    el("div", { class: "ev-head" },
      el("strong", { class: "ev-kind", text: KIND_LABELS[e.kind] || e.kind }),
      // A worker call that was not applied (its run is over): it changed nothing.
      e.kind === "ignored" ? el("span", { class: "muted", text: " (not applied)" }) : null,
      (e.fromStatus || e.toStatus) && e.kind !== "progress" && e.kind !== "ignored" ? el("span", { class: "muted", text: ` ${e.fromStatus ? statusLabel(e.fromStatus) : "—"} → ${e.toStatus ? statusLabel(e.toStatus) : "—"}` }) : null,
      el("span", { class: "ev-actor" }, "by ", el("code", { text: e.actor })),
      el("span", { class: "ev-at" }, el("time", { datetime: e.at, text: zoned(e.at) })),
    ),
    e.message ? el("div", { class: "ev-msg", text: e.message }) : null,
    details
      ? el("details", { class: "ev-details" },
        el("summary", {}, "Details", inlineDetails(details) ? el("span", { class: "muted", text: ` (${inlineDetails(details)})` }) : null),
        el("pre", { class: "details", text: JSON.stringify(details, null, 2) }))
      : null,
  );
}

function group(g) {
  if (g.entries.length === 1) return entry(g.entries[0]);
  const [newest, ...earlier] = g.entries;
  const label = KIND_LABELS[g.kind] || g.kind;
  const first = earlier[earlier.length - 1];
  // The newest stays in view; the earlier ones fold into one line with their count.
  return [
    entry(newest),
    el("li", { class: `ev ev-group k-${g.kind.toLowerCase()}`, "data-key": `group-${g.key}` },
      el("details", {},
        el("summary", {}, `${earlier.length} earlier ${label.toLowerCase()} ${earlier.length === 1 ? "entry" : "entries"} (since ${zoned(first.at)})`),
        el("ol", { class: "timeline nested" }, earlier.map((e) => entry(e))))),
  ];
}

/** The summary above the log: control actions and the worker's last sign of life. */
function summary(job, events) {
  const actions = controlActions(events);
  const items = actions.slice(0, 8).map((a) => {
    const who = a.worker ? `${actorName(a.actor)} (worker stopped)` : actorName(a.actor);
    return el("p", { "data-key": `c-${a.kind}-${a.at}` }, el("strong", { text: KIND_LABELS[a.kind] || a.kind }), ` by ${who} at ${zoned(a.at)}`, a.reason ? `: ${a.reason}` : "");
  });
  const more = actions.length > 8 ? el("p", { class: "muted", text: `and ${actions.length - 8} earlier` }) : null;
  const beat = job.metadata && job.metadata.lastHeartbeat && typeof job.metadata.lastHeartbeat === "object" ? inlineDetails(job.metadata.lastHeartbeat) : "";
  return el("div", { class: "log-summary", "data-key": "log-summary" },
    el("h3", { text: "Control actions" }),
    // Lines, not list items: the log's entries are the page's list items.
    items.length ? el("div", { class: "control-actions" }, items, more) : el("p", { class: "muted", text: "Nobody has paused, resumed, cancelled or retried this job." }),
    el("p", { class: "life" },
      "Last sign of life from the worker: ", written(job.heartbeatAt, { ago: true }),
      beat ? ` · last heartbeat said ${beat}` : "",
      el("span", { class: "muted", text: ". Heartbeats are not logged one by one, so their number is not known." })),
  );
}

/** The log section's body for `job` and its entries (in time order). */
export function readableLog(job, events) {
  if (!events.length) return [summary(job, events), el("p", { class: "muted", text: "No events recorded.", "data-key": "empty" })];
  const failure = lastFailure(events);
  return [
    summary(job, events),
    el("p", { class: "order", "data-key": "order" },
      el("span", { class: "muted", text: "Newest first." }),
      failure ? [" ", el("a", { href: `#ev-${failure.$id}`, class: "jump", text: "Jump to the failure" })] : null),
    el("ol", { class: "timeline", "data-key": "timeline" }, groupEntries(events).map(group)),
  ].filter(Boolean);
}
