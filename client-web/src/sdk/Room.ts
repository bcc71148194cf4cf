/**
 * One seat in a room, for any game: the replica of what the seat sees, the roster, chat, game
 * events, inputs with sequence numbers, commands with promises, pings and gap repair.
 *
 * A Room outlives its connections: when the socket drops, the Client reconnects and hands the
 * new connection to the same Room, so listeners stay subscribed and `room.replica` stays the
 * same object. `I` is the game's input type and `C` its command type.
 */
import { Emitter } from "./Emitter";
import { CommandLost, CommandRefused } from "./errors";
import { attachConnection, endRoom, onDrop, showReconnecting } from "./internal";
import type { CloseInfo, Connection } from "./net/Connection";
import { NetStats } from "./net/NetStats";
import { describeError } from "./protocol/closeCodes";
import { CloseCode, ErrorCode, PROTOCOL_VERSION } from "./protocol/constants";
import { sameKinds, type KindSchema } from "./protocol/kinds";
import type {
  ClientMessage,
  GameEvent,
  RosterEntry,
  ServerMessage,
  ServerMessageOf,
  StringMap,
} from "./protocol/messages";
import type { Value, ValueMap } from "./protocol/value";
import { Replica, type StateMessage } from "./state/Replica";

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

/** The seat as the last Welcome described it. */
export interface Seat {
  readonly player: number;
  readonly room: number;
  readonly game: string;
  /** The room's ticks per second. */
  readonly tickRate: number;
  /** True: Deltas come only when something changed. */
  readonly onChange: boolean;
  readonly kinds: readonly KindSchema[];
}

/** Where the room's connection stands. */
export type RoomStatus =
  | { readonly state: "joining" }
  | { readonly state: "connected" }
  | { readonly state: "reconnecting"; readonly attempt: number; readonly retryInMs: number; readonly text: string }
  | { readonly state: "closed"; readonly text: string; readonly code: number };

export interface ChatLine {
  readonly player: number;
  readonly name: string;
  readonly text: string;
}

/** A game event, with the tick of the state it came with. */
export interface RoomEvent extends GameEvent {
  readonly tick: number;
}

export interface RoomEvents {
  /** A Welcome: the first join, a resumed seat (`resumed`), or a fresh seat after the token failed. */
  welcome: { readonly seat: Seat; readonly resumed: boolean };
  /** The replica changed: a Snapshot (`keyframe`) or a Delta was applied. */
  state: { readonly tick: number; readonly keyframe: boolean };
  roster: readonly RosterEntry[];
  chat: ChatLine;
  /** A game event, in the order the game emitted it, after the `state` of the message it came with. */
  event: RoomEvent;
  /** A server Error that did not end the room (e.g. a chat line too long). */
  error: { readonly code: number; readonly message: string; readonly text: string };
  status: RoomStatus;
  /** The game ended the room with this result; the room closes right after. */
  ended: { readonly result: Value };
  /** The room is over for good (left, ended, replaced, or reconnecting gave up). */
  leave: CloseInfo;
}

export interface RoomOptions {
  /** Ping period, ms. Default: 1500. */
  pingIntervalMs?: number;
  /** Clock for RTT and rate measurements, ms. Default: performance.now. */
  now?: () => number;
}

interface PendingCommand {
  readonly command: Value;
  resolve(): void;
  reject(error: Error): void;
}

/** Pings kept waiting for their pong (the server answers every ping, but a connection can drop
 * between the two), so old ones are forgotten. */
const MAX_PENDING_PINGS = 20;

export class Room<I extends Value = Value, C extends Value = Value> extends Emitter<RoomEvents> {
  /** The entities this seat sees, the acks and the tick: the same object for the Room's life. */
  readonly replica = new Replica();
  readonly stats = new NetStats();
  private seatValue: Seat | null = null;
  private rosterValue: readonly RosterEntry[] = [];
  private statusValue: RoomStatus = { state: "joining" };
  private tokenValue: string | null = null;
  private wsUrlValue: string | null = null;
  private resultValue: Value | undefined = undefined;
  private resyncCount = 0;
  private connection: Connection | null = null;
  private detach: Array<() => void> = [];
  // Sequence numbers start at 1 on every connection: the server resets a resumed seat's ack to 0.
  private nextSeq = 1;
  private nextCommandId = 1;
  private readonly commands = new Map<number, PendingCommand>();
  /** Deltas are not applied until the Snapshot asked for with Resync arrives. */
  private awaitingKeyframe = false;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private nextEcho = 1;
  private readonly pings = new Map<number, number>();
  private readonly pingIntervalMs: number;
  private readonly now: () => number;
  private left = false;

