// The Job Manager client for Appwrite Node functions: reports a worker's job through the hook
// functions (docs/hooks.md) with node-appwrite's `functions.createExecution`, and tells the
// worker's loop whether to go on (`control`: continue / pause / cancel).
//
// Two rules shape it. Every hook call is an Appwrite execution, so progress is coalesced here
// (a call when the whole percent moves, otherwise at most one per `progressIntervalMs`). And
// tracking must never take the real work down: when Job Manager is unreachable or answers 5xx,
// calls fail open (the worker goes on, the outage is logged once and counted) unless the
// caller asked for `failClosed`.

import { Client, Functions } from 'node-appwrite';

/** @typedef {'continue' | 'pause' | 'cancel'} Control */

/**
 * The part of node-appwrite's `Functions` the tracker uses (positional `createExecution`,
 * available in every node-appwrite version from 17 on).
 * @typedef {object} FunctionsLike
 * @property {(functionId: string, body?: string, async?: boolean, path?: string,
 *   method?: any, headers?: object) => Promise<Execution>} createExecution
 */

/**
 * The fields of Appwrite's execution document the tracker reads.
 * @typedef {object} Execution
 * @property {number} responseStatusCode
 * @property {string} responseBody
 */

/**
 * @typedef {object} TrackerOptions
 * @property {string} [caller] Sent as `x-job-caller`: the actor in the job's log
 *   (`function:<caller>`). Default: the hook's own id.
 * @property {string} [executionId] The worker's own `x-appwrite-execution-id`, sent on every
 *   hook call: the job shows which execution made its run's calls, and a start repeated by the
 *   same execution (its first answer lost) keeps the run (docs/hooks.md § Runs).
 * @property {boolean} [failClosed] Throw a `JobTrackingError` when Job Manager is unreachable
 *   or answers 5xx, instead of going on without tracking. Default false.
 * @property {number} [progressIntervalMs] Coalescing: a progress call whose percent did not
 *   move is sent only when this long has passed since the last call. Default 3000.
 * @property {number} [retries] Extra attempts of a call that failed transiently. Default 2.
 * @property {number} [backoffMs] First retry delay, doubled each attempt. Default 100.
 * @property {(message: string) => void} [log] Where outages are reported. Default
 *   `console.error`; pass the function context's `error`.
 * @property {() => number} [now] Clock in milliseconds (tests). Default `Date.now`.
 * @property {(ms: number) => Promise<void>} [sleep] Waits between retries (tests).
 */

/**
 * What a resume or retry sends the worker it re-triggers (docs/hooks.md).
 * @typedef {object} Retrigger
 * @property {string} jobId
 * @property {any} [checkpoint]
 * @property {number} [run]
 * @property {string} [referenceId]
 * @property {string} [retryOf]
 * @property {boolean} [resumed]
 */

/**
 * @typedef {object} StartOptions
 * @property {string} [referenceId] What the job is about (campaign id, list id, …). May be
 *   omitted when `retrigger` carries it.
 * @property {Retrigger | null} [retrigger] The re-trigger body, when this execution was
 *   started by a resume or retry: the tracker picks that job (and run) up.
 * @property {number} [total]
 * @property {string} [message]
 * @property {object} [metadata]
 * @property {string} [idempotencyKey]
 */

/**
 * @typedef {object} ProgressUpdate
 * @property {number} [done]
 * @property {number} [total]
 * @property {number} [percent]
 * @property {string} [message]
 * @property {any} [checkpoint]
 */

/**
 * @typedef {object} TrackerStats
 * @property {number} calls Hook executions attempted (retries included).
 * @property {number} coalesced Progress calls answered locally, without an execution.
 * @property {number} unavailable Calls that failed open because Job Manager was down.
 * @property {number} outages Separate outages seen (each logged once).
 * @property {number} rejected Calls the hook refused with a 4xx that carried no control.
 */

/** Thrown by a fail-closed tracker when Job Manager is unavailable, and for refused calls. */
export class JobTrackingError extends Error {
  /**
   * @param {string} message
   * @param {{ status?: number, code?: string, field?: string | null, cause?: unknown }} [info]
   */
  constructor(message, info = {}) {
    super(message, { cause: info.cause });
    this.name = 'JobTrackingError';
    /** @type {number | undefined} */
    this.status = info.status;
    /** @type {string | undefined} */
    this.code = info.code;
    /** @type {string | null | undefined} */
    this.field = info.field;
  }
}

/** The hook function of each job type (docs/hooks.md). */
export const HOOKS = Object.freeze({
  CAMPAIGN_RUN: 'hook-campaign-run',
  BULK_VERIFY: 'hook-bulk-verify',
  SQS_POLL: 'hook-sqs-poll',
  METRICS_FETCH: 'hook-metrics-fetch',
});

/**
 * Reads a resume or retry re-trigger from an execution's request: `null` when the execution
 * was started some other way.
 * @param {{ bodyText?: string, body?: any }} req The function context's `req`.
 * @returns {Retrigger | null}
 */
