// The client alone, over a scripted `functions` (no network): answers, control, runs,
// coalescing, retries with backoff, failing open (and closed on request).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobTracker, JobTrackingError, retriggerOf } from '@pivotr/job-manager-client';

/**
 * A `functions` whose executions answer from `script` in order: a number is a thrown
 * AppwriteException-like error with that code, an object is `{status, body}`.
 */
function scripted(script) {
  const calls = [];
  return {
    calls,
    async createExecution(functionId, body, async, path, method, headers) {
      calls.push({ functionId, request: JSON.parse(body), async, path, method, headers });
      const next = script.length > 1 ? script.shift() : script[0];
      if (typeof next === 'number') throw Object.assign(new Error(`status ${next}`), { code: next });
      return { responseStatusCode: next.status, responseBody: JSON.stringify(next.body) };
    },
  };
}

const job = (extra = {}) => ({ $id: 'j1', status: 'RUNNING', total: 100, ...extra });
const ok = (extra = {}, control = 'continue') => ({ status: 200, body: { job: job(extra), control } });
const quiet = { log: () => {}, sleep: async () => {} };

test('start sends the hook request with the caller header and keeps the job and checkpoint', async () => {
  const fns = scripted([{ status: 200, body: { job: job(), control: 'continue', checkpoint: { cursor: 40 } } }]);
  const t = new JobTracker(fns, 'hook-campaign-run', { caller: 'orchestrator', ...quiet });
  assert.equal(await t.start({ referenceId: 'c1', total: 100 }), 'continue');
  assert.deepEqual(fns.calls[0].request, { event: 'start', referenceId: 'c1', total: 100 });
  assert.deepEqual([fns.calls[0].async, fns.calls[0].path, fns.calls[0].method], [false, '/', 'POST']);
  assert.equal(fns.calls[0].headers['x-job-caller'], 'orchestrator');
  assert.equal(t.jobId, 'j1');
  assert.deepEqual(t.checkpoint, { cursor: 40 });
});

test('a re-triggered start picks up the job, its reference and its run, and sends the run back', async () => {
  const fns = scripted([ok({ run: 3 }), ok({ run: 3 })]);
  const t = new JobTracker(fns, 'hook-campaign-run', { executionId: 'exec1', ...quiet });
  const retrigger = retriggerOf({ bodyText: JSON.stringify({ jobId: 'j1', run: 3, referenceId: 'c9', checkpoint: { cursor: 5 }, resumed: true }) });
  await t.start({ retrigger, total: 100 });
  assert.deepEqual(fns.calls[0].request, { event: 'start', referenceId: 'c9', total: 100, jobId: 'j1', run: 3, executionId: 'exec1' });
  assert.deepEqual(t.checkpoint, { cursor: 5 });
  await t.heartbeat('alive');
  assert.deepEqual(fns.calls[1].request, { event: 'heartbeat', message: 'alive', jobId: 'j1', run: 3, executionId: 'exec1' });
});

test('a fresh start sends the execution id but no run, and later calls send the run it was given', async () => {
  const fns = scripted([ok({ run: 1 })]);
  const t = new JobTracker(fns, 'hook-sqs-poll', { executionId: 'exec1', ...quiet });
  await t.start({ referenceId: 'sqs-poller' });
  await t.heartbeat();
  assert.deepEqual(fns.calls.map((c) => c.request), [
    { event: 'start', referenceId: 'sqs-poller', executionId: 'exec1' },
    { event: 'heartbeat', jobId: 'j1', run: 1, executionId: 'exec1' },
  ]);
});

test('an execution not started by a resume or retry has no re-trigger', () => {
  assert.equal(retriggerOf({ bodyText: '{"campaignId":"c1"}' }), null);
  assert.equal(retriggerOf({ bodyText: 'not json' }), null);
  assert.equal(retriggerOf({ bodyText: '' }), null);
});

test('progress is sent when the percent moves or the interval passed and answered locally otherwise', async () => {
  let clock = 0;
  const fns = scripted([ok({ total: 1000 })]);
  const t = new JobTracker(fns, 'hook-bulk-verify', { now: () => clock, progressIntervalMs: 1000, ...quiet });
  await t.start({ referenceId: 'l1', total: 1000 });
  for (let done = 1; done <= 20; done += 1) await t.progress({ done }); // 0% → 2%: two moves
  assert.equal(fns.calls.length, 1 + 2 + 1); // start, 0% (first), 1%, 2%
  clock = 1000;
  await t.progress({ done: 21 });
  assert.equal(fns.calls.length, 5, 'the interval passed');
  await t.progress({ done: 22 }, { force: true });
  assert.equal(fns.calls.length, 6, 'forced');
  assert.equal(t.stats.coalesced, 17);
});

