// The Schedules view's state and wording, pure (no DOM, no clock, no fetch), so Node tests it
// alone (testing/browser/schedules-state.test.mjs). The server (`GET /v1/schedules`, job-actions)
// decides health, next run and the words of the cron expression; this module only reads its
// answer defensively (a function's name, an error or a reason is text from whoever set it up),
// orders the rows, words times and runs, says which buttons a role gets and what the confirm
// dialog asks, and keeps a "run now" the server has not listed yet so the row shows it at once.

/** The health flags in the order a reader should worry about them. */
export const HEALTH = ["failing", "late", "disabled", "ok"];
export const HEALTH_LABELS = { failing: "Failing", late: "Late", disabled: "Disabled", ok: "OK" };

/** Appwrite's execution statuses, worded (appwrite 1.6 Executions API: waiting, processing, completed, failed, scheduled, cancelled). */
const RUN_LABELS = {
  waiting: "Waiting",
  processing: "Processing",
  completed: "Completed",
  failed: "Failed",
  scheduled: "Scheduled",
  cancelled: "Cancelled",
};

/** How long a "run now" the server has not listed yet is still shown as requested (ms). */
export const PENDING_MS = 5 * 60 * 1000;

const str = (v) => (typeof v === "string" ? v : v === null || v === undefined ? "" : String(v));
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const iso = (v) => (typeof v === "string" && !Number.isNaN(Date.parse(v)) ? v : null);

/** One execution of the answer, with only the fields the view reads; null when it has no id. */
export function readRun(raw) {
  if (!raw || typeof raw !== "object" || !str(raw.executionId)) return null;
  return {
    executionId: str(raw.executionId),
    status: str(raw.status).toLowerCase(),
    trigger: str(raw.trigger),
    startedAt: iso(raw.startedAt),
    durationSeconds: num(raw.durationSeconds),
    statusCode: num(raw.statusCode),
    consoleUrl: typeof raw.consoleUrl === "string" && raw.consoleUrl ? raw.consoleUrl : null,
  };
}

/** One audit entry of the answer; null when it names no action. */
export function readAudit(raw) {
  if (!raw || typeof raw !== "object" || !str(raw.action)) return null;
  return { at: iso(raw.at), actor: str(raw.actor), action: str(raw.action), reason: str(raw.reason) };
}

/** One schedule of the answer, normalised; null without a function id. */
export function readSchedule(raw) {
  if (!raw || typeof raw !== "object" || !str(raw.functionId)) return null;
  const health = HEALTH.includes(raw.health) ? raw.health : "ok";
  const list = (v, read, max) => (Array.isArray(v) ? v.map(read).filter(Boolean).slice(0, max) : []);
  return {
    functionId: str(raw.functionId),
    name: str(raw.name) || str(raw.functionId),
    schedule: str(raw.schedule),
    scheduleText: str(raw.scheduleText),
    enabled: raw.enabled !== false,
    nextRunAt: iso(raw.nextRunAt),
    health,
    healthReason: str(raw.healthReason),
    lastRun: readRun(raw.lastRun),
    recent: list(raw.recent, readRun, 10),
    runs24h: num(raw.runs24h) ?? 0,
    failures24h: num(raw.failures24h) ?? 0,
    audit: list(raw.audit, readAudit, 5),
  };
}

/** Rows by name (as people look for them), then id: a stable order, so rows do not jump. */
export function compare(a, b) {
  const byName = a.name.localeCompare(b.name, "en", { sensitivity: "base" });
  return byName || (a.functionId < b.functionId ? -1 : a.functionId > b.functionId ? 1 : 0);
}

/**
 * The view's state: the schedules of the last answer, when it was checked and what it cost, and
 * the "run now" executions asked for but not listed yet (`requested`), shown first in their row.
 */
export function createSchedulesState() {
  let schedules = new Map();
  let checkedAt = null;
  let requests = null;
  const pending = new Map(); // functionId → {run, at}

  function withPending(s, now) {
    const p = pending.get(s.functionId);
    if (!p) return s;
    const listed = s.recent.some((r) => r.executionId === p.run.executionId) || (s.lastRun && s.lastRun.executionId === p.run.executionId);
    if (listed || now - p.at > PENDING_MS) {
      pending.delete(s.functionId);
      return s;
    }
    return { ...s, recent: [p.run, ...s.recent].slice(0, 10), requested: p.run };
  }

  return {
    /** Takes a `GET /v1/schedules` answer; throws on one that is not that answer's shape. */
    load(answer) {
      if (!answer || !Array.isArray(answer.schedules)) throw new Error("The server sent no list of schedules.");
      schedules = new Map();
      for (const raw of answer.schedules) {
        const s = readSchedule(raw);
        if (s) schedules.set(s.functionId, s);
      }
      checkedAt = iso(answer.checkedAt);
      requests = num(answer.requests);
    },
    /** Takes an enable / disable answer (the schedule object). */
    replace(raw) {
      const s = readSchedule(raw);
      if (s) schedules.set(s.functionId, s);
      return s;
    },
    /** Takes a run-now answer (`{functionId, executionId, status}`) at `now` (ms). */
    requested(answer, now) {
      const run = readRun({ ...answer, trigger: "http" });
      if (!run || !schedules.has(str(answer.functionId))) return null;
      pending.set(str(answer.functionId), { run, at: now });
      return run;
    },
    get: (functionId) => schedules.get(functionId) || null,
    /** The rows to show at `now` (ms), ordered. */
    ordered(now) {
      return [...schedules.values()].map((s) => withPending(s, now)).sort(compare);
    },
    get checkedAt() {
      return checkedAt;
    },
    get requests() {
      return requests;
    },
  };
}

