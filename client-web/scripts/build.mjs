// @ts-check
// Builds the browser client into dist/: index.html, app.js (+ source map) and app.css, and the
// admin page: admin.html, admin.js (+ map) and admin.css (its own styles and uPlot's, imported by
// src/admin/main.ts).
// Usage: node scripts/build.mjs [--dev]   (--dev skips minification)
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const dev = process.argv.includes("--dev");

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
const result = await build({
  entryPoints: [join(root, "src/main.ts")],
  outfile: join(dist, "app.js"),
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: !dev,
  sourcemap: true,
  metafile: true,
  // The app imports the SDK by its package name, like a game built on it would (see tsconfig paths).
  alias: { "@tickroom/client": join(root, "src/sdk/index.ts") },
  logLevel: "warning",
});
const admin = await build({
  entryPoints: [join(root, "src/admin/main.ts")],
  outfile: join(dist, "admin.js"),
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: !dev,
  sourcemap: true,
  metafile: true,
  logLevel: "warning",
});
await copyFile(join(root, "static/index.html"), join(dist, "index.html"));
await copyFile(join(root, "static/admin.html"), join(dist, "admin.html"));
await copyFile(join(root, "static/app.css"), join(dist, "app.css"));
for (const [file, info] of Object.entries({ ...result.metafile.outputs, ...admin.metafile.outputs })) {
  if (file.endsWith(".js")) console.log(`build: ${file.replace(/^.*dist\//, "dist/")} ${info.bytes} bytes`);
}
