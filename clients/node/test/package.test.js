// The package as npm publishes it: `npm pack`, unpacked into a fresh function folder next to
// node-appwrite, and the README's example run as written, as an Appwrite function against a
// real jobs-dev.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { KEY, PROJECT, startJobsDev } from './support/jobsdev.js';
import { contextFor } from './support/runtime.js';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(path.join(tmpdir(), 'job-manager-client-pack-'));
/** @type {Awaited<ReturnType<typeof startJobsDev>>} */
let dev;
let files = [];

before(async () => {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkg, encoding: 'utf8' }));
  files = packed.files.map((f) => f.path).sort();
  const app = path.join(work, 'function');
  const installed = path.join(app, 'node_modules', '@pivotr', 'job-manager-client');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', path.join(work, packed.filename), '-C', installed, '--strip-components=1']);
  // The peer dependency, as the user's function already has it.
  symlinkSync(path.join(pkg, 'node_modules', 'node-appwrite'), path.join(app, 'node_modules', 'node-appwrite'));
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ type: 'module', dependencies: { 'node-appwrite': '*' } }));
  const readme = readFileSync(path.join(installed, 'README.md'), 'utf8');
  writeFileSync(path.join(app, 'main.js'), readme.match(/```js\n([\s\S]*?)```/)[1]);
  dev = await startJobsDev();
  process.env.APPWRITE_FUNCTION_API_ENDPOINT = `${dev.url}/v1`;
  process.env.APPWRITE_FUNCTION_PROJECT_ID = PROJECT;
});

after(async () => {
  await dev?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('the packed package holds the code, its types and the readme, nothing else', () => {
  assert.deepEqual(files, ['README.md', 'package.json', 'src/index.js', 'types/index.d.ts']);
});

test('the readme example runs as written from the packed package and completes its job', async () => {
  const { default: main } = await import(pathToFileURL(path.join(work, 'function', 'main.js')).href);
  const { context, logs, errors } = contextFor({
    body: JSON.stringify({ campaignId: 'readme-campaign' }),
    headers: { 'content-type': 'application/json', 'x-appwrite-key': KEY, 'x-appwrite-execution-id': 'readme-exec' },
  });
  const output = await main(context);
  assert.deepEqual(JSON.parse(output.body.toString()), { sent: 100 });
  assert.equal(logs.length, 100);
  assert.deepEqual(errors, []);
  const list = await dev.actions.createExecution('job-actions', '', false, '/v1/jobs?type=CAMPAIGN_RUN&q=readme-campaign', 'GET');
  const [job] = JSON.parse(list.responseBody).jobs;
  assert.equal(job.status, 'COMPLETED');
  assert.deepEqual(job.result, { bounced: 0, failed: 0, sent: 100 });
});
