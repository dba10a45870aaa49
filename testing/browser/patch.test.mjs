// dashboard/assets/patch.js in Chromium, on plain elements: a patch keeps every node that still
// fits (the same objects, not copies), keyed children come and go without moving their
// neighbours, and `keepFocus` leaves focus on its element, or on what took its place, never on
// <body>. The views' use of it under live updates is focus.test.mjs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser } from "./harness.mjs";

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await openBrowser();
  await browser.page.goto(`${server.url}/jobs`);
  await browser.page.locator('[data-part="main"]').waitFor();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

// Each check runs as one function in the page (Playwright sends its source through the DevTools
// protocol, so the page's strict CSP holds), on a container of its own appended to <body>.

test("a patch changes text and attributes in place and keeps every node that still fits", async () => {
  const out = await browser.page.evaluate(async () => {
    const patch = await import("/assets/patch.js");
    const { el } = await import("/assets/ui.js");
    const box = document.body.appendChild(document.createElement("div"));
    const row = (pct, msg, extra) => el("tr", { "data-status": extra ? "RUNNING" : "PAUSED" },
      el("td", {}, el("a", { href: "/jobs/1", text: "ref-1" })),
      el("td", {}, el("span", { class: "pct", text: pct }), msg ? el("div", { class: "msg", text: msg }) : null));
    const table = el("table", {}, el("tbody", {}, row("10%", "a", true)));
    box.append(table);
    const tr = table.querySelector("tr");
    const [link, pct] = [tr.querySelector("a"), tr.querySelector(".pct")];
    const kept = patch.patch(tr, row("20%", null, false));
    return {
      same: kept === tr && tr.querySelector("a") === link && tr.querySelector(".pct") === pct,
      text: pct.textContent, status: tr.getAttribute("data-status"), msg: tr.querySelectorAll(".msg").length,
      replaced: patch.patch(pct, el("strong", { text: "x" })) !== pct,
    };
  });
  assert.deepEqual(out, { same: true, text: "20%", status: "PAUSED", msg: 0, replaced: true });
});

test("a patched inline style applies under the page's strict CSP (no inline style attributes)", async () => {
  const out = await browser.page.evaluate(async () => {
    const patch = await import("/assets/patch.js");
    const { el } = await import("/assets/ui.js");
    const box = document.body.appendChild(document.createElement("div"));
    const bar = (pct) => {
      const fill = el("span", { class: "fill" });
      if (pct !== null) fill.style.width = pct;
      return el("div", { class: "bar" }, fill);
    };
    const shown = bar("10%");
    box.append(shown);
    const fill = shown.firstChild;
    patch.patch(shown, bar("70%"));
    const moved = fill.style.width;
    patch.patch(shown, bar(null));
    return { moved, cleared: fill.style.width, same: shown.firstChild === fill };
  });
  assert.deepEqual(out, { moved: "70%", cleared: "", same: true });
});

test("keyed children come and go where they stand; the others are not moved", async () => {
  const out = await browser.page.evaluate(async () => {
    const patch = await import("/assets/patch.js");
    const { el } = await import("/assets/ui.js");
    const box = document.body.appendChild(document.createElement("div"));
    const buttons = (...actions) => [...actions.map((a) => el("button", { "data-key": a, text: a })), el("a", { href: "#", "data-key": "logs", text: "Logs" })];
    const div = el("div", {}, buttons("pause", "cancel"));
    box.append(div);
    const [cancel, logs] = [div.children[1], div.children[2]];
    const observer = new MutationObserver(() => {});
    observer.observe(div, { childList: true });
    // A node moved is removed and inserted again: the removals say what moved or left.
    const removed = () => observer.takeRecords().flatMap((r) => [...r.removedNodes].map((n) => n.textContent));
    patch.patchChildren(div, buttons("resume", "cancel"));
    const after = [...div.children].map((n) => n.textContent);
    const kept = div.children[1] === cancel && div.children[2] === logs;
    const first = removed();
    patch.patchChildren(div, buttons("cancel", "resume"));
    return { after, kept, removed: first, reordered: [...div.children].map((n) => n.textContent) };
  });
  assert.deepEqual(out.after, ["resume", "cancel", "Logs"]);
  assert.equal(out.kept, true, "cancel and Logs are the same nodes");
  assert.deepEqual(out.removed, ["pause"], "only pause left; nothing moved");
  assert.deepEqual(out.reordered, ["cancel", "resume", "Logs"]);
});

test("keepFocus leaves focus on its element, or on what took its place, never on <body>", async () => {
  const out = await browser.page.evaluate(async () => {
    const patch = await import("/assets/patch.js");
    const { el } = await import("/assets/ui.js");
    const box = document.body.appendChild(document.createElement("div"));
    const row = (id, ...actions) => el("tr", { "data-id": id }, el("td", {}, el("a", { href: "#" + id, text: id })), el("td", {}, el("div", {}, actions.map((a) => el("button", { "data-key": a, text: a })))));
    const tbody = el("tbody", {}, row("a", "pause", "cancel"), row("b", "pause", "cancel"));
    box.append(el("table", {}, tbody));
    const focusedText = () => document.activeElement === document.body ? "<body>" : document.activeElement.textContent + "@" + document.activeElement.closest("tr").dataset.id;
    const [a, b] = tbody.children;
    const steps = [];
    // Focus on cancel; the row is patched and moved below the other: focus stays on that cancel.
    const cancel = a.querySelector('[data-key="cancel"]');
    cancel.focus();
    patch.keepFocus(tbody, () => { patch.patch(a, row("a", "resume", "cancel")); tbody.append(a); });
    steps.push(focusedText(), document.activeElement === cancel);
    // Focus on pause, which leaves: the resume that took its place.
    b.querySelector('[data-key="pause"]').focus();
    patch.keepFocus(tbody, () => patch.patch(b, row("b", "resume", "cancel")));
    steps.push(focusedText());
    // Focus in a row that leaves: the row now where it stood (or the one before, at the end).
    patch.keepFocus(tbody, () => b.remove());
    steps.push(focusedText());
    return steps;
  });
  assert.deepEqual(out, ["cancel@a", true, "resume@b", "a@a"]);
});
