// A test of the scenario tests: with a client that ignores `control` (every answer read as
// `continue`), the exactly-once and stop-in-time scenarios must report problems. If they did
// not, they could not catch a client that keeps sending after a pause or cancel.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { JobTracker } from '@pivotr/job-manager-client';
import * as s from './support/scenarios.js';

// The tracker assigns `this.control` in its constructor and on every answer; a prototype
// accessor that drops those writes makes every tracker in this process ignore control.
Object.defineProperty(JobTracker.prototype, 'control', {
  get: () => 'continue',
  set: () => {},
  configurable: true,
});

/** @type {Awaited<ReturnType<typeof s.setup>>} */
let env;
before(async () => { env = await s.setup(); });
after(async () => { await env?.stop(); });

test('the pause-and-resume scenario fails when the client ignores a pause', async () => {
  const problems = await s.pauseThenResume(env.dev);
  assert.ok(problems.some((p) => p.includes('went on to 200 emails')), problems.join('; '));
});

test('the cancel scenario fails when the client ignores a cancel', async () => {
  const problems = await s.cancelMidRun(env.dev);
  assert.ok(problems.some((p) => p.startsWith('sent 200 emails')), problems.join('; '));
});

test('the quick pause-and-resume scenario sends emails twice when the client ignores control', async () => {
  const problems = await s.quickPauseResume(env.dev);
  assert.ok(problems.some((p) => p.includes('sent twice')), problems.join('; '));
});
