import { CloseCode, describeClose, describeError, ErrorCode, NetStats, shouldReconnect } from "@tickroom/client";
import { describe, expect, it } from "vitest";

describe("close and error codes", () => {
  /** Every close code has a sentence; only a closed room, a replaced seat and a version mismatch are final. */
  it("describes every close code and knows when to reconnect", () => {
    for (const code of Object.values(CloseCode)) expect(describeClose(code, "")).not.toMatch(/code \d+/);
    expect(describeClose(4999, "")).toMatch(/code 4999/);
    expect(describeClose(1008, "input rate")).toMatch(/\(input rate\)$/);
    expect(describeClose(1001, "server shutting down")).toBe("The server is shutting down.");
    expect([1000, 4002, 4004, 4007].map(shouldReconnect)).toEqual([false, false, false, false]);
    expect([1001, 1006, 1007, 1011, 4000, 4003, 4005, 4006].every(shouldReconnect)).toBe(true);
  });

  /** Every error code has a sentence, with the server's words when they add something. */
  it("describes every error code", () => {
    for (const code of Object.values(ErrorCode)) expect(describeError(code, "")).not.toMatch(/error \d+/);
    expect(describeError(8, "match in progress")).toMatch(/locked.*\(match in progress\)/);
    expect(describeError(77, "")).toBe("Server error 77.");
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
