/**
 * Playback of a replay stream: what `route` delivers for a seek, and a Playback driving a Room's
 * replica with play, 2x, seek (forward and back through keyframes) and the stop at the end.
 */
import { encode } from "@msgpack/msgpack";
import {
  encodeServer,
  parseReplayStream,
  Playback,
  REPLAY_FORMAT,
  ReplayFormatError,
  route,
  type ReplayStream,
  type ServerMessage,
} from "@tickroom/client";
import { describe, expect, it } from "vitest";
import { added, ARENA_KINDS, changed, delta, segment, snapshot } from "../fakes";

const LAST = 20;
const KEYFRAMES = [1, 11];

/** Tick t of the recorded room: one player whose score is t - 1; a pickup event at tick 5. */
const roster = (): Uint8Array =>
  encodeServer({ type: "roster", players: [{ player: 1, name: "ann", connected: true }] });
const state = (t: number): Uint8Array =>
  encodeServer(snapshot(t, [segment({ added: [added(1, 0, [1, 0, 0, 0, 0, 100, t - 1])] })]));
const step = (t: number): Uint8Array => {
  const events = t === 5 ? [{ name: "pickup", payload: { player: 1 } }] : [];
  return encodeServer(delta(t, [segment({ changed: [changed(1, { 6: 1 })] })], { events }));
};

/** The stream the server would send for that room, as bytes. */
function streamBytes(o: { format?: string } = {}): Uint8Array {
  const ticks: Uint8Array[][] = [];
  for (let t = 1; t <= LAST; t++) ticks.push(t === 1 ? [roster(), step(t)] : [step(t)]);
  const ended: ServerMessage = { type: "ended", result: { winner: 1 } };
  ticks[LAST - 1]?.push(encodeServer(ended));
  return encode({
    format: o.format ?? REPLAY_FORMAT,
    version: 1,
    game: "arena",
    room: 4,
    tick_rate: 10,
    started_ms: 1_796_190_503_123,
    first: 1,
    last: LAST,
    complete: true,
    watching: encodeServer({
      type: "watching",
      room: 4,
      game: "arena",
      tickRate: 10,
      onChange: false,
      tick: 0,
      kinds: ARENA_KINDS,
    }),
    keyframes: KEYFRAMES.map((t) => [t, roster(), state(t)]),
    ticks,
  });
}

const stream = (): ReplayStream => parseReplayStream(streamBytes());

function score(p: Playback): unknown {
  const [e] = [...p.room.replica.all()];
  return e?.toObject()["score"];
}

describe("replay streams", () => {
  /** A stream decodes to its fields; anything else is a ReplayFormatError. */
  it("parses a stream and refuses other bytes", () => {
    const s = stream();
    expect([s.game, s.room, s.tickRate, s.first, s.last, s.complete]).toEqual(["arena", 4, 10, 1, 20, true]);
    expect(s.keyframes.map((k) => k.tick)).toEqual(KEYFRAMES);
    expect(s.ticks).toHaveLength(LAST);
    expect(() => parseReplayStream(streamBytes({ format: "other" }))).toThrow(ReplayFormatError);
    expect(() => parseReplayStream(new Uint8Array([0xc1]))).toThrow(ReplayFormatError);
    expect(() => parseReplayStream(encode([1, 2]))).toThrow(ReplayFormatError);
  });

  /** Forward from at or after the nearest keyframe: only the deltas in between; back, or across a
   * keyframe: that keyframe, then its deltas. */
  it("routes a seek through the nearest keyframe", () => {
    const s = stream();
    expect(route(s, 3, 6)).toEqual({ keyframe: null, frames: [step(4), step(5), step(6)] });
    expect(route(s, 6, 3)).toEqual({ keyframe: 1, frames: [roster(), state(1), roster(), step(2), step(3)] });
    expect(route(s, 3, 12)).toEqual({ keyframe: 11, frames: [roster(), state(11), step(12)] });
    expect(route(s, 5, 5).frames).toEqual([]);
    expect(route(s, null, 99).keyframe).toBe(11);
    expect(route(s, null, -5)).toEqual({ keyframe: 1, frames: [roster(), state(1), roster()] });
  });
});

describe("Playback", () => {
  /** The room starts at the first tick, plays at the tick rate, twice as fast at 2x, and stops at
   * the end with the game's result. */
  it("plays at the tick rate, 2x, and stops at the end", () => {
    const p = new Playback(stream());
    expect(p.room.info?.game).toBe("arena");
    expect(p.room.roster.map((r) => r.name)).toEqual(["ann"]);
    expect([p.tick, score(p)]).toEqual([1, 0]);
    const pickups: number[] = [];
    p.room.on("event", (e) => pickups.push(e.tick));
    p.play(0);
    p.update(100);
    expect([p.tick, score(p)]).toEqual([2, 1]);
    p.update(150); // half a tick: nothing yet
    expect(p.tick).toBe(2);
    p.setSpeed(2);
    p.update(250); // 0.5 + 2 ticks
    expect([p.tick, score(p)]).toEqual([4, 3]);
    p.pause();
    p.update(5000);
    expect(p.tick).toBe(4);
    p.play(5000);
    p.update(60_000);
    expect([p.tick, score(p), p.playing]).toEqual([LAST, LAST - 1, false]);
    expect(p.room.result).toEqual({ winner: 1 });
    expect(pickups).toEqual([5]);
    p.dispose();
  });

  /** A seek shows exactly the target tick's state, forward or back, and the replica's tick follows. */
  it("seeks forward and back through keyframes", () => {
    const p = new Playback(stream());
    const ticks: number[] = [];
    p.on("tick", (t) => ticks.push(t));
    p.seek(15);
    expect([p.tick, p.room.replica.tick, score(p)]).toEqual([15, 15, 14]);
    p.seek(3);
    expect([p.tick, p.room.replica.tick, score(p)]).toEqual([3, 3, 2]);
    p.seek(99);
    expect([p.tick, score(p)]).toEqual([LAST, LAST - 1]);
    expect(ticks).toEqual([15, 3, LAST]);
    // Playing from the end starts over.
    p.play(0);
    expect(p.tick).toBe(1);
    p.dispose();
    expect(p.room.status.state).toBe("closed");
  });
});
