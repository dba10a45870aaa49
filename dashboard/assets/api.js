// The one transport to Appwrite. Reads and actions go to the action function as executions
// (`POST {endpoint}/functions/{functionId}/executions` carrying the route as `path`/`method`);
// sign-in uses the Account API. Every call carries the signed-in user's session the way the
// official Web SDK does, so the page works wherever the SDK works: the cookie where the browser
// keeps it, and where it does not (the page on another site than the endpoint, third-party
// cookies blocked) the `X-Fallback-Cookies` header, whose value Appwrite answered at sign-in
// and the SDK keeps in `localStorage.cookieFallback`; a host's SDK client with its own session
// (`setSession`) adds it as `X-Appwrite-Session`. Sharing `cookieFallback` with a host's SDK
// on the same page means the dashboard uses the host's session. docs/dashboard.md § Sessions
// across sites. The local dev server emulates all of it, so this file is identical in both places.

import { connection } from "./connection.js";

/**
 * Every setting and its default: the one place they are written. A deployment's `config.js`
 * (`window.JOBS_CONFIG`) and `mount()`'s options set only what differs (docs/dashboard.md §
 * Configuration); these defaults suit the local dev server (same origin, project `jobmanager`).
 */
export const defaults = Object.freeze({
  endpoint: "/v1",
  project: "jobmanager",
  functionId: "job-actions",
  databaseId: "jobmanager",
  tableId: "jobs",
  eventsTableId: "job_events",
  realtime: true,
  pollMs: 5000,
  resyncMs: 600000,
  basePath: "/jobs",
  signIn: true,
  oauthProviders: [],
  // e.g. "https://cloud.appwrite.io/console/project-{project}/functions/function-{functionId}/execution-{executionId}"
  consoleExecutionUrl: "",
});

/** The live configuration: `window.JOBS_CONFIG` for the standalone page, `mount()` options otherwise. */
export const config = Object.assign({}, defaults, (typeof window !== "undefined" && window.JOBS_CONFIG) || {});

/** The host's Web SDK client given to `mount()`, whose session the calls carry. */
let hostClient = null;

/** Applies `mount()` options; a host's Appwrite Web SDK `client` gives endpoint, project and session. */
export function configure(options = {}) {
  hostClient = options.client && options.client.config ? options.client : null;
  const fromClient = hostClient ? { endpoint: hostClient.config.endpoint, project: hostClient.config.project } : {};
  Object.assign(config, defaults, (typeof window !== "undefined" && window.JOBS_CONFIG) || {}, fromClient, options);
  delete config.client;
  config.basePath = `/${String(config.basePath || "/jobs").replace(/^\/+|\/+$/g, "")}`;
  return config;
}

/** The Web SDK's `localStorage` key for what Appwrite answered in `X-Fallback-Cookies`. */
const FALLBACK_KEY = "cookieFallback";

/** `localStorage.cookieFallback`, or null (also where storage is unavailable). */
function fallbackCookies() {
  try {
    return window.localStorage.getItem(FALLBACK_KEY);
  } catch (e) {
    return null; // No storage (blocked, sandboxed): cookies are the only way, as for the SDK.
  }
}

function keepFallbackCookies(value) {
  try {
    window.localStorage.setItem(FALLBACK_KEY, value);
  } catch (e) {
    // No storage: as above.
  }
}

/**
 * The session a Realtime socket signs in with when the browser sent no cookie, chosen as the
 * Web SDK chooses it: the host client's own session, else this project's `cookieFallback` entry.
 */
export function session() {
  const own = hostClient && hostClient.config.session;
  if (own) return own;
  try {
    const cookies = JSON.parse(fallbackCookies() || "{}");
    return (cookies && typeof cookies[`a_session_${config.project}`] === "string" && cookies[`a_session_${config.project}`]) || "";
  } catch (e) {
    return "";
  }
}

/** The headers of every call: the Web SDK's project and session headers. */
function headers() {
  const out = { "content-type": "application/json", "x-appwrite-project": config.project };
  const fallback = fallbackCookies();
  if (fallback) out["x-fallback-cookies"] = fallback;
  const own = hostClient && hostClient.config.session;
  if (own) out["x-appwrite-session"] = own;
  return out;
}

function endpoint() {
  return config.endpoint.replace(/\/$/, "");
}

