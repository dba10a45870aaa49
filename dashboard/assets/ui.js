// Building blocks shared by the views. Every piece of data goes into the page through
// `textContent` or `setAttribute` (see `el`): job messages, errors, metadata and reference ids
// come from workers and users, and must never be parsed as HTML. Shared parts of the shell
// (toasts, the confirm dialog) are looked up inside the mounted root, never by page-wide id,
// so the dashboard can live inside another app's page.

import { api } from "./api.js";
import { FINAL, etaMs } from "./derive.js";

export { FINAL };

let shellRoot = typeof document !== "undefined" ? document : null;

/** Sets the element the dashboard is mounted in (see mount.js). */
export function setRoot(root) {
  shellRoot = root;
}

/** A part of the shell by its `data-part` name. */
export function part(name) {
  return shellRoot.querySelector(`[data-part="${name}"]`);
}

/** Creates an element; `attrs` keys are attributes (or `class`/`text`), children are nodes or text. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const TYPE_LABELS = {
  CAMPAIGN_RUN: "Campaign run",
  BULK_VERIFY: "Bulk verify",
  SQS_POLL: "SQS poll",
  METRICS_FETCH: "Metrics fetch",
};
export const STATUSES = ["QUEUED", "RUNNING", "PAUSED", "COMPLETED", "FAILED", "CANCELLED"];
export const ACTION_LABELS = { pause: "Pause", resume: "Resume", cancel: "Cancel", retry: "Retry" };

export function typeLabel(type) {
  return TYPE_LABELS[type] || type;
}

export function statusLabel(status) {
  return status.charAt(0) + status.slice(1).toLowerCase();
}

export function badge(status) {
  return el(
    "span",
    { class: `badge s-${String(status).toLowerCase()}` },
    status === "RUNNING" ? el("span", { class: "pulse", "aria-hidden": "true" }) : null,
    statusLabel(String(status)),
  );
}

/** Whether the job's completion is measurable: a worker that counts, or any percent so far. */
export function progressKnown(job) {
  return job.total != null || job.progress > 0 || job.status === "COMPLETED";
}

export function progressBar(job) {
  const known = progressKnown(job);
  const label = `Progress of ${typeLabel(job.type)} ${job.referenceId}`;
  const bar = el("div", {
    class: `bar${known ? "" : " indeterminate"}${job.status === "RUNNING" ? " live" : ""}`,
    "data-status": job.status,
    role: "progressbar",
    "aria-label": label,
    "aria-valuemin": known ? 0 : null,
    "aria-valuemax": known ? 100 : null,
    "aria-valuenow": known ? job.progress : null,
    "aria-valuetext": known ? `${job.progress}%` : "In progress, completion unknown",
  });
  const fill = el("span", { class: "fill" });
  if (known) fill.style.width = `${job.progress}%`;
  bar.append(fill);
  return el(
    "div",
    { class: "progress" },
    el("div", { class: "bar-row" }, bar, el("span", { class: "pct", text: known ? `${job.progress}%` : "—" })),
    // Always there (empty without a message), so a message arriving does not make the row grow.
    el("div", { class: "msg", title: job.progressMessage || null, text: job.progressMessage || "" }),
  );
}

const rtf = typeof Intl !== "undefined" && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat("en", { numeric: "auto" }) : null;

export function relative(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  const [value, unit] =
    abs < 45 ? [s, "second"] : abs < 2700 ? [Math.round(s / 60), "minute"] : abs < 79200 ? [Math.round(s / 3600), "hour"] : [Math.round(s / 86400), "day"];
  if (unit === "second" && abs < 5) return "just now";
  return rtf ? rtf.format(value, unit) : new Date(t).toLocaleString();
}