test('pause and cancel answers stop the loop, also on a refused call that carries control', async () => {
  const fns = scripted([ok(), ok({ status: 'PAUSED' }, 'pause'),
    { status: 409, body: { error: { code: 'superseded', message: 'a newer run holds the job', field: 'run' }, job: job(), control: 'cancel' } }]);
  const t = new JobTracker(fns, 'hook-campaign-run', quiet);
  await t.start({ referenceId: 'c1' });
  assert.equal(await t.progress({ done: 10 }, { force: true }), 'pause');
  assert.ok(t.stopped);
  assert.equal(await t.progress({ done: 20 }, { force: true }), 'cancel');
});

test('transient failures are retried with doubling backoff', async () => {
  const waits = [];
  const fns = scripted([503, { status: 503, body: { error: { code: 'busy' } } }, ok()]);
  const t = new JobTracker(fns, 'hook-campaign-run', { ...quiet, sleep: async (ms) => { waits.push(ms); } });
  assert.equal(await t.start({ referenceId: 'c1' }), 'continue');
  assert.deepEqual(waits, [100, 200]);
  assert.equal(t.jobId, 'j1');
  assert.equal(t.stats.unavailable, 0);
});

test('an outage fails open, is logged once, counted, and a failed start is retried when Job Manager is back', async () => {
  const logs = [];
  // 0: what node-appwrite reports for a network failure (no HTTP status).
  const fns = scripted([0, 0, 0, 0, 0, 0, 0, 0, 0, ok(), ok()]);
  const t = new JobTracker(fns, 'hook-campaign-run', { ...quiet, log: (m) => logs.push(m) });
  assert.equal(await t.start({ referenceId: 'c1', total: 100 }), 'continue');
  assert.equal(await t.progress({ done: 10 }, { force: true }), 'continue');
  assert.equal(await t.progress({ done: 20 }, { force: true }), 'continue');
  assert.equal(t.stats.unavailable, 3);
  assert.equal(t.stats.outages, 1);
  assert.equal(logs.filter((l) => l.includes('unavailable')).length, 1);
  await t.progress({ done: 30 }, { force: true });
  assert.deepEqual(fns.calls.slice(-2).map((c) => c.request.event), ['start', 'progress']);
  assert.equal(t.jobId, 'j1');
  assert.equal(logs.filter((l) => l.includes('reachable again')).length, 1);
});

test('a fail-closed tracker throws when Job Manager is unavailable', async () => {
  const fns = scripted([502]);
  const t = new JobTracker(fns, 'hook-campaign-run', { ...quiet, failClosed: true });
  await assert.rejects(t.start({ referenceId: 'c1' }), JobTrackingError);
  assert.equal(fns.calls.length, 3);
});

test('a refused request without control is logged and counted, or thrown when fail-closed', async () => {
  const refusal = { status: 400, body: { error: { code: 'invalid_input', message: 'unknown member', field: 'pct' } } };
  const logs = [];
  const open = new JobTracker(scripted([refusal]), 'hook-campaign-run', { ...quiet, log: (m) => logs.push(m) });
  assert.equal(await open.start({ referenceId: 'c1' }), 'continue');
  assert.equal(open.stats.rejected, 1);
  assert.match(logs[0], /invalid_input/);
  const closed = new JobTracker(scripted([refusal]), 'hook-campaign-run', { ...quiet, failClosed: true });
  await assert.rejects(closed.start({ referenceId: 'c1' }), (e) => e instanceof JobTrackingError && e.field === 'pct');
});

test('an Appwrite refusal such as a missing scope is not retried and does not stop the work', async () => {
  const fns = scripted([401]);
  const t = new JobTracker(fns, 'hook-campaign-run', quiet);
  assert.equal(await t.start({ referenceId: 'c1' }), 'continue');
  assert.equal(fns.calls.length, 1);
  assert.equal(t.stats.rejected, 1);
  await assert.rejects(new JobTracker(scripted([401]), 'hook-campaign-run', { ...quiet, failClosed: true })
    .start({ referenceId: 'c1' }), JobTrackingError);
});

test('a superseded answer stops the run and the tracker makes no further call for it', async () => {
  const fns = scripted([ok({ run: 2 }), { status: 200, body: { job: job({ run: 3 }), control: 'cancel', code: 'superseded', run: 3 } }]);
  const t = new JobTracker(fns, 'hook-campaign-run', quiet);
  await t.start({ referenceId: 'c1', retrigger: { jobId: 'j1', run: 1 } });
  assert.equal(t.run, 2);
  assert.equal(await t.progress({ done: 10 }, { force: true }), 'cancel');
  assert.equal(fns.calls[1].request.run, 2);
  assert.ok(t.stopped);
  await t.complete({ sent: 10 });
  assert.equal(fns.calls.length, 2);
});

