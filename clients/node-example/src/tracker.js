// A small client of the Job Manager hooks (docs/hooks.md) for Node workers: every call is an
// Appwrite execution of the hook; answers carry the job and a control value
// ("continue" | "pause" | "cancel"). Progress is coalesced here too, since each call costs an
// execution: sent when the percent moves, otherwise at most every `intervalMs`. Every call after
// `start` carries the `run` the start answer gave (docs/hooks.md § Runs): a call from a run that
// is over answers control "cancel" with `code` "superseded" and writes nothing.
import { ExecutionMethod } from 'node-appwrite';

export class JobTracker {
  constructor(functions, hookId, { caller, executionId, intervalMs = 2000 } = {}) {
    this.functions = functions;
    this.hookId = hookId;
    this.caller = caller;
    this.intervalMs = intervalMs;
    this.job = null;
    this.control = 'continue';
    this.checkpoint = null;
    this.lastSent = 0;
    this.lastPercent = -1;
    this.run = undefined;
    this.executionId = executionId; // the worker's own x-appwrite-execution-id
    this.stopped = undefined; // "superseded" | "run_required" once this run is over
  }

  // Sync call: waits for the hook's answer and updates job/control. A 4xx about an existing job
  // still carries `control` (e.g. "cancel"), so it is applied before the error is thrown.
  async call(request) {
    const headers = { 'content-type': 'application/json' };
    if (this.caller) headers['x-job-caller'] = this.caller;
    if (request.event !== 'start' && this.run !== undefined) request.run = this.run;
    if (this.executionId) request.executionId = this.executionId;
    const execution = await this.functions.createExecution(
      this.hookId, JSON.stringify(request), false, '/', ExecutionMethod.POST, headers);
    const body = JSON.parse(execution.responseBody || '{}');
    if (body.control) this.control = body.control;
    if (body.job) this.job = body.job;
    if (execution.responseStatusCode >= 400) {
      const e = body.error || {};
      throw new Error(`hook refused ${request.event} (${execution.responseStatusCode} ${e.code}): ${e.message}`);
    }
    if (body.checkpoint !== undefined) this.checkpoint = body.checkpoint;
    if (body.code) this.stopped = body.code;
    else if (body.run !== undefined) this.run = body.run;
    return this.control;
  }

  // Fire and forget: an async execution, no answer, the last control value is kept.
  async send(request) {
    const headers = { 'content-type': 'application/json' };
    if (this.caller) headers['x-job-caller'] = this.caller;
    await this.functions.createExecution(
      this.hookId, JSON.stringify(request), true, '/', ExecutionMethod.POST, headers);
    return this.control;
  }

  // A re-trigger body (resume, retry) is itself a start request: pass its `run` along.
  start({ referenceId, jobId, run, total, message, metadata, idempotencyKey }) {
    return this.call({ event: 'start', referenceId, jobId, run, total, message, metadata, idempotencyKey });
  }

  async progress({ done, total, message, checkpoint }) {
    const t = total ?? this.job?.total;
    const percent = t ? Math.floor((Math.min(done, t) * 100) / t) : -1;
    const now = Date.now();
    if (percent === this.lastPercent && now - this.lastSent < this.intervalMs) return this.control;
    this.lastSent = now;
    this.lastPercent = percent;
    return this.call({ event: 'progress', jobId: this.job.$id, done, total, message, checkpoint });
  }

  heartbeat(message, details) {
    return this.call({ event: 'heartbeat', jobId: this.job.$id, message, details });
  }

  paused(checkpoint, message) {
    return this.call({ event: 'paused', jobId: this.job.$id, checkpoint, message });
  }

  complete(result, message) {
    return this.call({ event: 'complete', jobId: this.job.$id, result, message });
  }

  fail(error) {
    return this.call({ event: 'fail', jobId: this.job.$id, error: String(error) });
  }
}
