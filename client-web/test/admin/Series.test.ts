/** The charts' columns: aligned on the samples' times, bounded, in order. */
import { describe, expect, it } from "vitest";
import { parseSample } from "../../src/admin/parse";
import { Series } from "../../src/admin/Series";
import { sampleJson } from "./fixtures";

const sample = (t: number, players = 2) => parseSample(sampleJson(t, players));

describe("Series", () => {
  it("turns samples into columns (x in seconds, lateness in ms)", () => {
    const s = new Series();
    s.reset([sample(1000), sample(2000, 3)]);
    const c = s.columns();
    expect(c.players).toEqual([
      [1, 2],
      [3, 4],
      [2, 3],
    ]);
    expect(c.lateness).toEqual([
      [1, 2],
      [2.5, 2.5],
      [1.9, 1.9],
    ]);
    expect(c.bandwidth[2]).toEqual([2000, 2000]);
  });

  it("keeps gaps as null", () => {
    const s = new Series();
    s.push(parseSample({ ...sampleJson(1000), lateness_p99_us: null, lateness_max_us: null }));
    expect(s.columns().lateness).toEqual([[1], [null], [null]]);
  });

  it("keeps the newest samples up to its capacity, ignoring repeats", () => {
    const s = new Series(3);
    for (const t of [1000, 2000, 2000, 1500, 3000, 4000, 5000]) s.push(sample(t));
    expect(s.length).toBe(3);
    expect(s.columns().players[0]).toEqual([3, 4, 5]);
    expect(s.latest?.t).toBe(5000);
  });
});
