/**
 * Playing a recorded room (`GET /api/replays/{name}`, PROTOCOL.md "Replays"): the server
 * re-simulates the recording and sends what a spectator would have received, tick by tick, with
 * keyframes to seek to. A Playback feeds those messages to a `Spectator` through an in-memory
 * connection, so a game's view renders a replay exactly as it renders a watched room: same
 * replica, same events, same roster.
 *
 * Time is given, not read: `update(nowMs)` advances by the elapsed time at the room's tick rate
 * (times the speed), so the app drives it from its frame loop and tests from a fake clock.
 */
import { decode } from "@msgpack/msgpack";
import { Emitter } from "./Emitter";
import { attachConnection, endRoom } from "./internal";
import { Connection } from "./net/Connection";
import type { TransportEvents } from "./net/Transport";
import { decodeServer } from "./protocol/codec";
import { CloseCode, SUBPROTOCOL } from "./protocol/constants";
import { Spectator } from "./Spectator";

/** The stream's `format` field. */
export const REPLAY_FORMAT = "tickroom-replay";
/** The stream format version this SDK reads. */
export const REPLAY_VERSION = 1;

/** A stream that is not a replay this SDK reads. */
export class ReplayFormatError extends Error {
  override readonly name = "ReplayFormatError";
}

/** A keyframe: the roster and the Snapshot of one tick. */
export interface ReplayKeyframe {
  readonly tick: number;
  readonly roster: Uint8Array;
  readonly snapshot: Uint8Array;
}

/** A decoded replay stream. Frames are server messages as the protocol encodes them. */
export interface ReplayStream {
  readonly game: string;
  readonly room: number;
  readonly tickRate: number;
  readonly startedMs: number;
  /** The first tick (1) and the last one. */
  readonly first: number;
  readonly last: number;
  /** The room closed and its recording was finished. */
  readonly complete: boolean;
  /** A Watching: the room, the game, the tick rate and the kinds. */
  readonly watching: Uint8Array;
  /** In tick order; the first is at `first`. */
  readonly keyframes: readonly ReplayKeyframe[];
  /** `ticks[i]`: the messages of tick `first + i`, in order. */
  readonly ticks: ReadonlyArray<readonly Uint8Array[]>;
}

type Fields = Record<string, unknown>;

