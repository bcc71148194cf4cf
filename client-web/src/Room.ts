/**
 * A seat in a room: the replicated world, the roster, chat, pings, and inputs with sequence
 * numbers. A Room outlives its connections: when the socket drops, the Client reconnects and
 * attaches the new connection to the same Room, so listeners stay subscribed.
 */
import { ErrorCode, type ArenaInput } from "./generated/protocol";
import { Emitter } from "./Emitter";
import { ABNORMAL_CLOSURE, describeError } from "./net/closeCodes";
import { ClientMessages, type RosterEntry, type ServerMessage, type ServerMessageOf } from "./net/codec";
import type { CloseInfo, Connection } from "./net/Connection";
import { NetStats } from "./net/NetStats";
import { Replica } from "./sync/Replica";

/** What the Client asked for when it joined. */
export interface JoinRequest {
  name: string;
  /** Room to join; null for quick match (or with `create`). */
  room: number | null;
  create: boolean;
}

/** The seat as the last Welcome described it. */
export interface Seat {
  player: number;
  entity: number;
  room: number;
  tickRate: number;
  game: string;
  fields: string[];
}

/** Where the room's connection stands. */
export type RoomStatus =
  | { state: "joining" }
  | { state: "connected" }
  | { state: "reconnecting"; attempt: number; retryInMs: number; text: string }
  | { state: "closed"; text: string; code: number };

export interface ChatLine {
  player: number;
  name: string;
  text: string;
}

export interface RoomEvents {
  /** A Welcome: first join, resumed seat (`resumed`), or a fresh seat after the token failed. */
  join: { seat: Seat; resumed: boolean };
  /** The replica changed: a snapshot (`keyframe`) or a delta was applied. */
  state: { tick: number; keyframe: boolean };
  roster: RosterEntry[];
  chat: ChatLine;
  /** A server Error that did not end the room (e.g. a chat line too long). */
  error: { code: number; message: string; text: string };
  status: RoomStatus;
  /** The room is over for good (left, replaced, or reconnecting gave up). */
  leave: CloseInfo;
}

export interface RoomOptions {
  /** Ping period, ms. Default: 1500. */
  pingIntervalMs?: number;
  /** Clock for RTT and rate measurements, ms. Default: performance.now. */
  now?: () => number;
}

export class Room extends Emitter<RoomEvents> {
  readonly replica = new Replica();
  readonly stats = new NetStats();
  /** The seat; null until the first Welcome. */
  seat: Seat | null = null;
  roster: RosterEntry[] = [];
  status: RoomStatus = { state: "joining" };
  /** Token to resume the seat (single use: every Welcome brings a new one). */
  token: string | null = null;
  /** Deltas are ignored until the keyframe asked for with Resync arrives. */
  awaitingKeyframe = false;
  /** Resyncs asked for since the start (gaps seen). */
  resyncs = 0;

  private connection: Connection | null = null;
  private detach: Array<() => void> = [];
  // Sequence numbers start at 1 on every connection: the server resets a resumed seat's
  // numbering and its ack (and the game's prediction is reset on every join).
  private nextSeq = 1;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private nextEcho = 1;
  private readonly pings = new Map<number, number>();
  private readonly pingIntervalMs: number;
  private readonly now: () => number;
  private left = false;

  /** Called when the connection drops and may be resumed (set by the Client). */
  onDrop: ((info: CloseInfo) => void) | null = null;

  constructor(
    readonly request: JoinRequest,
    options: RoomOptions = {},
  ) {
    super();
    this.pingIntervalMs = options.pingIntervalMs ?? 1500;
    this.now = options.now ?? (() => performance.now());
  }

  /** The room id (from the seat, else the one asked for). */
  get id(): number | null {
    return this.seat?.room ?? this.request.room;
  }

  /** True once leave() was called or the room ended. */
  get closed(): boolean {
    return this.left || this.status.state === "closed";
  }

  /** True when inputs are being held back because the socket's send buffer is full. */
  get congested(): boolean {
    return this.connection?.congested ?? false;
  }

  /**
   * Sends one input. Returns its sequence number, or null when it was not sent (no open
   * connection, or the socket is congested: the input would only queue behind stale ones).
   */
  sendInput(input: ArenaInput): number | null {
    const conn = this.connection;
    if (!conn || conn.state !== "open" || conn.congested || !this.seat) return null;
    const seq = this.nextSeq++;
    conn.send(ClientMessages.input(seq, input));
    return seq;
  }

