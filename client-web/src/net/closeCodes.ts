/** What WebSocket close codes and server error codes mean to a player, and whether to retry. */
import { CloseCode, ErrorCode } from "../generated/protocol";

/** Close code the browser reports when the connection dropped without a close frame. */
export const ABNORMAL_CLOSURE = 1006;

const closeWords: Record<number, string> = {
  [CloseCode.Normal]: "You left the room.",
  [CloseCode.GoingAway]: "The server is shutting down.",
  [CloseCode.ProtocolError]: "The connection broke the WebSocket protocol.",
  [CloseCode.Unsupported]: "The server only accepts binary messages.",
  [CloseCode.InvalidPayload]: "The server could not read a message from this client.",
  [CloseCode.Policy]: "The server closed the connection: a rule was broken (too many messages?).",
  [CloseCode.TooBig]: "A message was too large for the server.",
  [CloseCode.InternalError]: "The room failed on the server.",
  [CloseCode.JoinTimeout]: "The join took too long.",
  [CloseCode.TooSlow]: "The connection could not keep up with the room.",
  [CloseCode.Replaced]: "This seat was taken over by another tab or device.",
  [CloseCode.IdleTimeout]: "The server heard nothing from this client for too long.",
  [CloseCode.VersionMismatch]: "This client's protocol version does not match the server's. Reload the page.",
  [CloseCode.NotAllowed]: "This client sent a message the server does not allow at this point.",
  [ABNORMAL_CLOSURE]: "The connection to the server was lost.",
};

/** A sentence for the player, with the server's reason when it sent one. */
export function describeClose(code: number, reason: string): string {
  const words = closeWords[code] ?? `The connection closed (code ${code}).`;
  return reason && !saysTheSame(words, reason) ? `${words} (${reason})` : words;
}

/** True when every word of `reason` is already in `words` ("server shutting down"). */
function saysTheSame(words: string, reason: string): boolean {
  const have = new Set(words.toLowerCase().match(/[a-z0-9]+/g) ?? []);
  return (reason.toLowerCase().match(/[a-z0-9]+/g) ?? []).every((w) => have.has(w));
}

/** Codes after which reconnecting cannot help or is not wanted: the player left, the seat moved
 * to another connection, or the client is the wrong version. */
const final = new Set<number>([CloseCode.Normal, CloseCode.Replaced, CloseCode.VersionMismatch]);

/** True when the client should reconnect (with backoff, resuming its seat with the token). */
export function shouldReconnect(code: number): boolean {
  return !final.has(code);
}

const errorWords: Record<number, string> = {
  [ErrorCode.BadRequest]: "The server refused a request.",
  [ErrorCode.VersionMismatch]: "This client's protocol version does not match the server's.",
  [ErrorCode.RoomNotFound]: "That room does not exist (any more).",
  [ErrorCode.RoomFull]: "That room is full.",
  [ErrorCode.BadToken]: "The seat could not be resumed.",
  [ErrorCode.ServerFull]: "The server has no room for another game.",
};

/** A sentence for a server Error message. */
export function describeError(code: number, message: string): string {
  const words = errorWords[code] ?? `Server error ${code}.`;
  return message ? `${words} (${message})` : words;
}
