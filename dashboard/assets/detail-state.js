// The state of a job's page (`{base}/:id`), without the page: no DOM, no request, so
// `testing/browser/detail-state.test.mjs` checks it in Node. It holds the job and its log as the
// API answered them and as Realtime rows changed them since: the job at the newest revision seen
// (an answer that left before a row arrived is older, and dropped), the log entries merged by id
// in time order from three sources (the answer, the `pendingLog` outbox a `jobs` row carries,
// `job_events` rows), and the moment to announce a completion or failure. The view (detail.js)
// draws `data` and forwards `observe` to the counts (derive.js `createCounts`).

import { FINAL, fromEventRow, fromRow, pendingEntries, statusBefore } from "./derive.js";

/** Log entries in time order (entries of the same instant keep the order they came in). */
export function byTime(a, b) {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : 0;
}

/** `events` with the entries of `added` whose id it does not hold yet, in time order. */
export function mergeEntries(events, added) {
  const known = new Set(events.map((e) => e.$id));
  const fresh = added.filter((e) => !known.has(e.$id));
  return fresh.length ? [...events, ...fresh].sort(byTime) : events;
}

/**
 * `events` with `entry` (a `job_events` row's) added; an entry already held is replaced only
 * when the row's outbox kept it without its details (too large for the row): the `job_events`
 * row carries them in full. Returns `events` itself when nothing changes.
 */
export function withEntry(events, entry) {
  const known = events.find((e) => e.$id === entry.$id);
  if (known && !(known.details && known.details.omitted)) return events;
  return [...events.filter((e) => e.$id !== entry.$id), entry].sort(byTime);
}

const rev = (job) => job.rev ?? 0;

/**
 * The page of job `id`: `answer(next)` for the API's answer, `row(payload)` for a Realtime row of
 * the `jobs` table or of `eventsTableId`. Each returns `{changed, notice, observe}`: whether the
 * page must be drawn again, the job to announce as completed or failed (else null), and the job
 * state (`{job, before}`) the counts should see (else null).
 */
export function createDetailState(id, eventsTableId) {
  let data = null;
  let shownStatus = null;
  const nothing = { changed: false, notice: null, observe: null };

  /** Takes `next` as what the page shows; a job that finishes in front of us is announced. */
  function show(next, observe) {
    const job = next.job;
    const notice = shownStatus && !FINAL.includes(shownStatus) && ["COMPLETED", "FAILED"].includes(job.status) ? job : null;
    shownStatus = job.status;
    data = next;
    return { changed: true, notice, observe };
  }

  function entryRow(payload) {
    const entry = fromEventRow(payload);
    if (entry.jobId !== id) return nothing;
    const events = withEntry(data.events, entry);
    return events === data.events ? nothing : show({ ...data, events }, null);
  }

  function jobRow(payload) {
    const job = fromRow(payload);
    if (rev(job) < rev(data.job)) return nothing;
    const merged = { ...data.job, ...job };
    const added = pendingEntries(payload).filter((e) => e.jobId === id);
    return show({ ...data, job: merged, events: mergeEntries(data.events, added) }, { job: merged, before: statusBefore(payload) });
  }

  return {
    /** What the page shows (`{job, events, auditLogUrl}`), null until the first answer. */
    get data() {
      return data;
    },
    /** The API's answer; one older than the job shown (it left before a row arrived) is dropped. */
    answer(next) {
      if (data && rev(next.job) < rev(data.job)) return nothing;
      return show(next, { job: next.job, before: null });
    },
    /** A Realtime row: a log entry of this job, or this job's row. Ignored before the first answer. */
    row(payload) {
      if (!data) return nothing;
      if (payload.$tableId === eventsTableId || "eventId" in payload) return entryRow(payload);
      if (payload.$id === id) return jobRow(payload);
      return nothing;
    },
  };
}
