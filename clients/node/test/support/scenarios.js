// The adoption scenarios, each a function that drives the reference workers against a real
// jobs-dev and answers the problems it found (empty when the scenario held). The scenario
// tests assert no problems; control-matters.test.js runs the same scenarios with a client that
// ignores `control` and asserts they do find problems, so they can fail.
import { randomUUID } from 'node:crypto';
import { JobTracker } from '@pivotr/job-manager-client';
import { KEY, PROJECT, startJobsDev, waitFor } from './jobsdev.js';
import { executions, idle, invoke, serve } from './runtime.js';
import orchestrator from '../../workers/orchestrator.js';
import bulkVerifyLeads from '../../workers/bulk-verify-leads.js';
import sqsPoller from '../../workers/sqs-poller.js';
import fetchAwsMetrics from '../../workers/fetch-aws-metrics.js';
import { aws, mailer, sqs, verifier } from '../../workers/standins.js';

const BATCH = 10; // orchestrator.js's batch: how far a run may go past a pause or cancel

/** Starts the workers' runtimes and jobs-dev forwarding to them; sets the functions' env. */
export async function setup() {
  const runtimes = {
    orchestrator: await serve(orchestrator, 'orchestrator'),
    'bulk-verify-leads': await serve(bulkVerifyLeads, 'bulk-verify-leads'),
  };
  const dev = await startJobsDev({
    forward: Object.fromEntries(Object.entries(runtimes).map(([id, r]) => [id, r.url])),
    workers: { CAMPAIGN_RUN: 'orchestrator', BULK_VERIFY: 'bulk-verify-leads' },
  });
  // What Appwrite injects into every function.
  process.env.APPWRITE_FUNCTION_API_ENDPOINT = dev.endpoint;
  process.env.APPWRITE_FUNCTION_PROJECT_ID = PROJECT;
  // Every tracker the workers make waits on a virtual clock: a retry's backoff passes at once
  // and `finalRetryMs` runs out by the count of attempts, never by the machine's speed.
  const fromContext = JobTracker.fromContext;
  JobTracker.fromContext = function withVirtualClock(context, hookId, options) {
    const tracker = fromContext.call(JobTracker, context, hookId, options);
    let clock = 0;
    tracker.options.now = () => clock;
    tracker.options.sleep = async (ms) => { clock += ms; };
    return tracker;
  };
  return {
    dev,
    async stop() {
      JobTracker.fromContext = fromContext;
      await dev.stop();
      for (const r of Object.values(runtimes)) await r.close();
    },
  };
}

/** An execution of a worker as Appwrite starts it: its key, trigger and execution id. */
export function run(fn, body, { trigger = 'http', executionId = randomUUID().replaceAll('-', '').slice(0, 20) } = {}) {
  return invoke(fn, {
    body,
    headers: { 'x-appwrite-key': KEY, 'x-appwrite-trigger': trigger, 'x-appwrite-execution-id': executionId },
  });
}

/** Calls the action API as the dashboard does; answers `{ status, body }`. */
export async function action(dev, path, method = 'POST', body = {}) {
  const execution = await dev.actions.createExecution(
    'job-actions', method === 'GET' ? '' : JSON.stringify(body), false, path, method,
    { 'content-type': 'application/json' });
  return { status: execution.responseStatusCode, body: JSON.parse(execution.responseBody || '{}') };
}

/** The job of this type and reference (the newest). */
export async function jobOf(dev, type, referenceId) {
  const { body } = await action(dev, `/v1/jobs?type=${type}&q=${encodeURIComponent(referenceId)}&limit=50`, 'GET');
  return body.jobs?.find((/** @type {any} */ j) => j.referenceId === referenceId) ?? null;
}

async function detail(dev, jobId) {
  return (await action(dev, `/v1/jobs/${jobId}`, 'GET')).body.job;
}

async function settled(dev, jobId, status) {
  return waitFor(async () => idle() && (await detail(dev, jobId))?.status === status && (await detail(dev, jobId)),
    `job ${jobId} ${status} with no execution running`);
}

/** Every lead of the campaign sent exactly once. */
function exactlyOnce(campaignId, count) {
  const problems = [];
  const sent = mailer.sent.filter((s) => s.campaignId === campaignId).map((s) => s.leadId);
  const twice = sent.filter((id, i) => sent.indexOf(id) !== i);
  if (twice.length) problems.push(`${twice.length} emails sent twice (first: ${twice[0]})`);
  const missing = count - new Set(sent).size;
  if (missing) problems.push(`${missing} emails never sent`);
  return problems;
}

