// Reference `bulk-verify-leads` (Appwrite Node function): verifies one batch of a lead list and
// reports it as a BULK_VERIFY job with valid / invalid / risky / unknown counts. Lines marked
// `[job-manager]` are the ones to copy; the verifier is a stand-in (standins.js).
//
// The checkpoint carries the cursor *and* the counts so far, so a retry of a failed batch
// (re-triggered with the failed job's checkpoint) continues where it stopped and its final
// counts add up to the whole list.
import { HOOKS, JobTracker, retriggerOf } from '@pivotr/job-manager-client'; // [job-manager]
import { leadsOf, verifier } from './standins.js';

const STEP = 25;

export default async function bulkVerifyLeads({ req, res, error }) {
  const retrigger = retriggerOf(req); // [job-manager]
  const body = req.bodyJson;
  const listId = retrigger?.referenceId ?? body.listId;
  const leads = leadsOf(listId, body.count ?? 300);

  const tracker = JobTracker.fromContext({ req, error }, HOOKS.BULK_VERIFY, { caller: 'bulk-verify-leads' }); // [job-manager]
  await tracker.start({ // [job-manager]
    retrigger,
    referenceId: listId,
    total: leads.length,
    idempotencyKey: retrigger ? undefined : `bulk-verify:${listId}:${body.batchId}`,
  });
  let cursor = tracker.checkpoint?.cursor ?? 0; // [job-manager]
  const counts = { valid: 0, invalid: 0, risky: 0, unknown: 0, ...tracker.checkpoint?.counts }; // [job-manager]
  let done = cursor; // leads verified so far, and their counts: the exact point to retry from
  let doneCounts = { ...counts };

  try {
    while (cursor < leads.length) {
      if (tracker.control !== 'continue') { // [job-manager]
        if (tracker.control === 'pause') await tracker.paused({ cursor, counts }); // [job-manager]
        return res.json({ stopped: cursor, counts });
      }
      const next = Math.min(cursor + STEP, leads.length);
      for (let i = cursor; i < next; i += 1) {
        counts[await verifier.verify(listId, leads[i], i)] += 1;
        done = i + 1;
        doneCounts = { ...counts };
      }
      cursor = next;
      await tracker.progress( // [job-manager]
        { done: cursor, message: `${cursor}/${leads.length} leads verified`, checkpoint: { cursor, counts } },
        { force: true },
      );
    }
  } catch (e) {
    await tracker.fail(e, counts, { cursor: done, counts: doneCounts }); // [job-manager] partial counts, where to retry from
    return res.json({ failed: String(e), cursor, counts }, 500);
  }
  await tracker.complete(counts, `${leads.length} leads verified`); // [job-manager]
  return res.json({ completed: counts, tracking: tracker.stats });
}
