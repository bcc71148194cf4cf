/**
 * What a room sends to anyone in it, seated or watching: the replica of what that member sees,
 * the roster, chat lines, game events, the result, pings and gap repair, kept across dropped
 * connections. `Room` (a player's seat) and `Spectator` (a watcher without a seat) both build on
 * it; code that only reads a room (a game's renderer, a HUD, a scoreboard) takes a `RoomFeed`
 * and works for both. Sending inputs, commands and chat is the `Room`'s alone, so a spectator's
 * type does not offer them.
 */
import { Emitter } from "./Emitter";
import { endRoom, onDrop, showReconnecting } from "./internal";
import type { CloseInfo, Connection } from "./net/Connection";
import { NetStats } from "./net/NetStats";
import { describeError } from "./protocol/closeCodes";
import { CloseCode, ErrorCode, PROTOCOL_VERSION } from "./protocol/constants";
import { sameKinds, type KindSchema } from "./protocol/kinds";
import type { ClientMessage, GameEvent, RosterEntry, ServerMessage, ServerMessageOf } from "./protocol/messages";
import type { Value } from "./protocol/value";
import { Replica, type StateMessage } from "./state/Replica";

/** The room as the last Welcome (or, for a spectator, Watching) described it. */
export interface RoomInfo {
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

/** The events of every room member; a `Room` adds its seat to `welcome`. */
export interface RoomFeedEvents {
  /**
   * A Welcome (a player: the first join, a resumed seat, or a fresh seat after the token failed)
   * or a Watching (a spectator: the first watch, or watching again after a dropped connection,
   * `resumed`).
   */
  welcome: { readonly info: RoomInfo; readonly resumed: boolean };
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

/** Pings kept waiting for their pong (the server answers every ping, but a connection can drop
 * between the two), so old ones are forgotten. */
const MAX_PENDING_PINGS = 20;

export abstract class RoomFeed<E extends RoomFeedEvents = RoomFeedEvents> extends Emitter<E> {
  /** The entities this member sees, the acks and the tick: the same object for the room's life. */
  readonly replica = new Replica();
  readonly stats = new NetStats();
  private infoValue: RoomInfo | null = null;
  private rosterValue: readonly RosterEntry[] = [];
  private statusValue: RoomStatus = { state: "joining" };
  private wsUrlValue: string | null = null;
  private resultValue: Value | undefined = undefined;
  private resyncCount = 0;
  private connection: Connection | null = null;
  private detach: Array<() => void> = [];
  /** Deltas are not applied until the Snapshot asked for with Resync arrives. */
  private awaitingKeyframe = false;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private nextEcho = 1;
  private readonly pings = new Map<number, number>();
  private readonly pingIntervalMs: number;
  private readonly now: () => number;
  private left = false;

  /** Called when the connection drops and the room may be reached again (set by the Client). */
  [onDrop]: ((info: CloseInfo) => void) | null = null;

  constructor(options: RoomOptions = {}) {
    super();
    this.pingIntervalMs = options.pingIntervalMs ?? 1500;
    this.now = options.now ?? (() => performance.now());
  }

  /** The room id asked for, before the first Welcome or Watching names it (null: quick match, create). */
  protected abstract get requestedRoom(): number | null;

  /** The room as the last Welcome or Watching described it; null before the first. */
  get info(): RoomInfo | null {
    return this.infoValue;
  }

  /** Everyone seated, by player id, from the last Roster (spectators are not listed). */
  get roster(): readonly RosterEntry[] {
    return this.rosterValue;
  }

  get status(): RoomStatus {
    return this.statusValue;
  }

  /**
   * The WebSocket URL of the server that accepted the join or watch last (null before): in
   * cluster mode the node the room lives on, where a reconnect goes first.
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

  /** The room id (from the last Welcome or Watching, else the one asked for). */
  get id(): number | null {
    return this.infoValue?.room ?? this.requestedRoom;
  }

  /** The own player id, once seated; always null for a spectator. */
  get player(): number | null {
    return null;
  }