/** A clock that only moves when the tracker waits: retry budgets run out by count. */
function virtual() {
  const waits = [];
  let clock = 0;
  return { waits, now: () => clock, sleep: async (ms) => { waits.push(ms); clock += ms; } };
}

test('a claim sends done, claimed and its checkpoint every time, never coalesced', async () => {
  const fns = scripted([ok()]);
  const t = new JobTracker(fns, 'hook-campaign-run', quiet);
  await t.start({ referenceId: 'c1', total: 100 });
  for (let i = 0; i < 3; i += 1) {
    assert.equal(await t.claim({ done: 0, claimed: 1, checkpoint: { cursor: 1, sent: 1 } }), 'continue');
  }
  assert.equal(fns.calls.length, 4);
  assert.deepEqual(fns.calls[1].request, { event: 'progress', done: 0, claimed: 1, checkpoint: { cursor: 1, sent: 1 }, jobId: 'j1' });
  // A forced progress with a checkpoint is a claim (the old way of writing one).
  await t.progress({ done: 1, checkpoint: { cursor: 2 } }, { force: true });
  assert.equal(fns.calls.length, 5);
  assert.equal(t.stats.coalesced, 0);
});

test('a repeated claim answered granted goes on in its own run, even on a paused job', async () => {
  const fns = scripted([ok({ run: 2 }), 0,
    { status: 200, body: { job: job({ status: 'PAUSED', run: 3 }), control: 'continue', code: 'granted', run: 2 } },
    { status: 200, body: { job: job({ status: 'QUEUED', run: 3 }), control: 'cancel', code: 'superseded', run: 3 } }]);
  const t = new JobTracker(fns, 'hook-campaign-run', quiet);
  await t.start({ referenceId: 'c1' });
  assert.equal(await t.claim({ done: 0, claimed: 10, checkpoint: { cursor: 10 } }), 'continue');
  assert.deepEqual(fns.calls[2].request, fns.calls[1].request, 'the repeat is the same request');
  assert.equal(t.run, 2);
  assert.equal(t.superseded, false);
  assert.equal(await t.claim({ done: 10, claimed: 20, checkpoint: { cursor: 20 } }), 'cancel');
  assert.equal(fns.calls[3].request.run, 2, 'the next call still sends its own run');
  assert.equal(t.run, 2, 'a superseded answer does not hand over the newer run');
  assert.ok(t.superseded);
});

