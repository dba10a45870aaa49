// Reference `sqs-poller` (scheduled Appwrite Node function): one long-lived SQS_POLL job across
// all its scheduled runs. Each run's `start` finds the active polling job (or creates one); a
// paused job answers `pause` and the run skips polling; otherwise it polls and heartbeats.
// Lines marked `[job-manager]` are the ones to copy; SQS is a stand-in (standins.js).
import { HOOKS, JobTracker } from '@pivotr/job-manager-client'; // [job-manager]
import { sqs } from './standins.js';

export default async function sqsPoller({ req, res, log, error }) {
  const tracker = JobTracker.fromContext({ req, error }, HOOKS.SQS_POLL, { caller: 'sqs-poller' }); // [job-manager]
  await tracker.start({ referenceId: 'sqs-poller', message: 'polling' }); // [job-manager] no idempotency key
  if (tracker.control !== 'continue') { // [job-manager] paused (or final): skip this run
    log(`skipped: ${tracker.control}`);
    return res.json({ skipped: tracker.control });
  }
  const received = await sqs.receive();
  await tracker.heartbeat(`processed ${received} messages`, { // [job-manager] this run's figures
    messagesProcessed: received,
    lastPollAt: new Date().toISOString(),
  });
  return res.json({ received, jobId: tracker.jobId });
}
