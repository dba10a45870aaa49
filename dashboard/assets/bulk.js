// Bulk actions on the list (operators only): rows are selected with their checkboxes, or every
// job matching the view's filters at once ("Select all matching", resolved by paging
// `GET /v1/jobs` with the same filters, at most `SELECT_MAX` jobs, the count stated). The bar
// offers only the actions valid for some selected job (derive.js `legalActions`), each with how
// many jobs it applies to; one dialog states that count and asks a reason; the action runs through
// `POST /v1/jobs/batch` (docs/actions.md), `BATCH` ids per call, one call after another; the
// outcome is reported per job, failures by reference and the API's message.
// The pure part (`validActions`, `chunks`, `selectAllRequest`, `merge`) is tested in Node.

import { api } from "./api.js";
import { legalActions } from "./derive.js";
import { query } from "./list-state.js";
import { patchChildren } from "./patch.js";
import { ACTION_LABELS, count, el, retryRisk, typeLabel } from "./ui.js";

/** The batch route's limit on ids per call. */
export const BATCH = 100;
/** "Select all matching" stops here: 10 batches, and the count says so. */
export const SELECT_MAX = 1000;
/** The order the bar offers the actions in. */
export const BULK_ACTIONS = ["retry", "cancel", "pause", "resume"];

/** For each action, the ids of the `jobs` (status known) it is valid for; actions valid for none are left out. */
export function validActions(jobs) {
  const out = {};
  for (const action of BULK_ACTIONS) {
    const ids = jobs.filter((j) => legalActions(j.status).includes(action)).map((j) => j.$id);
    if (ids.length) out[action] = ids;
  }
  return out;
}

/** `ids` in runs of at most `size`. */
export function chunks(ids, size = BATCH) {
  const out = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}

/** One page of the jobs matching the view's filters `f` (what "Select all matching" resolves). */
export function selectAllRequest(f, cursor = null) {
  const params = query(f, f.view === "history" ? "finished" : "all");
  if (f.view !== "history") params.set("order", "created");
  params.set("limit", "500");
  if (cursor) params.set("cursor", cursor);
  return params;
}

/** The batch answers of one bulk action, added up: `{requested, succeeded, failed, results}`. */
export function merge(answers) {
  const out = { requested: 0, succeeded: 0, failed: 0, results: [] };
  for (const a of answers) {
    out.requested += a.requested || 0;
    out.succeeded += a.succeeded || 0;
    out.failed += a.failed || 0;
    out.results.push(...(a.results || []));
  }
  return out;
}

const DONE_TO = { retry: "retried", cancel: "cancelled", pause: "paused", resume: "resumed" };
const PAST = { retry: "Retried", cancel: "Cancelled", pause: "Pause requested for", resume: "Resumed" };
const ING = { retry: "Retrying", cancel: "Cancelling", pause: "Pausing", resume: "Resuming" };
const jobs = (n) => `${count(n)} job${n === 1 ? "" : "s"}`;

/** What the dialog says an action does to each job. */
const EFFECT = {
  retry: "Each is retried as a new job from its last checkpoint; work a worker had in flight may repeat.",
  cancel: "Each worker stops at its next checkpoint; a cancelled job cannot be resumed, only retried.",
  pause: "Each worker stops at its next checkpoint; the jobs can be resumed later.",
  resume: "Each job is queued again and its worker picks it up from its last checkpoint.",
};

/**
 * The bulk bar and its dialog for a list view. `held(id)` is the list's copy of a job (for its
 * status and name), `filters` the view's filters, `onJobs(jobs)` takes the jobs the actions
 * changed (the list applies them), `onChange()` repaints the checkboxes.
 */