  /** Called when the connection drops and the seat may be resumed (set by the Client). */
  [onDrop]: ((info: CloseInfo) => void) | null = null;

  constructor(
    readonly request: JoinRequest,
    options: RoomOptions = {},
  ) {
    super();
    this.pingIntervalMs = options.pingIntervalMs ?? 1500;
    this.now = options.now ?? (() => performance.now());
  }

  /** The seat; null until the first Welcome. */
  get seat(): Seat | null {
    return this.seatValue;
  }

  /** Everyone seated, by player id, from the last Roster. */
  get roster(): readonly RosterEntry[] {
    return this.rosterValue;
  }

  get status(): RoomStatus {
    return this.statusValue;
  }

  /** Resumes the seat (single use: every Welcome brings a new one). */
  get token(): string | null {
    return this.tokenValue;
  }

  /**
   * The WebSocket URL of the server that welcomed the seat last (null before): in cluster mode
   * the node its room lives on, where a reconnect goes first.
   */
  get wsUrl(): string | null {
    return this.wsUrlValue;
  }

  /** The game's result once it ended the room, else undefined. */
  get result(): Value | undefined {
    return this.resultValue;
  }

  /** Resyncs asked for since the start (gaps and corrupt messages seen). */
  get resyncs(): number {
    return this.resyncCount;
  }

  /** The room id (from the seat, else the one asked for). */
  get id(): number | null {
    return this.seat?.room ?? this.request.room;
  }

  /** The own player id, once seated. */
  get player(): number | null {
    return this.seat?.player ?? null;
  }

  /** True once leave() was called or the room is closed for good. */
  get closed(): boolean {
    return this.left || this.status.state === "closed";
  }

  /** True while inputs are held back because the socket's send buffer is full. */
  get congested(): boolean {
    return this.connection?.congested ?? false;
  }