function sentCount(campaignId) {
  return mailer.sent.filter((s) => s.campaignId === campaignId).length;
}

/** A 200-email campaign paused at the 50th email, then resumed: exactly once. */
export async function pauseThenResume(dev, campaignId = `pause-${randomUUID().slice(0, 8)}`) {
  const problems = [];
  mailer.onSend = async (n, id) => {
    if (id === campaignId && n === 50) {
      const job = await jobOf(dev, 'CAMPAIGN_RUN', campaignId);
      await action(dev, `/v1/jobs/${job.$id}/pause`, 'POST', { reason: 'SES quota' });
    }
  };
  const first = await run(orchestrator, { campaignId });
  mailer.onSend = null;
  const atPause = sentCount(campaignId);
  if (atPause > 50 + BATCH) problems.push(`the paused run went on to ${atPause} emails (paused at 50)`);
  const job = await jobOf(dev, 'CAMPAIGN_RUN', campaignId);
  if (job.status !== 'PAUSED') problems.push(`after the first run the job is ${job.status}, not PAUSED`);
  if (first.output?.json?.paused === undefined) problems.push(`the first run did not confirm the pause: ${JSON.stringify(first.output)}`);
  if (problems.length) return problems;
  const resumed = await action(dev, `/v1/jobs/${job.$id}/resume`);
  if (resumed.body.trigger?.status !== 'triggered') return [`resume did not re-trigger: ${JSON.stringify(resumed.body)}`];
  const done = await settled(dev, job.$id, 'COMPLETED');
  problems.push(...exactlyOnce(campaignId, 200));
  if (done.result?.sent !== 200) problems.push(`the job's result is ${JSON.stringify(done.result)}`);
  return problems;
}

/** Paused and resumed at the 50th email, before the worker noticed: still exactly once. */
export async function quickPauseResume(dev, campaignId = `quick-${randomUUID().slice(0, 8)}`) {
  const problems = [];
  let jobId = '';
  mailer.onSend = async (n, id) => {
    if (id === campaignId && n === 50) {
      jobId = (await jobOf(dev, 'CAMPAIGN_RUN', campaignId)).$id;
      await action(dev, `/v1/jobs/${jobId}/pause`);
      const resumed = await action(dev, `/v1/jobs/${jobId}/resume`);
      if (resumed.body.trigger?.status !== 'triggered') problems.push(`resume: ${JSON.stringify(resumed.body)}`);
    }
  };
  const old = await run(orchestrator, { campaignId });
  if (old.output?.json?.stopped === undefined) problems.push(`the superseded run was not stopped: ${JSON.stringify(old.output)}`);
  const done = await settled(dev, jobId, 'COMPLETED');
  mailer.onSend = null;
  problems.push(...exactlyOnce(campaignId, 200));
  if (done.result?.sent !== 200) problems.push(`the job's result is ${JSON.stringify(done.result)}`);
  return problems;
}

/** Cancelled at the 70th email: sending stops within one checkpoint. */
export async function cancelMidRun(dev, campaignId = `cancel-${randomUUID().slice(0, 8)}`) {
  const problems = [];
  mailer.onSend = async (n, id) => {
    if (id === campaignId && n === 70) {
      const job = await jobOf(dev, 'CAMPAIGN_RUN', campaignId);
      await action(dev, `/v1/jobs/${job.$id}/cancel`, 'POST', { reason: 'wrong list' });
    }
  };
  await run(orchestrator, { campaignId });
  mailer.onSend = null;
  const sent = sentCount(campaignId);
  if (sent > 70 + BATCH) problems.push(`sent ${sent} emails after a cancel at 70`);
  const job = await jobOf(dev, 'CAMPAIGN_RUN', campaignId);
  if (job.status !== 'CANCELLED') problems.push(`the job is ${job.status}, not CANCELLED`);
  return problems;
}

