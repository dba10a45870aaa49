// jobs-dev serves only the dashboard files it lists (`files!` in local/jobs-dev/src/dashboard.rs,
// so no request path reaches the disk); a module added to dashboard/ and missing there loads on a
// static host but is a 404 locally, and every view importing it fails. Node only: reads both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

test("every file of the dashboard is one jobs-dev serves, and every module it imports exists", () => {
  const source = readFileSync(join(root, "local", "jobs-dev", "src", "dashboard.rs"), "utf8");
  const served = new Set([...source.matchAll(/^\s*"([^"]+)" => "[^"]+",$/gm)].map((m) => m[1]));
  assert.ok(served.has("index.html") && served.has("assets/app.js"), `read the list: ${[...served]}`);
  const files = ["index.html", "config.js", ...readdirSync(join(root, "dashboard", "assets")).map((f) => `assets/${f}`)];
  assert.deepEqual(files.filter((f) => !served.has(f)), [], "dashboard files jobs-dev does not serve");
  for (const file of files.filter((f) => f.startsWith("assets/") && f.endsWith(".js"))) {
    const text = readFileSync(join(root, "dashboard", file), "utf8");
    for (const [, name] of text.matchAll(/from "\.\/([^"]+)"/g)) assert.ok(files.includes(`assets/${name}`), `${file} imports ./${name}`);
  }
});