function need<T>(o: Fields, key: string, check: (v: unknown) => v is T): T {
  const v = o[key];
  if (!check(v)) throw new ReplayFormatError(`replay.${key}: unexpected value`);
  return v;
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isString = (v: unknown): v is string => typeof v === "string";
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

/** Checks and decodes a replay stream's bytes. */
export function parseReplayStream(bytes: Uint8Array): ReplayStream {
  let raw: unknown;
  try {
    raw = decode(bytes);
  } catch (e) {
    throw new ReplayFormatError(`not MessagePack: ${String(e)}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ReplayFormatError("not a map");
  const o = raw as Fields;
  if (o["format"] !== REPLAY_FORMAT) throw new ReplayFormatError("not a tickroom replay");
  if (o["version"] !== REPLAY_VERSION) throw new ReplayFormatError(`replay version ${String(o["version"])}`);
  const first = need(o, "first", isNumber);
  const last = need(o, "last", isNumber);
  const keyframes = need(o, "keyframes", isArray).map((k): ReplayKeyframe => {
    if (!isArray(k) || k.length !== 3 || !isNumber(k[0]) || !isBytes(k[1]) || !isBytes(k[2])) {
      throw new ReplayFormatError("replay.keyframes: unexpected value");
    }
    return { tick: k[0], roster: k[1], snapshot: k[2] };
  });
  const ticks = need(o, "ticks", isArray).map((t): Uint8Array[] => {
    if (!isArray(t) || !t.every(isBytes)) throw new ReplayFormatError("replay.ticks: unexpected value");
    return t;
  });
  if (ticks.length !== last - first + 1 && !(last === 0 && ticks.length === 0)) {
    throw new ReplayFormatError(`replay: ${ticks.length} ticks for ${first}..${last}`);
  }
  if (ticks.length > 0 && keyframes[0]?.tick !== first) throw new ReplayFormatError("replay: no first keyframe");
  return {
    game: need(o, "game", isString),
    room: need(o, "room", isNumber),
    tickRate: Math.max(1, need(o, "tick_rate", isNumber)),
    startedMs: need(o, "started_ms", isNumber),
    first,
    last,
    complete: need(o, "complete", isBoolean),
    watching: need(o, "watching", isBytes),
    keyframes,
    ticks,
  };
}

/** What to deliver to go from tick `from` (null: nothing shown yet) to `target`. */
export interface Route {
  /** Starts over from a keyframe (its roster and Snapshot are the first frames). */
  readonly keyframe: number | null;
  readonly frames: Uint8Array[];
}

/** The frames that bring a replica at `from` to `target` (clamped to the stream): the deltas in
 * between when going forward from at or after the nearest keyframe, else that keyframe and the
 * deltas after it. */
export function route(stream: ReplayStream, from: number | null, target: number): Route {
  const to = Math.min(stream.last, Math.max(stream.first, Math.round(target)));
  let k: ReplayKeyframe | undefined;
  for (const kf of stream.keyframes) {
    if (kf.tick > to) break;
    k = kf;
  }
  if (!k) return { keyframe: null, frames: [] };
  const frames: Uint8Array[] = [];
  let next: number;
  let keyframe: number | null = null;
  if (from !== null && from >= k.tick && from <= to) {
    next = from + 1;
  } else {
    keyframe = k.tick;
    frames.push(k.roster, k.snapshot);
    // The keyframe's tick may also end the room or change the roster: its other messages.
    for (const f of stream.ticks[k.tick - stream.first] ?? []) {
      if (!isDelta(f)) frames.push(f);
    }
    next = k.tick + 1;
  }
  for (let t = next; t <= to; t++) frames.push(...(stream.ticks[t - stream.first] ?? []));
  return { keyframe, frames };
}

/** Whether a frame is a Delta (its first element, the tag, is the Delta's). */
function isDelta(frame: Uint8Array): boolean {
  try {
    return decodeServer(frame).type === "delta";
  } catch {
    return false;
  }
}

export interface PlaybackEvents {
  /** The shown tick changed (playing or seeking). */
  tick: number;
  /** Playing started or stopped (at the end, it stops by itself). */
  playing: boolean;
}

/** Speeds a playback offers. */
export type PlaybackSpeed = 1 | 2;

/** A replay stream played into a Spectator. */
export class Playback extends Emitter<PlaybackEvents> {
  readonly room: Spectator;
  private readonly events: TransportEvents;
  private shown: number | null = null;
  private playingValue = false;
  private speedValue: PlaybackSpeed = 1;
  /** Ticks due but not yet shown (fractions carry over between updates). */
  private carry = 0;
  private lastUpdate: number | null = null;

  constructor(readonly stream: ReplayStream) {
    super();
    let events: TransportEvents | null = null;
    const conn = new Connection(`replay:${stream.room}`, {
      transport: (_url, _protocols, e) => {
        events = e;
        return {
          // A spectator of a recording sends nothing anywhere.
          send: () => undefined,
          close: () => undefined,
          bufferedAmount: 0,
        };
      },
    });
    if (!events) throw new Error("the connection opened no transport");
    this.events = events;
    this.events.open(SUBPROTOCOL);
    const watching = decodeServer(stream.watching);
    if (watching.type !== "watching") throw new ReplayFormatError("replay.watching: not a Watching");
    // No pings: nobody answers them.
    this.room = new Spectator(stream.room, { pingIntervalMs: 2 ** 30 });
    this.room[attachConnection](conn, watching, false);
    this.seek(stream.first);
  }

  /** The tick shown (null only for an empty recording). */
  get tick(): number | null {
    return this.shown;
  }

  get playing(): boolean {
    return this.playingValue;
  }

  get speed(): PlaybackSpeed {
    return this.speedValue;
  }

  /** Plays from the shown tick (from the start again when at the end). */
  play(nowMs: number): void {
    if (this.playingValue) return;
    if (this.shown === this.stream.last) this.seek(this.stream.first);
    this.playingValue = true;
    this.carry = 0;
    this.lastUpdate = nowMs;
    this.emit("playing", true);
  }

  pause(): void {
    if (!this.playingValue) return;
    this.playingValue = false;
    this.emit("playing", false);
  }

  setSpeed(speed: PlaybackSpeed): void {
    this.speedValue = speed;
  }

  /** Shows tick `target` (clamped): the nearest keyframe at or before it, then its deltas. */
  seek(target: number): void {
    const r = route(this.stream, this.shown, target);
    for (const f of r.frames) this.deliver(f);
    const to = Math.min(this.stream.last, Math.max(this.stream.first, Math.round(target)));
    if (r.frames.length > 0 || r.keyframe !== null) this.shown = to;
    this.carry = 0;
    this.emit("tick", this.shown ?? 0);
  }

  /** Advances a playing replay by the time since the last update: `tickRate * speed` ticks a
   * second. Stops at the last tick. */
  update(nowMs: number): void {
    if (!this.playingValue || this.shown === null) return;
    const elapsed = Math.max(0, nowMs - (this.lastUpdate ?? nowMs));
    this.lastUpdate = nowMs;
    this.carry += (elapsed / 1000) * this.stream.tickRate * this.speedValue;
    const due = Math.floor(this.carry);
    if (due < 1) return;
    this.carry -= due;
    const target = Math.min(this.stream.last, this.shown + due);
    for (let t = this.shown + 1; t <= target; t++) {
      for (const f of this.stream.ticks[t - this.stream.first] ?? []) this.deliver(f);
    }
    this.shown = target;
    this.emit("tick", target);
    if (target >= this.stream.last) this.pause();
  }

  /** Ends the room (its views stop) and forgets every listener. */
  dispose(): void {
    this.playingValue = false;
    this.room[endRoom]({
      code: CloseCode.Normal,
      reason: "replay closed",
      text: "The replay was closed.",
      reconnect: false,
    });
    this.clear();
  }

  private deliver(frame: Uint8Array): void {
    const copy = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) as ArrayBuffer;
    this.events.message(copy);
  }
}
