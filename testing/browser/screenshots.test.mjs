// Screenshots for docs/dashboard.md: the list, the history and the detail page, light and dark,
// the Schedules view, and the list on a phone. Seeds a realistic mix of jobs through the hooks first.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, openBrowser, worker, action, screenshots } from "./harness.mjs";

let server;
let campaignId;
before(async () => {
  server = await startServer();
  const metrics = await worker(server.url, "METRICS_FETCH", "aws-metrics-202611291200");
  await metrics.complete({ result: { max24HourSend: 50000, sentLast24Hours: 1234 } });
  const broken = await worker(server.url, "BULK_VERIFY", "leads-import-broken", { total: 800 });
  await broken.progress({ done: 240, message: "240/800 leads verified" });
  await broken.fail("SMTP probe failed: connection refused by mx.leads-import.invalid while verifying lead 241 of 800");
  const old = await worker(server.url, "CAMPAIGN_RUN", "campaign-black-friday", { total: 200 });
  await old.progress({ done: 120, message: "120/200 emails sent" });
  await action(server.url, "POST", `/v1/jobs/${old.jobId}/cancel`, { reason: "Wrong audience selected" });
  const done = await worker(server.url, "CAMPAIGN_RUN", "campaign-welcome-series", { total: 200 });
  await done.complete({ result: { sent: 198, failed: 2, bounced: 1 } });
  const paused = await worker(server.url, "BULK_VERIFY", "leads-october", { total: 5000 });
  await paused.progress({ done: 3100, message: "3100/5000 leads verified" });
  await action(server.url, "POST", `/v1/jobs/${paused.jobId}/pause`, { reason: "Waiting for the SMTP provider's rate limit reset" });
  const poller = await worker(server.url, "SQS_POLL", "ses-events-queue");
  await poller.heartbeat({ message: "1,284 SES events processed" });
  const verify = await worker(server.url, "BULK_VERIFY", "leads-november", { total: 5000, metadata: { list: "November leads" } });
  await verify.progress({ done: 1240, message: "1240/5000 leads verified" });
  const campaign = await worker(server.url, "CAMPAIGN_RUN", "campaign-spring-sale", { total: 200, metadata: { campaign: "Spring sale", audience: "newsletter", template: "spring-2026" } });
  await campaign.progress({ done: 92, message: "92/200 emails sent", checkpoint: { done: 92 } });
  campaignId = campaign.jobId;
  await action(server.url, "POST", `/v1/jobs/${campaignId}/pause`, { reason: "Checking the unsubscribe link" });
  const resumed = await action(server.url, "POST", `/v1/jobs/${campaignId}/resume`, {});
  await campaign.pickUp(resumed.body.job.run);
  await campaign.progress({ done: 96, message: "96/200 emails sent", checkpoint: { done: 96 } });
  mkdirSync(screenshots, { recursive: true });
});
after(async () => {
  await server?.stop();
});

for (const scheme of ["light", "dark"]) {
  test(`screenshots of the list, the history and the detail page (${scheme})`, async () => {
    const browser = await openBrowser({ colorScheme: scheme, viewport: { width: 1360, height: 820 } });
    try {
      const { page } = browser;
      const shot = async (name) => page.screenshot({ path: join(screenshots, `${name}-${scheme}.png`), animations: "disabled" });
      await page.goto(`${server.url}/jobs`);
      await page.locator("tbody tr").nth(6).waitFor();
      await shot("list");
      await page.goto(`${server.url}/jobs?view=history`);
      await page.locator("tbody tr").nth(3).waitFor();
      await shot("history");
      await page.goto(`${server.url}/jobs/${campaignId}`);
      await page.locator("#events li").nth(3).waitFor();
      await shot("detail");
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg === "rgb(13, 17, 23)", scheme === "dark", `body background ${bg} in ${scheme}`);
    } finally {
      await browser.close();
    }
  });
}

test("a screenshot of the Schedules view", async () => {
  // The demo's scheduled functions (a poller failing every other run, a metrics fetch) have an
  // hour of runs at once; a server of its own, so its demo jobs stay out of the other pictures.
  const demo = await startServer({ env: { JOBS_DEV_DEMO: "1" } });
  const browser = await openBrowser({ viewport: { width: 1360, height: 820 } });
  try {
    const { page } = browser;
    await page.goto(`${demo.url}/jobs/schedules`);
    await page.locator("li.sched").nth(2).waitFor();
    await page.screenshot({ path: join(screenshots, "schedules.png"), animations: "disabled" });
  } finally {
    await browser.close();
    await demo.stop();
  }
});

test("the list reads as cards on a phone", async () => {
  const browser = await openBrowser({ viewport: { width: 390, height: 844 } });
  try {
    const { page } = browser;
    await page.goto(`${server.url}/jobs`);
    await page.locator("tbody tr").first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
    await page.screenshot({ path: join(screenshots, "list-phone.png"), animations: "disabled" });
  } finally {
    await browser.close();
  }
});
