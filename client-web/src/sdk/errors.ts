/** The errors the SDK rejects promises with. Each names what failed, so a UI can show it as is. */
import type { CloseInfo } from "./net/Connection";
import { describeError } from "./protocol/closeCodes";
import { ErrorCode } from "./protocol/constants";
import type { Value } from "./protocol/value";

/**
 * The server refused a join or a watch with an Error message (room full, unknown game, …; for a
 * watch RoomNotFound or SpectatorsFull): `code` is the ErrorCode.
 */
export class JoinError extends Error {
  override readonly name: string = "JoinError";
  constructor(
    /** The ErrorCode. */
    readonly code: number,
    /** The server's own words. */
    readonly serverMessage: string,
  ) {
    super(describeError(code, serverMessage));
  }
}

/**
 * A cluster redirected one join more than `limit` times in a row: its nodes disagree about where
 * the seat is (a misconfigured `--public-url`, or its directory changing under the join). `code`
 * is Unavailable, as the cluster could not place the join; unlike a server's Unavailable, a first
 * join does not retry it.
 */
export class TooManyRedirects extends JoinError {
  override readonly name: string = "TooManyRedirects";
  constructor(
    /** The redirects followed. */
    readonly limit: number,
    /** Where the one not followed pointed. */
    readonly lastUrl: string,
  ) {
    super(ErrorCode.Unavailable, `more than ${limit} redirects in a row, the last to ${lastUrl}`);
    this.message = `The server's cluster sent this join on more than ${limit} times in a row (the last time to ${lastUrl}).`;
  }
}

/** The connection closed before a join was answered. */
export class ConnectionClosedError extends Error {
  override readonly name = "ConnectionClosedError";
  constructor(readonly info: CloseInfo) {
    super(info.text);
  }
}

/** The game refused a command: `refusal` is its machine code (`not_your_turn`), `message` its words. */
export class CommandRefused extends Error {
  override readonly name = "CommandRefused";
  constructor(
    /** The command's id on the wire. */
    readonly id: number,
    /** The command as it was sent. */
    readonly command: Value,
    /** The game's refusal code, e.g. `not_your_turn`. */
    readonly refusal: string,
    /** The game's human-readable reason. */
    readonly reason: string,
  ) {
    super(`${commandName(command)} refused: ${reason || refusal} (${refusal})`);
  }
}

/**
 * A command got no answer: it was sent while there was no connection, or the connection closed
 * before its CommandResult came. The server may or may not have applied it.
 */
export class CommandLost extends Error {
  override readonly name = "CommandLost";
  constructor(
    readonly id: number,
    readonly command: Value,
    readonly why: string,
  ) {
    super(`${commandName(command)} got no answer: ${why}`);
  }
}

/** A short name for a command in messages: its `type` when it is a map with one, else its JSON. */
export function commandName(command: Value): string {
  if (typeof command === "object" && command !== null && !Array.isArray(command) && !(command instanceof Uint8Array)) {
    const type = (command as Record<string, Value>)["type"];
    if (typeof type === "string") return `command "${type}"`;
  }
  let json: string;
  try {
    json = JSON.stringify(command) ?? String(command);
  } catch {
    json = String(command);
  }
  return `command ${json.length > 60 ? `${json.slice(0, 57)}...` : json}`;
}
