// The Schedules view (`/jobs/schedules`, dashboard/assets/schedules.js) in Chromium against the
// real jobs-dev: every scheduled function listed with its next and last run, Run now showing
// the new execution in its row, Disable / Enable round-tripping with their audit entries,
// focus kept on the button the user is on, no buttons for a viewer, the view inside a host
// page, axe-clean in both themes and usable at 390 px. Hostile names and reasons go in through
// the real APIs, and late and failing schedules through jobs-dev's development-only
// `POST /v1/dev/schedules` (a function with a past history); the page's clock is moved instead of
// waiting 30 s for a refresh. What jobs-dev cannot be made to say (a hostile health reason,
// console link or refusal, a failed load): the page's own request still goes to jobs-dev and
// the test edits the answer on the way back, in the contract's shape.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, openBrowser, action, execute, eventually, axe, screenshots, KEY } from "./harness.mjs";
import { startHost } from "./host/server.mjs";

let server;
before(async () => {
  server = await startServer();
  mkdirSync(screenshots, { recursive: true });
});
after(async () => {
  await server?.stop();
});

/** The schedules as the API answers them to the development operator. */
async function schedules(url = server.url) {
  const res = await action(url, "GET", "/v1/schedules");
  assert.equal(res.status, 200, `GET /v1/schedules answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.schedules;
}

const rowOf = (page, functionId) => page.locator(`li.sched[data-function-id="${functionId}"]`);

/** One scheduled function to act on: job-retention when the project has it (appwrite.json does). */
async function target() {
  const all = await schedules();
  assert.ok(all.length > 0, "the project has scheduled functions");
  return all.find((s) => s.functionId === "job-retention") || all[0];
}

/**
 * Rewrites the page's `GET /v1/schedules` answers with `edit(answer)` (the contract's object);
 * everything else goes to jobs-dev untouched. `edit` may change between refreshes.
 */
async function editAnswers(page, holder) {
  await page.route("**/v1/functions/job-actions/executions", async (route) => {
    let sent = {};
    try {
      sent = JSON.parse(route.request().postData() || "{}");
    } catch (e) {
      // Not ours.
    }
    const res = await route.fetch();
    const edit = sent.path === "/v1/schedules" && sent.method === "GET" ? holder.list : holder.actions && holder.actions(sent);
    if (!edit) return route.fulfill({ response: res });
    const execution = await res.json();
    const out = edit(JSON.parse(execution.responseBody || "null"), execution);
    if (out && out.status) {
      execution.responseStatusCode = out.status;
      execution.responseBody = JSON.stringify(out.body);
    } else {
      execution.responseBody = JSON.stringify(out);
    }
    return route.fulfill({ response: res, body: JSON.stringify(execution) });
  });
}

test("the Schedules tab lists every scheduled function with its next run and last run", async () => {
  const chosen = await target();
  // A run in Appwrite's record: any execution counts, as a scheduled one would.
  await execute(server.url, chosen.functionId, null, { path: "/", method: "POST" });
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    await page.goto(`${server.url}/jobs`);
    const tab = page.locator('[data-part="tab-schedules"]');
    // The page is checked against the answer it got itself (a next run moves on with the clock).
    const answered = page.waitForResponse((res) => JSON.parse(res.request().postData() || "{}").path === "/v1/schedules");
    await tab.click();
    await page.waitForURL(`${server.url}/jobs/schedules`);
    const expected = JSON.parse((await (await answered).json()).responseBody).schedules;
    assert.deepEqual(expected.map((s) => s.functionId).sort(), (await schedules()).map((s) => s.functionId).sort(), "every scheduled function");
    assert.equal(await tab.getAttribute("aria-current"), "page");
    await rowOf(page, expected[0].functionId).waitFor();
    assert.equal(await page.locator("li.sched").count(), expected.length, "one row per scheduled function");
    for (const s of expected) {
      const r = rowOf(page, s.functionId);
      assert.equal(await r.locator(".name").textContent(), s.name);
      assert.equal(await r.locator("code.cron").textContent(), s.schedule);
      assert.equal(await r.locator(".cron-words").textContent(), s.scheduleText || s.schedule);
      assert.equal(await r.locator(".badge.health").getAttribute("class"), `badge health h-${s.health}`);
      if (s.enabled && s.nextRunAt) {
        const next = r.locator(".sf", { hasText: "Next run" });
        const d = new Date(s.nextRunAt);
        const hhmm = `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")} UTC`;
        assert.match(await next.locator(".utc").textContent(), new RegExp(hhmm));
        assert.match(await next.locator(".local").textContent(), /\(.+\)$/, "the viewer's time zone is named");
      }
    }
    const mine = rowOf(page, chosen.functionId);
    const last = expected.find((s) => s.functionId === chosen.functionId).lastRun;
    assert.ok(last, "the execution just made is the last run");
    await mine.locator(`.last-run .badge`).first().waitFor();
    assert.ok(await mine.locator(`ol.recent li[data-key="${last.executionId}"]`).count(), "the run is in the recent list");
    assert.match(await mine.locator(".runs24").textContent(), /^\d+ runs?$/);
    assert.match(await page.locator('[data-part="refreshed"]').textContent(), /^Updated \d\d:\d\d:\d\d · \d+ Appwrite requests? · refreshes every 30 s$/);
    // Back to the jobs through the same navigation.
    await page.locator('[data-part="tab-active"]').click();
    await page.waitForURL(`${server.url}/jobs`);
    await page.locator('[data-part="tab-active"][aria-current="page"]').waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("run now asks first, returns focus to the button and shows the new execution in the row", async () => {
  const chosen = await target();
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    await page.goto(`${server.url}/jobs/schedules`);
    const r = rowOf(page, chosen.functionId);
    const run = r.locator('button[data-action="run"]');
    await run.focus();
    await page.keyboard.press("Enter");
    const dialog = page.locator('dialog[data-part="confirm"]');
    await dialog.waitFor();
    assert.match(await dialog.locator("p").textContent(), /asynchronous execution/);
    await dialog.locator("textarea").fill("checking the sweeper by hand");
    const answered = page.waitForResponse(async (res) => {
      const sent = JSON.parse(res.request().postData() || "{}");
      return sent.path === `/v1/schedules/${encodeURIComponent(chosen.functionId)}/run`;
    });
    await dialog.locator('button[value="ok"]').click();
    const execution = await (await answered).json();
    assert.equal(execution.responseStatusCode, 202, execution.responseBody);
    const body = JSON.parse(execution.responseBody);
    assert.equal(body.functionId, chosen.functionId);
    assert.ok(body.executionId);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.action), "run", "focus is back on Run now");
    await r.locator(`ol.recent li[data-key="${body.executionId}"]`).waitFor();
    await r.locator("ul.audit li", { hasText: "ran it now: “checking the sweeper by hand”" }).waitFor();
    const listed = (await schedules()).find((s) => s.functionId === chosen.functionId);
    assert.ok(listed.recent.some((x) => x.executionId === body.executionId), "the server lists the execution");
    assert.equal(listed.audit[0].action, "run");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("disable and enable round-trip, say that manual executions stop too, and are audited", async () => {
  const chosen = await target();
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    await page.goto(`${server.url}/jobs/schedules`);
    const r = rowOf(page, chosen.functionId);
    await r.locator('button[data-action="disable"]').click();
    const dialog = page.locator('dialog[data-part="confirm"]');
    await dialog.waitFor();
    assert.match(await dialog.locator("p").textContent(), /manual executions/);
    assert.match(await dialog.locator("label .muted").textContent(), /audit/);
    await dialog.locator("textarea").fill("maintenance window");
    await dialog.locator('button[value="ok"]').click();
    await page.locator(`li.sched[data-function-id="${chosen.functionId}"][data-enabled="false"]`).waitFor();
    assert.equal(await r.locator(".badge.health").textContent(), "Disabled");
    await r.locator("ul.audit li", { hasText: "disabled it: “maintenance window”" }).waitFor();
    // Focus stays in the row: on Enable, which took Disable's place.
    await eventually(async () => (await page.evaluate(() => document.activeElement.dataset.action)) === "enable", 5000, "focus on Enable");
    assert.equal((await schedules()).find((s) => s.functionId === chosen.functionId).enabled, false);

    await r.locator('button[data-action="enable"]').click();
    await dialog.waitFor();
    await dialog.locator('button[value="ok"]').click();
    await page.locator(`li.sched[data-function-id="${chosen.functionId}"][data-enabled="true"]`).waitFor();
    await r.locator("ul.audit li", { hasText: "enabled it" }).waitFor();
    const after = (await schedules()).find((s) => s.functionId === chosen.functionId);
    assert.equal(after.enabled, true);
    assert.deepEqual(after.audit.slice(0, 2).map((a) => a.action), ["enable", "disable"]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("backing out of the dialog changes nothing and gives focus back", async () => {
  const chosen = await target();
  const before = (await schedules()).find((s) => s.functionId === chosen.functionId);
  const browser = await openBrowser();
  try {
    const { page } = browser;
    await page.goto(`${server.url}/jobs/schedules`);
    const button = rowOf(page, chosen.functionId).locator('button[data-action="disable"]');
    await button.focus();
    await page.keyboard.press("Enter");
    await page.locator('dialog[data-part="confirm"][open]').waitFor();
    await page.keyboard.press("Escape");
    await page.locator('dialog[data-part="confirm"]:not([open])').waitFor({ state: "attached" });
    await eventually(async () => (await page.evaluate(() => document.activeElement.dataset.action)) === "disable", 5000, "focus back on Disable");
    const now = (await schedules()).find((s) => s.functionId === chosen.functionId);
    assert.equal(now.enabled, true);
    assert.equal(now.audit.length, before.audit.length);
  } finally {
    await browser.close();
  }
});

/**
 * Registers a scheduled function with a past history through jobs-dev's development-only
 * `POST /v1/dev/schedules` (docs/local.md); answers its function document.
 */
async function seedSchedule(url, body) {
  const res = await fetch(`${url}/v1/dev/schedules`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-appwrite-key": KEY, "x-appwrite-project": "jobmanager" },
    body: JSON.stringify(body),
  });
  const doc = await res.json();
  assert.equal(res.status, 201, JSON.stringify(doc));
  return doc;
}

test("a schedule that is overdue on the server shows late within one refresh, and the focused button keeps focus", async () => {
  const chosen = await target();
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    await page.clock.install();
    await page.goto(`${server.url}/jobs/schedules`);
    const r = rowOf(page, chosen.functionId);
    await r.waitFor();
    const run = r.locator('button[data-action="run"]');
    await run.focus();
    // Registered after the page loaded, so only a refresh can show them: every minute since an
    // hour ago with the last run 10 minutes ago (late whatever the second), and one whose three
    // newest runs failed.
    const ago = (minutes) => new Date(Date.now() - minutes * 60000).toISOString();
    await seedSchedule(server.url, {
      functionId: "late-poller",
      name: "Late poller",
      schedule: "* * * * *",
      since: ago(60),
      runs: [{ at: ago(10), status: "completed", duration: 0.5 }],
    });
    await seedSchedule(server.url, {
      functionId: "failing-poller",
      name: "Failing poller",
      schedule: "* * * * *",
      since: ago(60),
      runs: [3, 2, 1].map((n) => ({ at: ago(n), status: "failed", duration: 2 })),
    });
    assert.equal(await page.locator('li.sched[data-function-id="late-poller"]').count(), 0, "not shown before a refresh");
    // The view's own 30 s timer, on the page's clock: the server judges at its real time.
    await page.clock.runFor(30000);
    const late = page.locator('li.sched[data-function-id="late-poller"][data-health="late"]');
    await late.waitFor();
    assert.equal(await late.locator(".name").textContent(), "Late poller");
    assert.equal(await late.locator(".badge.health").textContent(), "Late");
    assert.match(await late.locator(".health-reason").textContent(), /^no run started since \S+ \(expected then; grace 60 s\)/);
    const failing = page.locator('li.sched[data-function-id="failing-poller"][data-health="failing"]');
    await failing.waitFor();
    assert.equal(await failing.locator(".badge.health").textContent(), "Failing");
    assert.match(await failing.locator(".health-reason").textContent(), /^the last 3 runs failed/);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.action), "run", "the refresh kept focus on Run now");
    assert.equal(await page.evaluate(() => document.activeElement.closest("li").dataset.functionId), chosen.functionId);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("hostile function names, reasons and error text stay inert", async () => {
  const hostile = `<img src=x onerror="window.__pwned=1">`;
  // A server of its own: the function is renamed through Appwrite's Functions API, as anyone
  // with the console could, and audited with a hostile reason through the action API.
  const own = await startServer();
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    const renamed = await fetch(`${own.url}/v1/functions/job-retention`, {
      method: "PUT",
      headers: { "content-type": "application/json", "x-appwrite-key": KEY, "x-appwrite-project": "jobmanager" },
      body: JSON.stringify({ name: hostile, schedule: "*/5 * * * *" }),
    });
    assert.equal(renamed.status, 200, await renamed.text());
    const ran = await action(own.url, "POST", "/v1/schedules/job-retention/run", { reason: `</li><img src=x onerror="window.__pwned=4">` });
    assert.equal(ran.status, 202, JSON.stringify(ran.body));
    // What the server cannot be made to say on demand: a hostile health reason, a javascript:
    // console link and a refusal with markup in its message.
    const holder = {
      list: (answer) => {
        for (const s of answer.schedules) {
          if (s.functionId !== "job-retention") continue;
          s.healthReason = `<script>window.__pwned=2</script>`;
          if (s.lastRun) s.lastRun.consoleUrl = "javascript:window.__pwned=6";
        }
        return answer;
      },
      actions: (sent) =>
        sent.path && sent.path.endsWith("/run")
          ? () => ({ status: 500, body: { error: { code: "upstream", message: `<img src=x onerror="window.__pwned=7"> Appwrite refused` } } })
          : null,
    };
    await editAnswers(page, holder);
    await page.goto(`${own.url}/jobs/schedules`);
    const r = rowOf(page, "job-retention");
    await r.locator(".name", { hasText: hostile }).waitFor();
    assert.equal(await r.locator(".name").textContent(), hostile);
    assert.equal(await r.locator(".health-reason").textContent(), `<script>window.__pwned=2</script>`);
    await r.locator("ul.audit li", { hasText: "</li><img" }).waitFor();
    await r.locator(".last-run .badge").first().waitFor();
    assert.equal(await r.locator("a.console-link").count(), 0, "a javascript: link is not a link");
    await r.locator('button[data-action="run"]').click();
    const dialog = page.locator('dialog[data-part="confirm"]');
    assert.match(await dialog.locator("p").textContent(), /^<img src=x/);
    await dialog.locator('button[value="ok"]').click();
    await page.locator(".toast", { hasText: "Appwrite refused" }).waitFor();
    assert.match(await page.locator(".toast.t-error").first().textContent(), /<img src=x onerror=/);
    assert.equal(await page.locator("main img, .toasts img, dialog img").count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(errors, []);
  } finally {
    // The refresh after the refused action may still be in a route handler when the page goes.
    await browser.page.unrouteAll({ behavior: "ignoreErrors" });
    await browser.close();
    await own.stop();
  }
});

test("a failed load is shown as an error with its text, and Try again loads the view", async () => {
  const browser = await openBrowser();
  try {
    const { page } = browser;
    let fail = true;
    await editAnswers(page, {
      list: (answer) => (fail ? { status: 503, body: { error: { code: "unavailable", message: `Appwrite is down <i>now</i>` } } } : answer),
    });
    await page.goto(`${server.url}/jobs/schedules`);
    const alert = page.locator('main [role="alert"]', { hasText: "Could not load schedules" });
    await alert.waitFor();
    assert.match(await alert.textContent(), /Appwrite is down <i>now<\/i>/);
    fail = false;
    await alert.locator("button").click();
    await page.locator("li.sched").first().waitFor();
  } finally {
    await browser.page.unrouteAll({ behavior: "ignoreErrors" });
    await browser.close();
  }
});

test("a viewer sees the schedules but no button, and the API refuses their actions", async () => {
  const viewer = await startServer({ role: "viewer" });
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    const all = await schedules(viewer.url);
    await page.goto(`${viewer.url}/jobs/schedules`);
    await rowOf(page, all[0].functionId).waitFor();
    assert.equal(await page.locator("li.sched").count(), all.length);
    assert.equal(await page.locator("li.sched button").count(), 0);
    const refused = await action(viewer.url, "POST", `/v1/schedules/${encodeURIComponent(all[0].functionId)}/disable`, { reason: "not allowed" });
    assert.equal(refused.status, 403);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await viewer.stop();
  }
});

test("the Schedules tab works inside a host page at its base path", async () => {
  const hostApp = await startHost(server.url);
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    const all = await schedules();
    await page.goto(`${hostApp.url}/app/jobs`);
    await page.locator('[data-part="tab-schedules"]').click();
    await page.waitForURL(`${hostApp.url}/app/jobs/schedules`);
    await rowOf(page, all[0].functionId).waitFor();
    assert.equal(await page.locator(".host-nav").count(), 1, "the host's header is still there");
    assert.equal(await page.locator("li.sched").count(), all.length);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await hostApp.stop();
  }
});

