// The Job Manager client for Appwrite Node functions: reports a worker's job through the hook
// functions (docs/hooks.md) with node-appwrite's `functions.createExecution`, and tells the
// worker's loop whether to go on (`control`: continue / pause / cancel).
//
// Three rules shape it. Every hook call is an Appwrite execution, so plain progress is coalesced
// here (a call when the whole percent moves, otherwise at most one per `progressIntervalMs`).
// Tracking must not take the real work down: when Job Manager is unreachable or answers 5xx,
// plain progress and heartbeats fail open (the worker goes on, the outage is logged once and
// counted) unless the caller asked for `failClosed`. And work must happen at most once: a claim
// (docs/hooks.md § Exactly once) is retried until the hook answers, and one never answered
// stops the worker (`lost`) instead of letting it do work a resume may hand to another run;
// `paused`, `complete` and `fail` are retried the same way, since losing one loses the job's end.

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
 * @property {number} [retries] Extra attempts of a fail-open call (start, plain progress,
 *   heartbeat) that failed transiently. Default 2.
 * @property {number} [backoffMs] First retry delay, doubled each attempt. Default 100.
 * @property {number} [maxBackoffMs] Cap of the doubling delay. Default 2000.
 * @property {number} [finalRetryMs] How long a claim, `paused`, `complete` or `fail` is retried
 *   (measured with `now`) before the tracker gives up and sets `lost`. Default 60000.
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
 * @property {Array<{from: number, to: number}>} [unconfirmed] On a retry: the failed job's
 *   claims never confirmed (its worker may have died mid-batch); re-visit them first, skipping
 *   every unit that already carries your own "done" mark.
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
 * A claim: the worker is about to do units `[done, claimed)` and, if answered `continue`, will
 * continue from `checkpoint` (docs/hooks.md § Exactly once).
 * @typedef {object} Claim
 * @property {number} done Units already done (the cursor before the batch).
 * @property {number} [claimed] The end of the batch (at least `done`, at most `total`).
 * @property {number} [total]
 * @property {string} [message]
 * @property {any} checkpoint Where to continue after the batch, with the counts as of its end.
 */

