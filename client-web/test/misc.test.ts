import { describe, expect, it } from "vitest";
import { stepPlayer } from "../src/game/arena";
import { quantise } from "../src/input/TouchStick";
import { describeClose, shouldReconnect } from "../src/net/closeCodes";
import { NetStats } from "../src/net/NetStats";
import { CloseCode } from "../src/generated/protocol";

describe("close codes", () => {
  /** Every server close code has a sentence; only left / replaced / version mismatch are final. */
  it("describes every close code and knows when to reconnect", () => {
    for (const code of Object.values(CloseCode)) {
      expect(describeClose(code, "")).not.toMatch(/code \d+/);
    }
    expect(describeClose(4999, "")).toMatch(/code 4999/);
    expect(describeClose(1008, "input rate")).toMatch(/\(input rate\)$/);
    expect(describeClose(1001, "server shutting down")).toBe("The server is shutting down.");
    expect([1000, 4002, 4004].map(shouldReconnect)).toEqual([false, false, false]);
    expect([1001, 1006, 1011, 4001, 4003].map(shouldReconnect)).toEqual([true, true, true, true, true]);
  });
});

describe("NetStats", () => {
  it("measures bytes/s, tick rate and RTT", () => {
    const s = new NetStats();
    for (let i = 0; i <= 60; i++) {
      s.addBytes(100, i * (1000 / 30));
      s.addTick(1000 + i, i * (1000 / 30));
    }
    expect(s.bytesPerSecond(2000)).toBeCloseTo(3000, -2);
    expect(s.tickRate(2000)).toBeCloseTo(30, 5);
    // Jitter: every third frame 20 ms late, the rate is still 30.
    const j = new NetStats();
    for (let i = 0; i <= 60; i++) j.addTick(i, i * (1000 / 30) + (i % 3 === 0 ? 20 : 0));
    expect(j.tickRate(2000)).toBeCloseTo(30, 0);
    s.addRtt(10);
    expect(s.rttMs).toBe(10);
    s.addRtt(2);
    s.addRtt(60); // one late pong
    s.addRtt(3);
    expect(s.rttMs).toBe(10);
    s.addRtt(2);
    expect(s.rttMs).toBe(3);
    expect(s.lastRttMs).toBe(2);
  });
});

describe("arena rules", () => {
  /** The movement rule of server/src/arena.rs: clamped axes, 200 units/s, world walls. */
  it("steps like the server", () => {
    expect(stepPlayer({ x: 500, y: 500 }, [5, -1], 0.5)).toEqual({ x: 600, y: 400 });
    expect(stepPlayer({ x: 500, y: 500 }, [1, -1], 10)).toEqual({ x: 1000, y: 0 });
  });

  /** The touch stick gives eight directions and a dead zone. */
  it("quantises the stick", () => {
    expect(quantise(0.1, 0.1)).toEqual([0, 0]);
    expect(quantise(1, 0)).toEqual([1, 0]);
    expect(quantise(0.7, 0.7)).toEqual([1, 1]);
    expect(quantise(-0.1, -1)).toEqual([0, -1]);
    expect(quantise(-1, 0.05)).toEqual([-1, 0]);
  });
});
