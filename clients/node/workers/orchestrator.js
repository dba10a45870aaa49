// Reference `orchestrator` (Appwrite Node function): sends a campaign in batches and reports it
// to Job Manager as a CAMPAIGN_RUN job. Lines marked `[job-manager]` are the ones to copy into
// the real function; the rest stands in for its own code (standins.js).
//
// Exactly once: before sending a batch the worker reports a checkpoint *past* that batch and
// sends only if the answer is `continue`. A pause therefore stops it before the next batch
// (it confirms with the checkpoint of what it really sent), and a resume, whose new run starts
// from the stored checkpoint, never resends a batch the old run may still be sending: the old
// run's next call is answered `cancel` (a superseded run) and it stops. The hook stores a
// progress call's checkpoint when the percent moves (or a second passed, docs/hooks.md
// § Coalescing), so a batch is at least 1% of the campaign and the claim reports the batch's
// end as done: every claim moves the percent and is stored.
import { HOOKS, JobTracker, retriggerOf } from '@pivotr/job-manager-client'; // [job-manager]
import { leadsOf, mailer } from './standins.js';


export default async function orchestrator({ req, res, log, error }) {
  const retrigger = retriggerOf(req); // [job-manager] a resume or retry re-triggered us
  const campaignId = retrigger?.referenceId ?? req.bodyJson.campaignId;
  const leads = leadsOf(campaignId, req.bodyJson.count ?? 200);
  const batch = Math.max(10, Math.ceil(leads.length / 100));

  // [job-manager] start (or pick up) the campaign's job; `checkpoint` says where to continue
  const tracker = JobTracker.fromContext({ req, error }, HOOKS.CAMPAIGN_RUN, { caller: 'orchestrator' });
  await tracker.start({ retrigger, referenceId: campaignId, total: leads.length, message: `sending ${leads.length} emails` });
  let cursor = tracker.checkpoint?.cursor ?? 0;

  while (cursor < leads.length) {
    const next = Math.min(cursor + batch, leads.length);
    // [job-manager] claim the batch, learn whether to go on
    await tracker.progress(
      { done: next, message: `${cursor}/${leads.length} emails sent`, checkpoint: { cursor: next } },
      { force: true },
    );
    if (tracker.control === 'pause') { // [job-manager]
      await tracker.paused({ cursor }, `paused after ${cursor} emails`); // [job-manager]
      log(`paused at ${cursor}`);
      return res.json({ paused: cursor, tracking: tracker.stats, jobId: tracker.jobId });
    }
    if (tracker.control === 'cancel') { // [job-manager]
      log(`stopped at ${cursor}`);
      return res.json({ stopped: cursor, tracking: tracker.stats, jobId: tracker.jobId });
    }
    for (const lead of leads.slice(cursor, next)) await mailer.send(campaignId, lead);
    cursor = next;
  }
  const sent = mailer.sent.filter((s) => s.campaignId === campaignId).length;
  await tracker.complete({ sent, failed: 0, bounced: 0 }, `${leads.length}/${leads.length} emails sent`); // [job-manager]
  return res.json({ completed: leads.length, tracking: tracker.stats, jobId: tracker.jobId });
}
