/** What close codes and server error codes mean to a player, and which closes are worth a reconnect. */
import { CloseCode, ErrorCode } from "./constants";

const closeWords: Record<number, string> = {
  [CloseCode.Normal]: "The room was closed.",
  [CloseCode.GoingAway]: "The server is shutting down.",
  [CloseCode.ProtocolError]: "The connection broke the WebSocket protocol.",
  [CloseCode.Unsupported]: "The server only accepts binary messages.",
  [CloseCode.Abnormal]: "The connection to the server was lost.",
  [CloseCode.InvalidPayload]: "A message could not be read (this client and the server disagree on the protocol).",
  [CloseCode.Policy]: "The server closed the connection: too many messages.",
  [CloseCode.TooBig]: "A message was too large for the server.",
  [CloseCode.InternalError]: "The game failed on the server and the room was closed.",
  [CloseCode.JoinTimeout]: "The join took too long.",
  [CloseCode.Replaced]: "This seat was taken over by another tab or device.",
  [CloseCode.IdleTimeout]: "The server heard nothing from this client for too long.",
  [CloseCode.VersionMismatch]: "This client's protocol version does not match the server's. Reload the page.",
  [CloseCode.NotAllowed]: "This client sent a message the server does not allow at this point.",
  [CloseCode.Redirected]: "The server sent this client on to another server of its cluster.",
  [CloseCode.Kicked]: "An operator removed you from the room.",
};

/** A sentence for the player, with the server's reason when it adds something. */
export function describeClose(code: number, reason: string): string {
  const words = closeWords[code] ?? `The connection closed (code ${code}).`;
  return reason && !saysTheSame(words, reason) ? `${words} (${reason})` : words;
}

/** True when every word of `reason` is already in `words` ("server shutting down"). */
function saysTheSame(words: string, reason: string): boolean {
  const have = new Set(words.toLowerCase().match(/[a-z0-9]+/g) ?? []);
  return (reason.toLowerCase().match(/[a-z0-9]+/g) ?? []).every((w) => have.has(w));
}

/**
 * Closes after which reconnecting cannot help or is not wanted: the room is over (1000 comes
 * after Leave, a closed room or Ended), the seat moved to another connection, or the client is
 * the wrong version, or an operator kicked the player (4007: its seat is freed, and coming back
 * would undo the kick). Every other close holds the seat on the server for a while, so the client
 * comes back with its token: even after 1007 or 4005, which the server answers by holding the seat.
 * 4006 (Redirected) only follows a Redirect during a join, which the Client follows itself; on a
 * seated connection it would be a server bug, after which coming back with the token is the way on.
 */
const final: ReadonlySet<number> = new Set<number>([
  CloseCode.Normal,
  CloseCode.Replaced,
  CloseCode.VersionMismatch,
  CloseCode.Kicked,
]);

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
  [ErrorCode.Refused]: "The game did not let you in.",
  [ErrorCode.RoomLocked]: "That room is locked: a game is in progress.",
  [ErrorCode.UnknownGame]: "This server does not run that game.",
  [ErrorCode.IpLimit]: "Your address has too many rooms or seats on this server; try again later.",
  [ErrorCode.Unavailable]: "The server cannot place you in a room right now; try again in a moment.",
  [ErrorCode.RoomLost]: "That room is gone: the server it ran on stopped.",
  [ErrorCode.SpectatorsFull]: "That room has as many spectators as it takes.",
};

/** A sentence for a server Error message, with the server's message when it sent one. */
export function describeError(code: number, message: string): string {
  const words = errorWords[code] ?? `Server error ${code}.`;
  return message && !saysTheSame(words, message) ? `${words} (${message})` : words;
}
