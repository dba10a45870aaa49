// Benchmark: what one dashboard tab costs and how fast it shows changes, on jobs-dev with ten
// jobs changing. Prints a Markdown section for docs/BENCHMARKS.md (scripts/bench-dashboard).
//
// An hour is simulated with Playwright's fake clock: the page's timers (polling, resync, the
// 1-second tick, the socket's ping) run for 3600 s of page time while the ten workers report
// through the real hooks once per 15 s of page time; Realtime events and requests are real.
// Executions and store calls come from jobs-dev's counters (`/v1/dev/stats`): every
// `job-actions` execution is the tab's. Delays are real time, from the start of a hook call to
// the new percentage in the row, for one job per step; the polling delay is measured in a
// separate real-time run (polling is every 5 s of real time there).

import { startServer, openBrowser, worker, eventually, row, withConfig, stats, trackFetches, advance } from "./harness.mjs";

const HOUR_MS = 3600 * 1000;
const STEP_MS = 15000;
const POLL_MS = 5000;
const JOBS = 10;
const POLL_REAL_MS = Number(process.env.BENCH_POLL_SECONDS || 60) * 1000;

/** Ten workers; each step every job moves on a percent; a job at 100% completes and a new one starts. */
async function crew(url) {
  let n = 0;
  const start = async () => {
    const w = await worker(url, n % 2 ? "CAMPAIGN_RUN" : "BULK_VERIFY", `bench-${String(n++).padStart(4, "0")}`, { total: 100 });
    return { w, done: 0 };
  };
  const jobs = [];
  for (let i = 0; i < JOBS; i++) jobs.push(await start());
  return {
    jobs,
    /** One step: every job reports; answers the first job's id and its new percent. */
    async step() {
      for (let i = 0; i < jobs.length; i++) {
        const j = jobs[i];
        j.done += 1;
        if (j.done >= 100) {
          await j.w.complete({ result: { done: 100 } });
          jobs[i] = await start();
        } else {
          await j.w.progress({ done: j.done, message: `${j.done}/100` });
        }
      }
    },
  };
}

function pct(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One simulated hour; answers the tab's executions, store calls and measured delays. */
async function hour({ realtime }) {
  const server = await startServer();
  const browser = await openBrowser();
  try {
    const { page } = browser;
    const team = await crew(server.url);
    if (!realtime) await withConfig(page, { realtime: false });
    await page.clock.install();
    await trackFetches(page);
    await page.goto(`${server.url}/jobs`);
    await row(page, team.jobs[0].w.jobId).waitFor();
    await page.locator(`[data-part="refreshed"][data-mode="${realtime ? "live" : "polling"}"]`).waitFor();
    const delays = [];
    for (let t = 0; t < HOUR_MS; t += STEP_MS) {
      const watched = team.jobs[0];
      const expected = watched.done + 1 >= 100 ? null : `${watched.done + 1}%`;
      const started = Date.now();
      await team.step();
      if (realtime && expected) {
        await eventually(async () => (await row(page, watched.w.jobId).locator(".pct").textContent()) === expected, 10000, expected);
        delays.push(Date.now() - started);
      }
      // In polling steps, so each poll finds the previous one answered (as in real time).
      for (let k = 0; k < STEP_MS / POLL_MS; k++) await advance(page, POLL_MS);
    }
    const s = await stats(server.url);
    return {
      executions: s.executions["job-actions"] || 0,
      store: s.store["job-actions"] || { reads: 0, writes: 0 },
      hookExecutions: Object.entries(s.executions).filter(([k]) => k.startsWith("hook-")).reduce((a, [, v]) => a + v, 0),
      delays,
      errors: browser.errors,
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}

/** Real-time polling: the largest delay between a hook call and the row showing it. */
async function pollingDelay() {
  const server = await startServer();
  const browser = await openBrowser();
  try {
    const { page } = browser;
    const team = await crew(server.url);
    await withConfig(page, { realtime: false });
    await page.goto(`${server.url}/jobs`);
    await row(page, team.jobs[0].w.jobId).waitFor();
    const delays = [];
    const until = Date.now() + POLL_REAL_MS;
    while (Date.now() < until) {
      const watched = team.jobs[0];
      const expected = `${watched.done + 1}%`;
      const started = Date.now();
      await watched.w.progress({ done: watched.done + 1 });
      watched.done += 1;
      await eventually(async () => (await row(page, watched.w.jobId).locator(".pct").textContent()) === expected, 15000, expected);
      delays.push(Date.now() - started);
      // Next change at an arbitrary point of the polling cycle.
      await new Promise((r) => setTimeout(r, 700 + Math.floor(Math.random() * 1700)));
    }
    return delays;
  } finally {
    await browser.close();
    await server.stop();
  }
}

const live = await hour({ realtime: true });
const polling = await hour({ realtime: false });
const polled = await pollingDelay();
const ms = (v) => `${Math.round(v)} ms`;
const lines = [
  "## Dashboard: cost of an open tab and update delay",
  "",
  "Command: `scripts/bench-dashboard` (jobs-dev debug build, headless Chromium, one `/jobs` tab, ten jobs each reporting every 15 s; an hour of the page's time on Playwright's fake clock, the hooks, Realtime and requests real). Executions and store calls are jobs-dev's counters for `job-actions`, i.e. the tab's; on Appwrite each store call of the list is one request and the summary at most two.",
  "",
  "| mode | function executions per tab-hour | store calls per tab-hour | hook executions in the hour |",
  "|---|---:|---:|---:|",
  `| Realtime up | ${live.executions} | ${live.store.reads + live.store.writes} | ${live.hookExecutions} |`,
  `| polling (socket down) | ${polling.executions} | ${polling.store.reads + polling.store.writes} | ${polling.hookExecutions} |`,
  "",
  "| mode | changes timed | p50 delay | largest delay |",
  "|---|---:|---:|---:|",
  `| Realtime up (hook call start → row shows it) | ${live.delays.length} | ${ms(pct(live.delays, 50))} | ${ms(Math.max(...live.delays))} |`,
  `| polling every 5 s (real time, ${POLL_REAL_MS / 1000} s) | ${polled.length} | ${ms(pct(polled, 50))} | ${ms(Math.max(...polled))} |`,
  "",
  `Targets (issue 18): ≤ 60 executions per tab-hour with the socket up; ≤ 1 s delay with Realtime, ≤ 5 s polling. Page errors during the runs: ${live.errors.length + polling.errors.length}.`,
];
console.log(lines.join("\n"));
