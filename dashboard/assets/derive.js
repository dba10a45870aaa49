// What the dashboard shows about a job that is not stored: duration, ETA and the actions the
// state machine allows, computed here for every job whatever its source (the action API's
// answer or a Realtime row), and the conversion of a raw `jobs` / `job_events` row (as a
// Realtime event carries it) into the API's shape, and the counts per status moved once per
// status change whatever the source (`createCounts`). The Rust originals are `Job::duration_ms`,
// `Job::eta_ms` (shared/src/job/mod.rs) and `view::actions` (functions/job-actions/src/view.rs);
// `testing/browser/derive.test.mjs` checks this file against the API's answers.

export const ACTIVE = ["QUEUED", "RUNNING", "PAUSED"];
export const FINAL = ["COMPLETED", "FAILED", "CANCELLED"];

/** The same instant as the API writes it: RFC 3339 UTC with milliseconds (`…:05.000Z`). */
export function iso(value) {
  if (value === null || value === undefined || value === "") return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? String(value) : new Date(t).toISOString();
}

/** A JSON column as stored (`{"v":1,"data":…}` text, docs/appwrite-store.md) to its value. */
export function unwrap(value) {
  if (typeof value !== "string") return value === undefined ? null : value;
  try {
    const parsed = JSON.parse(value);
    return parsed && typeof parsed === "object" && "data" in parsed ? parsed.data : parsed;
  } catch (e) {
    return null;
  }
}

/**
 * The stored form of free text undone: the Appwrite store writes text that Appwrite would read as
 * an operator (and text already starting with the mark) with one U+2060 WORD JOINER in front
 * (`TEXT_ESCAPE` / `escape_text` in shared/src/store/appwrite/row.rs). As `unescape_text` there: one
 * leading U+2060 is removed, exactly one, and nothing else; a value that is not text is kept.
 * Realtime carries the stored value, so every reader of a row (`progressMessage`,
 * `errorMessage`, `lastReason`, an event's `message`) passes through here; the API's answer is
 * already unescaped and never does.
 */
export const TEXT_ESCAPE = "\u2060";
export function unescapeText(stored) {
  return typeof stored === "string" && stored.startsWith(TEXT_ESCAPE) ? stored.slice(TEXT_ESCAPE.length) : stored;
}
/** The `jobs` columns the store escapes (`plain` in `encode_job`). */
const ESCAPED_TEXT = ["progressMessage", "errorMessage", "lastReason"];

const TIMES = ["startedAt", "updatedAt", "completedAt", "createdAt", "heartbeatAt"];
/** Columns that exist only for the store (revision bookkeeping, the log outbox). */
const STORE_ONLY = ["pendingLog", "$sequence", "$permissions", "$databaseId", "$tableId", "$collectionId", "$createdAt", "$updatedAt"];

/** A `jobs` row to the API's job fields (before `derive`). */
export function fromRow(row) {
  const job = {};
  for (const [k, v] of Object.entries(row)) if (!STORE_ONLY.includes(k)) job[k] = v;
  for (const k of TIMES) if (k in job) job[k] = iso(job[k]);
  for (const k of ESCAPED_TEXT) if (k in job) job[k] = unescapeText(job[k]);
  job.metadata = unwrap(row.metadata) || {};
  job.result = unwrap(row.result);
  job.checkpoint = unwrap(row.checkpoint);
  // Batches in flight: absent from the API's answer when there are none, but always set here, so
  // a row whose claims were confirmed replaces the claims a page shows.
  const claims = unwrap(row.claims);
  job.claims = Array.isArray(claims) ? claims : [];
  return job;
}

/** A `job_events` row (or a `pendingLog` entry) to the API's event shape. */
export function fromEventRow(row) {
  return {
    $id: row.eventId || row.$id,
    jobId: row.jobId,
    at: iso(row.at),
    kind: row.kind,
    actor: row.actor,
    message: unescapeText(row.message ?? null),
    fromStatus: row.fromStatus ?? null,
    toStatus: row.toStatus ?? null,
    details: unwrap(row.details) || {},
  };
}