export function exact(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** A `<time>` showing "3 minutes ago", the exact instant on hover; a dash when absent. */
export function time(iso) {
  if (!iso) return el("span", { class: "muted", text: "—" });
  return el("time", { datetime: iso, title: exact(iso), "data-relative": "", text: relative(iso) });
}

/** Refreshes every relative time on the page (called by the refresh loop). */
export function refreshTimes(root = document) {
  for (const t of root.querySelectorAll("time[data-relative]")) t.textContent = relative(t.getAttribute("datetime"));
  // Offline, whether a job still runs is unknown: its duration stops (banner.js).
  if (root.closest && root.closest('[data-connection="offline"]')) return;
  // Running jobs' durations and ETAs move between the server's answers.
  for (const d of root.querySelectorAll("[data-running-since]")) {
    const since = Date.parse(d.getAttribute("data-running-since"));
    if (!Number.isNaN(since)) d.textContent = duration(Math.max(0, Date.now() - since));
  }
  for (const d of root.querySelectorAll("[data-eta-progress]")) {
    const eta = etaMs({ status: "RUNNING", progress: Number(d.getAttribute("data-eta-progress")), startedAt: d.getAttribute("data-eta-since") });
    d.textContent = eta === null ? "—" : duration(eta);
  }
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A count as people read it ("1,000"). */
export function count(n) {
  return Number(n).toLocaleString("en-US");
}

/** What a job type's `done` counts, as a past participle ("350 of 1,000 sent"). */
const DONE_WORDS = { CAMPAIGN_RUN: "sent", BULK_VERIFY: "verified" };
/** What a retry of a job type re-checks. */
const ITEMS = { CAMPAIGN_RUN: "recipients", BULK_VERIFY: "leads" };

/** The confirmed count: the units the worker says it finished ("350 of 1,000 sent"); null when it does not count. */
export function doneText(job) {
  const word = DONE_WORDS[job.type] || "done";
  if (job.total != null) return `${count(job.done ?? 0)} of ${count(job.total)} ${word}`;
  if (job.done != null) return `${count(job.done)} ${word}`;
  return null;
}

/** The batches the hook answered `continue` and the worker has not confirmed yet (oldest run first). */
export function claimsOf(job) {
  return Array.isArray(job.claims) ? [...job.claims].sort((a, b) => (a.run ?? 0) - (b.run ?? 0)) : [];
}

/** One claim in flight: "350–360 (run 4)", or for a run a resume superseded
 *  "0–10 (run 3, superseded: finishing its last batch)". Its checkpoint digest is not shown. */
export function claimText(claim, job) {
  const range =
    claim.done != null && claim.claimed != null && claim.claimed !== claim.done
      ? `${count(claim.done)}–${count(claim.claimed)}`
      : claim.done != null
        ? `a batch from ${count(claim.done)}`
        : "a batch";
  const older = claim.run != null && job.run != null && claim.run < job.run;
  return `${range} (run ${claim.run ?? "?"}${older ? ", superseded: finishing its last batch" : ""})`;
}

/**
 * A FAILED job the execution observer failed because the worker's execution ended without its
 * final report (docs/observer.md): some or all of its work may have been done. Keyed off the
 * error message's prefix (a leading U+2060, the store's escape, is tolerated).
 */
export function outcomeUnknown(job) {
  return job.status === "FAILED" && typeof job.errorMessage === "string" && job.errorMessage.replace(/^\u2060/, "").startsWith("outcome unknown:");
}

/** The marker beside the status badge of such a job. */
export function outcomeBadge(job) {
  return outcomeUnknown(job) ? el("span", { class: "badge outcome-unknown", text: "Outcome unknown" }) : null;
}

/**
 * Why retrying `job` may repeat work, or null when it does not: its outcome is unknown, or it holds
 * claims no later call confirmed (the retry hands their ranges to the new worker to re-check;
 * docs/actions.md, Retry). The action's answer carries the server's own `warning` as well.
 */
export function retryRisk(job) {
  const items = ITEMS[job.type] || "items";
  const claims = claimsOf(job);
  const ranged = claims.some((c) => c.done != null && c.claimed != null && c.claimed > c.done);
  const unconfirmed = claims.length
    ? ` ${claims.length === 1 ? "A batch was" : "Batches were"} still in flight and never confirmed (${claims.map((c) => claimText(c, job)).join("; ")}): ${claims.length === 1 ? "it" : "they"} may or may not have been carried out.`
    : "";
  if (outcomeUnknown(job)) {
    return `Its worker's execution ended without a final report, so some or all of the work may already be done.${unconfirmed} The retry re-checks those ${items}: work may repeat.`;
  }
  if (!claims.length) return null;
  return ranged
    ? `${unconfirmed.trim()} The retry re-checks those ${items}: work may repeat.`
    : `${unconfirmed.trim()} No range of ${items} is known to re-check: work may repeat or be missing.`;
}

/** A short text summary of a job's `result` counters ("sent 198 · failed 2"). */
export function resultSummary(job) {
  const result = job.result;
  if (!result || typeof result !== "object") return "";
  return Object.entries(result)
    .filter(([, v]) => v === null || typeof v !== "object")
    .slice(0, 4)
    .map(([k, v]) => `${k} ${v}`)
    .join(" · ");
}

/** Shows `message` in the toasts region (announced politely) for `ms` (longer for warnings to read). */
export function toast(message, kind = "info", ms = 8000) {
  const box = part("toasts");
  const node = el("div", { class: `toast t-${kind}` }, el("span", { text: message }));
  const close = el("button", { type: "button", class: "ghost close", "aria-label": "Dismiss notification", text: "×" });
  close.addEventListener("click", () => node.remove());
  node.append(close);
  box.append(node);
  setTimeout(() => node.remove(), ms);
}

/** Whether `action` on `job` asks for confirmation first: cancel and pause always, retry when it may repeat work. */
export function needsConfirm(action, job) {
  return action === "cancel" || action === "pause" || (action === "retry" && retryRisk(job) !== null);
}

/** The confirm dialog's open question, per dialog: settles it with an answer (or null). */
const asking = new WeakMap();
const wired = new WeakSet();

/**
 * The dialog's `close` event settles its open question. The event is queued, not fired at once,
 * so after an Escape and a quick Enter it can arrive when the dialog is already open again for
 * the next question: a close event while the dialog is open is an earlier one's, and ignored.
 */
function wire(dialog) {
  if (wired.has(dialog)) return;
  wired.add(dialog);
  dialog.addEventListener("close", () => {
    if (dialog.open) return;
    const settle = asking.get(dialog);
    if (settle) settle(dialog.returnValue === "ok" ? { reason: dialog.querySelector("textarea").value.trim() } : null);
  });
}

/**
 * Asks to confirm an action with an optional reason; resolves to `{reason}` or null. However the
 * dialog closes (confirmed, backed out, Escape), focus goes back to `returnTo` (the invoking
 * button; or a function giving the element to return to, for when it may have gone).
 */
export function confirmAction(action, job, returnTo = document.activeElement) {
  const what = `${typeLabel(job.type)} ${job.referenceId}`;
  const texts = {
    cancel: ["Cancel this job?", `The worker stops at its next checkpoint and ${what} cannot be resumed; it can be retried later.`, "Cancel job"],
    pause: ["Pause this job?", `The worker stops at its next checkpoint; ${what} can be resumed later.`, "Pause job"],
    retry: ["Retry this job? Work may repeat", `${retryRisk(job) || ""} ${what} is retried as a new job from its last checkpoint.`.trim(), "Retry job"],
  };
  const [title, text, yes] = texts[action];
  const no = { cancel: "Keep job", pause: "Don't pause", retry: "Don't retry" }[action];
  return ask({ title, text, yes, no, note: "(optional, kept in the job's log)" }, returnTo);
}

/**
 * The confirm dialog with any question (`title`, `text`, the `yes` / `no` buttons, the reason
 * field's `note`); resolves to `{reason}` or null, focus going back to `returnTo` as for
 * `confirmAction`. The Schedules view asks through it too.
 */
export function ask({ title, text, yes, no, note }, returnTo = document.activeElement) {
  const dialog = part("confirm");
  wire(dialog);
  // A question closed a moment ago whose close event has not come yet was answered no.
  const earlier = asking.get(dialog);
  if (earlier) earlier(null);
  const reason = dialog.querySelector("textarea");
  dialog.querySelector("h2").textContent = title;
  dialog.querySelector("p").textContent = text;
  dialog.querySelector('[value="ok"]').textContent = yes;
  dialog.querySelector('[value="cancel"]').textContent = no;
  dialog.querySelector("label .muted").textContent = note;
  reason.value = "";
  return new Promise((resolve) => {
    const settle = (answer) => {
      asking.delete(dialog);
      const back = typeof returnTo === "function" ? returnTo() : returnTo;
      if (back && back.isConnected && !dialog.open) back.focus();
      resolve(answer);
    };
    asking.set(dialog, settle);
    dialog.returnValue = "";
    dialog.showModal();
    reason.focus();
  });
}

/**
 * Takes `action` on `job`: asks first when it must (`needsConfirm`; focus then returns to
 * `returnTo`), then calls the API. Resolves to the API's answer, or null when the user backed out;
 * throws the API's refusal.
 */
export async function act(job, action, returnTo) {
  let reason = "";
  if (needsConfirm(action, job)) {
    const answer = await confirmAction(action, job, returnTo);
    if (!answer) return null;
    reason = answer.reason;
  }
  return (await api.act(job.$id, action, reason)) || {};
}

/**
 * The buttons of the actions `job` offers, keyed by action (patch.js) so a live update keeps the
 * one the user is on. They carry no listener: the view takes their clicks by delegation
 * (`onActionClick`), since a patched page keeps the buttons it had.
 */
export function actionButtons(job, { named = false } = {}) {
  return (job.actions || [])
    .filter((a) => ACTION_LABELS[a])
    .map((action) =>
      el("button", {
        type: "button",
        class: `act a-${action}`,
        "data-action": action,
        "data-key": action,
        "aria-label": named ? `${ACTION_LABELS[action]} ${typeLabel(job.type)} ${job.referenceId}` : null,
        text: ACTION_LABELS[action],
      }),
    );
}

/** Calls `handler(action, button)` for a click on an action button inside `container`; returns `off()`. */
export function onActionClick(container, handler) {
  const listener = (e) => {
    const button = e.target.closest && e.target.closest("button[data-action]");
    if (button && container.contains(button)) handler(button.dataset.action, button);
  };
  container.addEventListener("click", listener);
  return () => container.removeEventListener("click", listener);
}

/** Light/dark on the mounted root: the system's choice unless the user picked one (kept in localStorage). */
export function setupTheme(root, button) {
  const apply = (theme) => {
    if (theme) root.dataset.theme = theme;
    else delete root.dataset.theme;
    const dark = theme ? theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    button.textContent = dark ? "☀ Light" : "☾ Dark";
    button.setAttribute("aria-label", dark ? "Switch to light theme" : "Switch to dark theme");
  };
  let saved = null;
  try {
    saved = localStorage.getItem("jobs-theme");
  } catch (e) {
    // Storage may be disabled; the system theme applies.
  }
  apply(saved);
  button.addEventListener("click", () => {
    const dark = root.dataset.theme
      ? root.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    const next = dark ? "light" : "dark";
    try {
      localStorage.setItem("jobs-theme", next);
    } catch (e) {
      // Not persisted; still applied.
    }
    apply(next);
  });
}

export function errorBox(message, onRetry) {
  return el(
    "div",
    { class: "state error", role: "alert" },
    el("p", { text: message }),
    onRetry ? el("button", { type: "button", onclick: onRetry, text: "Try again" }) : null,
  );
}
