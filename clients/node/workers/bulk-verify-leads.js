// Reference `bulk-verify-leads` (Appwrite Node function): verifies one batch of a lead list and
// reports it as a BULK_VERIFY job with valid / invalid / risky / unknown counts. Lines marked
// `[job-manager]` are the ones to copy; the verifier is a stand-in (standins.js).
//
// The checkpoint carries the cursor *and* the counts, so a resumed or retried job continues
// where it stopped and its final counts add up to the whole list. A step's verdicts are only
// known after asking the verifier, so the step is verified first (a query: asking again after a
// pause costs verifier credits, nothing else), then claimed with the counts as of its end, and
// counted only when the claim is answered `continue` (docs/hooks.md § Exactly once).
import { HOOKS, JobTracker, retriggerOf } from '@pivotr/job-manager-client'; // [job-manager]
import { leadsOf, verifier } from './standins.js';

const STEP = 25;

export default async function bulkVerifyLeads({ req, res, error }) {
  const retrigger = retriggerOf(req); // [job-manager]
  const body = req.bodyJson;
  const listId = retrigger?.referenceId ?? body.listId;
  const leads = leadsOf(listId, body.count ?? 300);

  const tracker = JobTracker.fromContext({ req, error }, HOOKS.BULK_VERIFY, { caller: 'bulk-verify-leads' }); // [job-manager]
  const control = await tracker.start({ // [job-manager]
    retrigger,
    referenceId: listId,
    total: leads.length,
    idempotencyKey: retrigger ? undefined : `bulk-verify:${listId}:${body.batchId}`,
  });
  if (control !== 'continue') return res.json({ skipped: control, jobId: tracker.jobId }); // [job-manager] no further call
  let cursor = tracker.checkpoint?.cursor ?? 0; // [job-manager]
  let counts = { valid: 0, invalid: 0, risky: 0, unknown: 0, ...tracker.checkpoint?.counts }; // [job-manager]

  while (cursor < leads.length) {
    const next = Math.min(cursor + STEP, leads.length);
    const step = { ...counts };
    for (let i = cursor; i < next; i += 1) {
      try {
        step[await verifier.verify(listId, leads[i], i)] += 1;
      } catch (e) {
        // [job-manager] partial counts and the exact lead to retry from
        await tracker.fail(e, step, { cursor: i, counts: step });
        return res.json({ failed: String(e), cursor: i, counts: step }, 500);
      }
    }
    const answer = await tracker.claim({ // [job-manager] count the step only on `continue`
      done: cursor,
      claimed: next,
      message: `${next}/${leads.length} leads verified`,
      checkpoint: { cursor: next, counts: step },
    });
    if (answer !== 'continue') { // [job-manager]
      if (answer === 'pause') await tracker.paused({ cursor, counts }); // [job-manager]
      return res.json({ stopped: cursor, counts });
    }
    counts = step;
    cursor = next;
  }
  await tracker.complete(counts, `${leads.length} leads verified`, { cursor, counts }); // [job-manager]
  return res.json({ completed: counts, tracking: tracker.stats });
}
