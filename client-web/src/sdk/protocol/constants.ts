/**
 * The numbers of the wire contract (PROTOCOL.md, version 2), written by hand: tags, codes and
 * limits. Kept in one module so the codec, the connection and the apps agree on them.
 */

/** The protocol version sent in every Join and Watch; the server closes with 4004 on any other. */
export const PROTOCOL_VERSION = 2;

/** The WebSocket subprotocol a client must offer; the server echoes it. */
export const SUBPROTOCOL = "tickroom.v2";

/** Longest player name the server keeps, in bytes of UTF-8 (it cuts longer ones). */
export const MAX_NAME_BYTES = 32;

/** Longest chat line, in bytes of UTF-8 after cleaning; longer lines get Error BadRequest. */
export const MAX_CHAT_BYTES = 256;

/** Most fields one entity kind may have: a record's mask is 32 bits. */
export const MAX_FIELDS = 32;

/** Tags of client-to-server messages (the first element of the array). */
export const ClientTag = {
  Join: 0,
  Input: 1,
  Ping: 2,
  Chat: 3,
  Leave: 4,
  Resync: 5,
  Command: 6,
  /** Watch a room as a spectator (no seat, no inputs). */
  Watch: 7,
} as const;
export type ClientTag = (typeof ClientTag)[keyof typeof ClientTag];

/** Tags of server-to-client messages. */
export const ServerTag = {
  Welcome: 0,
  Snapshot: 1,
  Delta: 2,
  Pong: 3,
  Chat: 4,
  Roster: 5,
  Error: 6,
  CommandResult: 7,
  Ended: 8,
  /** Cluster mode: continue the join on another node. */
  Redirect: 9,
  /** The answer to an accepted Watch, in place of Welcome. */
  Watching: 10,
} as const;
export type ServerTag = (typeof ServerTag)[keyof typeof ServerTag];

/** Codes of the server's `Error` message (the connection stays open). */
export const ErrorCode = {
  /** A chat line over 256 bytes, options the game cannot read. */
  BadRequest: 1,
  /** `Join.version` is not 2 (the server then closes with 4004). */
  VersionMismatch: 2,
  /** No room with that id (or it is closing). */
  RoomNotFound: 3,
  /** The room has no free seat. */
  RoomFull: 4,
  /** Unknown, expired or already used reconnect token. */
  BadToken: 5,
  /** The server is at its room limit, or shutting down. */
  ServerFull: 6,
  /** The game refused the joiner; the message is the game's reason. */
  Refused: 7,
  /** The room is locked by its game (e.g. a match in progress). */
  RoomLocked: 8,
  /** No game of that name on this server. */
  UnknownGame: 9,
  /**
   * This IP address is at one of its budgets: open rooms it created, room creations per minute,
   * or seats held (held seats included). The connection stays open; back off before retrying.
   */
  IpLimit: 10,
  /**
   * Cluster mode: the room directory cannot be reached; nothing was reserved. Transient: try the
   * join again in a moment (the connection stays open).
   */
  Unavailable: 11,
  /**
   * Cluster mode: the room of a reconnect token (or of a join by room id) ran on a node that
   * stopped; the room is gone.
   */
  RoomLost: 12,
  /**
   * A Watch found the room at its spectator limit (the server's `--max-spectators`, or fewer if
   * the game says so; a game that takes no spectators is always full). The connection stays open.
   */
  SpectatorsFull: 13,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes the server uses (and 1006, which only the browser reports). */
export const CloseCode = {
  /** After Leave, when the room closed, or after Ended. */
  Normal: 1000,
  /** The server is shutting down. */
  GoingAway: 1001,
  /** A WebSocket protocol violation. */
  ProtocolError: 1002,
  /** A text message. */
  Unsupported: 1003,
  /** The connection dropped without a close frame (reported by the browser, never sent). */
  Abnormal: 1006,
  /** A binary message that is not a valid tickroom message. */
  InvalidPayload: 1007,
  /** More frames than the rate limit allows. */
  Policy: 1008,
  /** A message above the size limit. */
  TooBig: 1009,
  /** The room's game failed; the room is closed. */
  InternalError: 1011,
  /** Not seated within 10 s of connecting. */
  JoinTimeout: 4000,
  /** The seat was resumed by another connection with the token. */
  Replaced: 4002,
  /** No frame at all from the client for 30 s. */
  IdleTimeout: 4003,
  /** The join's protocol version is not 2. */
  VersionMismatch: 4004,
  /** A message not allowed in the connection's state (e.g. an input or chat line from a spectator). */
  NotAllowed: 4005,
  /** Cluster mode: sent right after a Redirect; the join continues on the node it names. */
  Redirected: 4006,
  /** An operator kicked this player from the admin page; the seat is freed, not held. */
  Kicked: 4007,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
