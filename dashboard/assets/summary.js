// The counts per status above every view: read from the API, then moved by the job states the
// views see (`observe`), once per status change (derive.js `createCounts`, the pure part). A
// repaint changes the numbers in place, so a focused count keeps its focus.

import { api } from "./api.js";
import { FINAL, STATUSES, el, statusLabel } from "./ui.js";
import { createCounts } from "./derive.js";

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
