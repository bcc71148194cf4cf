/**
 * One seat in a room, for any game: on top of what every room member gets (`RoomFeed`: the
 * replica of what the seat sees, the roster, chat, game events, pings and gap repair), inputs
 * with sequence numbers, commands with promises, chat lines and the reconnect token.
 *
 * A Room outlives its connections: when the socket drops, the Client reconnects and hands the
 * new connection to the same Room, so listeners stay subscribed and `room.replica` stays the
 * same object. `I` is the game's input type and `C` its command type.
 */
import { CommandLost, CommandRefused } from "./errors";
import { attachConnection } from "./internal";
import type { Connection } from "./net/Connection";
import type { ServerMessageOf, StringMap } from "./protocol/messages";
import type { Value, ValueMap } from "./protocol/value";
import { RoomFeed, type RoomFeedEvents, type RoomInfo, type RoomOptions } from "./RoomFeed";

/** What the Client asked for when it joined; reused to find a seat again after a drop. */
export interface JoinRequest {
  readonly name: string;
  /** The game of a new or quick-matched room (null = the server's default game). */
  readonly game: string | null;
  /** A room to join by id; null for quick match or create. */
  readonly room: number | null;
  readonly create: boolean;
  readonly options: ValueMap | null;
  readonly filter: StringMap | null;
}

/** The seat as the last Welcome described it: the room, and the own player id in it. */
export interface Seat extends RoomInfo {
  readonly player: number;
}

export interface RoomEvents extends RoomFeedEvents {
  /** A Welcome: the first join, a resumed seat (`resumed`), or a fresh seat after the token failed. */
  welcome: { readonly seat: Seat; readonly info: RoomInfo; readonly resumed: boolean };
}

interface PendingCommand {
  readonly command: Value;
  resolve(): void;
  reject(error: Error): void;
}

export class Room<I extends Value = Value, C extends Value = Value> extends RoomFeed<RoomEvents> {
  private seatValue: Seat | null = null;
  private tokenValue: string | null = null;
  // Sequence numbers start at 1 on every connection: the server resets a resumed seat's ack to 0.
  private nextSeq = 1;
  private nextCommandId = 1;
  private readonly commands = new Map<number, PendingCommand>();

  constructor(
    readonly request: JoinRequest,
    options: RoomOptions = {},
  ) {
    super(options);
  }

  protected get requestedRoom(): number | null {
    return this.request.room;
  }

  /** The seat; null until the first Welcome. */
  get seat(): Seat | null {
    return this.seatValue;
  }

  /** Resumes the seat (single use: every Welcome brings a new one). */
  get token(): string | null {
    return this.tokenValue;
  }

  /** The own player id, once seated. */
  override get player(): number | null {
    return this.seat?.player ?? null;
  }

  /**
   * Sends one input (continuous control). Returns its sequence number, or null when it was not
   * sent: no open connection, or the socket is congested (it would only queue behind stale ones).
   */
  sendInput(input: I): number | null {
    const conn = this.current;
    if (!conn || conn.state !== "open" || conn.congested || !this.seat) return null;
    const seq = this.nextSeq++;
    conn.send({ type: "input", seq, input });
    return seq;
  }

  /**
   * Sends a command (a discrete, reliable action). Resolves when the game applied it; rejects
   * with CommandRefused when the game refused it, and with CommandLost when there is no
   * connection or it closes before the answer.
   */
  command(command: C): Promise<void> {
    const id = this.nextCommandId;
    // u32 on the wire; wrapping after four billion commands is harmless (old ones are answered).
    this.nextCommandId = this.nextCommandId >= 0xffff_ffff ? 1 : this.nextCommandId + 1;
    const conn = this.current;
    if (!conn || !this.seat || !conn.send({ type: "command", id, command })) {
      return Promise.reject(new CommandLost(id, command, "not connected"));
    }
    return new Promise<void>((resolve, reject) => {
      this.commands.set(id, { command, resolve, reject });
    });
  }

  /** Sends a chat line to everyone in the room; false when not connected. */
  sendChat(text: string): boolean {
    return this.send({ type: "chat", text });
  }

  /**
   * Takes over a connection that just received `welcome` (called by the Client). `resumed` says
   * whether the welcome answered this room's token: ids alone cannot tell, a restarted server
   * hands out the same room and player numbers again.
   */
  [attachConnection](conn: Connection, welcome: ServerMessageOf<"welcome">, resumed: boolean): void {
    const seat: Seat = {
      player: welcome.player,
      room: welcome.room,
      game: welcome.game,
      tickRate: welcome.tickRate,
      onChange: welcome.onChange,
      kinds: welcome.kinds,
    };
    this.seatValue = seat;
    this.tokenValue = welcome.token;
    this.nextSeq = 1;
    // A resumed seat keeps drawing its old state until the fresh Snapshot; a new seat starts empty.
    this.attach(conn, seat, resumed);
    this.emit("welcome", { seat, info: seat, resumed });
  }

  protected override onCommandResult(msg: ServerMessageOf<"commandResult">): void {
    const pending = this.commands.get(msg.id);
    if (!pending) return; // Not ours on this connection (already rejected): nothing waits for it.
    this.commands.delete(msg.id);
    if (msg.refusal) {
      pending.reject(new CommandRefused(msg.id, pending.command, msg.refusal.code, msg.refusal.message));
    } else {
      pending.resolve();
    }
  }

  protected override onRelease(why: string): void {
    // Commands are answered on the connection they were sent on; a new one never answers them.
    const pending = [...this.commands];
    this.commands.clear();
    for (const [id, c] of pending) c.reject(new CommandLost(id, c.command, why));
  }
}
