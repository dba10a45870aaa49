// /jobs/:id, history, hostile text and the viewer role.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, worker, action, eventually, row } from "./harness.mjs";

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the detail page shows fields, metadata and the event log with actor and reason", async () => {
  const { page, errors } = browser;
  const job = await worker(server.url, "CAMPAIGN_RUN", "camp-detail", { total: 200, metadata: { campaign: "Winter", audience: "vip" } });
  await job.progress({ done: 50, message: "50/200 emails sent" });
  const paused = await action(server.url, "POST", `/v1/jobs/${job.jobId}/pause`, { reason: "bounce rate too high" });
  assert.equal(paused.status, 200);

  await page.goto(`${server.url}/jobs/${job.jobId}`);
  const log = page.locator("#events");
  await log.waitFor();
  assert.match(await page.locator("h1").textContent(), /Campaign run camp-detail/);
  const entry = log.locator("li", { hasText: "Pause requested" });
  assert.match(await entry.textContent(), /user:dev-user/);
  assert.match(await entry.textContent(), /bounce rate too high/);
  assert.ok((await log.locator("li").count()) >= 2, "the start and the pause are logged");
  const meta = JSON.parse(await page.locator("pre.json").first().textContent());
  assert.deepEqual(meta, { campaign: "Winter", audience: "vip" });
  assert.equal(await page.locator(".card .pct").textContent(), "25%");
  await page.getByRole("button", { name: "Resume" }).waitFor();
  assert.deepEqual(errors, []);

  // The list's logs link leads here.
  await page.goto(`${server.url}/jobs`);
  await row(page, job.jobId).getByRole("link", { name: /Logs of Campaign run camp-detail/ }).click();
  await page.waitForURL(new RegExp(`/jobs/${job.jobId}#events$`));
  await page.locator("#events").waitFor();
});

test("history lists finished jobs with duration, result summary and the error of failed ones", async () => {
  const { page } = browser;
  const ok = await worker(server.url, "BULK_VERIFY", "leads-history-ok", { total: 100 });
  await ok.complete({ result: { valid: 90, invalid: 10 } });
  const bad = await worker(server.url, "BULK_VERIFY", "leads-history-bad", { total: 100 });
  await bad.fail("DNS lookup failed for mx.example.invalid");
  await worker(server.url, "BULK_VERIFY", "leads-still-running");

  await page.goto(`${server.url}/jobs?view=history`);
  await row(page, ok.jobId).waitFor();
  assert.equal(await page.locator("tr", { hasText: "leads-still-running" }).count(), 0);
  assert.match(await row(page, ok.jobId).locator(".result").textContent(), /invalid 10 · valid 90/);
  assert.match(await row(page, bad.jobId).locator(".error-text").textContent(), /DNS lookup failed/);

  await page.getByLabel("Status", { exact: true }).selectOption("FAILED");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(/view=history.*status=FAILED|status=FAILED.*view=history/);
  await row(page, bad.jobId).waitFor();
  assert.equal(await row(page, ok.jobId).count(), 0);

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
  const path = await download.path();
  const { readFileSync } = await import("node:fs");
  const csv = readFileSync(path, "utf8");
  assert.match(csv, /leads-history-bad/);
  assert.doesNotMatch(csv, /leads-history-ok/);
});

test("hostile text in references, progress messages and errors stays inert text", async () => {
  const { page } = browser;
  let dialogs = 0;
  page.on("dialog", (d) => {
    dialogs++;
    d.dismiss();
  });
  const payload = `<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script><b id="pwn">bold</b>`;
  const job = await worker(server.url, "CAMPAIGN_RUN", `ref-${payload}`.slice(0, 250), { total: 10, metadata: { note: payload } });
  await job.progress({ done: 3, message: payload });
  await job.fail(`boom ${payload}`);

  for (const path of ["/jobs", "/jobs?view=history", `/jobs/${job.jobId}`]) {
    await page.goto(`${server.url}${path}`);
    await page.locator("main").getByText("onerror", { exact: false }).first().waitFor();
    assert.equal(await page.locator("#pwn").count(), 0, `${path}: no injected element`);
    assert.equal(await page.locator("main img, main script").count(), 0, `${path}: no injected img/script`);
    assert.equal(await page.evaluate(() => window.__xss), undefined, `${path}: no script ran`);
  }
  await page.locator(".error-text", { hasText: "boom <img" }).waitFor();
  assert.equal(dialogs, 0);
});

test("a viewer sees jobs but no action buttons", async () => {
  const viewer = await startServer({ role: "viewer" });
  try {
    const job = await worker(viewer.url, "CAMPAIGN_RUN", "camp-viewer", { total: 10 });
    await worker(viewer.url, "BULK_VERIFY", "leads-viewer-failed").then((w) => w.fail("nope"));
    const { page } = browser;
    await page.goto(`${viewer.url}/jobs`);
    await row(page, job.jobId).waitFor();
    await page.getByText("Viewer (read-only)").waitFor();
    assert.equal(await page.locator("button.act").count(), 0);
    await page.goto(`${viewer.url}/jobs/${job.jobId}`);
    await page.locator("#events").waitFor();
    assert.equal(await page.locator("button.act").count(), 0);
  } finally {
    await viewer.stop();
  }
});
