// The state of the `{base}` list, without the page: no DOM, no request, no clock of its own, so
// `testing/browser/list-state.test.mjs` checks it in Node. It owns the filters (read from and
// written to the URL), the API queries they make, which jobs the view holds (keyed by id, each
// at the newest revision seen: `rev` grows with every write) and in which order, and what each
// source of a job does to them: a page, a polled delta, a Realtime row, an action's answer. The
// view (list.js) asks, renders what `ordered()` gives and announces what `apply` returns. The
// counts above the views are kept by derive.js `createCounts`, fed by the view.

import { ACTIVE, FINAL } from "./derive.js";

/** Page sizes: every active job at once, then finished ones a page at a time. */
export const PAGE = { recent: 25, history: 100, active: 500 };

/** Every job type, in the order the dashboard lists them (labels: ui.js `TYPE_LABELS`). */
export const TYPES = ["CAMPAIGN_RUN", "BULK_VERIFY", "SQS_POLL", "METRICS_FETCH"];
/**
 * Types that run on a schedule and finish many times an hour: on "recent" their finished jobs
 * are a section of their own below the outcomes an operator looks for (campaigns, verifications).
 */
export const ROUTINE = ["SQS_POLL", "METRICS_FETCH"];
export const OUTCOME_TYPES = TYPES.filter((t) => !ROUTINE.includes(t));

/** The view's filters from a query string (`?view=history&type=…&status=…&from=…&to=…&q=…`). */
export function readFilters(search) {
  const q = new URLSearchParams(search);
  return {
    view: q.get("view") === "history" ? "history" : "active",
    type: q.get("type") || "",
    status: q.get("status") || "",
    from: q.get("from") || "",
    to: q.get("to") || "",
    q: q.get("q") || "",
  };
}

/** A calendar day as the date inputs write it (`YYYY-MM-DD`), and a real one. */
function isDay(s) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/**
 * The filters `f` (as `readFilters` read them) with every value the view cannot use cleared,
 * what was cleared (`problems`: `{field, value, message}`, to show), and whether the date range
 * is reversed (kept, since either end may be the mistake, and flagged). An unknown value is
 * never sent to the API (it would refuse the whole page) nor silently ignored.
 */
export function checkFilters(f) {
  const filters = { ...f };
  const problems = [];
  const clear = (field, message) => {
    problems.push({ field, value: f[field], message });
    filters[field] = "";
  };
  if (f.type && !TYPES.includes(f.type)) clear("type", `Unknown type “${f.type}”: showing every type.`);
  const statuses = f.view === "history" ? FINAL : [...ACTIVE, ...FINAL];
  if (f.status && !statuses.includes(f.status)) {
    clear("status", f.view === "history" && ACTIVE.includes(f.status) ? `History holds finished jobs only, not “${f.status}”: showing every status.` : `Unknown status “${f.status}”: showing every status.`);
  }
  for (const [field, name] of [["from", "start"], ["to", "end"]]) {
    if (f[field] && !isDay(f[field])) clear(field, `“${f[field]}” is not a date (YYYY-MM-DD): the range has no ${name}.`);
  }
  const reversed = Boolean(filters.from && filters.to && filters.from > filters.to);
  return { filters, problems, reversed };
}