  /** True once leave() was called or the room is closed for good. */
  get closed(): boolean {
    return this.left || this.status.state === "closed";
  }

  /** True while the socket's send buffer is full (a player's inputs are then held back). */
  get congested(): boolean {
    return this.connection?.congested ?? false;
  }

  /** Asks for a keyframe (to check the replica, or after a gap: the room does that itself). */
  resync(): boolean {
    return this.send({ type: "resync" });
  }

  /** Leaves for good (a player's seat is freed at once). */
  leave(): void {
    if (this.left) return;
    this.left = true;
    this.send({ type: "leave" });
    this.connection?.close();
    this[endRoom]({ code: CloseCode.Normal, reason: "left", text: "You left the room.", reconnect: false });
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
    this.emitFeed("leave", info);
  }

  /**
   * Takes over a connection whose join or watch was just accepted. `keep` says whether the
   * replica may keep drawing its old state until the fresh Snapshot (the same seat, or the same
   * room watched again); otherwise it starts empty. The subclass sets its own fields first and
   * emits `welcome` after.
   */
  protected attach(conn: Connection, info: RoomInfo, keep: boolean): void {
    this.release("the connection was replaced");
    this.connection = conn;
    if (!keep || !sameKinds(this.replica.kinds, info.kinds)) this.replica.reset(info.kinds);
    this.infoValue = info;
    this.wsUrlValue = conn.url;
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
  }

  /** Sends on the current connection; false when there is none or it is not open. */
  protected send(msg: ClientMessage): boolean {
    return this.connection?.send(msg) ?? false;
  }

  /** The current connection (null while there is none), for a subclass that sends more. */
  protected get current(): Connection | null {
    return this.connection;
  }

  /** A CommandResult: only a seat sends commands, so only a Room has anything to do with it. */
  protected onCommandResult(_msg: ServerMessageOf<"commandResult">): void {
    // Nothing waits for it.
  }

  /** The connection is let go (replaced, dropped, ended): a subclass forgets what it waited for on it. */
  protected onRelease(_why: string): void {
    // Nothing to forget.
  }

  /**
   * Emits one of the events every member has alike. `welcome` is left out: a subclass may add
   * fields to its payload (a Room's seat), so the subclass emits that one itself.
   */
  protected emitFeed<K extends Exclude<keyof RoomFeedEvents, "welcome">>(event: K, payload: RoomFeedEvents[K]): void {
    // Sound: Room and Spectator narrow no payload but `welcome`'s.
    (this as unknown as RoomFeed).emit(event, payload);
  }

  private release(why: string): void {
    for (const off of this.detach) off();
    this.detach = [];
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.connection = null;
    this.onRelease(why);
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
    this.emitFeed("status", status);
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
    this.emitFeed("state", { tick: msg.tick, keyframe: msg.type === "snapshot" });
    this.deliver(msg.events, msg.tick);
  }

  private deliver(events: readonly GameEvent[], tick: number): void {
    for (const e of events) this.emitFeed("event", { name: e.name, payload: e.payload, tick });
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
        this.emitFeed("roster", msg.players);
        return;
      case "chat":
        this.emitFeed("chat", { player: msg.player, name: msg.name, text: msg.text });
        return;
      case "error":
        this.emitFeed("error", { code: msg.code, message: msg.message, text: describeError(msg.code, msg.message) });
        return;
      case "commandResult":
        this.onCommandResult(msg);
        return;
      case "ended":
        this.resultValue = msg.result;
        this.emitFeed("ended", { result: msg.result });
        return;
      case "welcome":
      case "watching":
      case "redirect":
        // These only answer a Join or a Watch, which the Client handles; an accepted connection never gets one.
        this.emitFeed("error", {
          code: ErrorCode.BadRequest,
          message: `unexpected ${msg.type}`,
          text: `The server sent an unexpected ${msg.type} (protocol ${PROTOCOL_VERSION}).`,
        });
        return;
    }
  }
}
