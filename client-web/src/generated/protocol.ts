// Generated from the Rust schema in shared/ by `make bindings`. Do not edit.
// A test fails when this file is stale.

export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = "tickroom.v1";
export const FIELD_COUNT = 8;
export const MAX_NAME_BYTES = 32;
export const MAX_CHAT_BYTES = 256;

export const ClientTag = {
  Join: 0,
  Input: 1,
  Ping: 2,
  Chat: 3,
  Leave: 4,
  Resync: 5,
} as const;

export const ServerTag = {
  Welcome: 0,
  Snapshot: 1,
  Delta: 2,
  Pong: 3,
  Chat: 4,
  Roster: 5,
  Error: 6,
} as const;

export const ErrorCode = {
  BadRequest: 1,
  VersionMismatch: 2,
  RoomNotFound: 3,
  RoomFull: 4,
  BadToken: 5,
  ServerFull: 6,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  Unsupported: 1003,
  InvalidPayload: 1007,
  Policy: 1008,
  TooBig: 1009,
  InternalError: 1011,
  JoinTimeout: 4000,
  TooSlow: 4001,
  Replaced: 4002,
  IdleTimeout: 4003,
  VersionMismatch: 4004,
  NotAllowed: 4005,
} as const;

export type ClientJoin = [tag: 0, version: number, name: string, room: number | null, create: boolean, token: string | null];
export type ClientInput<I = unknown> = [tag: 1, seq: number, input: I];
export type ClientPing = [tag: 2, echo: number];
export type ClientChat = [tag: 3, text: string];
export type ClientLeave = [tag: 4];
export type ClientResync = [tag: 5];
export type ClientMsg<I = unknown> =
  | ClientJoin
  | ClientInput<I>
  | ClientPing
  | ClientChat
  | ClientLeave
  | ClientResync;

export type ServerWelcome = [tag: 0, player: number, entity: number, room: number, tickRate: number, tick: number, token: string, game: string, fields: string[]];
export type ServerSnapshot = [tag: 1, tick: number, entities: number[]];
export type ServerDelta = [tag: 2, tick: number, back: number, added: number[], changed: number[], removed: number[]];
export type ServerPong = [tag: 3, echo: number, tick: number];
export type ServerChat = [tag: 4, player: number, name: string, text: string];
export type ServerRoster = [tag: 5, players: [number, number, string, boolean][]];
export type ServerError = [tag: 6, code: number, message: string];
export type ServerMsg =
  | ServerWelcome
  | ServerSnapshot
  | ServerDelta
  | ServerPong
  | ServerChat
  | ServerRoster
  | ServerError;

/** The arena demo game's contract. */
export const Arena = {
  worldSize: 1000,
  positionScale: 4,
  speed: 200,
  kindPlayer: 1,
  kindOrb: 2,
  fields: ["ack", "kind", "x", "y", "vx", "vy", "hp", "score"],
} as const;
/** Arena input on the wire: [dx, dy], each in -1..1. */
export type ArenaInput = [dx: number, dy: number];
