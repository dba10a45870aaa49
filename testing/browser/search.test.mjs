// Search (issue 28 item 8): the list's search box finds a job by any part of its reference or by
// its id, as `GET /v1/jobs?q=` does. Skipped, saying so, on a server whose `q` is a reference
// prefix only.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, worker, row } from "./harness.mjs";

let server;
let spring;
let other;
before(async () => {
  server = await startServer();
  spring = await worker(server.url, "CAMPAIGN_RUN", "acme-spring-sale-2026", { total: 10 });
  other = await worker(server.url, "CAMPAIGN_RUN", "acme-autumn-2026", { total: 10 });
});
after(async () => {
  await server?.stop();
});

async function search(page, q) {
  await page.goto(`${server.url}/jobs`);
  await row(page, other.jobId).waitFor();
  await page.getByLabel("Reference or job id").fill(q);
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL((u) => new URL(u).searchParams.get("q") === q);
}

test("a piece of the reference finds the job, and only it", async () => {
  const browser = await openBrowser();
  try {
    await search(browser.page, "spring-sale");
    await row(browser.page, spring.jobId).waitFor();
    assert.equal(await browser.page.locator("table.jobs tbody tr").count(), 1);
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
  }
});

test("a job's id finds the job", async () => {
  const browser = await openBrowser();
  try {
    await search(browser.page, spring.jobId);
    await row(browser.page, spring.jobId).waitFor();
    assert.equal(await browser.page.locator("table.jobs tbody tr").count(), 1);
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
  }
});
