/** How the admin page writes figures, and where its hash routes lead. */
import { describe, expect, it } from "vitest";
import {
  formatAge,
  formatBytes,
  formatCount,
  formatCpu,
  formatMicros,
  formatMs,
  formatRate,
  UNKNOWN,
} from "../../src/admin/format";
import { parseRoute, roomHash } from "../../src/admin/route";

describe("format", () => {
  it("writes sizes and rates in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(23 * 1024 * 1024 + 1)).toBe("23 MiB");
    expect(formatBytes(null)).toBe(UNKNOWN);
    expect(formatRate(2048)).toBe("2.0 KiB/s");
    expect(formatRate(undefined)).toBe(UNKNOWN);
  });

  it("writes durations", () => {
    expect(formatMs(0.42)).toBe("0.4 ms");
    expect(formatMs(12.4)).toBe("12 ms");
    expect(formatMs(1500)).toBe("1.5 s");
    expect(formatMs(null)).toBe(UNKNOWN);
    expect(formatMicros(1900)).toBe("1.9 ms");
    expect(formatMicros(null)).toBe(UNKNOWN);
    expect(formatAge(45)).toBe("45 s");
    expect(formatAge(12 * 60 + 5)).toBe("12 min");
    expect(formatAge(3 * 3600 + 5 * 60)).toBe("3 h 05 min");
    expect(formatAge(2 * 86400 + 3 * 3600)).toBe("2 d 3 h");
  });

  it("writes CPU as a share of one core, and counts with separators", () => {
    expect(formatCpu(0.056)).toBe("5.6 %");
    expect(formatCpu(1.5)).toBe("150 %");
    expect(formatCpu(null)).toBe(UNKNOWN);
    expect(formatCount(12345)).toBe("12,345");
  });
});

describe("route", () => {
  it("reads a room from the hash, anything else is the overview", () => {
    expect(parseRoute("#room=12")).toEqual({ view: "room", room: 12 });
    expect(parseRoute(roomHash(7))).toEqual({ view: "room", room: 7 });
    for (const hash of ["", "#", "#room=", "#room=0", "#room=x", "#room=99999999999", "#rooms=3"]) {
      expect(parseRoute(hash), hash).toEqual({ view: "overview" });
    }
  });
});
