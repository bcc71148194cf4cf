/**
 * Browser end-to-end tests: the real server binary, the built client (dist/) and Debian's
 * Chromium (no browser is ever downloaded). `npm run e2e`; without Chromium the global setup
 * prints one SKIPPED line and exits 0. See e2e/globalSetup.ts for the server.
 */
import { defineConfig } from "@playwright/test";

const chromium = process.env["CHROMIUM_PATH"] || "/usr/bin/chromium";

export default defineConfig({
  testDir: "e2e",
  testMatch: "*.spec.ts",
  globalSetup: "./e2e/globalSetup.ts",
  outputDir: "test-results/output",
  reporter: [["list"], ["html", { outputFolder: "test-results/report", open: "never" }]],
  retries: process.env["CI"] ? 1 : 0,
  // One server, a 2-core machine, and specs that play in real time: one at a time.
  workers: 1,
  fullyParallel: false,
  timeout: 120_000,
  expect: { timeout: 20_000 },
  use: {
    browserName: "chromium",
    headless: true,
    viewport: { width: 1100, height: 700 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
