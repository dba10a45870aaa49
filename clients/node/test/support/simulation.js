// A seeded simulation of many campaigns sent by the drop-in orchestrator through the real hooks
// of a jobs-dev: every hook call delayed (0–60 ms) and sometimes failing (the request lost, or
// the answer lost after the hook acted), operators pausing and resuming each campaign several
// times through job-actions (a resume re-triggers the orchestrator through jobs-dev), and every
// lead's sends counted. Used by test/exactly-once.test.js (bounded) and
// scripts/bench-exactly-once (long). Faults and operator actions are decided by the seed, per
// campaign and per execution, so a seed always plans the same run; the interleaving with the
// server is real. Waits poll a condition with a deadline; nothing sleeps to wait.
import { Client, Functions } from 'node-appwrite';
import { JobTracker, retriggerOf } from '@pivotr/job-manager-client';
import { KEY, PROJECT, startJobsDev, waitFor } from './jobsdev.js';
import { serve } from './runtime.js';
import orchestrator from '../../workers/orchestrator.js';
import { campaignSizes, mailer, recipientsOf } from '../../workers/standins.js';

/** A 32-bit hash of a string (FNV-1a), to seed one generator per campaign and execution. */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function rng(seed) {
  let a = hash(String(seed));
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const delay = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How one execution's hook calls behave: `latency` (max ms, 0 for none), `failure` (chance a
 * call begins a fault burst), `burst` (most consecutive failed attempts, each losing the
 * request or the answer at random), and `fail(request)`: `'request'` or `'answer'` to fail
 * this attempt that way, else false.
 * @typedef {{ latency?: number, failure?: number, burst?: number,
 *   fail?: (request: any) => false | 'request' | 'answer' }} Faults
 */

/**
 * The world the orchestrator runs in: jobs-dev (execution events to job-observer, so a worker
 * execution that ends without its final call fails its job), the orchestrator served as an
 * open-runtimes runtime and re-triggered by resume and retry, and every tracker it creates
 * given a virtual clock (retry waits pass instantly, `finalRetryMs` runs out by count) and
 * the faults planned for its campaign.
 * `answerLost` is told (and awaited) when an answer is about to be lost, so an operator can act
 * before the worker repeats its call.
 * @param {{ plan: (campaignId: string, execution: number) => Faults,
 *   answerLost?: (campaignId: string, request: any) => Promise<void> | void }} options
 */
