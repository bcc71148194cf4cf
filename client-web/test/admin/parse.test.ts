/** The admin JSON is read strictly into camelCase types; a field of the wrong type is named. */
import { describe, expect, it } from "vitest";
import { MalformedError, parseHistory, parseRoomDetail, parseUpdate } from "../../src/admin/parse";
import { connectionState, queueState } from "../../src/admin/RoomView";
import { roomState } from "../../src/admin/RoomsTable";
import { detailJson, sampleJson, updateJson } from "./fixtures";

describe("parse", () => {
  it("reads an update", () => {
    const u = parseUpdate(updateJson(1000));
    expect(u.sample).toMatchObject({ t: 1000, players: 2, latenessP99Us: 1900, rssBytes: 24 << 20 });
    expect(u.rooms[0]).toMatchObject({ id: 3, game: "arena", tickRate: 30, spectators: null, ageS: 12 });
    expect(u.rooms[0]?.metadata).toEqual({ mode: "quick" });
    expect(u.totals.closes).toContainEqual({ label: "Kicked", code: 4007, count: 0 });
    expect(u.totals.upgradesRefused).toEqual([{ label: "origin", code: null, count: 1 }]);
  });

  it("reads the history, with null for seconds no room ticked", () => {
    const quiet = { ...sampleJson(2000), lateness_p99_us: null, lateness_max_us: null, cpu: null };
    const h = parseHistory({ interval_ms: 1000, samples: [sampleJson(1000), quiet] });
    expect(h.intervalMs).toBe(1000);
    expect(h.samples.map((s) => s.latenessP99Us)).toEqual([1900, null]);
  });

  it("reads a room's detail", () => {
    const d = parseRoomDetail(detailJson());
    expect(d.players.map((p) => p.name)).toEqual(["ann", "bob"]);
    expect(d.players[0]?.rttMs).toBe(1.25);
    expect(d.players[1]).toMatchObject({ connected: false, heldMs: 9000, skipped: 3 });
    expect(d.spectators).toBeNull();
  });

  it("reads spectator counts where the server sends them", () => {
    const u = updateJson(1000);
    (u["rooms"] as Array<Record<string, unknown>>)[0]!["spectators"] = 2;
    expect(parseUpdate(u).rooms[0]?.spectators).toBe(2);
    expect(parseRoomDetail({ ...detailJson(), spectators: 5, max_spectators: 32 })).toMatchObject({
      spectators: 5,
      maxSpectators: 32,
    });
    expect(() => parseRoomDetail({ ...detailJson(), spectators: "5" })).toThrow("room.spectators: expected a number");
  });

  it("names what is malformed", () => {
    const bad = updateJson(1);
    (bad["totals"] as Record<string, unknown>)["sessions_open"] = "3";
    expect(() => parseUpdate(bad)).toThrow(MalformedError);
    expect(() => parseUpdate(bad)).toThrow("update.totals.sessions_open: expected a number");
    expect(() => parseHistory({ interval_ms: 1000, samples: [null] })).toThrow(
      "history.samples[0]: expected an object",
    );
    expect(() => parseRoomDetail([])).toThrow("room: expected an object");
  });
});

describe("words", () => {
  it("say a seat's connection and queue", () => {
    const [ann, bob] = parseRoomDetail(detailJson()).players;
    if (!ann || !bob) throw new Error("two players");
    expect(connectionState(ann)).toBe("connected");
    expect(connectionState(bob)).toBe("held (9 s left)");
    expect(queueState(ann)).toBe("ok");
    expect(queueState({ ...ann, stuckMs: 1200, pending: 2, unsentBytes: 4096, snapshotDue: true })).toBe(
      "full for 1.2 s, 2 waiting, snapshot due, 4.0 KiB unsent",
    );
  });

  it("say a room's state", () => {
    const row = parseUpdate(updateJson(1)).rooms[0];
    if (!row) throw new Error("a room");
    expect(roomState(row)).toBe("mode=quick");
    expect(roomState({ ...row, locked: true, metadata: {} })).toBe("locked");
  });
});
