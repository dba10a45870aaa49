// Updating the page in place. A view builds the part it shows afresh from its state (plain `el`
// calls, easy to read) and `patch` makes the part already on the page look like it, keeping every
// node that still fits: a live update changes text and attributes, never replaces the button or
// link the user is on. Children that come and go carry a `data-key` (an action's button, a log
// entry, an optional section) so one appearing or leaving does not shift the others.
// `keepFocus` is the safety net around an update: focus that was inside stays on its element (or
// moves to what took its place), never falls back to <body>.
//
// Nodes kept by a patch keep their own event listeners, so patched parts take their clicks by
// delegation (a listener on a container that reads `data-action`), never from the fresh copy.

/** The key a child is matched by, or null for a child matched by its position. */
function keyOf(node) {
  return node.nodeType === 1 ? node.getAttribute("data-key") : null;
}

function sameKind(a, b) {
  return a.nodeType === b.nodeType && a.nodeName === b.nodeName && keyOf(a) === keyOf(b);
}

function patchAttributes(node, next) {
  for (const { name } of [...node.attributes]) {
    // A disclosure the user opened stays open (the log's collapsed groups and JSON).
    if (name === "open" && node.nodeName === "DETAILS") continue;
    if (!next.hasAttribute(name)) node.removeAttribute(name);
  }
  for (const { name, value } of next.attributes) {
    if (node.getAttribute(name) === value) continue;
    // The page's CSP allows no inline style attribute (`style-src 'self'`), which blocks setting
    // one; styles set through the CSSOM (as `el` callers do) are allowed, so copy them that way.
    if (name === "style") node.style.cssText = next.style.cssText;
    else node.setAttribute(name, value);
  }
}

/** Makes `node` (on the page) look like `next` (fresh); returns the node that is on the page. */
export function patch(node, next) {
  if (!sameKind(node, next)) {
    node.replaceWith(next);
    return next;
  }
  if (node.nodeType !== 1) {
    if (node.nodeValue !== next.nodeValue) node.nodeValue = next.nodeValue;
    return node;
  }
  patchAttributes(node, next);
  patchChildren(node, [...next.childNodes]);
  return node;
}

/**
 * Makes `parent`'s children look like `next` (fresh nodes). Keyed children are matched by key,
 * the others by position; an old keyed child no longer wanted is dropped where it stands, so the
 * one that replaces it (Resume for Pause) takes its place without moving its neighbours.
 */
export function patchChildren(parent, next) {
  const wanted = new Set(next.map(keyOf).filter((k) => k !== null));
  const keyed = new Map();
  for (const child of parent.childNodes) if (keyOf(child) !== null) keyed.set(keyOf(child), child);
  let at = parent.firstChild;
  const skipUnwanted = () => {
    while (at && keyOf(at) !== null && !wanted.has(keyOf(at))) {
      const after = at.nextSibling;
      at.remove();
      at = after;
    }
  };
  for (const fresh of next) {
    skipUnwanted();
    const key = keyOf(fresh);
    let old = key !== null ? keyed.get(key) : at && keyOf(at) === null ? at : null;
    if (old && !sameKind(old, fresh)) old = null;
    if (old) {
      keyed.delete(key);
      if (old === at) at = at.nextSibling;
      else parent.insertBefore(old, at);
      patch(old, fresh);
    } else if (at && key === null && keyOf(at) === null) {
      // Another kind of node in the same position: replaced where it stands.
      const after = at.nextSibling;
      parent.replaceChild(fresh, at);
      at = after;
    } else {
      parent.insertBefore(fresh, at);
    }
  }
  while (at) {
    const after = at.nextSibling;
    at.remove();
    at = after;
  }
}

const FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])";

/** The first visible focusable element that is `node` or inside it. */
function focusableIn(node) {
  const all = node.matches(FOCUSABLE) ? [node] : [];
  all.push(...node.querySelectorAll(FOCUSABLE));
  return all.find((n) => n.getClientRects().length > 0) || null;
}

/**
 * Runs `update` (which changes `root`'s content) and keeps keyboard focus where the user had
 * it: on the same element when it is still on the page (moving a node blurs it), else on what
 * now stands where it stood (the Resume that replaced a Pause, the next row), nearest first.
 * Returns what `update` returns.
 */
export function keepFocus(root, update) {
  const doc = root.ownerDocument;
  const focused = doc.activeElement;
  if (!focused || focused === doc.body || focused === root || !root.contains(focused)) return update();
  // Where it stood: its index under each ancestor, innermost first.
  const trail = [];
  for (let n = focused; n !== root && n.parentElement; n = n.parentElement) {
    trail.push({ parent: n.parentElement, index: [...n.parentElement.children].indexOf(n) });
  }
  const result = update();
  if (focused.isConnected) {
    if (doc.activeElement !== focused) focused.focus({ preventScroll: true });
    return result;
  }
  for (const { parent, index } of trail) {
    if (!parent.isConnected) continue;
    const kids = [...parent.children];
    // The child now at its index, then the ones after it, then the ones before it.
    for (const kid of [...kids.slice(index), ...kids.slice(0, index).reverse()]) {
      const target = focusableIn(kid);
      if (target) {
        target.focus({ preventScroll: true });
        return result;
      }
    }
  }
  if (root.hasAttribute("tabindex")) root.focus({ preventScroll: true });
  return result;
}
