// The adoption scenarios through node-appwrite against a real jobs-dev: the reference workers'
// default exports called with Appwrite's Node context, resume and retry re-triggering them
// through jobs-dev's forwarding, the stand-ins' records checked.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as s from './support/scenarios.js';

/** @type {Awaited<ReturnType<typeof s.setup>>} */
let env;
before(async () => { env = await s.setup(); });
after(async () => { await env?.stop(); });

test('a 200-email campaign paused at 50 and resumed sends every email exactly once', async () => {
  assert.deepEqual(await s.pauseThenResume(env.dev), []);
});

test('a campaign paused and resumed before the worker noticed still sends every email exactly once', async () => {
  assert.deepEqual(await s.quickPauseResume(env.dev), []);
});

test('a campaign cancelled mid-run stops sending within one checkpoint', async () => {
  assert.deepEqual(await s.cancelMidRun(env.dev), []);
});

test('a failed verification retried continues from its checkpoint and its counts add up', async () => {
  assert.deepEqual(await s.failedVerificationRetried(env.dev), []);
});

test('a campaign finishes through a Job Manager outage and tracking resumes after it', async () => {
  assert.deepEqual(await s.outageMidCampaign(env.dev), []);
});

test('the sqs poller keeps one job over five scheduled runs and skips polling while paused', async () => {
  assert.deepEqual(await s.sqsAcrossScheduledRuns(env.dev), []);
});

test('a redelivered metrics fetch with the same execution id makes one job and fetches once', async () => {
  const before = s.aws.fetches.length;
  const first = await s.run(s.fetchAwsMetrics, {}, { trigger: 'schedule', executionId: 'exec-metrics-1' });
  const again = await s.run(s.fetchAwsMetrics, {}, { trigger: 'schedule', executionId: 'exec-metrics-1' });
  assert.equal(again.output.json.jobId, first.output.json.jobId);
  assert.equal(again.output.json.skipped, 'cancel');
  assert.deepEqual(s.aws.fetches.slice(before), ['exec-metrics-1']);
  const job = await s.detail(env.dev, first.output.json.jobId);
  assert.equal(job.status, 'COMPLETED');
  assert.equal(job.result.max24HourSend, 50000);
});

test('progress reported for each of 10,000 items costs at most one execution per percent and one per interval', async () => {
  let clock = 0;
  const { JobTracker, HOOKS } = await import('@pivotr/job-manager-client');
  const { context } = (await import('./support/runtime.js')).contextFor({
    headers: { 'x-appwrite-key': (await import('./support/jobsdev.js')).KEY },
  });
  const tracker = JobTracker.fromContext(context, HOOKS.BULK_VERIFY, { now: () => clock, progressIntervalMs: 3000 });
  const before = env.dev.proxy.executions['hook-bulk-verify'] ?? 0;
  await tracker.start({ referenceId: 'coalescing-list', total: 10_000 });
  for (let done = 1; done <= 10_000; done += 1) {
    clock += 1; // 1 ms per item: 10 s in all, so about 3 interval sends besides the percent moves
    await tracker.progress({ done });
  }
  await tracker.complete({ valid: 10_000 });
  const executions = env.dev.proxy.executions['hook-bulk-verify'] - before;
  // start + 100 percent moves + ≤ 4 interval sends + complete
  assert.ok(executions >= 102 && executions <= 1 + 100 + 4 + 1, `${executions} executions`);
  assert.equal(tracker.stats.coalesced, 10_000 - (executions - 2));
  assert.equal((await s.detail(env.dev, tracker.jobId)).status, 'COMPLETED');
});

test('every hook request the client sent matches the published schema of its event', async () => {
  const { default: Ajv } = await import('ajv/dist/2020.js');
  const { readFileSync } = await import('node:fs');
  const dir = new URL('../../../docs/schemas/hooks/', import.meta.url);
  const ajv = new Ajv({ strict: false });
  const events = ['start', 'progress', 'heartbeat', 'paused', 'complete', 'fail'];
  const validators = Object.fromEntries(events.map((e) => [e, ajv.compile(JSON.parse(readFileSync(new URL(`${e}.request.json`, dir), 'utf8')))]));
  const seen = new Set();
  for (const { functionId, request } of env.dev.proxy.hookRequests) {
    const validate = validators[request.event];
    assert.ok(validate, `unknown event in ${JSON.stringify(request)}`);
    assert.ok(validate(request), `${functionId} ${JSON.stringify(request)}: ${ajv.errorsText(validate.errors)}`);
    seen.add(request.event);
  }
  // The scenarios above exercise every event, so every schema was checked against real requests.
  assert.deepEqual([...seen].sort(), [...events].sort());
  const answer = ajv.compile(JSON.parse(readFileSync(new URL('answer.json', dir), 'utf8')));
  const answered = env.dev.proxy.hookRequests.filter((h) => h.status >= 200 && h.status < 300);
  assert.ok(answered.length > 100);
  for (const { request, answer: body } of answered) {
    assert.ok(answer(body), `answer to ${JSON.stringify(request)}: ${ajv.errorsText(answer.errors)}`);
  }
});

test('every re-trigger body a worker received is a valid start request', async () => {
  const { default: Ajv } = await import('ajv/dist/2020.js');
  const { readFileSync } = await import('node:fs');
  const { retriggerOf } = await import('@pivotr/job-manager-client');
  const schema = JSON.parse(readFileSync(new URL('../../../docs/schemas/hooks/start.request.json', import.meta.url), 'utf8'));
  const validate = new Ajv({ strict: false }).compile(schema);
  const retriggered = s.executions.filter((e) => retriggerOf({ bodyText: e.body }));
  assert.ok(retriggered.length >= 2, 'the resume and retry scenarios re-triggered workers');
  for (const e of retriggered) assert.ok(validate(JSON.parse(e.body)), `${e.name}: ${e.body}`);
});
