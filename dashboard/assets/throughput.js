// Throughput on `/jobs`: per job type, how many jobs finished and how many failed in each of the
// last 24 hours, as a small bar chart (an SVG whose text alternative is its summary, and a table
// of the same numbers on request). Computed in the page from what the store already keeps: the
// finished jobs completed in the last 24 hours (`GET /v1/jobs?scope=finished&order=completed&
// dateField=completedAt&from=…`, 500 a page, at most `MAX_PAGES` pages), read once when the
// section is first opened; afterwards every job state the list sees (Realtime rows, deltas,
// actions' answers) moves it, with no request of its own. Retention keeps the newest finished
// jobs per type only, so the chart covers the jobs retained, which the section says.
// The pure part (`hourStart`, `throughputRequest`, `createThroughput`) is tested in Node.

import { FINAL } from "./derive.js";
import { TYPES } from "./list-state.js";
import { patchChildren } from "./patch.js";
import { count, el, errorBox, typeLabel } from "./ui.js";

const HOUR = 3600000;
export const HOURS = 24;
/** Page size and the most pages read: 5,000 finished jobs a day is the bound of one look. */
export const PAGE_SIZE = 500;
export const MAX_PAGES = 10;

/** The start of the hour `t` (ms) falls in. */
export function hourStart(t) {
  return Math.floor(t / HOUR) * HOUR;
}

/** The request of one page of jobs finished since 24 hours before `now` (ms), after `cursor`. */
export function throughputRequest(now, cursor = null) {
  const p = new URLSearchParams({
    scope: "finished",
    order: "completed",
    dateField: "completedAt",
    from: new Date(hourStart(now) - (HOURS - 1) * HOUR).toISOString(),
    limit: String(PAGE_SIZE),
  });
  if (cursor) p.set("cursor", cursor);
  return p;
}

/**
 * The finished jobs seen (one entry per job id, its newest state) and their counts per type and
 * hour. `add` takes any job state; only finished ones with a completion time count.
 */
export function createThroughput() {
  const seen = new Map();
  return {
    /** Takes a job state; true when it changed what is counted. */
    add(job) {
      if (!FINAL.includes(job.status) || !job.completedAt) {
        return seen.delete(job.$id);
      }
      const at = Date.parse(job.completedAt);
      if (Number.isNaN(at)) return false;
      const was = seen.get(job.$id);
      if (was && was.status === job.status && was.at === at) return false;
      seen.set(job.$id, { type: job.type, status: job.status, at });
      return true;
    },
    size: () => seen.size,
    /**
     * The counts of the 24 hours ending with the one `now` falls in: `{start, hours: [ms…],
     * types: {TYPE: {finished: [24], failed: [24]}}}`, every known type listed, oldest hour first.
     */
    counts(now) {
      const first = hourStart(now) - (HOURS - 1) * HOUR;
      const types = {};
      for (const t of TYPES) types[t] = { finished: Array(HOURS).fill(0), failed: Array(HOURS).fill(0) };
      for (const [id, j] of seen) {
        const i = Math.floor((j.at - first) / HOUR);
        if (i < 0) {
          seen.delete(id); // older than the window: it never comes back into it
          continue;
        }
        if (i >= HOURS) continue;
        types[j.type] ||= { finished: Array(HOURS).fill(0), failed: Array(HOURS).fill(0) };
        types[j.type].finished[i] += 1;
        if (j.status === "FAILED") types[j.type].failed[i] += 1;
      }
      return { start: first, hours: Array.from({ length: HOURS }, (_, i) => first + i * HOUR), types };
    },
  };
}

const sum = (list) => list.reduce((a, b) => a + b, 0);
const hourText = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const SVG = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

