// Keyboard use of a page that changes under the user (issue 28 item 3): a running campaign's row
// receives a progress call every 500 ms through the campaign hook (with the server key, as a
// worker reports), and a keyboard user tabs to its Pause button, stays there while the row
// changes, opens the confirm dialog and confirms or backs out. Focus must stay on the button
// through every update, come back to it when the dialog closes, and never fall to <body>; the
// columns and the row keep their size as the text in them changes. Every verdict waits on what
// the page shows (the update number in the row's message), never on time.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, worker, action, eventually, row, axe } from "./harness.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** A fresh browser per test, closed whatever happens; no page error and no CSP refusal allowed. */
async function fresh(fn) {
  const browser = await openBrowser();
  const refused = [];
  browser.page.on("console", (m) => m.type() === "error" && /Content Security Policy/.test(m.text()) && refused.push(m.text()));
  try {
    await fn(browser);
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(refused, [], "nothing the page does is refused by its CSP");
  } finally {
    await browser.close();
  }
}

/**
 * Reports progress for `w` every 500 ms until stopped: update n says "batch n", every other one
 * with a long tail, so the text in the row changes length all the time.
 */
function every500ms(w) {
  let n = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      n += 1;
      await w.progress({ done: n, message: `batch ${n}${n % 2 ? ` of recipients ${"x".repeat(90)}` : ""}` });
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return { stop: () => ((running = false), loop) };
}

/** The latest update number `scope` shows (its progress message), 0 before the first. */
async function shown(scope) {
  const text = (await scope.locator(".msg").first().textContent()) || "";
  const m = text.match(/batch (\d+)/);
  return m ? Number(m[1]) : 0;
}

/** Waits until `scope` has shown `count` more updates than it shows now. */
async function updates(scope, count) {
  const from = await shown(scope);
  await eventually(async () => (await shown(scope)) >= from + count, 15000, `${count} more updates (from ${from})`);
}

/** What has focus: its tag, action, label and text, and whether it is the element kept as `window.__kept`. */
function focused(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    return { tag: a.tagName, action: a.dataset.action || null, label: a.getAttribute("aria-label"), text: a.textContent, kept: a === window.__kept, row: a.closest("tr")?.dataset.id || null };
  });
}

/** Presses Tab (or `key`) until `want(focused)` holds, at most `limit` times; keeps that element as `window.__kept`. */
async function tabTo(page, want, what, { key = "Tab", limit = 120 } = {}) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press(key);
    if (want(await focused(page))) {
      await page.evaluate(() => (window.__kept = document.activeElement));
      return;
    }
  }
  throw new Error(`${what} was not reached by the keyboard`);
}

/** The widths of the table's columns and the height of row `r`. */
function layout(page, r) {
  return page.evaluate((id) => ({
    columns: [...document.querySelectorAll("table.jobs th")].map((th) => Math.round(th.getBoundingClientRect().width)),
    height: Math.round(document.querySelector(`tr[data-id="${id}"]`).getBoundingClientRect().height),
  }), r);
}

async function status(jobId) {
  return (await action(server.url, "GET", `/v1/jobs/${jobId}`)).body.job.status;
}

