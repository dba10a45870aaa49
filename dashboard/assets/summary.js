// The counts per status above every view: read from the API, then moved by the job states the
// views see (`observe`), once per status change (derive.js `createCounts`, the pure part). A
// repaint changes the numbers in place, so a focused count keeps its focus. The same answer's
// counts per type (the list's type chips, `byType`) move with every status count a job of that
// type moves.

import { api } from "./api.js";
import { FINAL, STATUSES, el, statusLabel } from "./ui.js";
import { createCounts } from "./derive.js";

export function createSummary(box, base) {
  const counts = createCounts();
  // type → status → count, from the last summary read, moved as the status counts move.
  let perType = null;
  const listeners = new Set();
  const notify = () => {
    for (const fn of listeners) fn();
  };
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
      perType = {};
      for (const c of data.counts) {
        perType[c.type] ||= {};
        perType[c.type][c.status] = (perType[c.type][c.status] || 0) + c.count;
      }
      paint();
      notify();
    },
    /** A job state seen (a page, a delta, an action's answer, a Realtime row). */
    observe(job, before = null) {
      const was = counts.totals();
      if (!counts.observe(job, before)) return;
      paint();
      const now = counts.totals();
      if (!perType || !was || !now) return;
      const of = (perType[job.type] ||= {});
      for (const s of STATUSES) if (now[s] !== was[s]) of[s] = (of[s] || 0) + (now[s] - was[s]);
      notify();
    },
    /** Jobs per type in `statuses` (type → count), or null before the first summary. */
    byType(statuses) {
      if (!perType) return null;
      const out = {};
      for (const [type, by] of Object.entries(perType)) out[type] = Math.max(0, statuses.reduce((n, s) => n + (by[s] || 0), 0));
      return out;
    },
    /** Calls `fn` whenever the counts per type change; returns `off()`. */
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    /** Forgets the jobs seen so far (a new view starts from its own page). */
    forget() {
      counts.forget();
    },
    stop() {},
  };
}
