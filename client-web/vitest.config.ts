import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import SummaryReporter from "./test/summaryReporter";

// Unit tests only: no browser, no server. The browser tests are `npm run e2e` (Playwright, e2e/).
export default defineConfig({
  resolve: {
    // Apps, tests and the build import the SDK by its package name (see tsconfig paths, scripts/build.mjs).
    alias: { "@tickroom/client": fileURLToPath(new URL("./src/sdk/index.ts", import.meta.url)) },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    reporters: ["default", new SummaryReporter()],
  },
});