export function retriggerOf(req) {
  let body;
  try {
    body = typeof req.bodyText === 'string' ? JSON.parse(req.bodyText || 'null') : req.body;
  } catch {
    return null;
  }
  if (!body || typeof body !== 'object' || typeof body.jobId !== 'string') return null;
  return body;
}

const sleepFor = (/** @type {number} */ ms) =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** A transient failure: Job Manager (or Appwrite in front of it) may answer on a later try. */
class Unavailable extends Error {}

export class JobTracker {
  /**
   * @param {FunctionsLike} functions node-appwrite `Functions` on a client with a key that has
   *   the `executions.write` scope (in a function: the execution's `x-appwrite-key`).
   * @param {string} hookId The hook function of the job's type (see `HOOKS`).
   * @param {TrackerOptions} [options]
   */
  constructor(functions, hookId, options = {}) {
    this.functions = functions;
    this.hookId = hookId;
    this.options = {
      failClosed: false,
      progressIntervalMs: 3000,
      retries: 2,
      backoffMs: 100,
      log: (/** @type {string} */ m) => console.error(m),
      now: Date.now,
      sleep: sleepFor,
      ...options,
    };
    /** @type {any} The job as the hook last answered it. */
    this.job = null;
    /** @type {Control} */
    this.control = 'continue';
    /** @type {any} The checkpoint `start` answered (a resumed or retried job's cursor). */
    this.checkpoint = undefined;
    /** @type {number | undefined} The run this worker holds (docs/hooks.md § Runs). */
    this.run = undefined;
    /** @type {TrackerStats} */
    this.stats = { calls: 0, coalesced: 0, unavailable: 0, outages: 0, rejected: 0 };
    /** @type {Record<string, any> | null} A start that failed open, retried before the next call. */
    this.pendingStart = null;
    this.down = false;
    /** True once the hook said a newer run holds the job: later calls are not sent. */
    this.superseded = false;
    this.lastCallAt = -Infinity;
    this.lastPercent = -1;
  }

  /**
   * A tracker inside an Appwrite function, from the function context: the endpoint and project
   * Appwrite injects, the execution's own key, and its execution id.
   * @param {{ req: { headers: Record<string, string> }, error?: (m: string) => void }} context
   * @param {string} hookId
   * @param {TrackerOptions} [options]
   */
  static fromContext(context, hookId, options = {}) {
    const client = new Client()
      .setEndpoint(process.env.APPWRITE_FUNCTION_API_ENDPOINT ?? '')
      .setProject(process.env.APPWRITE_FUNCTION_PROJECT_ID ?? '')
      .setKey(context.req.headers['x-appwrite-key'] ?? '');
    return new JobTracker(new Functions(client), hookId, {
      caller: process.env.APPWRITE_FUNCTION_ID,
      executionId: context.req.headers['x-appwrite-execution-id'],
      log: context.error,
      ...options,
    });
  }

  /** True once the loop should stop at its next checkpoint. */
  get stopped() {
    return this.control !== 'continue';
  }

  /** The job id, once a start succeeded. */
  get jobId() {
    return this.job?.$id;
  }

  /**
   * Starts the job, or picks up the one a resume or retry re-triggered this execution for.
   * Answers the control value; `checkpoint` then holds where a picked-up job left off.
   * @param {StartOptions} options
   * @returns {Promise<Control>}
   */
  async start({ retrigger, referenceId, ...rest }) {
    /** @type {Record<string, any>} */
    const request = { event: 'start', referenceId: retrigger?.referenceId ?? referenceId, ...rest };
    if (retrigger) {
      request.jobId = retrigger.jobId;
      if (retrigger.run !== undefined) this.run = retrigger.run;
      this.checkpoint = retrigger.checkpoint ?? undefined;
    }
    const answered = await this.send(request);
    if (!answered && !this.options.failClosed) this.pendingStart = request;
    return this.control;
  }

  /**
   * Reports progress, coalesced: sent when the whole percent moves or `progressIntervalMs`
   * passed, otherwise answered locally with the last control value. Pass `{ force: true }` for
   * a checkpoint a resume must not miss (e.g. before doing work that must not be repeated).
   * @param {ProgressUpdate} update
   * @param {{ force?: boolean }} [options]
   * @returns {Promise<Control>}
   */
  async progress(update, { force = false } = {}) {
    const total = update.total ?? this.job?.total;
    const percent =
      update.percent !== undefined
        ? Math.floor(update.percent)
        : total && update.done !== undefined
          ? Math.floor((Math.min(update.done, total) * 100) / total)
          : -1;
    const due = this.options.now() - this.lastCallAt >= this.options.progressIntervalMs;
    if (!force && percent === this.lastPercent && !due) {
      this.stats.coalesced += 1;
      return this.control;
    }
    if (await this.send({ event: 'progress', ...update })) this.lastPercent = percent;
    return this.control;
  }

  /**
   * Says the worker is alive (long-lived jobs such as the SQS poller).
   * @param {string} [message]
   * @param {object} [details] Stored as the job's `metadata.lastHeartbeat`.
   */
  async heartbeat(message, details) {
    await this.send({ event: 'heartbeat', message, details });
    return this.control;
  }