/**
 * The log entries a `jobs` row carries in its `pendingLog` outbox (the newest ones, written with
 * the change; docs/appwrite-store.md), in the API's event shape: on Appwrite they reach
 * `job_events` only when the outbox is cut, so a live log reads them from the row's event.
 */
export function pendingEntries(row) {
  const list = unwrap(row.pendingLog);
  return Array.isArray(list) ? list.map(fromEventRow) : [];
}

export function durationMs(job, now = Date.now()) {
  if (!job.startedAt) return null;
  const end = job.completedAt ? Date.parse(job.completedAt) : now;
  return Math.max(0, end - Date.parse(job.startedAt));
}

export function etaMs(job, now = Date.now()) {
  if (job.status !== "RUNNING" || !(job.progress > 0) || job.progress >= 100) return null;
  const elapsed = durationMs(job, now);
  if (elapsed === null) return null;
  // Integer arithmetic as in Rust (`elapsed * (100 - p) / p`).
  return Math.trunc((elapsed * (100 - job.progress)) / job.progress);
}

/** The state machine's legal actions (shared/src/job/mod.rs `transition`), plus retry of a failed or cancelled job. */
export function legalActions(status) {
  return {
    QUEUED: ["pause", "cancel"],
    RUNNING: ["pause", "cancel"],
    PAUSED: ["resume", "cancel"],
    FAILED: ["retry"],
    CANCELLED: ["retry"],
  }[status] || [];
}

/** Who acted, as people read it: a user's name without its `user:` prefix, other actors as stored. */
export function actorName(actor) {
  if (!actor) return "";
  return String(actor).startsWith("user:") ? String(actor).slice(5) : String(actor);
}

/**
 * A stop as it really stands (docs/dashboard.md § Honest states). A pause takes effect when the
 * worker confirms it: until then the job is PAUSED but its run still holds the worker's
 * execution (`executionId`, cleared by the worker's `paused` call or by the observer seeing that
 * execution end: `Job::apply` in shared/src/job/mod.rs), so it is "Pausing…". A job whose worker
 * never reported an execution id counts as stopped. A cancel is final at once (the worker is told
 * at its next report), so it is never pending. Returns `{label, pending, by}`: the badge's
 * words, whether the worker has yet to stop, and "by ana: SES quota" (empty when nobody is known).
 */
export function stopState(job) {
  const who = actorName(job.lastActor);
  const by = who ? `by ${who}${job.lastReason ? `: ${job.lastReason}` : ""}` : "";
  if (job.status === "PAUSED") {
    const pending = Boolean(job.executionId);
    return { label: pending ? "Pausing…" : "Paused", pending, by };
  }
  if (job.status === "CANCELLED") return { label: "Cancelled", pending: false, by };
  const label = job.status ? job.status.charAt(0) + job.status.slice(1).toLowerCase() : "";
  return { label, pending: false, by: "" };
}

/** The job with its derived fields for a caller who may (`canAct`) or may not act. */
export function derive(job, canAct, now = Date.now()) {
  return { ...job, durationMs: durationMs(job, now), etaMs: etaMs(job, now), actions: canAct ? legalActions(job.status) : [] };
}

// The counts per status above every view are read once from the summary and then moved by every
// job state the page sees: an action's answer, the Realtime echo of the same write, a polled
// delta, a page. Those come in any order and any number of times (on jobs-dev the echo usually
// comes before the answer, on Appwrite after it), so the counts remember, per job, the state
// they count it in: its status and `rev`, which every write increments (`mutate_from`,
// shared/src/usecase/mod.rs). Only a newer revision moves a job, and only if its status changed.

/**
 * The status the write of a `jobs` row left, from the log entries written with it (the
 * `pendingLog` entries of the row's own `rev`, docs/appwrite-store.md); null when it does not say.
 */
