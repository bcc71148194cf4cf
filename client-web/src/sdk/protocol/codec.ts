/**
 * The wire codec: typed messages to MessagePack arrays `[tag, ...fields]` and back, in both
 * directions (a client encodes ClientMessages and decodes ServerMessages; tools and tests use the
 * other two). Decoding is strict like the Rust decoder: a missing or extra element, an unknown
 * tag, a wrong type or a flat record list that does not add up is a CodecError, an ordinary value
 * the connection turns into a close (1007); nothing else escapes.
 *
 * One limit of @msgpack/msgpack: it decodes integers and floats to the same JS number, so a float
 * that holds a whole number (2.0) passes where an integer is expected. Servers never send one.
 */
import { Decoder, encode } from "@msgpack/msgpack";
import { ClientTag, ServerTag } from "./constants";
import type { WireValue } from "./fields";
import { kindsToWire, parseKinds, SchemaError } from "./kinds";
import type {
  Acks,
  AddedRecord,
  ChangedRecord,
  ClientMessage,
  GameEvent,
  Refusal,
  RosterEntry,
  Segment,
  ServerMessage,
  StringMap,
} from "./messages";
import { isStringMap, isValueMap, type Value, type ValueMap } from "./value";

/** A frame that is not a valid message; `message` says what was wrong. */
export class CodecError extends Error {
  override readonly name = "CodecError";
}

/** MessagePack nesting the server accepts at most; game values deeper than this are refused. */
const MAX_DEPTH = 16;
const U16 = 0xffff;
const U32 = 0xffff_ffff;

// Map keys must be strings (PROTOCOL.md); the library's default also accepts numbers.
const decoder = new Decoder({
  mapKeyConverter: (key: unknown): string => {
    if (typeof key !== "string") throw new CodecError(`a map key is a ${typeof key}, not a string`);
    return key;
  },
});

