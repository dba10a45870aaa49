// Throughput on /jobs (issue 28 item 8): per type, finished and failed jobs per hour over the
// last 24 hours, read once when the section is opened (one request per 500 finished jobs) and
// then moved by the Realtime events the page already receives, with no request of its own. The
// chart's text alternative and its table say the same numbers. axe-core in both themes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, openBrowser, worker, axe, eventually, recordCalls, settle, screenshots } from "./harness.mjs";

let server;
before(async () => {
  server = await startServer();
  for (let i = 0; i < 3; i++) await (await worker(server.url, "CAMPAIGN_RUN", `tp-camp-${i}`, { total: 5 })).complete({});
  await (await worker(server.url, "CAMPAIGN_RUN", "tp-camp-failed", { total: 5 })).fail("SES quota");
  for (let i = 0; i < 2; i++) await (await worker(server.url, "METRICS_FETCH", `tp-metrics-${i}`)).complete({});
});
after(async () => {
  await server?.stop();
});

const chart = (page, type) => page.locator(`figure.tp-type[data-type="${type}"] svg`);

test("the chart counts the last 24 hours per type from one request, then follows Realtime with none", async () => {
  for (const colorScheme of ["light", "dark"]) {
    const browser = await openBrowser({ colorScheme });
    try {
      const { page } = browser;
      const calls = recordCalls(page);
      await page.goto(`${server.url}/jobs`);
      await page.locator('[data-part="refreshed"][data-mode="live"]').waitFor();
      const reads = () => calls.filter((c) => c.path && c.path.includes("dateField=completedAt")).length;
      assert.equal(reads(), 0, "nothing is read while the section is closed");
      await page.locator("details.throughput > summary").click();
      const campaigns = chart(page, "CAMPAIGN_RUN");
      await campaigns.waitFor();
      const label = async () => campaigns.getAttribute("aria-label");
      // The dark run comes after the light one's two live completions.
      const [done, failed] = colorScheme === "light" ? [4, 1] : [6, 1];
      assert.match(await label(), new RegExp(`^Campaign run: ${done} finished, ${failed} failed in the last 24 hours`));
      assert.match(await chart(page, "METRICS_FETCH").getAttribute("aria-label"), /^Metrics fetch: 2 finished, 0 failed/);
      assert.equal(reads(), 1, "one request for fewer than 500 finished jobs");
      assert.deepEqual(await axe(page, { include: "main" }), [], `axe: throughput, ${colorScheme}`);
      mkdirSync(screenshots, { recursive: true });
      await page.locator("details.throughput").screenshot({ path: join(screenshots, `throughput-${colorScheme}.png`), animations: "disabled" });

      if (colorScheme === "light") {
        // A completion arrives by Realtime: the chart moves and nothing is asked.
        await settle(page);
        const asked = calls.length;
        await (await worker(server.url, "CAMPAIGN_RUN", "tp-camp-live", { total: 5 })).complete({});
        await eventually(async () => (await label()).startsWith("Campaign run: 5 finished, 1 failed"), 10000, "the live completion counted");
        assert.deepEqual(calls.slice(asked), [], "no request while live");

        // The same numbers as a table.
        await page.getByRole("button", { name: "Show as table" }).click();
        const table = page.locator(".tp-table table");
        await table.waitFor();
        assert.equal(await page.getByRole("button", { name: "Show as table" }).getAttribute("aria-pressed"), "true");
        assert.equal(await table.locator("tbody tr").count(), 24);
        // The campaigns' column, added up over the hours (the jobs may straddle an hour).
        const campaignsColumn = () =>
          table.evaluate((t) =>
            [...t.querySelectorAll("tbody tr")].reduce(
              (sum, tr) => {
                const [, done, failed] = tr.querySelector("td").textContent.match(/^(\d+) \((\d+)\)$/);
                return [sum[0] + Number(done), sum[1] + Number(failed)];
              },
              [0, 0],
            ),
          );
        assert.deepEqual(await campaignsColumn(), [5, 1], "campaigns: 5 finished, 1 of them failed");
        // A keyboard user on the table keeps focus while a live completion changes it.
        await page.locator(".tp-table").focus();
        await (await worker(server.url, "CAMPAIGN_RUN", "tp-camp-live-2", { total: 5 })).complete({});
        await eventually(async () => (await campaignsColumn())[0] === 6, 10000, "the table updated live");
        assert.equal(await page.evaluate(() => document.activeElement.classList.contains("tp-table")), true, "focus kept on the table");
        assert.deepEqual(await axe(page, { include: "main" }), [], "axe: throughput table");
      }
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  }
});