export async function world({ plan, answerLost }) {
  /** Executions running per campaign, executions started per campaign, and the job ids seen. */
  const active = new Map();
  const started = new Map();
  const jobIds = new Map();
  const stats = { hookCalls: 0, injected: 0, granted: 0, superseded: 0, lost: 0 };
  const runtime = await serve(async (context) => {
    const id = campaignOf(context.req);
    active.set(id, (active.get(id) ?? 0) + 1);
    try {
      const output = await orchestrator(context);
      if (JSON.parse(output.body.toString()).lost) stats.lost += 1;
      return output;
    } finally {
      active.set(id, active.get(id) - 1);
    }
  }, 'orchestrator');
  const dev = await startJobsDev({
    forward: { orchestrator: runtime.url },
    workers: { CAMPAIGN_RUN: 'orchestrator' },
    env: { JOBS_DEV_WEBHOOK_EVENTS: 'functions.orchestrator.executions.*' },
  });
  process.env.APPWRITE_FUNCTION_API_ENDPOINT = `${dev.url}/v1`;
  process.env.APPWRITE_FUNCTION_PROJECT_ID = PROJECT;
  const server = new Functions(new Client().setEndpoint(`${dev.url}/v1`).setProject(PROJECT).setKey(KEY));

  const original = JobTracker.fromContext;
  JobTracker.fromContext = function fromContext(context, hookId, options) {
    const tracker = original.call(JobTracker, context, hookId, options);
    const id = campaignOf(context.req);
    const n = (started.get(id) ?? 0) + 1;
    started.set(id, n);
    const faults = plan(id, n);
    const random = rng(`${id}#${n}`);
    let clock = 0;
    tracker.options.now = () => clock;
    tracker.options.sleep = async (ms) => { clock += ms; await tick(); };
    const real = tracker.functions;
    let burst = 0;
    tracker.functions = {
      async createExecution(functionId, body, ...rest) {
        stats.hookCalls += 1;
        const request = JSON.parse(body ?? '{}');
        if (faults.latency) await delay(Math.floor(random() * (faults.latency + 1)));
        if (burst === 0 && faults.failure && random() < faults.failure) burst = 1 + Math.floor(random() * (faults.burst ?? 1));
        /** @type {false | 'request' | 'answer'} */
        let failing = faults.fail?.(request) ?? false;
        if (burst > 0) {
          burst -= 1;
          // Half the failures lose the request, half lose the answer after the hook acted.
          failing = random() < 0.5 ? 'request' : 'answer';
        }
        if (failing === 'request') throw outage();
        const execution = await real.createExecution(functionId, body, ...rest);
        if (failing === 'answer') {
          await answerLost?.(id, request);
          throw outage();
        }
        const answer = JSON.parse(execution.responseBody || '{}');
        if (answer.job?.$id) jobIds.set(id, answer.job.$id);
        if (answer.code === 'granted') stats.granted += 1;
        if (answer.code === 'superseded') stats.superseded += 1;
        return execution;
      },
    };
    function outage() {
      stats.injected += 1;
      return Object.assign(new Error('injected outage'), { code: random() < 0.5 ? 503 : 0 });
    }
    return tracker;
  };

  /** Calls the action API as the dashboard does; answers `{ status, body }`. */
  async function action(path, method = 'POST', body = {}) {
    const execution = await dev.actions.createExecution(
      'job-actions', method === 'GET' ? '' : JSON.stringify(body), false, path, method,
      { 'content-type': 'application/json' });
    return { status: execution.responseStatusCode, body: JSON.parse(execution.responseBody || '{}') };
  }

  return {
    dev,
    stats,
    jobIds,
    action,
    /** The job as job-actions shows it. */
    detail: async (/** @type {string} */ jobId) => (await action(`/v1/jobs/${jobId}`, 'GET')).body.job,
    /** Starts the orchestrator for a campaign as Appwrite would (async execution, server key). */
    launch: (/** @type {string} */ campaignId) =>
      server.createExecution('orchestrator', JSON.stringify({ campaignId }), true),
    idle: (/** @type {string} */ campaignId) => (active.get(campaignId) ?? 0) === 0,
    /** Executions of the orchestrator for a campaign so far. */
    executions: (/** @type {string} */ campaignId) => started.get(campaignId) ?? 0,
    async stop() {
      JobTracker.fromContext = original;
      await dev.stop();
      await runtime.close();
    },
  };
}

/** The campaign an orchestrator execution is about (its first body or its re-trigger). */
function campaignOf(req) {
  const retrigger = retriggerOf(req);
  if (retrigger) return retrigger.referenceId;
  try {
    return JSON.parse(req.bodyText || '{}').campaignId;
  } catch {
    return undefined;
  }
}

/** Sends per lead of a campaign: duplicates (leads sent more than once) and gaps (never sent). */
export function tally(campaignId) {
  const leads = recipientsOf(campaignId);
  const sends = new Map(leads.map((l) => [l.id, 0]));
  for (const s of mailer.sent) if (s.campaignId === campaignId) sends.set(s.leadId, (sends.get(s.leadId) ?? 0) + 1);
  let duplicates = 0;
  let gaps = 0;
  let total = 0;
  for (const n of sends.values()) {
    total += n;
    if (n > 1) duplicates += n - 1;
    if (n === 0) gaps += 1;
  }
  return { sends: total, duplicates, gaps };
}

/**
 * The simulation: `campaigns` campaigns of `size` leads, `concurrency` at a time, each paused
 * and resumed at `cycles + 2` planned points (at least `cycles` must land before it completes).
 * Answers the figures and one line per campaign that went wrong.
 * @param {{ seed: string | number, campaigns: number, cycles: number, size?: number, concurrency?: number,
 *   latency?: number, failure?: number, burst?: number, deadlineMs?: number }} options
 */