/** The buttons a role gets on a schedule, in order. */
export function actionsFor(schedule, role) {
  if (role !== "operator") return [];
  return ["run", schedule.enabled ? "disable" : "enable"];
}

export const ACTION_LABELS = { run: "Run now", disable: "Disable", enable: "Enable" };

/** What the confirm dialog asks before `action` on `schedule`: title, text, the two buttons. */
export function confirmTexts(action, schedule) {
  const name = schedule.name;
  const texts = {
    run: {
      title: "Run this function now?",
      text: `${name} runs once now as an asynchronous execution, besides its schedule (${schedule.schedule || "none"}).`,
      yes: "Run now",
      no: "Don't run",
    },
    disable: {
      title: "Disable this function?",
      text: `${name} is disabled in Appwrite: its scheduled runs stop, and so do manual executions (Run now, other functions calling it) until it is enabled again.`,
      yes: "Disable",
      no: "Keep enabled",
    },
    enable: {
      title: "Enable this function?",
      text: `${name} is enabled in Appwrite: its schedule (${schedule.schedule || "none"}) and manual executions run again.`,
      yes: "Enable",
      no: "Keep disabled",
    },
  };
  return { ...texts[action], note: "(optional, kept in the schedule's audit)" };
}

/** What an action's success says. */
export function doneText(action, schedule, answer) {
  if (action === "run") return `Run requested for ${schedule.name}: execution ${str(answer && answer.executionId)} (${str(answer && answer.status) || "waiting"})`;
  return `${action === "disable" ? "Disabled" : "Enabled"} ${schedule.name}`;
}

const pad = (n) => String(n).padStart(2, "0");

/** "2026-12-07 08:05 UTC" (the schedule's own clock: Appwrite runs CRON in UTC). */
export function utcText(at) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return "—";
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** The same instant in `timeZone` (the viewer's by default): "Mon 09:05 (Europe/Paris)". */
export function localText(at, timeZone) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return "—";
  const zone = timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  try {
    const text = d.toLocaleString("en-GB", { timeZone: timeZone || undefined, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    return `${text} (${zone})`;
  } catch (e) {
    return `${d.toLocaleString()} (${zone})`;
  }
}

/** "hh:mm:ss" of `at` in the viewer's time zone (or `timeZone`). */
export function clockText(at, timeZone) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleTimeString("en-GB", { timeZone: timeZone || undefined, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

/** The refresh line: "Updated 08:05:12 · 3 Appwrite requests · refreshes every 30 s". */
export function stampText(at, requests, everyMs, timeZone) {
  const cost = requests === null || requests === undefined ? "" : ` · ${requests} Appwrite ${requests === 1 ? "request" : "requests"}`;
  return `Updated ${clockText(at, timeZone)}${cost} · refreshes every ${Math.round(everyMs / 1000)} s`;
}

/** "7 ms", "1.2 s", "3m 05s", "—". */
export function durationText(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 10) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
}

export function runStatusLabel(status) {
  return RUN_LABELS[status] || (status ? status.charAt(0).toUpperCase() + status.slice(1) : "Unknown");
}

/** A run's one-line facts: "Failed · HTTP 500 · 1.2 s · schedule". */
export function runFacts(run) {
  const parts = [runStatusLabel(run.status)];
  if (run.statusCode) parts.push(`HTTP ${run.statusCode}`);
  if (run.durationSeconds !== null) parts.push(durationText(run.durationSeconds));
  if (run.trigger) parts.push(run.trigger);
  return parts.join(" · ");
}

/**
 * The console page of a run: the server's `consoleUrl`, else `template` (`consoleExecutionUrl`)
 * filled in; null without either, or for anything but an http(s) link (the template is
 * configuration, the ids come from the server).
 */
export function consoleHref(run, functionId, template, project) {
  const href = run.consoleUrl
    || (template
      ? template
        .replaceAll("{project}", encodeURIComponent(project || ""))
        .replaceAll("{functionId}", encodeURIComponent(functionId))
        .replaceAll("{executionId}", encodeURIComponent(run.executionId))
      : null);
  return href && /^https?:\/\//i.test(href) ? href : null;
}

const AUDIT_VERBS = { run: "ran it now", enable: "enabled it", disable: "disabled it" };

/** An audit entry in words: "ops@example.com disabled it: “noisy”". */
export function auditText(entry) {
  const verb = AUDIT_VERBS[entry.action] || entry.action;
  return `${entry.actor || "someone"} ${verb}${entry.reason ? `: “${entry.reason}”` : ""}`;
}

/** The cron line: the server's words, and the expression for those who read cron. */
export function cronText(schedule) {
  return schedule.scheduleText || schedule.schedule || "no schedule";
}
