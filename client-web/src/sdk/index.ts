/**
 * `@tickroom/client`: the game-independent TypeScript SDK for tickroom servers (protocol v2).
 *
 * - `Client`: the server's games and rooms over HTTP, and seats by quick play, create or id,
 *   kept through dropped connections.
 * - `Room`: one seat: the `Replica` of what it sees (typed entity views), roster, chat, game
 *   events, inputs, commands as promises, pings, gap repair, the game's result.
 * - `Spectator` (`client.watch(roomId)`): a room watched without a seat: the same reading surface
 *   (`RoomFeed`), nothing to send.
 * - `Playback`: a recorded room (`/api/replays`) played into a `Room`, with play, pause, speed and
 *   seek, so a game's view renders it as it renders live play.
 * - `Prediction` and `Interpolation`: smooth motion for any game, given its step rule; `FixedStep`:
 *   the local tick at the server's rate, driven by the frames.
 * - The protocol itself (constants, codec, kinds, close codes) for tools and other transports.
 */
export { Client, MAX_REDIRECTS, type BackoffOptions, type ClientOptions, type QuickPlayOptions } from "./Client";
export { Room, type JoinRequest, type RoomEvents, type Seat } from "./Room";
export {
  RoomFeed,
  type ChatLine,
  type RoomEvent,
  type RoomFeedEvents,
  type RoomInfo,
  type RoomOptions,
  type RoomStatus,
} from "./RoomFeed";
export { Spectator, type SpectatorEvents } from "./Spectator";
export { CommandLost, CommandRefused, ConnectionClosedError, JoinError, TooManyRedirects } from "./errors";
export { HttpApiError, type GameInfo, type ReplayListing, type RoomListing, type ServerInfo } from "./httpApi";
export {
  parseReplayStream,
  Playback,
  REPLAY_FORMAT,
  REPLAY_VERSION,
  ReplayFormatError,
  route,
  type PlaybackEvents,
  type PlaybackSpeed,
  type ReplayKeyframe,
  type ReplayStream,
  type Route,
} from "./Playback";
export { Emitter } from "./Emitter";

export { Replica, type ApplyError, type StateMessage } from "./state/Replica";
export { Entity, UnknownFieldError, type FieldShape, type FieldValues } from "./state/Entity";

export { Prediction, type PredictionOptions, type StepFn } from "./sync/Prediction";
export { Interpolation, type InterpolationOptions } from "./sync/Interpolation";
export { FixedStep, type FixedStepOptions } from "./sync/FixedStep";
export type { NumericState } from "./sync/NumericState";

export { Connection, type CloseInfo, type ConnectionEvents, type ConnectionOptions } from "./net/Connection";
export type { Transport, TransportEvents, TransportFactory } from "./net/Transport";
export { webSocketTransport } from "./net/WebSocketTransport";
export { NetStats } from "./net/NetStats";

export {
  ClientTag,
  CloseCode,
  ErrorCode,
  MAX_CHAT_BYTES,
  MAX_FIELDS,
  MAX_NAME_BYTES,
  PROTOCOL_VERSION,
  ServerTag,
  SUBPROTOCOL,
} from "./protocol/constants";
export { describeClose, describeError, shouldReconnect } from "./protocol/closeCodes";
export {
  clientToWire,
  CodecError,
  decodeClient,
  decodeServer,
  encodeClient,
  encodeServer,
  serverToWire,
} from "./protocol/codec";
export {
  kindsToWire,
  parseKinds,
  SchemaError,
  type FieldSchema,
  type FieldType,
  type IntType,
  type KindSchema,
} from "./protocol/kinds";
export { fromWire, toWire, type FieldValue, type WireValue } from "./protocol/fields";
export type {
  Acks,
  AddedRecord,
  ChangedRecord,
  ClientMessage,
  ClientMessageOf,
  GameEvent,
  Refusal,
  RosterEntry,
  Segment,
  ServerMessage,
  ServerMessageOf,
  StringMap,
} from "./protocol/messages";
export { isValueMap, type Value, type ValueMap } from "./protocol/value";