export function createBulk({ filters, held, onJobs, onChange }) {
  // id → the job as last known (its status decides what is valid; its reference names it).
  const selected = new Map();
  let matching = null; // {count, more}: "all matching" resolved
  let busy = false;

  const status = el("p", { class: "bulk-status", role: "status", "aria-live": "polite" });
  const actions = el("div", { class: "bulk-actions" });
  const all = el("button", { type: "button", class: "ghost", "data-bulk": "all", text: "Select all matching this filter" });
  const clear = el("button", { type: "button", class: "ghost", "data-bulk": "clear", text: "Clear selection" });
  const report = el("div", { class: "bulk-report", "aria-live": "polite" });
  const bar = el("section", { class: "bulk", "aria-label": "Bulk actions" }, el("div", { class: "bulk-row" }, status, actions, all, clear), report);
  const dialog = el(
    "dialog",
    { class: "bulk-dialog", "aria-labelledby": "bulk-title" },
    el(
      "form",
      { method: "dialog" },
      el("h2", { id: "bulk-title" }),
      el("p", { class: "bulk-text" }),
      el("label", {}, "Reason ", el("span", { class: "muted", text: "(optional, kept in each job's log)" }), el("textarea", { rows: "3", maxlength: "2000" })),
      el("div", { class: "buttons" }, el("button", { value: "cancel", type: "submit", class: "ghost" }), el("button", { value: "ok", type: "submit" })),
    ),
  );

  const current = () => [...selected.keys()].map((id) => held(id) || selected.get(id));

  function paint() {
    const list = current();
    const valid = validActions(list);
    const text = !list.length
      ? "No jobs selected"
      : matching
        ? matching.more
          ? `The first ${jobs(matching.count)} matching this filter selected (more match: narrow the filter to act on the rest)`
          : `All ${jobs(matching.count)} matching this filter selected`
        : `${jobs(list.length)} selected`;
    // Repainted on every live update: unchanged text is left alone (not announced again) and the
    // buttons are patched by key, so a keyboard user's focus on one survives.
    if (status.textContent !== text) status.textContent = text;
    patchChildren(
      actions,
      Object.entries(valid).map(([action, ids]) =>
        el("button", { type: "button", class: `act a-${action}`, "data-key": action, "data-bulk-action": action, text: `${ACTION_LABELS[action]} ${count(ids.length)}`, "aria-label": `${ACTION_LABELS[action]} ${jobs(ids.length)}` }),
      ),
    );
    clear.hidden = !list.length;
    onChange();
  }

  /** Asks to confirm `action` on `ids`; resolves to `{reason}` or null; focus returns to `back`. */
  function confirm(action, ids, back) {
    const n = ids.length;
    const skipped = selected.size - n;
    dialog.querySelector("h2").textContent = `${ACTION_LABELS[action]} ${jobs(n)}?`;
    // The jobs whose retry may repeat work (outcome unknown, batches in flight: ui.js `retryRisk`), counted.
    const risky = action === "retry" ? ids.filter((id) => retryRisk(held(id) || selected.get(id)) !== null).length : 0;
    dialog.querySelector(".bulk-text").textContent = [
      EFFECT[action],
      risky ? `${jobs(risky)} ended without a final report or with batches in flight: for ${risky === 1 ? "it" : "them"}, work may repeat (each job's page says which).` : "",
      skipped ? `${jobs(skipped)} of the selection cannot be ${DONE_TO[action]} and ${skipped === 1 ? "is" : "are"} left alone.` : "",
    ]
      .filter(Boolean)
      .join(" ");
    dialog.querySelector('[value="ok"]').textContent = `${ACTION_LABELS[action]} ${jobs(n)}`;
    dialog.querySelector('[value="cancel"]').textContent = "Back";
    const reason = dialog.querySelector("textarea");
    reason.value = "";
    return new Promise((resolve) => {
      dialog.addEventListener(
        "close",
        () => {
          // The button that asked, or (when the selection no longer offers it) the bar's next one.
          (back && back.isConnected ? back : all).focus();
          resolve(dialog.returnValue === "ok" ? { reason: reason.value.trim() } : null);
        },
        { once: true },
      );
      dialog.returnValue = "";
      dialog.showModal();
      reason.focus();
    });
  }

  async function run(action, back) {
    const ids = validActions(current())[action] || [];
    if (!ids.length || busy) return;
    const answer = await confirm(action, ids, back);
    if (!answer) return;
    busy = true;
    paint();
    const answers = [];
    const names = new Map(ids.map((id) => [id, held(id) || selected.get(id)]));
    try {
      for (const [i, batch] of chunks(ids).entries()) {
        report.replaceChildren(el("p", { "aria-busy": "true", text: `${ING[action]} ${jobs(ids.length)}… (batch ${i + 1} of ${Math.ceil(ids.length / BATCH)})` }));
        answers.push(await api.batch(action, batch, answer.reason));
      }
    } catch (e) {
      answers.push({ requested: 0, results: [], error: e.message });
    }
    const total = merge(answers);
    const changed = total.results.filter((r) => r.ok && r.job).map((r) => r.job);
    onJobs(changed);
    for (const r of total.results) if (r.ok) selected.delete(r.id);
    matching = null;
    busy = false;
    const stopped = answers.find((a) => a.error);
    const name = (id) => {
      const j = names.get(id);
      return j && j.referenceId ? `${typeLabel(j.type)} ${j.referenceId}` : id;
    };
    const failures = total.results.filter((r) => !r.ok);
    report.replaceChildren(
      el(
        "div",
        { class: `bulk-outcome${failures.length || stopped ? " has-failures" : ""}`, role: failures.length || stopped ? "alert" : null },
        el("p", { text: `${PAST[action]} ${count(total.succeeded)} of ${jobs(ids.length)}.${total.failed ? ` ${count(total.failed)} failed:` : ""}` }),
        failures.length
          ? el("ul", {}, failures.map((r) => el("li", { "data-id": r.id }, el("strong", { text: name(r.id) }), `: ${(r.error && r.error.message) || `refused (${r.status})`}`)))
          : null,
        stopped ? el("p", { class: "error-text", text: `Stopped: ${stopped.error}. The jobs not reported above were not sent.` }) : null,
      ),
    );
    paint();
  }

  // Buttons are never disabled while busy (a disabled button drops the focus it had): a second
  // press while one runs does nothing.
  let finding = false;
  async function selectAll() {
    if (finding || busy) return;
    finding = true;
    status.textContent = "Finding every job matching this filter…";
    try {
      const found = [];
      let cursor = null;
      do {
        const answer = await api.list(selectAllRequest(filters, cursor));
        found.push(...answer.jobs);
        cursor = answer.nextCursor || null;
      } while (cursor && found.length < SELECT_MAX);
      selected.clear();
      for (const j of found.slice(0, SELECT_MAX)) selected.set(j.$id, j);
      matching = { count: Math.min(found.length, SELECT_MAX), more: found.length > SELECT_MAX || Boolean(cursor) };
    } catch (e) {
      report.replaceChildren(el("p", { class: "error-text", role: "alert", text: `Could not select every matching job: ${e.message}` }));
    }
    finding = false;
    paint();
  }

  actions.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-bulk-action]");
    if (button) run(button.dataset.bulkAction, button);
  });
  all.addEventListener("click", selectAll);
  clear.addEventListener("click", () => {
    selected.clear();
    matching = null;
    paint();
    all.focus();
  });
  paint();

  return {
    bar,
    dialog,
    has: (id) => selected.has(id),
    /** A row's checkbox changed. */
    pick(id, on) {
      matching = null;
      if (on) selected.set(id, held(id) || { $id: id });
      else selected.delete(id);
      paint();
    },
    /** The header checkbox: every job shown selected, or none. */
    pickAll(shown, on) {
      matching = null;
      for (const j of shown) {
        if (on) selected.set(j.$id, j);
        else selected.delete(j.$id);
      }
      paint();
    },
    /** The list changed: what is valid may have too. */
    refresh: () => !busy && paint(),
  };
}
