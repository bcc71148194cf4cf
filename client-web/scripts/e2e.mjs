// @ts-check
// Runs the browser end-to-end test (e2e/browser.ts) in Debian's Chromium through playwright-core.
// Skips (exit 0, one clear line) when Chromium is not installed; the test itself needs the server
// binary (TICKROOM_BIN) and a built client (dist/).
import { build } from "esbuild";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const chromium = process.env["CHROMIUM_PATH"] || "/usr/bin/chromium";
if (!existsSync(chromium)) {
  console.log(
    `e2e: SKIPPED browser test: chromium not found at ${chromium} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
  process.exit(0);
}
// Node 20 cannot run TypeScript: bundle the test (dependencies stay in node_modules) and import it.
const outfile = join(root, "test-results", ".e2e-bundle.mjs");
await build({
  entryPoints: [join(root, "e2e/browser.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});
await import(pathToFileURL(outfile).href);
