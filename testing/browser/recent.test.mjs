// "Recent" shows the outcomes that matter first (issue 28 item 1): with 150 finished metrics
// runs and a few campaigns and verifications, the campaigns are on the first screen; the routine
// jobs are a folded section below (loaded when opened) whose summary and the type chips carry the
// summary API's counts. axe-core in both themes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, openBrowser, worker, execute, action, row, axe, eventually, screenshots } from "./harness.mjs";

let server;
const outcomes = [];
before(async () => {
  server = await startServer();
  for (let i = 0; i < 3; i++) {
    const w = await worker(server.url, "CAMPAIGN_RUN", `recent-camp-${i}`, { total: 10 });
    await w.complete({ result: { sent: 10 } });
    outcomes.push(w.jobId);
  }
  const v = await worker(server.url, "BULK_VERIFY", "recent-verify", { total: 10 });
  await v.fail("list unreadable");
  outcomes.push(v.jobId);
  // The routine runs finish after the campaigns: by completion alone they would fill every page.
  for (let i = 0; i < 150; i++) {
    const m = await worker(server.url, "METRICS_FETCH", `recent-metrics-${String(i).padStart(3, "0")}`);
    await m.complete({});
  }
});
after(async () => {
  await server?.stop();
});

test("with 150 routine jobs finished since, every campaign and verification is on the first screen", async () => {
  let campaigns = 3;
  for (const colorScheme of ["light", "dark"]) {
    const browser = await openBrowser({ colorScheme, viewport: { width: 1400, height: 900 } });
    try {
      const { page } = browser;
      await page.goto(`${server.url}/jobs`);
      for (const id of outcomes) {
        const r = row(page, id);
        await r.waitFor();
        const box = await r.boundingBox();
        assert.ok(box && box.y + box.height <= 900, `${id} is on the first screen (bottom at ${box && box.y + box.height} px)`);
      }
      assert.equal(await page.locator("table.jobs tbody tr", { hasText: "recent-metrics-" }).count(), 0, "no routine row among the outcomes");

      // The chips carry the counts per type; the routine section its count, folded.
      const chips = page.getByRole("navigation", { name: "Jobs per kind" });
      await eventually(async () => (await chips.getByRole("link", { name: /Metrics fetch/ }).textContent()) === "Metrics fetch150", 8000, "the metrics chip's count");
      await eventually(async () => (await chips.getByRole("link", { name: /Campaign run/ }).textContent()) === `Campaign run${campaigns}`, 8000, "the campaign chip's count");
      assert.equal(await chips.getByRole("link", { name: /All types/ }).getAttribute("aria-current"), "page");
      const section = page.locator("details.routine");
      assert.equal(await section.getAttribute("open"), null, "folded");
      await eventually(async () => (await section.locator("summary").textContent()).includes("150 finished"), 8000, "the section's count");
      assert.deepEqual(await axe(page, { include: "main" }), [], `axe: recent, ${colorScheme}`);
      mkdirSync(screenshots, { recursive: true });
      await page.screenshot({ path: join(screenshots, `recent-${colorScheme}.png`), animations: "disabled" });

      if (colorScheme === "light") {
        // A campaign started now moves its chip with the status counts, with no reload.
        const started = await worker(server.url, "CAMPAIGN_RUN", "recent-camp-live", { total: 10 });
        campaigns += 1;
        await row(page, started.jobId).waitFor();
        await eventually(async () => (await chips.getByRole("link", { name: /Campaign run/ }).textContent()) === `Campaign run${campaigns}`, 8000, "the chip moved live");
        assert.equal(await chips.getByRole("link", { name: /All types/ }).textContent(), "All types155");

        // Opened, it loads its first page of routine jobs, newest first, and more on demand.
        await section.locator("summary").click();
        await section.locator("tbody tr").first().waitFor();
        assert.equal(await section.locator("tbody tr").count(), 25);
        assert.match(await section.locator("tbody tr").first().textContent(), /recent-metrics-149/);
        await section.getByRole("button", { name: "Load older routine jobs" }).click();
        await eventually(async () => (await section.locator("tbody tr").count()) === 50, 8000, "the second page");
        assert.deepEqual(await axe(page, { include: "main" }), [], "axe: the routine section open");

        // A chip opens that type's view, where its jobs are the list itself.
        await chips.getByRole("link", { name: /Metrics fetch/ }).click();
        await page.waitForURL(/type=METRICS_FETCH/);
        await page.locator("table.jobs tbody tr", { hasText: "recent-metrics-149" }).waitFor();
        assert.equal(await page.locator("details.routine").count(), 0, "a filtered view is not grouped");
      }
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  }
});

test("after a retention sweep History still holds every campaign and verification, and the routine type its newest 100", async () => {
  // job-retention as its schedule runs it (keep the newest 100 finished jobs of each type).
  const report = await execute(server.url, "job-retention");
  assert.ok(report.deleted >= 50, `the sweep deleted the oldest metrics runs: ${JSON.stringify(report)}`);
  const finished = await action(server.url, "GET", "/v1/jobs?scope=finished&type=METRICS_FETCH&limit=500");
  assert.equal(finished.body.jobs.length, 100, "the metrics type keeps its newest 100");
  assert.ok(finished.body.jobs.some((j) => j.referenceId === "recent-metrics-149"));
  assert.ok(!finished.body.jobs.some((j) => j.referenceId === "recent-metrics-000"));

  const browser = await openBrowser({ viewport: { width: 1400, height: 900 } });
  try {
    const { page } = browser;
    await page.goto(`${server.url}/jobs?view=history&type=CAMPAIGN_RUN`);
    for (let i = 0; i < 3; i++) await page.locator("table.jobs tbody tr", { hasText: `recent-camp-${i}` }).waitFor();
    await page.goto(`${server.url}/jobs?view=history&type=BULK_VERIFY`);
    await row(page, outcomes[3]).waitFor();
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
  }
});
