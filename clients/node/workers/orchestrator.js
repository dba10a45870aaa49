// Reference `orchestrator` (Appwrite Node function): sends a campaign in batches and reports it
// to Job Manager as a CAMPAIGN_RUN job. Lines marked `[job-manager]` are the ones to copy into
// the real function; the rest stands in for its own code (standins.js).
//
// Exactly once (docs/hooks.md § Exactly once): before sending a batch the worker *claims* it
// (`done` = what is sent, `claimed` = the batch's end, a checkpoint past the batch carrying the
// counts as of its end) and sends only when the answer is `continue`. The hook stores a claim
// only when it answers `continue`, so a pause leaves the resume point before the batch, and a
// resume starts after the last batch some run was allowed to send: that run's next call is
// answered `cancel` (superseded) and it stops. Counts travel in the checkpoint, so `complete`
// reports the whole campaign whichever runs sent it. A retry (a failed job, e.g. a worker that
// died mid-batch) first re-visits the failed job's unconfirmed claims, skipping every recipient
// that already has its "sent" mark.
import { HOOKS, JobTracker, retriggerOf } from '@pivotr/job-manager-client'; // [job-manager]
import { mailer, recipientsOf } from './standins.js';

export default async function orchestrator({ req, res, log, error }) {
  const retrigger = retriggerOf(req); // [job-manager] a resume or retry re-triggered us
  const campaignId = retrigger?.referenceId ?? req.bodyJson.campaignId;
  const leads = recipientsOf(campaignId);
  // Any batch size is correct (every claim is stored); ≥ 1% keeps it to ~100 hook calls.
  const batch = Math.max(10, Math.ceil(leads.length / 100));

  // [job-manager] start (or pick up) the campaign's job; stop at once unless told to go on
  // (a paused job's start answers `pause` with a run that is not ours: no further call).
  const tracker = JobTracker.fromContext({ req, error }, HOOKS.CAMPAIGN_RUN, { caller: 'orchestrator' });
  const control = await tracker.start({
    retrigger,
    referenceId: campaignId,
    total: leads.length,
    message: `sending ${leads.length} emails`,
    // One job per campaign send, even when the trigger is delivered twice or races itself; a
    // resume or retry names its job instead (docs/adopting.md § 3).
    idempotencyKey: retrigger ? undefined : `campaign:${campaignId}`,
  });
  if (control !== 'continue') return res.json({ skipped: control, jobId: tracker.jobId });
  // [job-manager] where the job left off, the counts so far, and batches to re-visit
  let { cursor = 0, sent = 0, redo = retrigger?.unconfirmed ?? [] } = tracker.checkpoint ?? {};
  redo = ranges(redo, cursor); // from the cursor on, the loop below sends anyway

  const stop = async (/** @type {any} */ checkpoint, /** @type {number} */ at) => { // [job-manager]
    if (tracker.control === 'pause') {
      await tracker.paused(checkpoint, `paused after ${at} emails`);
      log(`paused at ${at}`);
      return res.json({ paused: at, tracking: tracker.stats, jobId: tracker.jobId });
    }
    log(`stopped at ${at}`);
    return res.json({ stopped: at, lost: tracker.lost, tracking: tracker.stats, jobId: tracker.jobId });
  };

  // [job-manager] a retry: batches of the failed job that may have been cut mid-way, each
  // claimed like any batch; only recipients without a "sent" mark are sent (already counted).
  while (redo.length) {
    const [{ from, to }, ...rest] = redo;
    const answer = await tracker.claim({ done: from, claimed: to, message: `re-visiting ${from}–${to}`, checkpoint: { cursor, sent, redo: rest } });
    if (answer !== 'continue') return stop({ cursor, sent, redo }, cursor);
    for (const lead of leads.slice(from, to)) if (!mailer.wasSent(campaignId, lead)) await mailer.send(campaignId, lead);
    redo = rest;
  }

  while (cursor < leads.length) {
    const next = Math.min(cursor + batch, leads.length);
    // [job-manager] claim the batch; send it only on `continue`
    const answer = await tracker.claim({
      done: cursor,
      claimed: next,
      message: `${cursor}/${leads.length} emails sent`,
      checkpoint: { cursor: next, sent: sent + (next - cursor) },
    });
    if (answer !== 'continue') return stop({ cursor, sent }, cursor); // [job-manager]
    for (const lead of leads.slice(cursor, next)) await mailer.send(campaignId, lead);
    sent += next - cursor;
    cursor = next;
  }
  // [job-manager] the counts came across runs in the checkpoint
  await tracker.complete({ sent, failed: 0, bounced: 0 }, `${sent}/${leads.length} emails sent`, { cursor, sent });
  return res.json({ completed: sent, lost: tracker.lost, tracking: tracker.stats, jobId: tracker.jobId });
}

/**
 * Unconfirmed ranges cut to `[0, n)`, sorted and merged: a run's claims must come in ascending
 * order, or the hook takes a later one for a delayed repeat of an earlier one and stores nothing.
 * @param {Array<{from: number, to: number}>} list
 * @param {number} n
 */
function ranges(list, n) {
  const sorted = list
    .map(({ from, to }) => ({ from: Math.max(0, Math.min(from, n)), to: Math.max(0, Math.min(to, n)) }))
    .filter((r) => r.from < r.to)
    .sort((a, b) => a.from - b.from || a.to - b.to);
  const merged = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r.from <= last.to) last.to = Math.max(last.to, r.to);
    else merged.push({ ...r });
  }
  return merged;
}
