// The list's filter form and the type chips above it. The form says what it did with the URL it
// was given: a value it could not use is named and cleared (the URL is rewritten to match the
// controls, list.js), a reversed date range is flagged on both date fields. On a phone the form
// folds behind a "Filters" toggle that shows how many filters are set. The chips link to each
// type's view with its count (from the summary API's counts per type, summary.js).

import { ACTIVE, FINAL } from "./derive.js";
import { TYPES, activeFilterCount, searchOf } from "./list-state.js";
import { STATUSES, count, el, statusLabel, typeLabel } from "./ui.js";

/** The problems found in the URL (list-state.js `checkFilters`) as a message, or null. */
export function problemsNote(problems) {
  if (!problems.length) return null;
  return el(
    "div",
    { class: "filter-notes", role: "alert", "data-part": "filter-notes" },
    el("p", { text: problems.length === 1 ? "A filter in the address was not understood and was cleared:" : "Filters in the address were not understood and were cleared:" }),
    el("ul", {}, problems.map((p) => el("li", { "data-field": p.field, text: p.message }))),
  );
}

/**
 * The form for filters `f` (already checked), in its box with the phone's toggle. `reversed`
 * marks the date range. Submitting opens the view of the new filters (an in-page link).
 */
export function filterForm(f, base, { reversed = false } = {}) {
  const types = el("select", { id: "f-type", name: "type" }, el("option", { value: "", text: "All types" }), TYPES.map((v) => el("option", { value: v, text: typeLabel(v), selected: f.type === v })));
  const statuses = (f.view === "history" ? FINAL : STATUSES).map((s) => el("option", { value: s, text: statusLabel(s), selected: f.status === s }));
  const status = el("select", { id: "f-status", name: "status" }, el("option", { value: "", text: "All statuses" }), statuses);
  const field = (id, label, input) => el("div", { class: "field" }, el("label", { for: id, text: label }), input);
  const when = f.view === "history" ? "Completed" : "Updated";
  const range = reversed ? { "aria-invalid": "true", "aria-describedby": "f-range-error" } : {};
  const form = el(
    "form",
    { class: "filters", id: "jm-filters", role: "search", "aria-label": "Filter jobs" },
    el("input", { type: "hidden", name: "view", value: f.view === "history" ? "history" : "" }),
    field("f-type", "Type", types),
    field("f-status", "Status", status),
    field("f-from", `${when} from`, el("input", { type: "date", id: "f-from", name: "from", value: f.from, ...range })),
    field("f-to", `${when} to`, el("input", { type: "date", id: "f-to", name: "to", value: f.to, ...range })),
    field("f-q", "Reference or job id", el("input", { type: "search", id: "f-q", name: "q", value: f.q, autocomplete: "off", placeholder: "e.g. spring-sale" })),
    el("div", { class: "field buttons" }, el("button", { type: "submit", text: "Apply" }), el("a", { href: f.view === "history" ? `${base}?view=history` : base, class: "reset", text: "Reset" })),
    reversed
      ? el("p", { id: "f-range-error", class: "error-text range-error", text: `The date range is reversed: “${when} to” (${f.to}) is before “${when} from” (${f.from}). Swap the dates or clear one.` })
      : null,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    // A new view for new filters keeps the view's state simple and the URL shareable.
    const link = el("a", { href: `${base}${searchOf(new FormData(form))}` });
    form.append(link);
    link.click();
    link.remove();
  });
  const n = activeFilterCount(f);
  const toggle = el("button", {
    type: "button",
    class: "ghost filters-toggle",
    "aria-expanded": "false",
    "aria-controls": "jm-filters",
    text: n ? `Filters (${n})` : "Filters",
  });
  // Folded only on a phone (CSS); open by default there when something needs fixing.
  const box = el("div", { class: `filter-box${reversed ? " open" : ""}` }, toggle, form);
  if (reversed) toggle.setAttribute("aria-expanded", "true");
  toggle.addEventListener("click", () => {
    const open = !box.classList.contains("open");
    box.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  });
  return box;
}

/**
 * The chips of the job types, each a link to its view carrying its count (`byType`: type → count,
 * or null while unknown); the current type marked. Patched in place when counts move.
 */
export function typeChips(f, base, byType) {
  const link = (type) => {
    const q = new URLSearchParams(searchOf([["view", f.view === "history" ? "history" : ""], ["type", type], ["status", f.status], ["from", f.from], ["to", f.to], ["q", f.q]]));
    const s = q.toString();
    return `${base}${s ? `?${s}` : ""}`;
  };
  const chip = (type, label, n) =>
    el(
      "a",
      { class: "chip", href: link(type), "data-key": type || "all", "aria-current": f.type === type ? "page" : null },
      el("span", { text: label }),
      n == null ? null : el("span", { class: "n", text: count(n) }),
    );
  const total = byType ? Object.values(byType).reduce((a, b) => a + b, 0) : null;
  return el("nav", { class: "chips", "aria-label": "Jobs per kind" }, chip("", "All types", total), TYPES.map((t) => chip(t, typeLabel(t), byType ? byType[t] || 0 : null)));
}

/** The statuses a view's type counts add up: finished ones in history, all otherwise. */
export function countedStatuses(view) {
  return view === "history" ? FINAL : [...ACTIVE, ...FINAL];
}