/**
 * @typedef {object} TrackerStats
 * @property {number} calls Hook executions attempted (retries included).
 * @property {number} coalesced Progress calls answered locally, without an execution.
 * @property {number} unavailable Calls given up because Job Manager stayed down (failed open,
 *   or, for claims and final calls, `lost`).
 * @property {number} retried Extra attempts after a transient failure.
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

/** The endpoint Job Manager's own functions use: the override first, as `shared::appwrite`. */
function endpointFromEnv() {
  const override = process.env.JOBS_APPWRITE_ENDPOINT?.trim();
  return override || (process.env.APPWRITE_FUNCTION_API_ENDPOINT ?? '').trim();
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
      maxBackoffMs: 2000,
      finalRetryMs: 60_000,
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
    this.stats = { calls: 0, coalesced: 0, unavailable: 0, outages: 0, rejected: 0, retried: 0 };
    /** @type {Record<string, any> | null} A start that failed open, retried before the next call. */
    this.pendingStart = null;
    this.down = false;
    /**
     * True once this execution's run is over: the hook said a newer run holds the job, or the
     * start was answered something other than `continue`. Later calls are not sent.
     */
    this.superseded = false;
    this.lastCallAt = -Infinity;
    this.lastPercent = -1;
    /**
     * True once a claim or a final call (`paused`, `complete`, `fail`) got no answer within
     * `finalRetryMs`: Job Manager does not know whether the claim was granted or the job
     * ended. `control` is then `cancel`, so the worker stops without doing the claimed work (it
     * stays at most once); the job is left to the execution observer or the stall sweeper, and a
     * retry re-visits its unconfirmed claims.
     */
    this.lost = false;
  }

  /**
   * A tracker inside an Appwrite function, from the function context: the endpoint
   * (`JOBS_APPWRITE_ENDPOINT` when set, as Job Manager's own functions read it, else the
   * `APPWRITE_FUNCTION_API_ENDPOINT` Appwrite injects), the project, the execution's own key,
   * and its execution id.
   * @param {{ req: { headers: Record<string, string> }, error?: (m: string) => void }} context
   * @param {string} hookId
   * @param {TrackerOptions} [options]
   */
  static fromContext(context, hookId, options = {}) {
    const endpoint = endpointFromEnv();
    /** @type {FunctionsLike} */
    const functions = endpoint
      ? new Functions(new Client()
        .setEndpoint(endpoint)
        .setProject(process.env.APPWRITE_FUNCTION_PROJECT_ID ?? '')
        .setKey(context.req.headers['x-appwrite-key'] ?? ''))
      : {
        // node-appwrite refuses an empty endpoint by throwing; a missing variable is a
        // configuration error to report on each call (refused), not a reason to crash the work.
        createExecution: async () => {
          throw Object.assign(new Error('no Appwrite endpoint: set APPWRITE_FUNCTION_API_ENDPOINT (or JOBS_APPWRITE_ENDPOINT)'), { code: 400 });
        },
      };
    return new JobTracker(functions, hookId, {
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
    this.closeUnlessContinued(answered);
    return this.control;
  }

  /**
   * Reports progress, coalesced: sent when the whole percent moves or `progressIntervalMs`
   * passed, otherwise answered locally with the last control value; fails open. `{ force: true }`
   * always sends; forced with a `checkpoint` it is a claim (see `claim`).
   * @param {ProgressUpdate} update
   * @param {{ force?: boolean }} [options]
   * @returns {Promise<Control>}
   */
  async progress(update, { force = false } = {}) {
    if (force && update.checkpoint !== undefined) return this.claim(/** @type {Claim} */ (update));
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
   * Claims a batch before doing it: `done` is what is already done, `claimed` the batch's end,
   * `checkpoint` where to continue after it (with the counts as of its end). Never coalesced.
   * Do the batch only when this answers `continue`; on `pause` confirm with `paused` and the
   * checkpoint as it was before the batch; on anything else stop. Retried until the hook
   * answers or `finalRetryMs` runs out; then `lost` is set and the answer is `cancel`, so the
   * batch is not done twice if a resume hands it to another run.
   * @param {Claim} claim
   * @returns {Promise<Control>}
   */
  async claim(claim) {
    await this.send({ event: 'progress', ...claim }, true);
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
    await this.send({ event: 'paused', checkpoint, message }, true);
    return this.control;
  }

  /**
   * @param {object} [result] Outcome counters, e.g. `{sent, failed, bounced}`.
   * @param {string} [message]
   * @param {any} [checkpoint] The final checkpoint (the cursor at the end, the counts).
   */
  async complete(result, message, checkpoint) {
    await this.send({ event: 'complete', result, message, checkpoint }, true);
    return this.control;
  }

  /**
   * @param {unknown} error The error (its message is stored).
   * @param {object} [result] Partial counters.
   * @param {any} [checkpoint] Where a retry should continue (stored with the failure).
   */
  async fail(error, result, checkpoint) {
    const text = error instanceof Error ? error.message : String(error);
    await this.send({ event: 'fail', error: text.trim() || 'failed', result, checkpoint }, true);
    return this.control;
  }

  /**
   * One hook call with retries. Answers true when the hook answered (2xx, or a 4xx that
   * carried a control value), false otherwise. A fail-open call is tried `retries` more times;
   * a `persistent` one (claims, `paused`, `complete`, `fail`) until `finalRetryMs` has passed,
   * after which the tracker is `lost` and its control `cancel`.
   * @param {Record<string, any>} request
   * @param {boolean} [persistent]
   * @returns {Promise<boolean>}
   */
  async send(request, persistent = false) {
    if (this.superseded) return false;
    const { now, sleep, retries, backoffMs, maxBackoffMs, finalRetryMs } = this.options;
    const began = now();
    for (let attempt = 0; ; attempt += 1) {
      try {
        const answered = await this.attempt(request);
        if (this.down) {
          this.down = false;
          this.options.log(`job-manager: ${this.hookId} reachable again; tracking resumed`);
        }
        if (persistent && !answered && this.job && !this.superseded) {
          // Refused for good (a 4xx without control): the hook did not store the claim or the
          // job's end, and going on would do work Job Manager may hand to another run.
          this.control = 'cancel';
        }
        return answered;
      } catch (e) {
        if (!(e instanceof Unavailable)) throw e;
        const left = began + finalRetryMs - now();
        if (persistent ? left > 0 : attempt < retries) {
          if (persistent && attempt === retries) this.outage(e, `retrying ${request.event} until it is answered`);
          this.stats.retried += 1;
          const wait = Math.min(backoffMs * 2 ** Math.min(attempt, 30), maxBackoffMs);
          await sleep(persistent ? Math.max(0, Math.min(wait, left)) : wait);
          continue;
        }
        this.stats.unavailable += 1;
        if (this.options.failClosed) {
          throw new JobTrackingError(`Job Manager unavailable: ${e.message}`, { cause: e });
        }
        if (!persistent) {
          this.outage(e, 'the work goes on untracked until it answers');
          return false;
        }
        this.outage(e, '');
        this.control = 'cancel';
        if (!this.lost) {
          this.lost = true;
          const what = request.event === 'progress'
            ? `the claim of ${request.done}–${request.claimed ?? request.done} was`
            : `${request.event} was`;
          this.options.log(
            `job-manager: ${what} never answered in ${Math.round(finalRetryMs / 1000)} s; stopping without doing more (tracker.lost)`,
          );
        }
        return false;
      }
    }
  }

  /**
   * After a start's answer: anything but `continue` means the execution must end without
   * another hook call (a paused job's start answers the job's last run, not one of ours).
   * Answers whether the tracker is now closed.
   * @param {boolean} answered
   */
  closeUnlessContinued(answered) {
    if (answered && this.control !== 'continue') this.superseded = true;
    return this.superseded;
  }

  /**
   * Logs an outage once, when it begins.
   * @param {Error} e
   * @param {string} consequence
   */
  outage(e, consequence) {
    if (this.down) return;
    this.down = true;
    this.stats.outages += 1;
    this.options.log(`job-manager: ${this.hookId} unavailable (${e.message})${consequence ? `; ${consequence}` : ''}`);
  }

  /**
   * One attempt: a start that failed open first (it must be answered before the job is
   * known), then the request. Throws `Unavailable` on a transient failure.
   * @param {Record<string, any>} request
   * @returns {Promise<boolean>}
   */
  async attempt(request) {
    if (request.event !== 'start') {
      if (this.pendingStart) {
        if (!(await this.attempt(this.pendingStart))) return false;
        this.pendingStart = null;
        // Answered at last, but not `continue` (paused, superseded, finished): this execution
        // ends here, and the call it was making is not sent.
        if (this.closeUnlessContinued(true)) return true;
      }
      if (!this.job) return false;
      request = { ...request, jobId: this.job.$id };
    } else {
      request = { ...request };
    }
    if (this.run !== undefined) request.run = this.run;
    if (this.options.executionId) request.executionId = this.options.executionId;
    return this.call(request.event, JSON.stringify(request));
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
    // A repeat of a claim the hook already answered `continue` (the first answer was lost):
    // the batch is this run's to do, whatever happened since (docs/hooks.md § Exactly once).
    if (answer.code === 'granted') this.control = 'continue';
    // A newer run holds the job: this one is over and must not call again (docs/hooks.md § Runs).
    if (answer.code === 'superseded' || answer.code === 'run_required') this.superseded = true;
    // Only a `continue` answer hands this worker a run. Any other answer names the job's run
    // (a superseded call's successor, a paused job's last run), and sending that run back
    // would let this worker act as a run that belongs to another execution.
    const run = answer.run ?? answer.job?.run;
    if (typeof run === 'number' && this.control === 'continue' && !this.superseded) this.run = run;
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