export function statusBefore(row) {
  const entries = unwrap(row.pendingLog);
  if (!Array.isArray(entries)) return null;
  const entry = entries.find((e) => e && e.jobRev === row.rev && typeof e.fromStatus === "string");
  return entry ? entry.fromStatus : null;
}

/**
 * How the counts move when `next` (a job: `status`, `rev`, `createdAt`, `updatedAt`) arrives
 * while they count it as `known` (`{status, rev, updatedAt}`; undefined for a job never seen).
 * `countsAt` is when the counts were read (the summary's `serverTime`), `before` the status the
 * write of `next` left when its source says (`statusBefore`). Returns the state to remember, the
 * moves (`{STATUS: ±1}`) and when what they count happened (`at`). A job never seen is in the counts already, in a status unknown
 * here, unless it was created after they were read (a new job, a retry's) or its write, made
 * after they were read, says what it left.
 */
export function countMove(known, next, countsAt, before = null) {
  const seen = { status: next.status, rev: Number(next.rev) || 0, updatedAt: next.updatedAt || null };
  if (known) {
    // The same write again (an answer and its echo), or one older than the counted state.
    if (seen.rev <= known.rev) return { known, delta: {}, at: null };
    const delta = known.status === seen.status ? {} : { [known.status]: -1, [seen.status]: 1 };
    return { known: seen, delta, at: seen.updatedAt };
  }
  const after = (at) => countsAt != null && at != null && Date.parse(at) > Date.parse(countsAt);
  if (after(next.createdAt)) return { known: seen, delta: { [seen.status]: 1 }, at: next.createdAt };
  if (before && before !== seen.status && after(next.updatedAt)) {
    return { known: seen, delta: { [before]: -1, [seen.status]: 1 }, at: seen.updatedAt };
  }
  return { known: seen, delta: {}, at: null };
}

/**
 * The counts per status and what they remember, without IO: `reading()` when a summary is
 * asked for, then `load(answer)` or `failed()`; `observe(job, before)` for every job state seen
 * (true when a count moved); `totals()` (null until loaded); `forget()` what a view that is
 * gone saw, since nothing kept it current.
 */
export function createCounts() {
  let totals = null;
  let countsAt = null;
  const known = new Map();
  // Moves seen while a summary is being read: its answer may have been read before them.
  let reads = 0;
  let moves = [];
  const add = (delta) => {
    for (const [status, n] of Object.entries(delta)) totals[status] = (totals[status] || 0) + n;
  };
  const settled = () => {
    reads = Math.max(0, reads - 1);
    if (reads === 0) moves = [];
  };
  return {
    totals: () => (totals ? { ...totals } : null),
    /** How many jobs are remembered. */
    size: () => known.size,
    reading() {
      reads += 1;
    },
    load(answer) {
      totals = Object.fromEntries([...ACTIVE, ...FINAL].map((s) => [s, 0]));
      for (const c of (answer && answer.counts) || []) totals[c.status] = (totals[c.status] || 0) + c.count;
      countsAt = (answer && answer.serverTime) || null;
      const at = Date.parse(countsAt);
      for (const m of moves) if (Date.parse(m.at) > at) add(m.delta);
      // A finished job never changes again, and a copy of it arriving later is recognised as
      // counted by its time: once the counts were read after its last write, forget it.
      for (const [id, k] of known) if (FINAL.includes(k.status) && Date.parse(k.updatedAt) <= at) known.delete(id);
      settled();
    },
    failed: settled,
    forget() {
      known.clear();
    },
    observe(job, before = null) {
      const { known: state, delta, at } = countMove(known.get(job.$id), job, countsAt, before);
      known.set(job.$id, state);
      if (Object.keys(delta).length === 0) return false;
      if (reads > 0) moves.push({ delta, at });
      if (!totals) return false;
      add(delta);
      return true;
    },
  };
}