for (const scheme of ["light", "dark"]) {
  test(`the Schedules view passes axe in the ${scheme} theme`, async () => {
    const all = await schedules();
    const browser = await openBrowser({ colorScheme: scheme });
    try {
      const { page } = browser;
      await page.goto(`${server.url}/jobs/schedules`);
      await rowOf(page, all[0].functionId).waitFor();
      assert.deepEqual(await axe(page), []);
      await page.locator("li.sched button[data-action]").first().click();
      await page.locator('dialog[data-part="confirm"][open]').waitFor();
      assert.deepEqual(await axe(page), [], "with the confirm dialog open");
      await page.keyboard.press("Escape");
    } finally {
      await browser.close();
    }
  });
}

test("on a 390 px phone the view fits the width and its buttons are reachable", async () => {
  const all = await schedules();
  const browser = await openBrowser({ viewport: { width: 390, height: 844 } });
  try {
    const { page } = browser;
    await page.goto(`${server.url}/jobs/schedules`);
    await rowOf(page, all[0].functionId).waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width} px wide`);
    const box = await page.locator("li.sched button[data-action]").first().boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, "the first button is on screen");
    await page.screenshot({ path: join(screenshots, "schedules-phone.png"), fullPage: true });
  } finally {
    await browser.close();
  }
});