/** One type's chart: a bar per hour (finished), its failed part drawn over it in the failed colour. */
function chart(type, c, hours) {
  const peak = Math.max(1, ...c.finished);
  const [w, h, bw] = [HOURS * 8, 40, 6];
  const total = sum(c.finished);
  const failed = sum(c.failed);
  const busiest = c.finished.indexOf(Math.max(...c.finished));
  const alt = `${typeLabel(type)}: ${count(total)} finished, ${count(failed)} failed in the last 24 hours${total ? `; busiest hour ${hourText(hours[busiest])} with ${count(c.finished[busiest])}` : ""}.`;
  const bars = [];
  c.finished.forEach((n, i) => {
    if (!n) return;
    const bh = Math.max(1, Math.round((n / peak) * h));
    bars.push(svgEl("rect", { class: "t-done", x: i * 8 + 1, y: h - bh, width: bw, height: bh }));
    const f = c.failed[i];
    if (f) {
      const fh = Math.max(1, Math.round((f / peak) * h));
      bars.push(svgEl("rect", { class: "t-failed", x: i * 8 + 1, y: h - fh, width: bw, height: fh }));
    }
  });
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h + 1}`, width: w, height: h + 1, role: "img", "aria-label": alt, class: "spark" }, svgEl("line", { class: "t-axis", x1: 0, y1: h + 0.5, x2: w, y2: h + 0.5 }), ...bars);
  return el(
    "figure",
    { class: "tp-type", "data-type": type },
    el("figcaption", {}, el("span", { class: "tp-name", text: typeLabel(type) }), " ", el("span", { class: "muted tp-total", text: `${count(total)} finished · ${count(failed)} failed` })),
    svg,
  );
}

/** The numbers of every type as one table (the charts' data, readable by anyone). */
function table(counts) {
  const types = Object.keys(counts.types);
  return el(
    "div",
    { class: "table-wrap tp-table", tabindex: "0", role: "region", "aria-label": "Throughput per hour" },
    el(
      "table",
      { class: "plain" },
      el("caption", { text: "Jobs finished (failed) per hour, last 24 hours" }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Hour" }), types.map((t) => el("th", { scope: "col", text: typeLabel(t) })))),
      el(
        "tbody",
        {},
        counts.hours.map((start, i) =>
          el("tr", {}, el("th", { scope: "row", text: hourText(start) }), types.map((t) => el("td", { text: `${counts.types[t].finished[i]} (${counts.types[t].failed[i]})` }))),
        ),
      ),
    ),
  );
}

/**
 * The section: closed until opened (so a look at `/jobs` costs nothing extra), then loaded once
 * with `list(params)` (the API's list call) and kept current by `observe(job)`. Returns
 * `{node, observe(job), tick()}`.
 */
export function createThroughputView(list) {
  const data = createThroughput();
  let state = "closed"; // closed → loading → shown | failed
  let truncated = false;
  let asTable = false;
  let lastHour = 0;
  // Job states seen while the first read is under way: applied after it, newest wins by id.
  const early = [];
  const body = el("div", { class: "tp-body", "aria-live": "off" });
  const note = el("p", {
    class: "muted tp-note",
    text: "Counts the finished jobs the store keeps: retention keeps the newest finished jobs of each type, so a busy type's oldest hours may be missing.",
  });
  const toggle = el("button", { type: "button", class: "ghost", "aria-pressed": "false", text: "Show as table" });
  const details = el(
    "details",
    { class: "throughput" },
    el("summary", { text: "Throughput, last 24 hours" }),
    el("div", { class: "tp-head" }, note, toggle),
    body,
  );

  function render() {
    if (state !== "shown") return;
    const now = Date.now();
    lastHour = hourStart(now);
    const counts = data.counts(now);
    const more = truncated ? el("p", { class: "muted", text: `Only the ${count(PAGE_SIZE * MAX_PAGES)} most recent finished jobs are counted.` }) : null;
    // Patched, not replaced: a keyboard user on the (scrollable, focusable) table keeps focus
    // through live updates.
    const view = asTable ? table(counts) : el("div", { class: "tp-charts" }, Object.keys(counts.types).map((t) => chart(t, counts.types[t], counts.hours)));
    patchChildren(body, more ? [view, more] : [view]);
  }

  async function load() {
    state = "loading";
    body.replaceChildren(el("p", { class: "muted", "aria-busy": "true", text: "Loading throughput…" }));
    try {
      const now = Date.now();
      let cursor = null;
      let pages = 0;
      do {
        const answer = await list(throughputRequest(now, cursor));
        for (const job of answer.jobs) data.add(job);
        cursor = answer.nextCursor || null;
        pages += 1;
      } while (cursor && pages < MAX_PAGES);
      truncated = Boolean(cursor);
      for (const job of early.splice(0)) data.add(job);
      state = "shown";
      render();
    } catch (e) {
      state = "failed";
      body.replaceChildren(errorBox(`Could not load throughput: ${e.message}`, load));
    }
  }

  details.addEventListener("toggle", () => {
    if (details.open && (state === "closed" || state === "failed")) load();
  });
  toggle.addEventListener("click", () => {
    asTable = !asTable;
    toggle.setAttribute("aria-pressed", String(asTable));
    render();
  });

  return {
    node: details,
    /** A job state the list saw: counted once the section is loaded, kept for it while it loads. */
    observe(job) {
      if (state === "loading") early.push(job);
      else if (state === "shown" && data.add(job)) render();
    },
    /** Called every second: the chart moves on when the hour does. */
    tick() {
      if (state === "shown" && hourStart(Date.now()) !== lastHour) render();
    },
  };
}
