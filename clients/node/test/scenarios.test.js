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
