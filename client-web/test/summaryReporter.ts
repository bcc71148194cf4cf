/**
 * Prints one plain closing line, `unit: N passed, N failed`, after vitest's own summary, so logs
 * (and CI) that read the conventional "N passed, N failed" line can count the unit tests.
 */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
    }
    // A module that failed to load has no tests but must not read as a pass.
    failed += testModules.filter((m) => m.state() === "failed" && [...m.children.allTests()].length === 0).length;
    console.log(`unit: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
  }
}
