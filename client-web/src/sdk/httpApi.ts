/**
 * The server's HTTP look-ups, `GET /api/info` and `GET /api/rooms`, as checked, camel-cased
 * objects. The JSON comes from the network: anything that does not have the documented shape is
 * a HttpApiError rather than a value with the wrong type.
 */
import { parseKinds, SchemaError, type KindSchema } from "./protocol/kinds";
import type { StringMap } from "./protocol/messages";
import { isStringMap, isValueMap } from "./protocol/value";

/** One game the server runs. */
export interface GameInfo {
  readonly name: string;
  /** Ticks per second of its rooms. */
  readonly tickRate: number;
  /** True: its rooms send Deltas only when something changed. */
  readonly onChange: boolean;
  /** Seats per room. */
  readonly capacity: number;
  readonly kinds: readonly KindSchema[];
}

/** `GET /api/info`. */
export interface ServerInfo {
  readonly protocolVersion: number;
  readonly subprotocol: string;
  /** The game of a join that names none. */
  readonly defaultGame: string;
  readonly games: readonly GameInfo[];
  /** Addresses to share on the LAN; empty unless the server listens on all interfaces. */
  readonly lanUrls: readonly string[];
  /** Cluster mode: this node's id; null on a single server. */
  readonly node: string | null;
}

/** A room as `GET /api/rooms` lists it. */
export interface RoomListing {
  readonly id: number;
  readonly game: string;
  readonly players: number;
  readonly capacity: number;
  /** Spectators watching it (they take no seat); null from a server without spectators. */
  readonly spectators: number | null;
  readonly tickRate: number;
  readonly onChange: boolean;
  /** True while the game keeps newcomers out (a match in progress). */
  readonly locked: boolean;
  /** What the game says about the room (`{"mode": "classic"}`); quick match filters on it. */
  readonly metadata: StringMap;
  /** Cluster mode: the id of the node the room runs on (any node lists every room); else null. */
  readonly node: string | null;
  /** Cluster mode: that node's WebSocket URL; else null. Joins by id work through any node. */
  readonly url: string | null;
}

/** A recording as `GET /api/replays` lists it. */
export interface ReplayListing {
  /** The file name, which names its playback (`Client.replay`). */
  readonly name: string;
  readonly game: string;
  readonly room: number;
  readonly ticks: number;
  readonly tickRate: number;
  /** Seconds of play. */
  readonly durationSecs: number;
  /** Bytes of the recording. */
  readonly size: number;
  /** When the room started, ms since the Unix epoch. */
  readonly startedMs: number;
  /** False while the room still runs (or when the server stopped before closing it). */
  readonly complete: boolean;
}

/** A look-up answered with something else than the documented JSON. */
export class HttpApiError extends Error {
  override readonly name = "HttpApiError";
}

type Json = Record<string, unknown>;

function object(v: unknown, what: string): Json {
  if (!isValueMap(v)) throw new HttpApiError(`${what}: expected an object`);
  return v as Json;
}

function field<T>(o: Json, key: string, check: (v: unknown) => v is T, what: string): T {
  const v = o[key];
  if (!check(v)) throw new HttpApiError(`${what}.${key}: unexpected value ${JSON.stringify(v)}`);
  return v;
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === "string";
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

/** A field only cluster nodes send: absent (or null) is null, anything else must be a string. */
function optionalString(o: Json, key: string, what: string): string | null {
  return o[key] == null ? null : field(o, key, isString, what);
}

function parseGame(raw: unknown, i: number): GameInfo {
  const what = `games[${i}]`;
  const o = object(raw, what);
  let kinds: KindSchema[];
  try {
    kinds = parseKinds(o["kinds"]);
  } catch (e) {
    if (e instanceof SchemaError) throw new HttpApiError(`${what}.kinds: ${e.message}`);
    throw e;
  }
  return {
    name: field(o, "name", isString, what),
    tickRate: field(o, "tick_rate", isNumber, what),
    onChange: field(o, "on_change", isBoolean, what),
    capacity: field(o, "capacity", isNumber, what),
    kinds,
  };
}

/** Checks and converts the JSON of `GET /api/info`. */
export function parseServerInfo(json: unknown): ServerInfo {
  const o = object(json, "info");
  const lanUrls = o["lan_urls"] ?? [];
  if (!isArray(lanUrls) || !lanUrls.every(isString)) throw new HttpApiError("info.lan_urls: expected strings");
  return {
    protocolVersion: field(o, "protocol_version", isNumber, "info"),
    subprotocol: field(o, "subprotocol", isString, "info"),
    defaultGame: field(o, "default_game", isString, "info"),
    games: field(o, "games", isArray, "info").map(parseGame),
    lanUrls,
    node: optionalString(o, "node", "info"),
  };
}

/** Checks and converts the JSON of `GET /api/rooms`. */
export function parseRoomListings(json: unknown): RoomListing[] {
  if (!isArray(json)) throw new HttpApiError("rooms: expected an array");
  return json.map((raw, i) => {
    const what = `rooms[${i}]`;
    const o = object(raw, what);
    const metadata = o["metadata"] ?? {};
    if (!isStringMap(metadata)) throw new HttpApiError(`${what}.metadata: expected a map of strings`);
    return {
      id: field(o, "id", isNumber, what),
      game: field(o, "game", isString, what),
      players: field(o, "players", isNumber, what),
      capacity: field(o, "capacity", isNumber, what),
      spectators: o["spectators"] == null ? null : field(o, "spectators", isNumber, what),
      tickRate: field(o, "tick_rate", isNumber, what),
      onChange: field(o, "on_change", isBoolean, what),
      locked: field(o, "locked", isBoolean, what),
      metadata,
      node: optionalString(o, "node", what),
      url: optionalString(o, "url", what),
    };
  });
}

/** Checks and converts the JSON of `GET /api/replays`. */
export function parseReplayListings(json: unknown): ReplayListing[] {
  if (!isArray(json)) throw new HttpApiError("replays: expected an array");
  return json.map((raw, i) => {
    const what = `replays[${i}]`;
    const o = object(raw, what);
    return {
      name: field(o, "name", isString, what),
      game: field(o, "game", isString, what),
      room: field(o, "room", isNumber, what),
      ticks: field(o, "ticks", isNumber, what),
      tickRate: field(o, "tick_rate", isNumber, what),
      durationSecs: field(o, "duration_secs", isNumber, what),
      size: field(o, "size", isNumber, what),
      startedMs: field(o, "started_ms", isNumber, what),
      complete: field(o, "complete", isBoolean, what),
    };
  });
}