export async function simulate({ seed, campaigns, cycles, size = 100, concurrency = 4, latency = 60, failure = 0.08, burst = 4, deadlineMs = 120_000 }) {
  const w = await world({
    plan: () => ({ latency, failure, burst }),
    answerLost: (campaignId, request) =>
      (request.event === 'progress' && request.claimed !== undefined ? operators.get(campaignId)?.answerLost() : undefined),
  });
  const began = Date.now();
  const results = [];
  /** @type {Map<string, { sent: (n: number) => Promise<void>, answerLost: () => Promise<void> }>} */
  const operators = new Map();
  const previous = mailer.onSend;
  mailer.onSend = (n, campaignId) => operators.get(campaignId)?.sent(n);
  try {
    const ids = Array.from({ length: campaigns }, (_, i) => `sim-${seed}-${i}`);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next];
        next += 1;
        results.push(await campaign(w, id, { seed, cycles, size, operators, deadlineMs }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, campaigns) }, worker));
  } finally {
    mailer.onSend = previous;
    await w.stop();
  }
  const sum = (/** @type {string} */ k) => results.reduce((a, r) => a + r[k], 0);
  return {
    seed,
    campaigns,
    size,
    plannedCycles: cycles,
    cycles: sum('cycles'),
    minCycles: Math.min(...results.map((r) => r.cycles)),
    completed: results.filter((r) => r.status === 'COMPLETED').length,
    executions: sum('executions'),
    sends: sum('sends'),
    duplicates: sum('duplicates'),
    gaps: results.filter((r) => r.status === 'COMPLETED').reduce((a, r) => a + r.gaps, 0),
    ...w.stats,
    latency,
    failure,
    burst,
    seconds: (Date.now() - began) / 1000,
    problems: results.flatMap((r) => r.problems),
  };
}

/** Kinds of operator cycle: confirmed pause then resume; pause and resume before the worker
 * notices; a pause racing the worker's next claim, resumed once it is confirmed. */
const KINDS = ['confirmed', 'quick', 'racing'];

