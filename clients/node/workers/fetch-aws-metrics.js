// Reference `fetch-aws-metrics` (Appwrite Node function): one short METRICS_FETCH job per run,
// keyed by the execution id so a redelivered execution never makes a second job. Lines marked
// `[job-manager]` are the ones to copy; AWS is a stand-in (standins.js).
import { HOOKS, JobTracker } from '@pivotr/job-manager-client'; // [job-manager]
import { aws } from './standins.js';

export default async function fetchAwsMetrics({ req, res, error }) {
  const executionId = req.headers['x-appwrite-execution-id'];
  const tracker = JobTracker.fromContext({ req, error }, HOOKS.METRICS_FETCH, { caller: 'fetch-aws-metrics' }); // [job-manager]
  await tracker.start({ referenceId: 'aws-metrics', idempotencyKey: `metrics-fetch:${executionId}` }); // [job-manager]
  if (tracker.control !== 'continue') return res.json({ skipped: tracker.control, jobId: tracker.jobId }); // [job-manager] already done (a redelivery) or cancelled
  try {
    const quota = await aws.sendQuota(executionId);
    await tracker.complete(quota, 'AWS sending statistics fetched'); // [job-manager]
    return res.json({ quota, jobId: tracker.jobId });
  } catch (e) {
    await tracker.fail(e); // [job-manager]
    throw e;
  }
}
