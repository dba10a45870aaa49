// A real `jobs-dev` for the scenario tests: started on a free port with a fresh data folder,
// the reference workers forwarded to (`JOBS_DEV_FORWARD`) and re-triggered through
// `JOBS_WORKER_<TYPE>`, behind a small proxy that counts every execution a worker asks for,
// records the hook requests and answers, and answers 503 to the next N when told (faults by
// count).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Functions } from 'node-appwrite';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../../..');
export const KEY = 'node-client-scenario-key-0123456789';
export const PROJECT = 'jobmanager';

/** The jobs-dev binary: `JOBS_DEV_BIN`, else the workspace's debug build. */
function binary() {
  const target = process.env.CARGO_TARGET_DIR ?? path.join(repo, 'target');
  return process.env.JOBS_DEV_BIN ?? path.join(target, 'debug', 'jobs-dev');
}

/**
 * @param {{ forward?: Record<string, string>, workers?: Record<string, string>, env?: Record<string, string> }} options
 *   `forward`: functionId → runtime URL; `workers`: job type → function id re-triggered;
 *   `env`: more variables (e.g. `JOBS_DEV_WEBHOOK_EVENTS` to run the execution observer).
 */
export async function startJobsDev({ forward = {}, workers = {}, env: extra = {} } = {}) {
  const data = mkdtempSync(path.join(tmpdir(), 'jobs-dev-node-'));
  const env = {
    ...process.env,
    JOBS_DEV_PORT: '0',
    JOBS_DEV_DATA_DIR: data,
    JOBS_DEV_KEY: KEY,
    JOBS_DEV_DEMO: '0',
    JOBS_DEV_PROJECT: PROJECT,
    JOBS_DEV_FORWARD: Object.entries(forward).map(([id, url]) => `${id}=${url}`).join(','),
  };
  for (const [type, fn] of Object.entries(workers)) env[`JOBS_WORKER_${type}`] = fn;
  Object.assign(env, extra);
  const child = spawn(binary(), [], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let seen = '';
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`jobs-dev exited (${code}) before it was ready`)));
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(/ready at (http:\/\/[^\s]+)\/jobs/);
      if (m) resolve(m[1]);
    });
  });
  child.stdout.resume();
  const proxy = await startProxy(url);
  return {
    url,
    proxy,
    /** What a worker's Appwrite function sees as `APPWRITE_FUNCTION_API_ENDPOINT`. */
    endpoint: `${proxy.url}/v1`,
    /** The action API as the dashboard calls it: no key, the development identity. */
    actions: new Functions(new Client().setEndpoint(`${url}/v1`).setProject(PROJECT)),
    async stop() {
      await proxy.close();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/**
 * Forwards everything to jobs-dev. Counts `POST /v1/functions/{id}/executions` by function,
 * keeps each hook request's body, and answers Appwrite's 503 to the next `failNext(n)` ones.
 * @param {string} target
 */
async function startProxy(target) {
  /** @type {Record<string, number>} */
  const executions = {};
  /** @type {Array<{ functionId: string, request: any, status: number, answer: any }>} */
  const hookRequests = [];
  let failing = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const m = req.method === 'POST' && req.url?.match(/^\/v1\/functions\/([^/]+)\/executions$/);
      if (m) {
        executions[m[1]] = (executions[m[1]] ?? 0) + 1;
        if (failing > 0) {
          failing -= 1;
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: 'Service unavailable (injected)', code: 503, type: 'general_server_error', version: 'local' }));
          return;
        }
      }
      const hook = m && m[1].startsWith('hook-')
        ? { functionId: m[1], request: JSON.parse(JSON.parse(raw.toString()).body), status: 0, answer: null }
        : null;
      if (hook) hookRequests.push(hook);
      const headers = { ...req.headers };
      delete headers.host;
      delete headers['content-length'];
      delete headers.connection;
      delete headers['keep-alive'];
      delete headers['transfer-encoding'];
      const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body: raw.length ? raw : undefined });
      const body = Buffer.from(await answer.arrayBuffer());
      if (hook && answer.status === 201) {
        const execution = JSON.parse(body.toString());
        hook.status = execution.responseStatusCode;
        hook.answer = JSON.parse(execution.responseBody || 'null');
      }
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    executions,
    hookRequests,
    /** @param {number} n */
    failNext(n) { failing = n; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve(undefined)); }),
  };
}

/**
 * Polls `check` until it answers a truthy value (generous timeout: no timing assumptions).
 * @template T
 * @param {() => Promise<T> | T} check
 * @param {string} what
 * @returns {Promise<T>}
 */
export async function waitFor(check, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