/** A verification failing at lead 120 of 300, retried: the retry continues from the checkpoint. */
export async function failedVerificationRetried(dev, listId = `list-${randomUUID().slice(0, 8)}`) {
  const problems = [];
  verifier.failAt = 120;
  const first = await run(bulkVerifyLeads, { listId, batchId: 'b1', count: 300 });
  const failed = await jobOf(dev, 'BULK_VERIFY', listId);
  if (failed.status !== 'FAILED') return [`the first run left the job ${failed.status}: ${JSON.stringify(first.output)}`];
  const from = (await detail(dev, failed.$id)).checkpoint?.cursor;
  const before = verifier.verified.filter((v) => v.listId === listId).length;
  const retried = await action(dev, `/v1/jobs/${failed.$id}/retry`);
  if (retried.body.trigger?.status !== 'triggered') return [`retry did not re-trigger: ${JSON.stringify(retried.body)}`];
  const done = await settled(dev, retried.body.job.$id, 'COMPLETED');
  const again = verifier.verified.filter((v) => v.listId === listId).slice(before);
  if (again[0]?.leadId !== `${listId}-lead-${from}`) {
    problems.push(`the retry began at ${again[0]?.leadId}, not at the checkpoint ${from}`);
  }
  const expected = { valid: 120, invalid: 60, risky: 60, unknown: 60 }; // standins: verdict by index % 5
  if (JSON.stringify(done.result, Object.keys(expected).sort()) !== JSON.stringify(expected, Object.keys(expected).sort())) {
    problems.push(`counts ${JSON.stringify(done.result)} do not add up to ${JSON.stringify(expected)}`);
  }
  return problems;
}

/** Job Manager answering 503 to 9 calls in a row mid-campaign: the claim waiting on it is
 * retried until it is answered (none is given up), the campaign finishes exactly once, and the
 * outage is logged once going down and once coming back. */
export async function outageMidCampaign(dev, campaignId = `outage-${randomUUID().slice(0, 8)}`) {
  const problems = [];
  mailer.onSend = (n, id) => {
    if (id === campaignId && n === 60) dev.proxy.failNext(9); // the next claim's first 9 attempts
  };
  const r = await run(orchestrator, { campaignId });
  mailer.onSend = null;
  problems.push(...exactlyOnce(campaignId, 200));
  const tracking = r.output?.json?.tracking;
  if (tracking?.outages !== 1 || tracking?.unavailable !== 0 || tracking?.retried !== 9) problems.push(`tracking stats ${JSON.stringify(tracking)}`);
  const down = r.errors.filter((e) => e.includes('unavailable'));
  const back = r.errors.filter((e) => e.includes('reachable again'));
  if (down.length !== 1 || back.length !== 1) problems.push(`outage logged ${down.length}× down, ${back.length}× back: ${r.errors}`);
  const job = await jobOf(dev, 'CAMPAIGN_RUN', campaignId);
  if (job.status !== 'COMPLETED' || job.result?.sent !== 200) problems.push(`after the outage the job is ${job.status} ${JSON.stringify(job.result)}`);
  return problems;
}

/** The SQS poller over five scheduled runs, paused after the second and resumed after the
 * third: one job throughout, the paused run skips polling. */
export async function sqsAcrossScheduledRuns(dev) {
  const problems = [];
  sqs.waiting = 100;
  const polls = sqs.polls.length;
  const outputs = [];
  for (let i = 1; i <= 5; i += 1) {
    if (i === 3) {
      const job = await jobOf(dev, 'SQS_POLL', 'sqs-poller');
      await action(dev, `/v1/jobs/${job.$id}/pause`);
    }
    if (i === 4) {
      const job = await jobOf(dev, 'SQS_POLL', 'sqs-poller');
      await action(dev, `/v1/jobs/${job.$id}/resume`);
    }
    outputs.push((await run(sqsPoller, {}, { trigger: 'schedule' })).output?.json);
  }
  if (outputs[2]?.skipped !== 'pause') problems.push(`the paused run answered ${JSON.stringify(outputs[2])}`);
  if (sqs.polls.length - polls !== 4) problems.push(`SQS was polled ${sqs.polls.length - polls} times, not 4`);
  const ids = new Set(outputs.filter((o) => o?.jobId).map((o) => o.jobId));
  if (ids.size !== 1) problems.push(`${ids.size} polling jobs, not one`);
  const job = await jobOf(dev, 'SQS_POLL', 'sqs-poller');
  if (job.status !== 'RUNNING') problems.push(`the polling job is ${job.status}`);
  // Heartbeats are stored at most once a second (docs/hooks.md) and these runs come faster than
  // a schedule's, so the check is on what the polling runs sent.
  const beats = dev.proxy.hookRequests.filter((h) => h.request.event === 'heartbeat' && h.request.jobId === job.$id);
  if (beats.length !== 4 || beats.some((h) => h.request.details?.messagesProcessed !== 10)) {
    problems.push(`heartbeats sent: ${JSON.stringify(beats.map((h) => h.request.details))}`);
  }
  return problems;
}

export { aws, executions, fetchAwsMetrics, mailer, orchestrator, bulkVerifyLeads, sqs, sqsPoller, verifier, detail, settled, exactlyOnce };
