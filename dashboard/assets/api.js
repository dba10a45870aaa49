// The one transport to the action API: every call is an Appwrite function execution
// (`POST {endpoint}/functions/{functionId}/executions`) carrying the route as `path`/`method`,
// authenticated by the signed-in user's session cookie. The local dev server emulates the same
// endpoint, so this file is identical in both places.

const defaults = {
  endpoint: "/v1",
  project: "jobmanager",
  functionId: "job-actions",
  databaseId: "jobmanager",
  tableId: "jobs",
  realtime: false,
  pollMs: 5000,
};

export const config = Object.assign({}, defaults, window.JOBS_CONFIG || {});

/** An answer the API (or Appwrite in front of it) refused, with a message fit to show. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Runs the action function synchronously; resolves to `{status, text, headers}`. */
async function execute(method, path, body) {
  const url = `${config.endpoint.replace(/\/$/, "")}/functions/${encodeURIComponent(config.functionId)}/executions`;
  let res;
  try {
    res = await fetch(url, {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json", "x-appwrite-project": config.project },
      body: JSON.stringify({
        body: body === undefined ? "" : JSON.stringify(body),
        async: false,
        path,
        method,
        headers: { "content-type": "application/json" },
      }),
    });
  } catch (e) {
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
  }
  let execution = null;
  try {
    execution = await res.json();
  } catch (e) {
    // Handled below: a non-JSON answer is an error whatever its status.
  }
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
};