test('a claim is retried with capped doubling backoff until the hook answers', async () => {
  const clock = virtual();
  const logs = [];
  const fns = scripted([ok(), 503, 0, 503, 0, 503, 0, 503, 0, ok()]);
  const t = new JobTracker(fns, 'hook-campaign-run', { ...quiet, ...clock, log: (m) => logs.push(m), maxBackoffMs: 1000 });
  await t.start({ referenceId: 'c1' });
  assert.equal(await t.claim({ done: 0, claimed: 10, checkpoint: { cursor: 10 } }), 'continue');
  assert.deepEqual(clock.waits, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  assert.equal(t.lost, false);
  assert.equal(t.stats.unavailable, 0);
  assert.equal(t.stats.retried, 8);
  assert.equal(logs.filter((l) => l.includes('unavailable')).length, 1);
  assert.equal(logs.filter((l) => l.includes('reachable again')).length, 1);
});

test('a claim never answered within finalRetryMs stops the worker: lost, cancel, logged once', async () => {
  const clock = virtual();
  const logs = [];
  const fns = scripted([ok(), 503]);
  const t = new JobTracker(fns, 'hook-campaign-run', { ...quiet, ...clock, log: (m) => logs.push(m), finalRetryMs: 10_000 });
  await t.start({ referenceId: 'c1' });
  assert.equal(await t.claim({ done: 20, claimed: 30, checkpoint: { cursor: 30 } }), 'cancel');
  assert.ok(t.lost);
  assert.ok(t.stopped);
  assert.equal(clock.waits.reduce((a, b) => a + b, 0), 10_000, 'waited exactly the budget');
  assert.equal(fns.calls.length, 1 + 1 + clock.waits.length);
  assert.equal(logs.filter((l) => l.includes('never answered')).length, 1);
  assert.match(logs.find((l) => l.includes('never answered')), /claim of 20–30/);
  const closed = new JobTracker(scripted([ok(), 503]), 'hook-campaign-run', { ...quiet, ...virtual(), failClosed: true });
  await closed.start({ referenceId: 'c1' });
  await assert.rejects(closed.claim({ done: 0, claimed: 1, checkpoint: { cursor: 1 } }), JobTrackingError);
});

test('paused, complete and fail are retried until acknowledged; a 4xx with control acknowledges', async () => {
  for (const [call, event] of [
    [(t) => t.paused({ cursor: 5 }), 'paused'],
    [(t) => t.complete({ sent: 5 }, 'done', { cursor: 5, sent: 5 }), 'complete'],
    [(t) => t.fail(new Error('boom'), { sent: 5 }, { cursor: 5 }), 'fail'],
  ]) {
    const clock = virtual();
    const fns = scripted([ok(), 0, 0, 0, 0, 0, { status: 409, body: { error: { code: 'invalid_transition' }, job: job({ status: 'COMPLETED' }), control: 'cancel' } }]);
    const t = new JobTracker(fns, 'hook-campaign-run', { ...quiet, ...clock });
    await t.start({ referenceId: 'c1' });
    await call(t);
    assert.equal(fns.calls.length, 7, event);
    assert.ok(fns.calls.slice(1).every((c) => c.request.event === event), event);
    assert.equal(t.lost, false, event);
  }
  const clock = virtual();
  const t = new JobTracker(scripted([ok(), 503]), 'hook-campaign-run', { ...quiet, ...clock });
  await t.start({ referenceId: 'c1' });
  await t.complete({ sent: 5 });
  assert.ok(t.lost, 'a complete never acknowledged is lost');
  assert.equal(clock.waits.reduce((a, b) => a + b, 0), 60_000, 'the default budget');
});

test('a start answered anything but continue ends the execution: no further hook call', async () => {
  const fns = scripted([{ status: 200, body: { job: job({ status: 'PAUSED', run: 4 }), control: 'pause', run: 4 } }]);
  const t = new JobTracker(fns, 'hook-campaign-run', quiet);
  assert.equal(await t.start({ referenceId: 'c1', retrigger: { jobId: 'j1', run: 2 } }), 'pause');
  assert.equal(t.run, 2, "the paused job's run is not this execution's");
  await t.paused({ cursor: 0 });
  await t.claim({ done: 0, claimed: 1, checkpoint: { cursor: 1 } });
  assert.equal(fns.calls.length, 1);
});

test('a start that failed open and is answered pause by the first claim sends no claim', async () => {
  const fns = scripted([0, 0, 0, { status: 200, body: { job: job({ status: 'PAUSED', run: 4 }), control: 'pause', run: 4 } }]);
  const t = new JobTracker(fns, 'hook-campaign-run', { ...quiet, ...virtual() });
  await t.start({ referenceId: 'c1', retrigger: { jobId: 'j1', run: 3 } });
  assert.equal(await t.claim({ done: 0, claimed: 1, checkpoint: { cursor: 1 } }), 'pause');
  await t.paused({ cursor: 0 });
  assert.deepEqual(fns.calls.map((c) => c.request.event), ['start', 'start', 'start', 'start']);
  assert.equal(t.run, 3);
});

test('fromContext prefers JOBS_APPWRITE_ENDPOINT, as Job Manager\'s functions do', () => {
  const saved = { ...process.env };
  try {
    process.env.APPWRITE_FUNCTION_API_ENDPOINT = 'https://cloud.example/v1';
    process.env.JOBS_APPWRITE_ENDPOINT = ' http://appwrite/v1 ';
    const ctx = { req: { headers: {} } };
    assert.equal(JobTracker.fromContext(ctx, 'hook-campaign-run').functions.client.config.endpoint, 'http://appwrite/v1');
    process.env.JOBS_APPWRITE_ENDPOINT = '';
    assert.equal(JobTracker.fromContext(ctx, 'hook-campaign-run').functions.client.config.endpoint, 'https://cloud.example/v1');
  } finally {
    process.env = saved;
  }
});

test('fromContext without an endpoint refuses each call instead of throwing, and the work goes on untracked', async () => {
  const saved = { ...process.env };
  try {
    delete process.env.APPWRITE_FUNCTION_API_ENDPOINT;
    delete process.env.JOBS_APPWRITE_ENDPOINT;
    const errors = [];
    const t = JobTracker.fromContext({ req: { headers: {} }, error: (m) => errors.push(m) }, 'hook-campaign-run', { sleep: async () => {} });
    assert.equal(await t.start({ referenceId: 'c1' }), 'continue');
    assert.equal(await t.claim({ done: 0, claimed: 1, checkpoint: { cursor: 1 } }), 'continue');
    assert.equal(t.stats.rejected, 2);
    assert.match(errors[0], /APPWRITE_FUNCTION_API_ENDPOINT/);
  } finally {
    process.env = saved;
  }
});
