// Small pieces both views show for a job (issue 28): its status as it really stands ("Pausing…"
// until the worker confirms, then "Paused by ana: SES quota"; `stopState` in derive.js), a button
// copying its id, and times that show the absolute instant with its time zone without hovering
// (a `title` alone is shown neither to keyboard nor to touch users), or written out in full.

import { stopState } from "./derive.js";
import { el, exact, relative } from "./ui.js";

/** The status badge with the honest label, and under it who stopped the job and why. */
export function statusBadge(job) {
  const { label, pending } = stopState(job);
  const status = String(job.status);
  return el(
    "span",
    { class: `badge s-${status.toLowerCase()}${pending ? " pending" : ""}`, "data-status": status },
    status === "RUNNING" ? el("span", { class: "pulse", "aria-hidden": "true" }) : null,
    label,
  );
}

/** "by ana: SES quota" for a paused or cancelled job, else null. */
export function stopBy(job) {
  const { by } = stopState(job);
  return by ? el("div", { class: "muted stop-by", text: by }) : null;
}

/** An instant with its date, time and time zone ("7 Dec 2026, 08:03:14 CET"). */
export function zoned(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "long" });
}

/** The instant short, with its zone: the time today ("7:37:27 AM UTC"), else the day too ("Dec 6, 7:37 AM UTC"). */
export function shortZoned(iso, now = new Date()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString(undefined, { timeStyle: "long" });
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short" });
}

/**
 * A relative time ("3 minutes ago") with its absolute instant and time zone under it, always in
 * view (no hover needed; the full date in `title`). The absolute form is `data-abs`, drawn by CSS
 * (`.when-pair::after`), so the cell's text stays the relative time the refresh loop updates.
 */
export function when(iso) {
  if (!iso) return el("span", { class: "muted", text: "—" });
  return el(
    "span",
    { class: "when-pair", "data-abs": shortZoned(iso), title: zoned(iso) },
    el("time", { datetime: iso, "data-relative": "", text: relative(iso) }),
  );
}

/**
 * An absolute time written out with its zone, for the detail page; `ago` adds how long ago it
 * was (kept current by `refreshTimes`), for times whose age matters (the last heartbeat).
 */
export function written(iso, { ago = false } = {}) {
  if (!iso) return el("span", { class: "muted", text: "—" });
  return el(
    "span",
    { class: "written" },
    el("time", { class: "abs", datetime: iso, text: zoned(iso) }),
    ago ? [" (", el("time", { datetime: iso, title: exact(iso), "data-relative": "", text: relative(iso) }), ")"] : null,
  );
}

/** Copies `text`; resolves to whether it was copied (the Clipboard API, else the older command). */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    // No permission or no secure context: the selection command still works on a user's click.
    const area = el("textarea", { "aria-hidden": "true", class: "copy-buffer", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (err) {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

/**
 * A button copying a job id, labelled "Copy id of Campaign run camp-1" (its visible words first), and a polite status next to it that
 * says "Copied" (or that copying failed) for a few seconds. Clicks are taken by delegation
 * (`onCopyClick`), since patched rows keep their old nodes.
 */
export function copyButton(id, name = id) {
  return el(
    "span",
    { class: "copy" },
    el("button", { type: "button", class: "ghost copy-id", "data-copy": id, "aria-label": `Copy id of ${name}`, title: id, text: "Copy id" }),
    el("span", { class: "copy-status", role: "status", "aria-live": "polite" }),
  );
}

/** Handles every copy button under `container`; returns the listener's removal. */
export function onCopyClick(container) {
  const handler = async (e) => {
    const button = e.target.closest && e.target.closest("button[data-copy]");
    if (!button || !container.contains(button)) return;
    const ok = await copyText(button.getAttribute("data-copy"));
    const status = button.parentElement && button.parentElement.querySelector(".copy-status");
    if (!status) return;
    status.textContent = ok ? "Copied" : "Could not copy: select the id and copy it";
    setTimeout(() => {
      if (status.isConnected) status.textContent = "";
    }, 4000);
  };
  container.addEventListener("click", handler);
  return () => container.removeEventListener("click", handler);
}
