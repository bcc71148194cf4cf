import { defineConfig } from "vitest/config";
import SummaryReporter from "./test/summaryReporter";

// Unit tests only: no browser, no server. The browser test is `npm run e2e` (scripts/e2e.mjs).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    reporters: ["default", new SummaryReporter()],
  },
});