  /**
   * Sends one input (continuous control). Returns its sequence number, or null when it was not
   * sent: no open connection, or the socket is congested (it would only queue behind stale ones).
   */
  sendInput(input: I): number | null {
    const conn = this.connection;
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
    const conn = this.connection;
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

  /** Asks for a keyframe (to check the replica, or after a gap: the Room does that itself). */
  resync(): boolean {
    return this.send({ type: "resync" });
  }

  /** Leaves for good: the seat is freed at once. */
  leave(): void {
    if (this.left) return;
    this.left = true;
    this.send({ type: "leave" });
    this.connection?.close();
    this[endRoom]({ code: CloseCode.Normal, reason: "left", text: "You left the room.", reconnect: false });
  }

  /**
   * Takes over a connection that just received `welcome` (called by the Client). `resumed` says
   * whether the welcome answered this room's token: ids alone cannot tell, a restarted server
   * hands out the same room and player numbers again.
   */
  [attachConnection](conn: Connection, welcome: ServerMessageOf<"welcome">, resumed: boolean): void {
    this.release("the connection was replaced");
    this.connection = conn;
    // A resumed seat keeps drawing its old state until the fresh Snapshot; a new seat starts empty.
    if (!resumed || !sameKinds(this.replica.kinds, welcome.kinds)) this.replica.reset(welcome.kinds);
    this.seatValue = {
      player: welcome.player,
      room: welcome.room,
      game: welcome.game,
      tickRate: welcome.tickRate,
      onChange: welcome.onChange,
      kinds: welcome.kinds,
    };
    this.tokenValue = welcome.token;
    this.wsUrlValue = conn.url;
    this.nextSeq = 1;
    this.awaitingKeyframe = false;
    this.stats.resetRates();
    this.pings.clear();
    this.detach = [
      conn.on("message", (msg) => this.handle(msg)),
      conn.on("bytes", (n) => this.stats.addBytes(n, this.now())),
      conn.on("close", (info) => this.dropped(info)),
    ];
    this.pingTimer = setInterval(() => this.ping(), this.pingIntervalMs);
    this.ping();
    this.setStatus({ state: "connected" });
    this.emit("welcome", { seat: this.seatValue, resumed });
  }

  /** Shows reconnect progress (called by the Client). */
  [showReconnecting](attempt: number, retryInMs: number, text: string): void {
    this.setStatus({ state: "reconnecting", attempt, retryInMs, text });
  }

  /** Ends the room for good (called by the Client when it gives up, or on a final close). */
  [endRoom](info: CloseInfo): void {
    this.release(info.text);
    if (this.status.state === "closed") return;
    this.setStatus({ state: "closed", text: info.text, code: info.code });
    this.emit("leave", info);
  }

  private send(msg: ClientMessage): boolean {
    return this.connection?.send(msg) ?? false;
  }

  private release(why: string): void {
    for (const off of this.detach) off();
    this.detach = [];
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.connection = null;
    // Commands are answered on the connection they were sent on; a new one never answers them.
    const pending = [...this.commands];
    this.commands.clear();
    for (const [id, c] of pending) c.reject(new CommandLost(id, c.command, why));
  }

  private dropped(info: CloseInfo): void {
    this.release(info.text);
    if (this.left) return;
    if (this.result !== undefined) {
      this[endRoom]({ ...info, text: "The game is over.", reconnect: false });
      return;
    }
    const drop = this[onDrop];
    if (info.reconnect && drop) drop(info);
    else this[endRoom](info);
  }

  private setStatus(status: RoomStatus): void {
    this.statusValue = status;
    this.emit("status", status);
  }

  private ping(): void {
    const echo = this.nextEcho++;
    if (this.send({ type: "ping", echo })) {
      this.pings.set(echo, this.now());
      if (this.pings.size > MAX_PENDING_PINGS) {
        const oldest = this.pings.keys().next();
        if (!oldest.done) this.pings.delete(oldest.value);
      }
    }
  }

  /** A gap or a corrupt message: ask once for a keyframe and apply no Delta until it comes. */
  private requestKeyframe(): void {
    if (this.awaitingKeyframe) return;
    this.awaitingKeyframe = true;
    this.resyncCount++;
    this.resync();
  }

  private applyState(msg: StateMessage): void {
    // A Delta that cannot be applied still delivers its events: the server sends each event
    // once and would not replay it in the Snapshot that repairs the gap.
    if (msg.type === "delta" && this.awaitingKeyframe) {
      this.deliver(msg.events, msg.tick);
      return;
    }
    const error = this.replica.apply(msg);
    if (error) {
      if (msg.type === "snapshot") this.awaitingKeyframe = false;
      this.requestKeyframe();
      this.deliver(msg.events, msg.tick);
      return;
    }
    if (msg.type === "snapshot") this.awaitingKeyframe = false;
    this.stats.addTick(msg.tick, this.now());
    this.emit("state", { tick: msg.tick, keyframe: msg.type === "snapshot" });
    this.deliver(msg.events, msg.tick);
  }

  private deliver(events: readonly GameEvent[], tick: number): void {
    for (const e of events) this.emit("event", { name: e.name, payload: e.payload, tick });
  }

  private handle(msg: ServerMessage): void {
    switch (msg.type) {
      case "snapshot":
      case "delta":
        this.applyState(msg);
        return;
      case "pong": {
        const sent = this.pings.get(msg.echo);
        if (sent !== undefined) {
          this.pings.delete(msg.echo);
          this.stats.addRtt(this.now() - sent);
        }
        return;
      }
      case "roster":
        this.rosterValue = msg.players;
        this.emit("roster", msg.players);
        return;
      case "chat":
        this.emit("chat", { player: msg.player, name: msg.name, text: msg.text });
        return;
      case "error":
        this.emit("error", { code: msg.code, message: msg.message, text: describeError(msg.code, msg.message) });
        return;
      case "commandResult": {
        const pending = this.commands.get(msg.id);
        if (!pending) return; // Not ours on this connection (already rejected): nothing waits for it.
        this.commands.delete(msg.id);
        if (msg.refusal) {
          pending.reject(new CommandRefused(msg.id, pending.command, msg.refusal.code, msg.refusal.message));
        } else {
          pending.resolve();
        }
        return;
      }
      case "ended":
        this.resultValue = msg.result;
        this.emit("ended", { result: msg.result });
        return;
      case "welcome":
      case "redirect":
        // Both only answer a Join, which the Client handles; a seated connection never gets one.
        this.emit("error", {
          code: ErrorCode.BadRequest,
          message: `unexpected ${msg.type}`,
          text: `The server sent an unexpected ${msg.type} (protocol ${PROTOCOL_VERSION}).`,
        });
        return;
    }
  }
}
