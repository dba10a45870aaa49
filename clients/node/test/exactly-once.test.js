// Exactly once through the real hooks of jobs-dev: the seeded simulation (many campaigns,
// operator pauses and resumes, hook calls delayed and failing), and the outages no retry can
// bridge (a final call or a claim never answered) followed by a retry from the dashboard API.
// `JOBS_SIM_SEED` replays another seed; scripts/bench-exactly-once runs the long version.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from './support/jobsdev.js';
import { simulate, tally, world } from './support/simulation.js';
import { executions } from './support/runtime.js';
import { campaignSizes } from '../workers/standins.js';

const SEED = process.env.JOBS_SIM_SEED ?? '20261207';

test(`12 campaigns, each paused and resumed at least 5 times through delays and outages, send every email exactly once (seed ${SEED})`, async () => {
  const r = await simulate({ seed: SEED, campaigns: 12, cycles: 5, size: 100, concurrency: 4, deadlineMs: 60_000 });
  assert.deepEqual(r.problems, []);
  assert.equal(r.completed, 12);
  assert.equal(r.duplicates, 0);
  assert.equal(r.gaps, 0);
  assert.equal(r.sends, 12 * 100);
  assert.ok(r.minCycles >= 5, `fewest cycles ${r.minCycles}`);
  assert.ok(r.injected > 0 && r.superseded > 0, JSON.stringify(r));
});

/** Runs one campaign whose first execution fails every attempt `lose` picks; answers the
 * world, the campaign id and its first job once that job is final and nothing runs. */
async function campaignWithLostCall(name, lose) {
  const id = `${name}-${Date.now().toString(36)}`;
  const w = await world({ plan: (campaign, execution) => (campaign === id && execution === 1 ? { fail: lose } : {}) });
  campaignSizes.set(id, 100);
  await w.launch(id);
  const job = await waitFor(async () => {
    const jobId = w.jobIds.get(id);
    const j = jobId && w.idle(id) ? await w.detail(jobId) : null;
    return j && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(j.status) ? j : null;
  }, `${id}'s first job to end`);
  return { w, id, job };
}

/** Retries `job` from the dashboard API and answers the retried job once it is final. */
async function retried(w, id, job) {
  const r = await w.action(`/v1/jobs/${job.$id}/retry`);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.trigger?.status, 'triggered', JSON.stringify(r.body));
  const again = await waitFor(async () => {
    const j = w.idle(id) ? await w.detail(r.body.job.$id) : null;
    return j && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(j.status) && w.idle(id) ? j : null;
  }, `${id}'s retried job to end`);
  const body = executions.filter((e) => e.name === 'orchestrator').map((e) => JSON.parse(e.body)).find((b) => b.jobId === r.body.job.$id);
  return { again, body };
}

test('a complete lost to an outage leaves the job failed, not completed, and a retry sends no email twice', async () => {
  const { w, id, job } = await campaignWithLostCall('complete-lost', (request) => request.event === 'complete' && 'request');
  try {
    assert.equal(w.stats.lost, 1, 'the tracker gave the complete up (tracker.lost)');
    // The worker sent everything but Job Manager never heard the end: the execution observer
    // fails the job the run held when the execution ended without its final call.
    assert.equal(job.status, 'FAILED', JSON.stringify(job));
    assert.match(job.errorMessage, /^outcome unknown:/);
    assert.deepEqual(tally(id), { sends: 100, duplicates: 0, gaps: 0 });
    const { again } = await retried(w, id, job);
    assert.equal(again.status, 'COMPLETED', JSON.stringify(again));
    assert.equal(again.result?.sent, 100);
    assert.deepEqual(tally(id), { sends: 100, duplicates: 0, gaps: 0 });
  } finally {
    await w.stop();
  }
});

test('a claim whose every answer is lost stops the worker before its batch, and a retry re-visits the batch', async () => {
  // The hook stores the claim of 40–50 (its checkpoint past the batch) but the worker never
  // hears it, gives up (`lost`) and sends nothing more: the batch is owed.
  const { w, id, job } = await campaignWithLostCall('claim-lost', (request) => request.event === 'progress' && request.done === 40 && 'answer');
  try {
    assert.equal(w.stats.lost, 1);
    assert.equal(job.status, 'FAILED', JSON.stringify(job));
    assert.deepEqual(tally(id), { sends: 40, duplicates: 0, gaps: 60 });
    const { again, body } = await retried(w, id, job);
    assert.deepEqual(body.unconfirmed?.map(({ from, to }) => [from, to]), [[40, 50]], JSON.stringify(body));
    assert.equal(again.status, 'COMPLETED', JSON.stringify(again));
    assert.equal(again.result?.sent, 100);
    assert.deepEqual(tally(id), { sends: 100, duplicates: 0, gaps: 0 });
  } finally {
    await w.stop();
  }
});