  /** Sends a chat line to everyone in the room. */
  sendChat(text: string): boolean {
    return this.connection?.send(ClientMessages.chat(text)) ?? false;
  }

  /** Leaves for good: the seat is released at once. */
  leave(): void {
    if (this.left) return;
    this.left = true;
    this.connection?.send(ClientMessages.leave());
    this.connection?.close();
    this.end({ code: 1000, reason: "left", text: "You left the room.", reconnect: false });
  }

  /**
   * Closes the socket as if the network had dropped (code 1006): the Client then reconnects and
   * resumes the seat. For tests and for trying reconnection by hand.
   */
  simulateDrop(): void {
    this.connection?.close(ABNORMAL_CLOSURE, "simulated network drop");
  }

  /**
   * Takes over a connection that just received `welcome` (called by the Client). `resumed` tells
   * whether the welcome answered a join with this room's token (ids alone cannot tell: a restarted
   * server hands out the same room and player numbers again).
   */
  attach(conn: Connection, welcome: ServerMessageOf<"welcome">, resumed: boolean): void {
    this.release();
    this.connection = conn;
    if (!resumed) this.replica.clear();
    this.seat = {
      player: welcome.player,
      entity: welcome.entity,
      room: welcome.room,
      tickRate: welcome.tickRate,
      game: welcome.game,
      fields: welcome.fields,
    };
    this.token = welcome.token;
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
    this.emit("join", { seat: this.seat, resumed });
  }

  /** Shows reconnect progress (called by the Client). */
  reconnecting(attempt: number, retryInMs: number, text: string): void {
    this.setStatus({ state: "reconnecting", attempt, retryInMs, text });
  }

  /** Ends the room for good (called by the Client when it gives up, or on a final close). */
  end(info: CloseInfo): void {
    this.release();
    if (this.status.state === "closed") return;
    this.setStatus({ state: "closed", text: info.text, code: info.code });
    this.emit("leave", info);
  }

  private release(): void {
    for (const off of this.detach) off();
    this.detach = [];
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.connection = null;
  }

  private dropped(info: CloseInfo): void {
    this.release();
    if (this.left) return;
    if (info.reconnect && this.onDrop) this.onDrop(info);
    else this.end(info);
  }

  private setStatus(status: RoomStatus): void {
    this.status = status;
    this.emit("status", status);
  }

  private ping(): void {
    const echo = this.nextEcho++;
    if (this.connection?.send(ClientMessages.ping(echo))) {
      this.pings.set(echo, this.now());
      // Lost pings (a full room queue drops them) must not pile up.
      if (this.pings.size > 20) {
        const oldest = this.pings.keys().next();
        if (!oldest.done) this.pings.delete(oldest.value);
      }
    }
  }

  /** Applies one server message. Public so tests can feed messages without a socket. */
  handle(msg: ServerMessage): void {
    switch (msg.type) {
      case "snapshot":
        this.replica.applySnapshot(msg.tick, msg.entities);
        this.awaitingKeyframe = false;
        this.stats.addTick(msg.tick, this.now());
        this.emit("state", { tick: msg.tick, keyframe: true });
        return;
      case "delta": {
        if (this.awaitingKeyframe) return;
        const error = this.replica.applyDelta(msg);
        if (error) {
          // A gap or an inconsistent delta: ask once for a keyframe and ignore deltas until it comes.
          this.awaitingKeyframe = true;
          this.resyncs++;
          this.connection?.send(ClientMessages.resync());
          return;
        }
        this.stats.addTick(msg.tick, this.now());
        this.emit("state", { tick: msg.tick, keyframe: false });
        return;
      }
      case "pong": {
        const sent = this.pings.get(msg.echo);
        if (sent !== undefined) {
          this.pings.delete(msg.echo);
          this.stats.addRtt(this.now() - sent);
        }
        return;
      }
      case "roster":
        this.roster = msg.players;
        this.emit("roster", msg.players);
        return;
      case "chat":
        this.emit("chat", { player: msg.player, name: msg.name, text: msg.text });
        return;
      case "error":
        this.emit("error", { code: msg.code, message: msg.message, text: describeError(msg.code, msg.message) });
        return;
      case "welcome":
        // A second welcome on one connection does not happen; the Client handles welcomes.
        this.emit("error", {
          code: ErrorCode.BadRequest,
          message: "unexpected welcome",
          text: "The server sent an unexpected welcome.",
        });
        return;
    }
  }
}
