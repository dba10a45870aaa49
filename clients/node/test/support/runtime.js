// Runs reference workers the way Appwrite's Node runtime does: the function context is built
// with the shape of open-runtimes' Node server (runtimes/node/versions/latest/src/server.js:
// `req.{bodyText, bodyJson, body, headers, method, path, …}`, `res.{json, text, send, empty}`,
// `log`, `error`), either for a direct call (`invoke`) or behind an HTTP server speaking the
// open-runtimes protocol that `jobs-dev` forwards executions to (`serve`).
import http from 'node:http';

/**
 * The context open-runtimes hands a Node function.
 * @param {{ method?: string, path?: string, body?: string, headers?: Record<string, string> }} request
 */
export function contextFor({ method = 'POST', path = '/', body = '', headers = {} }) {
  const logs = [];
  const errors = [];
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const contentType = (lower['content-type'] ?? 'text/plain').toLowerCase();
  const bodyBinary = Buffer.from(body);
  const [p, queryString = ''] = path.split('?');
  const res = {
    send: (b, statusCode = 200, h = {}) => ({ body: b, statusCode, headers: h }),
    binary: (bytes, statusCode = 200, h = {}) => ({ body: bytes, statusCode, headers: h }),
    text(b, statusCode = 200, h = {}) { return this.binary(Buffer.from(b, 'utf8'), statusCode, h); },
    json(obj, statusCode = 200, h = {}) {
      return this.text(JSON.stringify(obj), statusCode, { ...h, 'content-type': 'application/json' });
    },
    empty() { return this.text('', 204, {}); },
    redirect(url, statusCode = 301, h = {}) { return this.text('', statusCode, { ...h, location: url }); },
  };
  const context = {
    req: {
      get body() {
        if (contentType.startsWith('application/json')) return bodyBinary.length > 0 ? this.bodyJson : {};
        return this.bodyText;
      },
      get bodyRaw() { return this.bodyText; },
      get bodyText() { return bodyBinary.toString(); },
      get bodyJson() { return JSON.parse(this.bodyText); },
      get bodyBinary() { return bodyBinary; },
      headers: lower,
      method,
      host: '127.0.0.1',
      scheme: 'http',
      query: Object.fromEntries(new URLSearchParams(queryString)),
      queryString,
      port: 80,
      url: `http://127.0.0.1${path}`,
      path: p,
    },
    res,
    log: (...m) => logs.push(m.join(' ')),
    error: (...m) => errors.push(m.join(' ')),
  };
  return { context, logs, errors };
}

/** Every execution the harness ran, for assertions: `{ fn, trigger, output, logs, errors }`. */
export const executions = [];
let active = 0;

/**
 * Calls a worker's default export as an execution: answers its parsed JSON output.
 * @param {(ctx: any) => Promise<any>} fn
 * @param {{ body?: any, headers?: Record<string, string>, name?: string }} request
 */
export async function invoke(fn, { body = {}, headers = {}, name = fn.name } = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const { context, logs, errors } = contextFor({ body: text, headers: { 'content-type': 'application/json', ...headers } });
  active += 1;
  try {
    const output = await fn(context);
    const record = { name, trigger: headers['x-appwrite-trigger'] ?? 'http', body: text, output: decode(output), logs, errors };
    executions.push(record);
    return record;
  } catch (e) {
    executions.push({ name, body: text, output: null, logs, errors: [...errors, String(e?.stack ?? e)] });
    throw e;
  } finally {
    active -= 1;
  }
}

/** True when no execution is running (a forwarded one included). */
export const idle = () => active === 0;

function decode(output) {
  if (!output) return null;
  const text = Buffer.isBuffer(output.body) ? output.body.toString() : String(output.body ?? '');
  try {
    return { statusCode: output.statusCode, json: JSON.parse(text) };
  } catch {
    return { statusCode: output.statusCode, text };
  }
}

/**
 * Serves one worker as an open-runtimes runtime on a loopback port, for `JOBS_DEV_FORWARD`.
 * @param {(ctx: any) => Promise<any>} fn
 * @param {string} name
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function serve(fn, name) {
  const server = http.createServer((req, response) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => !k.startsWith('x-open-runtimes-')),
      );
      let status = 500;
      let body = '';
      let outHeaders = {};
      try {
        const record = await invoke(fn, { body: Buffer.concat(chunks).toString(), headers, name });
        status = record.output?.statusCode ?? 200;
        body = record.output?.json !== undefined ? JSON.stringify(record.output.json) : record.output?.text ?? '';
        outHeaders = { 'content-type': 'application/json' };
      } catch {
        // The execution failed: Appwrite reports a 500 with empty body, as open-runtimes does.
      }
      response.writeHead(status, outHeaders);
      response.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