  /**
   * Confirms the worker stopped on `pause`, with the checkpoint a resume continues from.
   * @param {any} checkpoint
   * @param {string} [message]
   */
  async paused(checkpoint, message) {
    await this.send({ event: 'paused', checkpoint, message });
    return this.control;
  }

  /**
   * @param {object} [result] Outcome counters, e.g. `{sent, failed, bounced}`.
   * @param {string} [message]
   */
  async complete(result, message) {
    await this.send({ event: 'complete', result, message });
    return this.control;
  }

  /**
   * @param {unknown} error The error (its message is stored).
   * @param {object} [result] Partial counters.
   * @param {any} [checkpoint] Where a retry should continue (stored with the failure).
   */
  async fail(error, result, checkpoint) {
    const text = error instanceof Error ? error.message : String(error);
    await this.send({ event: 'fail', error: text.trim() || 'failed', result, checkpoint });
    return this.control;
  }

  /**
   * One hook call with retries. Answers true when the hook answered (2xx, or a 4xx that
   * carried a control value), false when it failed open.
   * @param {Record<string, any>} request
   * @returns {Promise<boolean>}
   */
  async send(request) {
    if (this.superseded) return false;
    if (request.event !== 'start') {
      if (this.pendingStart) {
        const start = this.pendingStart;
        this.pendingStart = null;
        if (!(await this.send(start))) {
          this.pendingStart = start;
          return false;
        }
      }
      if (!this.job) return false;
      request = { ...request, jobId: this.job.$id };
    }
    if (this.run !== undefined) request.run = this.run;
    if (this.options.executionId) request.executionId = this.options.executionId;
    const body = JSON.stringify(request);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const answered = await this.call(request.event, body);
        if (this.down) {
          this.down = false;
          this.options.log(`job-manager: ${this.hookId} reachable again; tracking resumed`);
        }
        return answered;
      } catch (e) {
        if (!(e instanceof Unavailable)) throw e;
        if (attempt < this.options.retries) {
          await this.options.sleep(this.options.backoffMs * 2 ** attempt);
          continue;
        }
        this.stats.unavailable += 1;
        if (this.options.failClosed) {
          throw new JobTrackingError(`Job Manager unavailable: ${e.message}`, { cause: e });
        }
        if (!this.down) {
          this.down = true;
          this.stats.outages += 1;
          this.options.log(
            `job-manager: ${this.hookId} unavailable (${e.message}); the work goes on untracked until it answers`,
          );
        }
        return false;
      }
    }
  }

  /**
   * @param {string} event
   * @param {string} body
   * @returns {Promise<boolean>}
   */
  async call(event, body) {
    /** @type {Record<string, string>} */
    const headers = { 'content-type': 'application/json' };
    if (this.options.caller) headers['x-job-caller'] = this.options.caller;
    this.stats.calls += 1;
    this.lastCallAt = this.options.now();
    /** @type {Execution} */
    let execution;
    try {
      execution = await this.functions.createExecution(
        this.hookId, body, false, '/', 'POST', headers);
    } catch (e) {
      // node-appwrite throws AppwriteException (with `code`) for Appwrite's own errors, a
      // TypeError for network failures.
      const code = /** @type {any} */ (e)?.code;
      const message = e instanceof Error ? e.message : String(e);
      if (typeof code !== 'number' || code === 0 || code === 408 || code === 429 || code >= 500) {
        throw new Unavailable(message);
      }
      return this.refused(new JobTrackingError(`Appwrite refused the ${event} call: ${message}`, { status: code }));
    }
    const status = execution.responseStatusCode;
    let answer;
    try {
      answer = JSON.parse(execution.responseBody || '{}');
    } catch {
      answer = {};
    }
    if (status >= 500 || status === 0) {
      throw new Unavailable(`${this.hookId} answered ${status} ${answer?.error?.code ?? ''}`.trim());
    }
    if (answer.job) this.job = answer.job;
    if (answer.control) this.control = answer.control;
    // A newer run holds the job: this one is over and must not call again (docs/hooks.md § Runs).
    if (answer.code === 'superseded' || answer.code === 'run_required') this.superseded = true;
    const run = answer.run ?? answer.job?.run;
    if (typeof run === 'number') this.run = run;
    if (status < 300) {
      if (event === 'start' && answer.checkpoint !== undefined) this.checkpoint = answer.checkpoint;
      return true;
    }
    if (answer.control) return true; // refused, but told what to do (e.g. cancel: stop)
    const err = answer.error ?? {};
    return this.refused(new JobTrackingError(
      `${this.hookId} refused ${event} (${status} ${err.code}): ${err.message}`,
      { status, code: err.code, field: err.field },
    ));
  }

  /**
   * A call refused for good (a bad request, a missing scope): retrying cannot help. Thrown when
   * fail-closed; otherwise logged and counted, and the work goes on.
   * @param {JobTrackingError} refusal
   * @returns {false}
   */
  refused(refusal) {
    this.stats.rejected += 1;
    if (this.options.failClosed) throw refusal;
    this.options.log(`job-manager: ${refusal.message}`);
    return false;
  }
}
