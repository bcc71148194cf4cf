import { FixedStep } from "@tickroom/client";
import { describe, expect, it } from "vitest";

const TICK_MS = 100 / 3; // 30 Hz

/** Advances `clock` to `nowMs` and returns the ticks run and the fraction returned. */
function advance(clock: FixedStep, nowMs: number): { ticks: number; alpha: number } {
  let ticks = 0;
  const alpha = clock.advance(nowMs, () => ticks++);
  return { ticks, alpha };
}

describe("FixedStep", () => {
  /** The first call only starts the clock: no tick, no elapsed time. */
  it("starts at the first advance", () => {
    const clock = new FixedStep(TICK_MS);
    expect(advance(clock, 5_000)).toEqual({ ticks: 0, alpha: 0 });
    expect(clock.elapsedMs).toBe(0);
  });

  /** One tick per whole tick period elapsed; the remainder is returned as a fraction and carried over. */
  it("runs one tick per whole period and returns the fraction of the next", () => {
    const clock = new FixedStep(10);
    advance(clock, 0);
    expect(advance(clock, 4)).toEqual({ ticks: 0, alpha: 0.4 });
    expect(clock.elapsedMs).toBe(4);
    expect(advance(clock, 13)).toEqual({ ticks: 1, alpha: expect.closeTo(0.3) });
    expect(advance(clock, 37)).toEqual({ ticks: 2, alpha: expect.closeTo(0.7) });
    expect(clock.elapsedMs).toBe(24);
  });

  /** Jittery frames at about 60 Hz over 1010 ms run the 30 ticks of a 30 Hz server. */
  it("keeps the tick rate whatever the frame rate", () => {
    const clock = new FixedStep(TICK_MS);
    let ticks = 0;
    for (let f = 0; f < 60; f++) ticks += advance(clock, f * (1000 / 60) + (f % 3) * 2).ticks;
    ticks += advance(clock, 1010).ticks;
    expect(ticks).toBe(30);
  });

  /** After a long gap (a hidden tab) at most maxTicksPerAdvance ticks run; the rest is dropped, not replayed later. */
  it("caps the catch-up after a stall and drops the rest", () => {
    const clock = new FixedStep(10);
    expect(clock.maxTicksPerAdvance).toBe(5);
    advance(clock, 0);
    expect(advance(clock, 60_005)).toEqual({ ticks: 5, alpha: expect.closeTo(0.5) });
    expect(advance(clock, 60_010)).toEqual({ ticks: 1, alpha: expect.closeTo(0) });
    const slow = new FixedStep(10, { maxTicksPerAdvance: 2 });
    advance(slow, 0);
    expect(advance(slow, 1_000).ticks).toBe(2);
  });

  /** A new tick period counts the time already accumulated in ticks of the new length. */
  it("keeps the accumulated time across a change of tick period", () => {
    const clock = new FixedStep(10);
    advance(clock, 0);
    expect(advance(clock, 8).ticks).toBe(0);
    clock.tickMs = 4;
    expect(advance(clock, 9)).toEqual({ ticks: 2, alpha: expect.closeTo(0.25) });
  });

  /** A period that is not positive would loop forever: it is refused. */
  it("refuses a tick period that is not positive", () => {
    expect(() => new FixedStep(0)).toThrow(RangeError);
    expect(() => new FixedStep(Number.NaN)).toThrow(RangeError);
    const clock = new FixedStep(10);
    expect(() => (clock.tickMs = -1)).toThrow(RangeError);
    expect(clock.tickMs).toBe(10);
  });
});
