import { Interpolation } from "@tickroom/client";
import { describe, expect, it } from "vitest";

const TICK_MS = 100 / 3; // 30 Hz
type Pos = { x: number; y: number };
const at = (x: number, y = 0): Map<number, Pos> => new Map([[7, { x, y }]]);

/** Feeds ticks 0..n with entity 7 at x = 10 * tick, each arriving `latencyMs` after its tick time. */
function feed(interp: Interpolation<Pos>, n: number, latencyMs = 20, jitter: (tick: number) => number = () => 0): void {
  for (let tick = 0; tick <= n; tick++) interp.push(tick, at(tick * 10), tick * TICK_MS + latencyMs + jitter(tick));
}

describe("Interpolation", () => {
  /** Entities are drawn `delayMs` behind the newest state, between the two states around it. */
  it("draws remote entities delayMs in the past, interpolated", () => {
    const interp = new Interpolation<Pos>(TICK_MS, { delayMs: 100 });
    feed(interp, 30);
    const now = 30 * TICK_MS + 20; // the moment tick 30 arrived
    // 100 ms = 3 ticks behind the newest: tick 27, x = 270.
    expect(interp.sample(now).get(7)?.x).toBeCloseTo(270);
    // Half a tick later: halfway between ticks 27 and 28.
    expect(interp.sample(now + TICK_MS / 2).get(7)?.x).toBeCloseTo(275);
  });

  /** The delay is configurable. */
  it("honours the configured delay", () => {
    const interp = new Interpolation<Pos>(TICK_MS, { delayMs: 200 });
    feed(interp, 30);
    expect(interp.sample(30 * TICK_MS + 20).get(7)?.x).toBeCloseTo(240);
    interp.delayMs = 0;
    expect(interp.sample(30 * TICK_MS + 20).get(7)?.x).toBeCloseTo(300);
  });

  /** Late arrivals (jitter) do not move the timeline: the earliest arrivals define it. */
  it("is not shifted by jitter", () => {
    const interp = new Interpolation<Pos>(TICK_MS, { delayMs: 100 });
    feed(interp, 60, 20, (tick) => (tick % 3 === 0 ? 40 : 0));
    expect(interp.sample(60 * TICK_MS + 20).get(7)?.x).toBeCloseTo(570, 0);
  });

  /** Before the first state nothing is drawn; past the newest state the newest is held. */
  it("holds the ends of the buffer", () => {
    const interp = new Interpolation<Pos>(TICK_MS, { delayMs: 100 });
    expect(interp.sample(0).size).toBe(0);
    feed(interp, 5);
    expect(interp.sample(0).get(7)?.x).toBe(0);
    expect(interp.sample(10_000).get(7)?.x).toBe(50);
  });

  /** A jump longer than snapDistance is a teleport: no sliding across the map. */
  it("does not slide across teleports", () => {
    const interp = new Interpolation<Pos>(TICK_MS, { delayMs: 0, snapDistance: 50 });
    interp.push(0, at(0), 0);
    interp.push(1, at(500), TICK_MS);
    interp.push(2, at(510), 2 * TICK_MS);
    expect(interp.sample(TICK_MS / 2).get(7)?.x).toBe(0);
    expect(interp.sample(TICK_MS * 1.5).get(7)?.x).toBeCloseTo(505);
  });

  /** An entity that appears is drawn from its first state; one that left is not drawn. */
  it("handles entities appearing and leaving", () => {
    const interp = new Interpolation<Pos>(TICK_MS, { delayMs: 0 });
    interp.push(0, new Map([[1, { x: 0, y: 0 }]]), 0);
    interp.push(1, new Map([[2, { x: 5, y: 5 }]]), TICK_MS);
    interp.push(2, new Map([[2, { x: 6, y: 5 }]]), 2 * TICK_MS);
    const mid = interp.sample(TICK_MS / 2);
    expect(mid.has(1)).toBe(false);
    expect(mid.get(2)).toEqual({ x: 5, y: 5 });
  });

  /** Any numeric fields blend, and fields with a period (an angle) take the short way round. */
  it("blends any numeric fields, angles the short way", () => {
    type Ship = { x: number; aim: number; hp: number };
    const interp = new Interpolation<Ship>(TICK_MS, { delayMs: 0, periods: { aim: 256 } });
    interp.push(0, new Map([[1, { x: 0, aim: 250, hp: 100 }]]), 0);
    interp.push(1, new Map([[1, { x: 10, aim: 6, hp: 50 }]]), TICK_MS);
    const mid = interp.sample(TICK_MS / 2).get(1);
    expect(mid?.x).toBeCloseTo(5);
    expect(mid?.hp).toBeCloseTo(75);
    expect(mid?.aim).toBeCloseTo(0);
    expect(interp.sample(TICK_MS / 4).get(1)?.aim).toBeCloseTo(253);
  });

  /** An older tick (a keyframe after a resync or a new room) restarts the history. */
  it("restarts on an older tick", () => {
    const interp = new Interpolation<Pos>(TICK_MS, { delayMs: 0 });
    feed(interp, 10);
    interp.push(3, at(999), 11 * TICK_MS);
    expect(interp.length).toBe(1);
  });

  /** History is bounded. */
  it("keeps a bounded history", () => {
    const interp = new Interpolation<Pos>(TICK_MS, { historyMs: 500 });
    feed(interp, 300);
    expect(interp.length).toBeLessThanOrEqual(17);
  });
});