async function campaign(w, id, { seed, cycles, size, operators, deadlineMs }) {
  campaignSizes.set(id, size);
  const random = rng(`${seed}/${id}/operator`);
  // Distinct send counts from which the operator acts, all before the last two batches, so a
  // pause can land before the campaign finishes; a racing pause only in the first 60 %.
  const batch = Math.max(10, Math.ceil(size / 100));
  const points = new Set();
  while (points.size < cycles + 2) points.add(1 + Math.floor(random() * (size - 2 * batch)));
  const plan = [...points].sort((a, b) => a - b).map((at) => {
    const kind = KINDS[Math.floor(random() * KINDS.length)];
    return { at, kind: kind === 'racing' && at > size * 0.6 ? 'confirmed' : kind };
  });
  const problems = [];
  let pending = 0;
  let done = 0;
  let next = 0;
  let busy = false; // one cycle at a time: a point reached during a cycle waits for its end
  const track = (/** @type {Promise<any>} */ task) => {
    pending += 1;
    task.catch((e) => problems.push(`${id}: ${e.message}`)).finally(() => { pending -= 1; busy = false; });
  };
  const final = (/** @type {any} */ j) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(j?.status);
  /** One pause/resume cycle of `kind`, started at send `n`; resolves when the worker may go on. */
  const cycle = async (/** @type {string} */ kind, /** @type {number | string} */ n) => {
    busy = true;
    const jobId = w.jobIds.get(id);
    // 409 on a job that finished meanwhile ends the cycle; anything else is a problem.
    const ok = async (/** @type {string} */ what, /** @type {any} */ r) => {
      if (r.status < 300) return true;
      if (r.status !== 409 || !final(await w.detail(jobId))) problems.push(`${id}: ${what} at ${n} answered ${r.status} ${JSON.stringify(r.body.error ?? r.body)}`);
      return false;
    };
    const resume = async () => {
      const r = await w.action(`/v1/jobs/${jobId}/resume`);
      if (!(await ok('resume', r))) return;
      if (r.body.trigger?.status !== 'triggered') problems.push(`${id}: resume did not re-trigger: ${JSON.stringify(r.body.trigger)}`);
      done += 1;
    };
    const whenPaused = async () => {
      const j = await waitFor(async () => {
        const d = await w.detail(jobId);
        return d?.status === 'PAUSED' || final(d) ? d : null;
      }, `${id} PAUSED`, deadlineMs);
      if (j.status === 'PAUSED') await resume();
    };
    const pause = (/** @type {string} */ reason) => w.action(`/v1/jobs/${jobId}/pause`, 'POST', { reason });
    if (kind === 'quick') {
      // Awaited: the pause and resume land before the worker's next call.
      const both = (async () => { if (await ok('pause', await pause('quick'))) await resume(); })();
      track(both);
      await both.catch(() => {});
    } else if (kind === 'confirmed') {
      const r = await pause('confirmed');
      track((async () => { if (await ok('pause', r)) await whenPaused(); })());
    } else {
      track(pause('racing').then(async (r) => { if (await ok('pause', r)) await whenPaused(); }));
    }
  };
  operators.set(id, {
    async sent(/** @type {number} */ n) {
      if (busy || next >= plan.length || n < plan[next].at) return;
      next += 1;
      await cycle(plan[next - 1].kind, n);
    },
    // A claim's answer was just lost: sometimes an operator acts before the worker asks again,
    // so the repeat finds the job paused or resumed and must be answered `granted`.
    async answerLost() {
      if (busy || random() < 0.5) return;
      await cycle(random() < 0.5 ? 'quick' : 'confirmed', 'a lost answer');
    },
  });
  await w.launch(id);
  const job = await waitFor(async () => {
    const jobId = w.jobIds.get(id);
    if (!jobId || !w.idle(id) || pending > 0) return null;
    const j = await w.detail(jobId);
    return j && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(j.status) && w.idle(id) && pending === 0 ? j : null;
  }, `campaign ${id} to end`, deadlineMs);
  operators.delete(id);
  const { sends, duplicates, gaps } = tally(id);
  if (job.status !== 'COMPLETED') problems.push(`${id} ended ${job.status}: ${job.errorMessage ?? ''}`);
  if (duplicates) problems.push(`${id}: ${duplicates} duplicate sends`);
  if (job.status === 'COMPLETED' && gaps) problems.push(`${id}: ${gaps} leads never sent`);
  if (job.status === 'COMPLETED' && job.result?.sent !== size) problems.push(`${id}: result ${JSON.stringify(job.result)}`);
  if (done < cycles) problems.push(`${id}: ${done} pause/resume cycles, planned at least ${cycles}`);
  return { status: job.status, cycles: done, executions: w.executions(id), sends, duplicates, gaps, problems };
}

/** The BENCHMARKS.md section for a simulation's figures. */
export function markdown(r, command) {
  return [
    '## Exactly once under pauses, resumes and outages (Node client, jobs-dev)',
    '',
    `\`${command}\`: ${r.campaigns} campaigns of ${r.size} emails sent by the drop-in orchestrator`,
    'through the real hooks of a debug `jobs-dev`, each paused and resumed by an operator through',
    '`job-actions` at seeded points (confirmed pauses, pause and resume before the worker notices,',
    'pauses racing its next claim; a resume re-triggers the orchestrator through jobs-dev), every',
    `hook call delayed 0–60 ms and ${Math.round(r.failure * 100)} % of them starting a burst of up to ${r.burst} failed attempts`,
    '(half losing the request, half losing the answer after the hook acted; after a lost claim',
    'answer the operator sometimes pauses first, so the repeat must be answered `granted`). Every',
    'lead\'s sends are counted on the mailer stand-in; duplicates count every campaign, gaps the',
    'completed ones.',
    '',
    '| seed | campaigns | pause/resume cycles (fewest in a campaign) | completed | worker executions | hook calls | faults injected | repeats answered `granted` | superseded answers | emails sent | duplicates | gaps | seconds |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    `| ${r.seed} | ${r.campaigns} | ${r.cycles} (${r.minCycles}) | ${r.completed} | ${r.executions} | ${r.hookCalls} | ${r.injected} | ${r.granted} | ${r.superseded} | ${r.sends} | ${r.duplicates} | ${r.gaps} | ${r.seconds.toFixed(1)} |`,
    '',
  ].join('\n');
}
