/**
 * Encodes client messages and decodes server messages: MessagePack arrays `[tag, ...fields]`
 * (layouts in `generated/protocol.ts`) to and from typed objects. A frame that does not match a
 * layout is a CodecError, an ordinary value the connection turns into a close.
 */
import { decode, encode } from "@msgpack/msgpack";
import {
  ClientTag,
  PROTOCOL_VERSION,
  ServerTag,
  type ArenaInput,
  type ClientMsg,
  type ServerChat,
  type ServerDelta,
  type ServerError,
  type ServerPong,
  type ServerRoster,
  type ServerSnapshot,
  type ServerWelcome,
} from "../generated/protocol";
import { decodeEntityList, EntityListError, type EntityRecord } from "./entityList";

/** A player in the room, from the roster. */
export interface RosterEntry {
  player: number;
  entity: number;
  name: string;
  /** False while the seat is held for a reconnect. */
  connected: boolean;
}

/** Every message the server sends, decoded. `type` tells them apart. */
export type ServerMessage =
  | {
      type: "welcome";
      player: number;
      entity: number;
      room: number;
      tickRate: number;
      tick: number;
      token: string;
      game: string;
      fields: string[];
    }
  | { type: "snapshot"; tick: number; entities: EntityRecord[] }
  | {
      type: "delta";
      tick: number;
      /** The tick this delta builds on (tick - back). */
      base: number;
      added: EntityRecord[];
      changed: EntityRecord[];
      removed: number[];
    }
  | { type: "pong"; echo: number; tick: number }
  | { type: "chat"; player: number; name: string; text: string }
  | { type: "roster"; players: RosterEntry[] }
  | { type: "error"; code: number; message: string };

/** Narrow a decoded server message by its type. */
export type ServerMessageOf<T extends ServerMessage["type"]> = Extract<ServerMessage, { type: T }>;

/** A frame that is not a valid server message. */
export class CodecError extends Error {
  override readonly name = "CodecError";
}

const isUint = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isString = (v: unknown): v is string => typeof v === "string";
const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every(isInt);

function isRosterEntry(v: unknown): v is [number, number, string, boolean] {
  return (
    Array.isArray(v) && v.length === 4 && isUint(v[0]) && isUint(v[1]) && isString(v[2]) && typeof v[3] === "boolean"
  );
}

// One guard per layout: each checks the length and every field's type, exactly like the Rust
// decoder (which also refuses trailing elements).
const guards = {
  welcome: (m: unknown[]): m is ServerWelcome =>
    m.length === 9 &&
    isUint(m[1]) &&
    isUint(m[2]) &&
    isUint(m[3]) &&
    isUint(m[4]) &&
    isUint(m[5]) &&
    isString(m[6]) &&
    isString(m[7]) &&
    Array.isArray(m[8]) &&
    m[8].every(isString),
  snapshot: (m: unknown[]): m is ServerSnapshot => m.length === 3 && isUint(m[1]) && isIntArray(m[2]),
  delta: (m: unknown[]): m is ServerDelta =>
    m.length === 6 &&
    isUint(m[1]) &&
    isUint(m[2]) &&
    m[2] <= m[1] &&
    isIntArray(m[3]) &&
    isIntArray(m[4]) &&
    Array.isArray(m[5]) &&
    m[5].every(isUint),
  pong: (m: unknown[]): m is ServerPong => m.length === 3 && isUint(m[1]) && isUint(m[2]),
  chat: (m: unknown[]): m is ServerChat => m.length === 4 && isUint(m[1]) && isString(m[2]) && isString(m[3]),
  roster: (m: unknown[]): m is ServerRoster => m.length === 2 && Array.isArray(m[1]) && m[1].every(isRosterEntry),
  error: (m: unknown[]): m is ServerError => m.length === 3 && isUint(m[1]) && isString(m[2]),
};

function entities(flat: number[], what: string): EntityRecord[] {
  try {
    return decodeEntityList(flat);
  } catch (e) {
    if (e instanceof EntityListError) throw new CodecError(`${what}: ${e.message}`);
    throw e;
  }
}

/** Decodes one binary frame from the server. Throws CodecError when it is not a valid message. */
export function decodeServer(frame: ArrayBuffer | Uint8Array): ServerMessage {
  let raw: unknown;
  try {
    raw = decode(frame);
  } catch (e) {
    throw new CodecError(`not MessagePack: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new CodecError("not a message array");
  const m: unknown[] = raw;
  const tag = m[0];
  const bad = (name: string): CodecError => new CodecError(`malformed ${name} message`);
  switch (tag) {
    case ServerTag.Welcome: {
      if (!guards.welcome(m)) throw bad("Welcome");
      const [, player, entity, room, tickRate, tick, token, game, fields] = m;
      return { type: "welcome", player, entity, room, tickRate, tick, token, game, fields };
    }
    case ServerTag.Snapshot: {
      if (!guards.snapshot(m)) throw bad("Snapshot");
      return { type: "snapshot", tick: m[1], entities: entities(m[2], "Snapshot") };
    }
    case ServerTag.Delta: {
      if (!guards.delta(m)) throw bad("Delta");
      const [, tick, back, added, changed, removed] = m;
      return {
        type: "delta",
        tick,
        base: tick - back,
        added: entities(added, "Delta added"),
        changed: entities(changed, "Delta changed"),
        removed,
      };
    }
    case ServerTag.Pong: {
      if (!guards.pong(m)) throw bad("Pong");
      return { type: "pong", echo: m[1], tick: m[2] };
    }
    case ServerTag.Chat: {
      if (!guards.chat(m)) throw bad("Chat");
      return { type: "chat", player: m[1], name: m[2], text: m[3] };
    }
    case ServerTag.Roster: {
      if (!guards.roster(m)) throw bad("Roster");
      const players = m[1].map(([player, entity, name, connected]) => ({
        player,
        entity,
        name,
        connected,
      }));
      return { type: "roster", players };
    }
    case ServerTag.Error: {
      if (!guards.error(m)) throw bad("Error");
      return { type: "error", code: m[1], message: m[2] };
    }
    default:
      throw new CodecError(`unknown message tag ${String(tag)}`);
  }
}

/** Encodes one client message (a generated tuple type) as a binary frame. */
export function encodeClient(msg: ClientMsg<ArenaInput>): Uint8Array {
  return encode(msg);
}

/** Builders for each client message, so callers never assemble tuples by hand. */
export const ClientMessages = {
  join(opts: { name: string; room: number | null; create: boolean; token: string | null }): ClientMsg<ArenaInput> {
    return [ClientTag.Join, PROTOCOL_VERSION, opts.name, opts.room, opts.create, opts.token];
  },
  input(seq: number, input: ArenaInput): ClientMsg<ArenaInput> {
    return [ClientTag.Input, seq, input];
  },
  ping(echo: number): ClientMsg<ArenaInput> {
    return [ClientTag.Ping, echo];
  },
  chat(text: string): ClientMsg<ArenaInput> {
    return [ClientTag.Chat, text];
  },
  leave(): ClientMsg<ArenaInput> {
    return [ClientTag.Leave];
  },
  resync(): ClientMsg<ArenaInput> {
    return [ClientTag.Resync];
  },
} as const;