test("a keyboard user pauses a campaign whose row changes every 500 ms", async () => {
  await fresh(async ({ page }) => {
    const neighbour = await worker(server.url, "BULK_VERIFY", "focus-neighbour", { total: 100000 });
    const w = await worker(server.url, "CAMPAIGN_RUN", "focus-pause", { total: 100000 });
    const pacer = every500ms(w);
    let others = null;
    try {
      await page.goto(`${server.url}/jobs`);
      const r = row(page, w.jobId);
      await page.locator('[data-part="refreshed"][data-mode="live"]').waitFor();
      await updates(r, 1);
      const pause = "Pause Campaign run focus-pause";
      await tabTo(page, (f) => f.label === pause, "the row's Pause button");
      const sized = await layout(page, w.jobId);

      // The row keeps changing; focus stays on the very same button, and the next Tab goes to
      // the next control of the row, not to the bottom of the page.
      await updates(r, 3);
      assert.deepEqual(await focused(page), { tag: "BUTTON", action: "pause", label: pause, text: "Pause", kept: true, row: w.jobId });
      await page.keyboard.press("Tab");
      assert.equal((await focused(page)).label, "Cancel Campaign run focus-pause");
      await page.keyboard.press("Shift+Tab");
      assert.equal((await focused(page)).kept, true, "Shift+Tab is back on the same Pause button");
      await updates(r, 2);
      assert.equal((await focused(page)).kept, true);
      assert.deepEqual(await layout(page, w.jobId), sized, "columns and the row keep their size as their text changes");

      // Enter opens the dialog; the row goes on changing behind it; confirming pauses the job.
      await page.keyboard.press("Enter");
      const dialog = page.getByRole("dialog");
      await dialog.waitFor();
      await updates(r, 2);
      assert.deepEqual(await axe(page, { include: "dialog" }), [], "axe: the pause dialog");
      await tabTo(page, (f) => f.text === "Pause job", "the dialog's Pause job button");
      await page.keyboard.press("Enter");
      await dialog.waitFor({ state: "hidden" });
      await eventually(async () => (await r.getAttribute("data-status")) === "PAUSED", 10000, "the row PAUSED");
      assert.equal(await status(w.jobId), "PAUSED");
      // Pause is gone from a paused job: focus is on the Resume that took its place.
      await eventually(async () => {
        const now = await focused(page);
        return now.row === w.jobId && now.action === "resume";
      }, 10000, "focus on the row's Resume button");
      // A paused job's progress calls write nothing (docs/hooks.md): the page goes on changing
      // through another job's row.
      others = every500ms(neighbour);
      await updates(row(page, neighbour.jobId), 2);
      assert.equal((await focused(page)).action, "resume", "and stays there while the page changes");
      assert.deepEqual(await axe(page, { include: "main" }), [], "axe: the list");
    } finally {
      await pacer.stop();
      await others?.stop();
    }
  });
});

test("Escape and the dialog's own back-out button return focus to the button that opened it, while its row changes", async () => {
  await fresh(async ({ page }) => {
    const w = await worker(server.url, "CAMPAIGN_RUN", "focus-escape", { total: 100000 });
    const pacer = every500ms(w);
    try {
      await page.goto(`${server.url}/jobs`);
      const r = row(page, w.jobId);
      await page.locator('[data-part="refreshed"][data-mode="live"]').waitFor();
      await updates(r, 1);
      await tabTo(page, (f) => f.label === "Cancel Campaign run focus-escape", "the row's Cancel button");
      const dialog = page.getByRole("dialog");
      for (const [how, close] of [
        ["Escape", () => page.keyboard.press("Escape")],
        ["Keep job", () => dialog.getByRole("button", { name: "Keep job" }).click()],
      ]) {
        await page.keyboard.press("Enter");
        await dialog.waitFor();
        assert.equal((await focused(page)).tag, "TEXTAREA", `${how}: the dialog takes focus`);
        await updates(r, 2);
        await close();
        await dialog.waitFor({ state: "hidden" });
        assert.deepEqual(await focused(page), { tag: "BUTTON", action: "cancel", label: "Cancel Campaign run focus-escape", text: "Cancel", kept: true, row: w.jobId }, `${how}: focus is back on the same button`);
        await updates(r, 2);
        assert.equal((await focused(page)).kept, true, `${how}: and stays there`);
      }
      assert.equal(await status(w.jobId), "RUNNING", "backing out changed nothing");
    } finally {
      await pacer.stop();
    }
  });
});

test("on a job's page, focus on Pause survives live updates and the dialog, and moves to Resume once paused", async () => {
  await fresh(async ({ page }) => {
    const w = await worker(server.url, "CAMPAIGN_RUN", "focus-detail", { total: 100000 });
    const pacer = every500ms(w);
    try {
      await page.goto(`${server.url}/jobs/${w.jobId}`);
      await page.locator('[data-part="main"][data-live="true"]').waitFor();
      const card = page.locator('section[aria-label="Progress"]');
      await updates(card, 1);
      await tabTo(page, (f) => f.action === "pause", "the Pause button");
      await updates(card, 3);
      assert.equal((await focused(page)).kept, true, "the same Pause button after live updates");
      const dialog = page.getByRole("dialog");
      await page.keyboard.press("Enter");
      await dialog.waitFor();
      await updates(card, 2);
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      assert.equal((await focused(page)).kept, true, "Escape returns focus to it");
      await page.keyboard.press("Enter");
      await dialog.waitFor();
      await tabTo(page, (f) => f.text === "Pause job", "the dialog's Pause job button");
      await page.keyboard.press("Enter");
      await dialog.waitFor({ state: "hidden" });
      await eventually(async () => (await focused(page)).action === "resume", 10000, "focus on Resume");
      assert.equal(await status(w.jobId), "PAUSED");
      assert.deepEqual(await axe(page, { include: "main" }), [], "axe: the job's page");
    } finally {
      await pacer.stop();
    }
  });
});