/** An answer the API (or Appwrite in front of it) refused, with a message fit to show. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One request to Appwrite itself; resolves to `{res, data}` or throws a network ApiError. */
async function appwrite(method, path, body) {
  let res;
  try {
    res = await fetch(`${endpoint()}${path}`, {
      method,
      credentials: "include",
      headers: headers(),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    connection.request(false);
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
  }
  // A gateway's 502–504 means the server behind it did not answer: offline too (banner.js).
  connection.request(res.status < 502 || res.status > 504);
  // As the SDK: a successful answer's fallback replaces the kept one (sign-in sets it,
  // sign-out answers `[]`, which names no session).
  const fallback = res.status < 400 && res.headers.get("x-fallback-cookies");
  if (fallback) keepFallbackCookies(fallback);
  let data = null;
  try {
    data = res.status === 204 ? null : await res.json();
  } catch (e) {
    // Handled by the callers: a non-JSON answer is an error whatever its status.
  }
  return { res, data };
}

/** Runs the action function synchronously; resolves to `{status, text, headers}`. */
async function execute(method, path, body) {
  const { res, data: execution } = await appwrite("POST", `/functions/${encodeURIComponent(config.functionId)}/executions`, {
    body: body === undefined ? "" : JSON.stringify(body),
    async: false,
    path,
    method,
    headers: { "content-type": "application/json" },
  });
  if (!res.ok || !execution) {
    const message = (execution && execution.message) || `The server answered ${res.status}.`;
    throw new ApiError(res.status, (execution && execution.type) || "execution_failed", message);
  }
  const headers = {};
  for (const h of execution.responseHeaders || []) headers[String(h.name).toLowerCase()] = h.value;
  return { status: execution.responseStatusCode, text: execution.responseBody || "", headers };
}

/** Calls a JSON route; resolves to the parsed body or throws an ApiError. */
export async function call(method, path, body) {
  const { status, text } = await execute(method, path, body);
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    throw new ApiError(status, "bad_response", "The server sent an unreadable answer.");
  }
  if (status >= 400 || !status) {
    const err = (data && data.error) || {};
    throw new ApiError(status, err.code || "error", err.message || `Request failed (${status}).`);
  }
  return data;
}

/** Fetches a route's raw text (exports), with its content type. */
export async function raw(path) {
  const res = await execute("GET", path);
  if (res.status >= 400) {
    let message = `Export failed (${res.status}).`;
    try {
      message = JSON.parse(res.text).error.message || message;
    } catch (e) {
      // Keep the generic message.
    }
    throw new ApiError(res.status, "export_failed", message);
  }
  return { text: res.text, type: res.headers["content-type"] || "text/plain" };
}

export const api = {
  me: () => call("GET", "/v1/me"),
  summary: () => call("GET", "/v1/jobs/summary"),
  list: (params) => call("GET", `/v1/jobs?${params.toString()}`),
  job: (id) => call("GET", `/v1/jobs/${encodeURIComponent(id)}`),
  act: (id, action, reason) =>
    call("POST", `/v1/jobs/${encodeURIComponent(id)}/${action}`, reason ? { reason } : {}),
  exportJobs: (params) => raw(`/v1/jobs/export?${params.toString()}`),
  /** One action on up to 100 jobs (docs/actions.md, Batch): `{requested, succeeded, failed, results}`. */
  batch: (action, ids, reason) => call("POST", "/v1/jobs/batch", reason ? { action, ids, reason } : { action, ids }),
};

/** Appwrite's Account API: who is signed in, email/password sessions, OAuth links. */
export const account = {
  async get() {
    const { res, data } = await appwrite("GET", "/account");
    if (!res.ok) throw new ApiError(res.status, (data && data.type) || "account", (data && data.message) || "Not signed in.");
    return data;
  },
  /** Whether the caller holds a real session (something to sign out of). */
  async hasSession() {
    const { res } = await appwrite("GET", "/account/sessions/current");
    return res.ok;
  },
  async signIn(email, password) {
    const { res, data } = await appwrite("POST", "/account/sessions/email", { email, password });
    if (!res.ok) throw new ApiError(res.status, (data && data.type) || "sign_in", (data && data.message) || `Sign-in failed (${res.status}).`);
    return data;
  },
  async signOut() {
    const { res, data } = await appwrite("DELETE", "/account/sessions/current");
    if (!res.ok && res.status !== 401) throw new ApiError(res.status, (data && data.type) || "sign_out", (data && data.message) || "Sign-out failed.");
  },
  /** Appwrite's `createOAuth2Session` redirect (GET), back to this page either way. */
  oauthUrl(provider) {
    const back = location.href;
    const q = new URLSearchParams({ project: config.project, success: back, failure: back });
    return `${endpoint()}/account/sessions/oauth2/${encodeURIComponent(provider)}?${q}`;
  },
};