/** The query string of a filter form's fields (`[name, value]` pairs): only those set. */
export function searchOf(fields) {
  const p = new URLSearchParams();
  for (const [name, value] of fields) if (value) p.set(name, String(value));
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** Whether a filter narrows the view (its empty state says so). */
export function narrowed(f) {
  return Boolean(f.type || f.status || f.from || f.to || f.q);
}

/** How many filters are set (the phone's "Filters (2)" toggle). */
export function activeFilterCount(f) {
  return ["type", "status", "from", "to", "q"].filter((k) => f[k]).length;
}

/**
 * Whether "recent" splits its finished jobs into outcomes and a routine section: only the
 * unfiltered view, since a filter or a search asks for exactly what it names.
 */
export function grouped(f) {
  return f.view === "active" && !narrowed(f);
}

/** Whether `q` finds `job`: a piece of its reference, or its id exactly (as `GET /v1/jobs?q=`). */
export function found(job, q) {
  return String(job.referenceId ?? "").includes(q) || job.$id === q;
}

/** The date the range filters: completion in history, the last change otherwise. */
export function dateField(view) {
  return view === "history" ? "completedAt" : "updatedAt";
}

/** Date inputs hold local calendar days; the API wants instants. */
export function dayStart(day) {
  return new Date(`${day}T00:00:00`).toISOString();
}
export function dayEnd(day) {
  return new Date(`${day}T23:59:59.999`).toISOString();
}

/**
 * The API query for the filters and a scope (`active`, `finished`, or `all` for deltas); `types`
 * (a list) stands in for the type filter of a grouped section.
 */
export function query(f, scope, types = null) {
  const p = new URLSearchParams();
  if (types) p.set("type", types.join(","));
  else if (f.type) p.set("type", f.type);
  if (f.status && scope !== "all") p.set("status", f.status);
  p.set("scope", scope);
  p.set("order", scope === "finished" ? "completed" : "created");
  if (f.from || f.to) {
    p.set("dateField", dateField(f.view));
    if (f.from) p.set("from", dayStart(f.from));
    if (f.to) p.set("to", dayEnd(f.to));
  }
  if (f.q) p.set("q", f.q);
  return p;
}

/**
 * The requests of one page: every active job on the first page (none when the status filter is
 * a final one), then a page of finished jobs after `cursor` (none when it is an active one).
 * `part` is which section of a grouped "recent" asks: `outcomes` (every active job, finished
 * ones of the outcome types) or `routine` (finished routine jobs only); `all` otherwise.
 */
export function pageRequests(f, cursor, part = "all") {
  const out = [];
  const finalFilter = f.status && FINAL.includes(f.status);
  const activeFilter = f.status && ACTIVE.includes(f.status);
  if (f.view !== "history" && !cursor && !finalFilter && part !== "routine") {
    const params = query(f, "active");
    params.set("limit", String(PAGE.active));
    out.push({ scope: "active", params });
  }
  if (!activeFilter) {
    const types = part === "outcomes" ? OUTCOME_TYPES : part === "routine" ? ROUTINE : null;
    const params = query(f, "finished", types);
    params.set("limit", String(f.view === "history" ? PAGE.history : PAGE.recent));
    if (cursor) params.set("cursor", cursor);
    out.push({ scope: "finished", params });
  }
  return out;
}

/**
 * Every job changed since `since`, whatever its status and type: a job leaving the view is
 * noticed, and the counts above the views cover every type.
 */
export function deltaRequest(f, since) {
  const params = query(f, "all");
  params.delete("type");
  params.set("updatedSince", since);
  params.set("limit", "500");
  return params;
}

/** The export of the current filters. */
export function exportRequest(f, format) {
  const params = query(f, f.view === "history" ? "finished" : "all");
  params.set("format", format);
  return params;
}

/** Whether a job belongs in the view, or in its section `part` (a job arriving by Realtime, a delta or an answer). */
export function matches(job, f, part = "all") {
  const routineDone = FINAL.includes(job.status) && ROUTINE.includes(job.type);
  if (part === "outcomes" && routineDone) return false;
  if (part === "routine" && !routineDone) return false;
  if (f.type && job.type !== f.type) return false;
  if (f.status && job.status !== f.status) return false;
  if (f.view === "history" && !FINAL.includes(job.status)) return false;
  if (f.q && !found(job, f.q)) return false;
  const at = job[dateField(f.view)];
  if (f.from && (!at || at < dayStart(f.from))) return false;
  if (f.to && (!at || at > dayEnd(f.to))) return false;
  return true;
}

/**
 * The list's order: active jobs first (newest first), then finished ones by completion (newest
 * first); ties as the server pages them (id descending), so a tie sorts as it was paged.
 */
export function compare(a, b) {
  const aActive = ACTIVE.includes(a.status);
  const bActive = ACTIVE.includes(b.status);
  if (aActive !== bActive) return aActive ? -1 : 1;
  const ka = aActive ? a.createdAt || "" : a.completedAt || "";
  const kb = bActive ? b.createdAt || "" : b.completedAt || "";
  if (ka !== kb) return ka < kb ? 1 : -1;
  return a.$id < b.$id ? 1 : a.$id > b.$id ? -1 : 0;
}

const rev = (job) => job.rev ?? 0;

/** Whether `job` replaces `known` (the copy held): a newer write, or the same one in another status. */
function replaces(job, known) {
  if (!known) return true;
  return rev(job) > rev(known) || (rev(job) === rev(known) && job.status !== known.status);
}

/**
 * The jobs the view holds for filters `f`. `loadedAt` (an ISO instant) is when the view opened:
 * a job first seen finished is announced only if it finished after that. `part` is the section
 * of a grouped "recent" this state holds (`pageRequests`), `all` otherwise.
 */
export function createListState(f, { loadedAt, part = "all" }) {
  const jobs = new Map();
  const announced = new Set();
  let cursor = null;
  let serverTime = null;
  // Until the first page is answered whole, nobody knows where it ends: a finished job never
  // held that arrives meanwhile (a catch-up, a Realtime row) waits here and is judged then.
  let paged = false;
  const waiting = new Map();

  /** The job to announce as completed or failed, once, only when it finished in front of us. */
  function announce(job, knownStatus) {
    if (!["COMPLETED", "FAILED"].includes(job.status) || announced.has(job.$id)) return null;
    const fresh = knownStatus ? !FINAL.includes(knownStatus) : (job.completedAt || "") >= loadedAt;
    if (!fresh) return null;
    announced.add(job.$id);
    return job;
  }

  /** Whether a finished job never shown sorts after every loaded finished one: it belongs to a page not loaded yet. */
  function pastLoadedPage(job) {
    if (!cursor || ACTIVE.includes(job.status)) return false;
    let last = null;
    for (const j of jobs.values()) if (!ACTIVE.includes(j.status) && (!last || compare(j, last) > 0)) last = j;
    return last !== null && compare(job, last) > 0;
  }

  return {
    filters: f,
    /** The next page's cursor (null: every finished job the view shows is loaded). */
    get cursor() {
      return cursor;
    },
    /** Where the next delta starts (null until a page was answered). */
    get serverTime() {
      return serverTime;
    },
    get: (id) => jobs.get(id),
    size: () => jobs.size,

    /** A page's answer: its jobs are in the view; a copy older than one held is not taken. */
    page(answer) {
      for (const job of answer.jobs) if (replaces(job, jobs.get(job.$id))) jobs.set(job.$id, job);
      // The next delta starts from the answer's `updatedSince` (it reaches back over writes still
      // in flight; docs/actions.md, Polling), or its `serverTime` from an older job-actions.
      if (!serverTime) serverTime = answer.updatedSince || answer.serverTime || null;
    },
    /**
     * Every request of a page answered: `next` is the finished page's cursor. The finished jobs
     * that arrived meanwhile are judged now; returns those to announce.
     */
    paged(next) {
      cursor = f.view === "history" ? null : next || null;
      paged = true;
      const held = [...waiting.values()];
      waiting.clear();
      return held.map((job) => this.apply(job)).filter(Boolean);
    },
    /** A delta's answer; returns the jobs to announce as completed or failed. */
    delta(answer) {
      serverTime = answer.updatedSince || answer.serverTime || serverTime;
      return answer.jobs.map((job) => this.apply(job)).filter(Boolean);
    },
    /**
     * A changed job from a Realtime row, a delta or an action's answer, in any order and any
     * number of times: an older copy than the one held changes nothing; a job that no longer
     * matches the filters leaves; a finished one past the loaded page stays out. Returns the
     * job if it is to be announced as completed or failed, else null.
     */
    apply(job) {
      const known = jobs.get(job.$id);
      if (known && rev(job) < rev(known)) return null;
      if (!paged && !known && !ACTIVE.includes(job.status)) {
        const waits = waiting.get(job.$id);
        if (!waits || rev(job) >= rev(waits)) waiting.set(job.$id, job);
        return null;
      }
      const notice = announce(job, known && known.status);
      if (!matches(job, f, part)) jobs.delete(job.$id);
      else if ((known || !pastLoadedPage(job)) && replaces(job, known)) jobs.set(job.$id, job);
      return notice;
    },
    /** The jobs in the order shown; history keeps only its last 100 and forgets the rest. */
    ordered() {
      const list = [...jobs.values()].sort(compare);
      if (f.view === "history" && list.length > PAGE.history) for (const j of list.splice(PAGE.history)) jobs.delete(j.$id);
      return list;
    },
  };
}