/** Decodes one MessagePack value (no trailing bytes). Throws CodecError. */
function decodeFrame(frame: ArrayBuffer | Uint8Array): unknown {
  try {
    return decoder.decode(frame);
  } catch (e) {
    if (e instanceof CodecError) throw e;
    throw new CodecError(`not MessagePack: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function encodeFrame(array: readonly unknown[]): Uint8Array {
  return encode(array, { ignoreUndefined: true });
}

/** True when `v` is a MessagePack value within the nesting limit (no extension types). */
function isValue(v: unknown, depth = 1): v is Value {
  if (v === null || typeof v === "boolean" || typeof v === "number" || typeof v === "string") return true;
  if (v instanceof Uint8Array) return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(v)) return v.every((x) => isValue(x, depth + 1));
  if (isValueMap(v) && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.values(v).every((x) => isValue(x, depth + 1));
  }
  return false;
}

/** Reads one message array field by field, naming the field that is wrong. */
class Fields {
  private i = 1;

  /** `count` fields, or up to `most` when the last ones are optional (absent = nil). */
  constructor(
    private readonly m: readonly unknown[],
    private readonly what: string,
    count: number,
    most = count,
  ) {
    if (m.length < count + 1 || m.length > most + 1) {
      const expected = most === count ? `${count}` : `${count} to ${most}`;
      throw new CodecError(`${what}: ${m.length - 1} fields instead of ${expected}`);
    }
  }

  /** True while fields remain (for optional trailing fields). */
  get more(): boolean {
    return this.i < this.m.length;
  }

  fail(field: string, expected: string): never {
    throw new CodecError(`${this.what}.${field}: expected ${expected}`);
  }

  raw(): unknown {
    return this.m[this.i++];
  }

  uint(field: string, max = Number.MAX_VALUE): number {
    const v = this.raw();
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) this.fail(field, `an unsigned integer`);
    return v;
  }

  str(field: string): string {
    const v = this.raw();
    if (typeof v !== "string") this.fail(field, "a string");
    return v;
  }

  bool(field: string): boolean {
    const v = this.raw();
    if (typeof v !== "boolean") this.fail(field, "a boolean");
    return v;
  }

  array(field: string): unknown[] {
    const v = this.raw();
    if (!Array.isArray(v)) this.fail(field, "an array");
    return v;
  }

  value(field: string): Value {
    const v = this.raw();
    if (!isValue(v)) this.fail(field, `a MessagePack value nested at most ${MAX_DEPTH} levels`);
    return v;
  }

  optional<T>(read: () => T): T | null {
    if (this.m[this.i] === null) {
      this.i++;
      return null;
    }
    return read();
  }

  map(field: string): ValueMap {
    const v = this.value(field);
    if (!isValueMap(v)) this.fail(field, "a map");
    return v;
  }

  stringMap(field: string): StringMap {
    const v = this.value(field);
    if (!isStringMap(v)) this.fail(field, "a map of strings");
    return v;
  }
}

const isUint = (v: unknown, max = U32): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;

function popcount(mask: number): number {
  let n = 0;
  for (let m = mask >>> 0; m !== 0; m >>>= 1) n += m & 1;
  return n;
}

/** The `v…` of a record: integers (values or differences) or strings (texts). */
function readValues(flat: readonly unknown[], at: number, count: number, where: string): WireValue[] {
  if (at + count > flat.length) throw new CodecError(`${where}: the list ends inside a record`);
  const values = flat.slice(at, at + count);
  for (const v of values) {
    if (typeof v !== "string" && !(typeof v === "number" && Number.isSafeInteger(v))) {
      throw new CodecError(`${where}: a field value is neither an integer nor a string`);
    }
  }
  return values as WireValue[];
}

/** `added`: records `id, kind, mask, v…`. */
function readAdded(flat: readonly unknown[], where: string): AddedRecord[] {
  const out: AddedRecord[] = [];
  let i = 0;
  while (i < flat.length) {
    const [id, kind, mask] = [flat[i], flat[i + 1], flat[i + 2]];
    if (!isUint(id) || !isUint(kind) || !isUint(mask)) {
      throw new CodecError(`${where}: record at ${i} does not start with id, kind, mask`);
    }
    const n = popcount(mask);
    out.push({ id, kind, mask, values: readValues(flat, i + 3, n, where) });
    i += 3 + n;
  }
  return out;
}

/** `changed`: records `id, mask, v…`. */
function readChanged(flat: readonly unknown[], where: string): ChangedRecord[] {
  const out: ChangedRecord[] = [];
  let i = 0;
  while (i < flat.length) {
    const [id, mask] = [flat[i], flat[i + 1]];
    if (!isUint(id) || !isUint(mask)) throw new CodecError(`${where}: record at ${i} does not start with id, mask`);
    const n = popcount(mask);
    out.push({ id, mask, values: readValues(flat, i + 2, n, where) });
    i += 2 + n;
  }
  return out;
}

function readSegment(raw: unknown, where: string): Segment {
  if (!Array.isArray(raw) || raw.length !== 3) throw new CodecError(`${where}: not [removed, changed, added]`);
  const [removed, changed, added] = raw as [unknown, unknown, unknown];
  if (!Array.isArray(removed) || !removed.every((id) => isUint(id))) {
    throw new CodecError(`${where}.removed: expected an array of ids`);
  }
  if (!Array.isArray(changed)) throw new CodecError(`${where}.changed: expected an array`);
  if (!Array.isArray(added)) throw new CodecError(`${where}.added: expected an array`);
  return {
    removed: removed as number[],
    changed: readChanged(changed, `${where}.changed`),
    added: readAdded(added, `${where}.added`),
  };
}

function readEvent(raw: unknown, where: string): GameEvent {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== "string" || !isValue(raw[1])) {
    throw new CodecError(`${where}: not [name, payload]`);
  }
  return { name: raw[0], payload: raw[1] };
}

function readAcks(raw: unknown, where: string): Acks {
  if (!Array.isArray(raw) || raw.length !== 2) throw new CodecError(`${where}: not [bits, set]`);
  const [bits, set] = raw as [unknown, unknown];
  if (!(bits instanceof Uint8Array)) throw new CodecError(`${where}.bits: expected bin`);
  if (!Array.isArray(set) || set.length % 2 !== 0 || !set.every((v) => isUint(v))) {
    throw new CodecError(`${where}.set: expected player, seq pairs`);
  }
  const pairs: Array<readonly [number, number]> = [];
  for (let i = 0; i < set.length; i += 2) pairs.push([set[i] as number, set[i + 1] as number]);
  return { bits, set: pairs };
}

function readRosterEntry(raw: unknown): RosterEntry {
  if (
    !Array.isArray(raw) ||
    raw.length !== 3 ||
    !isUint(raw[0]) ||
    typeof raw[1] !== "string" ||
    typeof raw[2] !== "boolean"
  ) {
    throw new CodecError("Roster: a player is not [player, name, connected]");
  }
  return { player: raw[0], name: raw[1], connected: raw[2] };
}

function readRefusal(raw: unknown): Refusal {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== "string" || typeof raw[1] !== "string") {
    throw new CodecError("CommandResult.refusal: expected nil or [code, message]");
  }
  return { code: raw[0], message: raw[1] };
}

function messageArray(frame: ArrayBuffer | Uint8Array): { m: unknown[]; tag: unknown } {
  const raw = decodeFrame(frame);
  if (!Array.isArray(raw) || raw.length === 0) throw new CodecError("a message must be a non-empty array");
  return { m: raw, tag: raw[0] };
}

/** Decodes one binary frame from the server. Throws CodecError when it is not a valid message. */
export function decodeServer(frame: ArrayBuffer | Uint8Array): ServerMessage {
  const { m, tag } = messageArray(frame);
  switch (tag) {
    case ServerTag.Welcome: {
      const f = new Fields(m, "Welcome", 8);
      const player = f.uint("player", U32);
      const room = f.uint("room", U32);
      const game = f.str("game");
      const tickRate = f.uint("tick_rate", U16);
      const onChange = f.bool("on_change");
      const tick = f.uint("tick");
      const token = f.str("token");
      const rawKinds = f.array("kinds");
      try {
        return { type: "welcome", player, room, game, tickRate, onChange, tick, token, kinds: parseKinds(rawKinds) };
      } catch (e) {
        if (e instanceof SchemaError) throw new CodecError(`Welcome.kinds: ${e.message}`);
        throw e;
      }
    }
    case ServerTag.Watching: {
      const f = new Fields(m, "Watching", 6);
      const room = f.uint("room", U32);
      const game = f.str("game");
      const tickRate = f.uint("tick_rate", U16);
      const onChange = f.bool("on_change");
      const tick = f.uint("tick");
      const rawKinds = f.array("kinds");
      try {
        return { type: "watching", room, game, tickRate, onChange, tick, kinds: parseKinds(rawKinds) };
      } catch (e) {
        if (e instanceof SchemaError) throw new CodecError(`Watching.kinds: ${e.message}`);
        throw e;
      }
    }
    case ServerTag.Snapshot: {
      const f = new Fields(m, "Snapshot", 4);
      const tick = f.uint("tick");
      const segments = f.array("segments").map((s, i) => readSegment(s, `Snapshot.segments[${i}]`));
      const events = f.array("events").map((e, i) => readEvent(e, `Snapshot.events[${i}]`));
      return { type: "snapshot", tick, segments, events, acks: readAcks(f.raw(), "Snapshot.acks") };
    }
    case ServerTag.Delta: {
      const f = new Fields(m, "Delta", 5);
      const tick = f.uint("tick");
      const back = f.uint("back");
      if (back > tick) f.fail("back", "at most tick");
      const segments = f.array("segments").map((s, i) => readSegment(s, `Delta.segments[${i}]`));
      const events = f.array("events").map((e, i) => readEvent(e, `Delta.events[${i}]`));
      return { type: "delta", tick, back, segments, events, acks: readAcks(f.raw(), "Delta.acks") };
    }
    case ServerTag.Pong: {
      const f = new Fields(m, "Pong", 2);
      return { type: "pong", echo: f.uint("echo"), tick: f.uint("tick") };
    }
    case ServerTag.Chat: {
      const f = new Fields(m, "Chat", 3);
      return { type: "chat", player: f.uint("player", U32), name: f.str("name"), text: f.str("text") };
    }
    case ServerTag.Roster: {
      const f = new Fields(m, "Roster", 1);
      return { type: "roster", players: f.array("players").map(readRosterEntry) };
    }
    case ServerTag.Error: {
      const f = new Fields(m, "Error", 2);
      return { type: "error", code: f.uint("code", U16), message: f.str("message") };
    }
    case ServerTag.CommandResult: {
      const f = new Fields(m, "CommandResult", 2);
      const id = f.uint("id", U32);
      return { type: "commandResult", id, refusal: f.optional(() => readRefusal(f.raw())) };
    }
    case ServerTag.Ended: {
      const f = new Fields(m, "Ended", 1);
      return { type: "ended", result: f.value("result") };
    }
    case ServerTag.Redirect: {
      const f = new Fields(m, "Redirect", 2);
      return { type: "redirect", url: f.str("url"), ticket: f.optional(() => f.str("ticket")) };
    }
    default:
      throw new CodecError(`unknown server message tag ${JSON.stringify(tag)}`);
  }
}

/** Decodes one binary frame from a client (for tools, tests and golden vectors). Throws CodecError. */
export function decodeClient(frame: ArrayBuffer | Uint8Array): ClientMessage {
  const { m, tag } = messageArray(frame);
  switch (tag) {
    case ClientTag.Join: {
      // Nine elements, or ten with the cluster's seat ticket last.
      const f = new Fields(m, "Join", 8, 9);
      const join = {
        type: "join",
        version: f.uint("version", U16),
        name: f.str("name"),
        game: f.optional(() => f.str("game")),
        room: f.optional(() => f.uint("room", U32)),
        create: f.bool("create"),
        options: f.optional(() => f.map("options")),
        filter: f.optional(() => f.stringMap("filter")),
        token: f.optional(() => f.str("token")),
      } as const;
      // A nil ticket is the same as none (and encodes back to nine elements, like the Rust codec).
      const ticket = f.more ? f.optional(() => f.str("ticket")) : null;
      return ticket === null ? join : { ...join, ticket };
    }
    case ClientTag.Input: {
      const f = new Fields(m, "Input", 2);
      return { type: "input", seq: f.uint("seq", U32), input: f.value("input") };
    }
    case ClientTag.Ping: {
      const f = new Fields(m, "Ping", 1);
      return { type: "ping", echo: f.uint("echo") };
    }
    case ClientTag.Chat: {
      const f = new Fields(m, "Chat", 1);
      return { type: "chat", text: f.str("text") };
    }
    case ClientTag.Leave:
      new Fields(m, "Leave", 0);
      return { type: "leave" };
    case ClientTag.Resync:
      new Fields(m, "Resync", 0);
      return { type: "resync" };
    case ClientTag.Command: {
      const f = new Fields(m, "Command", 2);
      return { type: "command", id: f.uint("id", U32), command: f.value("command") };
    }
    case ClientTag.Watch: {
      const f = new Fields(m, "Watch", 2);
      return { type: "watch", version: f.uint("version", U16), room: f.uint("room", U32) };
    }
    default:
      throw new CodecError(`unknown client message tag ${JSON.stringify(tag)}`);
  }
}

/** The wire array of a client message. */
export function clientToWire(msg: ClientMessage): unknown[] {
  switch (msg.type) {
    case "join":
      return [
        ClientTag.Join,
        msg.version,
        msg.name,
        msg.game,
        msg.room,
        msg.create,
        msg.options,
        msg.filter,
        msg.token,
        // The tenth element only with a ticket: servers before cluster mode know nine.
        ...(msg.ticket != null ? [msg.ticket] : []),
      ];
    case "input":
      return [ClientTag.Input, msg.seq, msg.input];
    case "ping":
      return [ClientTag.Ping, msg.echo];
    case "chat":
      return [ClientTag.Chat, msg.text];
    case "leave":
      return [ClientTag.Leave];
    case "resync":
      return [ClientTag.Resync];
    case "command":
      return [ClientTag.Command, msg.id, msg.command];
    case "watch":
      return [ClientTag.Watch, msg.version, msg.room];
  }
}

/** Encodes one client message as a binary frame. */
export function encodeClient(msg: ClientMessage): Uint8Array {
  return encodeFrame(clientToWire(msg));
}

const segmentToWire = (s: Segment): unknown[] => [
  [...s.removed],
  s.changed.flatMap((r) => [r.id, r.mask, ...r.values]),
  s.added.flatMap((r) => [r.id, r.kind, r.mask, ...r.values]),
];
const acksToWire = (a: Acks): unknown[] => [a.bits, a.set.flatMap(([p, s]) => [p, s])];
const eventsToWire = (events: readonly GameEvent[]): unknown[] => events.map((e) => [e.name, e.payload]);

/** The wire array of a server message. */
export function serverToWire(msg: ServerMessage): unknown[] {
  switch (msg.type) {
    case "welcome":
      return [
        ServerTag.Welcome,
        msg.player,
        msg.room,
        msg.game,
        msg.tickRate,
        msg.onChange,
        msg.tick,
        msg.token,
        kindsToWire(msg.kinds),
      ];
    case "watching":
      return [ServerTag.Watching, msg.room, msg.game, msg.tickRate, msg.onChange, msg.tick, kindsToWire(msg.kinds)];
    case "snapshot":
      return [
        ServerTag.Snapshot,
        msg.tick,
        msg.segments.map(segmentToWire),
        eventsToWire(msg.events),
        acksToWire(msg.acks),
      ];
    case "delta":
      return [
        ServerTag.Delta,
        msg.tick,
        msg.back,
        msg.segments.map(segmentToWire),
        eventsToWire(msg.events),
        acksToWire(msg.acks),
      ];
    case "pong":
      return [ServerTag.Pong, msg.echo, msg.tick];
    case "chat":
      return [ServerTag.Chat, msg.player, msg.name, msg.text];
    case "roster":
      return [ServerTag.Roster, msg.players.map((p) => [p.player, p.name, p.connected])];
    case "error":
      return [ServerTag.Error, msg.code, msg.message];
    case "commandResult":
      return [ServerTag.CommandResult, msg.id, msg.refusal ? [msg.refusal.code, msg.refusal.message] : null];
    case "ended":
      return [ServerTag.Ended, msg.result];
    case "redirect":
      return [ServerTag.Redirect, msg.url, msg.ticket];
  }
}

/** Encodes one server message as a binary frame (for test servers and tools). */
export function encodeServer(msg: ServerMessage): Uint8Array {
  return encodeFrame(serverToWire(msg));
}
