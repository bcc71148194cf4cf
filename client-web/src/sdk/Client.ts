/**
 * Entry point of the SDK: what the server runs, its rooms, and a seat in one of them, kept
 * through dropped connections.
 *
 *     const client = new Client("http://127.0.0.1:8080");
 *     const room = await client.quickPlay("arena", "ann");
 *     room.on("state", () => draw(room.replica));
 *
 * When a connection drops for a reason worth retrying (network loss, server restart, a room
 * failure), the Client reconnects with exponential backoff and resumes the seat with the token
 * from the last Welcome. When the token no longer works (the server restarted, the grace period
 * passed) it joins the same room afresh, and when that room is gone (or full, or locked), any
 * room of the same game by quick match.
 *
 * In cluster mode a node may answer a join with a Redirect to the node that holds the seat: the
 * Client follows it (at most MAX_REDIRECTS in a row), and after a drop it reconnects first to the
 * node the seat was on (`room.wsUrl`), then to the address it was given.
 *
 * `watch(roomId)` watches a room without a seat (a `Spectator`): the same handshake with a Watch
 * instead of a Join (Redirects followed, without a ticket), and after a drop the same Watch again
 * with the same backoff, as there is no token to resume.
 */
import { ConnectionClosedError, JoinError, TooManyRedirects } from "./errors";
import {
  parseReplayListings,
  parseRoomListings,
  parseServerInfo,
  type ReplayListing,
  type RoomListing,
  type ServerInfo,
} from "./httpApi";
import { attachConnection, endRoom, onDrop, showReconnecting } from "./internal";
import { Connection, type CloseInfo, type ConnectionOptions } from "./net/Connection";
import type { TransportFactory } from "./net/Transport";
import { CloseCode, ErrorCode, PROTOCOL_VERSION } from "./protocol/constants";
import type { ServerMessage, ServerMessageOf, StringMap } from "./protocol/messages";
import type { Value, ValueMap } from "./protocol/value";
import { Playback, parseReplayStream } from "./Playback";
import { Room, type JoinRequest } from "./Room";
import type { RoomFeed, RoomOptions } from "./RoomFeed";
import { Spectator } from "./Spectator";

export interface BackoffOptions {
  /** Delay before the first reconnect attempt, ms. Default: 250. */
  initialMs?: number;
  /** Longest delay between attempts, ms. Default: 5000. */
  maxMs?: number;
  /** Growth per attempt. Default: 2. */
  factor?: number;
  /** Random spread of each delay, as a fraction (0.2 = ±20 %), so clients do not retry in step. Default: 0.2. */
  jitter?: number;
}

export interface ClientOptions {
  /** Socket implementation. Default: the browser WebSocket. */
  transport?: TransportFactory;
  connection?: Omit<ConnectionOptions, "transport">;
  room?: RoomOptions;
  backoff?: BackoffOptions;
  /** Reconnect attempts before giving up. Default: 60 (several minutes with the default backoff). */
  maxAttempts?: number;
  /**
   * Attempts of a first join (quickPlay, create, join) while a cluster answers `Unavailable`
   * (its room directory cannot be reached for a moment), with the reconnect backoff in between.
   * Default: 8 (about 18 s of waiting with the default backoff).
   */
  maxJoinAttempts?: number;
  /** A join must be answered within this time, ms. Default: 10000 (the server's own limit). */
  joinTimeoutMs?: number;
  /** Randomness for the backoff jitter. Default: Math.random. */
  random?: () => number;
  /** HTTP implementation for the look-ups. Default: the global fetch. */
  fetch?: typeof fetch;
}

/** Quick-match choices. */
export interface QuickPlayOptions {
  /** Options of the room created when none matches (the game defines them). */
  options?: ValueMap;
  /** Metadata pairs a room must have, e.g. `{ mode: "quick" }`. */
  filter?: StringMap;
}

/** One Join to try; the next one is tried when the server answers with a fallback code. */
interface JoinStep {
  room: number | null;
  create: boolean;
  token: string | null;
  /** Error codes after which the next step is tried. */
  fallbackOn: readonly number[];
}

/** Join errors after which another way to a seat may work: try the next step. */
const FALLBACK: readonly number[] = [
  ErrorCode.BadToken,
  ErrorCode.RoomNotFound,
  ErrorCode.RoomFull,
  ErrorCode.RoomLocked,
  ErrorCode.Refused,
  // Cluster mode: the room's node stopped; the steps that name the room are skipped.
  ErrorCode.RoomLost,
];

/**
 * Redirects followed in a row for one join before it fails (PROTOCOL.md, "Cluster mode"): one is
 * the norm; more means the cluster's directory changes under the join, and retrying later is
 * better than chasing it.
 */
export const MAX_REDIRECTS = 3;

/** Join errors that no retry can fix. */
const FINAL: readonly number[] = [ErrorCode.VersionMismatch, ErrorCode.UnknownGame];

/**
 * Watch errors after which watching again cannot work: the room is gone (with its node, in a
 * cluster), or this client speaks another protocol. A full room may have a free place later:
 * SpectatorsFull is retried with the backoff.
 */
const WATCH_FINAL: readonly number[] = [ErrorCode.VersionMismatch, ErrorCode.RoomNotFound, ErrorCode.RoomLost];

/**
 * One request a handshake sends until a server accepts it: a Join (with its fallback steps) or
 * a Watch.
 */
interface Ask {
  /** Who takes the accepted connection over. */
  readonly member: RoomFeed;
  /** The message that accepts the request. */
  readonly accepts: "welcome" | "watching";
  /** Sends the request on an open connection; `ticket` is the last Redirect's (only a Join carries it). */
  send(conn: Connection, ticket: string | null): void;
  /**
   * After an Error answer (`ticketed`: the request carried a Redirect's ticket): "retry" sends the
   * same request again without the ticket, "next" the request's next step (both on the same
   * connection), null gives up with the error.
   */
  again(code: number, ticketed: boolean): "retry" | "next" | null;
  /** Hands the accepted connection over. */
  attach(conn: Connection, msg: ServerMessageOf<"welcome" | "watching">): void;
}

/** The Client drives rooms of every input and command type alike. */
type AnyRoom = Room<Value, Value>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True for the URLs a Redirect may name: absolute ws:// or wss:// (a WebSocket cannot open others). */
function isWebSocketUrl(url: string): boolean {
  try {
    const protocol = new URL(url).protocol;
    return protocol === "ws:" || protocol === "wss:";
  } catch {
    return false;
  }
}

/** The close a join reports when the room was left while it was under way. */
const LEFT: CloseInfo = { code: CloseCode.Normal, reason: "left", text: "You left the room.", reconnect: false };

export class Client {
  /** WebSocket URL of the server, e.g. ws://127.0.0.1:8080/ws. */
  readonly wsUrl: string;
  private readonly options: ClientOptions;

  /** `endpoint` is the server's HTTP address, e.g. "http://127.0.0.1:8080" or location.origin. */
  constructor(
    readonly endpoint: string,
    options: ClientOptions = {},
  ) {
    this.options = options;
    const url = new URL("/ws", endpoint);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.wsUrl = url.toString();
  }

  /** What the server runs (games, their kinds), and its LAN addresses. */
  async info(): Promise<ServerInfo> {
    return parseServerInfo(await this.getJson("/api/info"));
  }

  /** Rooms open on the server, of every game. */
  async rooms(): Promise<RoomListing[]> {
    return parseRoomListings(await this.getJson("/api/rooms"));
  }

  /** The server's recordings (`--record`), newest first; empty when it records nothing. */
  async replays(): Promise<ReplayListing[]> {
    return parseReplayListings(await this.getJson("/api/replays"));
  }

  /** A recording as a spectator saw it, ready to play (see `Playback`). */
  async replay(name: string): Promise<Playback> {
    const get = this.options.fetch ?? fetch;
    const path = `/api/replays/${encodeURIComponent(name)}`;
    const res = await get(new URL(path, this.endpoint), { cache: "no-store" });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}: ${(await res.text()).trim()}`);
    return new Playback(parseReplayStream(new Uint8Array(await res.arrayBuffer())));
  }

  /** The fullest unlocked room of `game` with a free seat (and the filter's metadata), else a new one. */
  quickPlay<I extends Value = Value, C extends Value = Value>(
    game: string,
    name: string,
    choices: QuickPlayOptions = {},
  ): Promise<Room<I, C>> {
    return this.start({
      name,
      game,
      room: null,
      create: false,
      options: choices.options ?? null,
      filter: choices.filter ?? null,
    });
  }

  /** A new room of `game`, created with the game's `options`. */
  create<I extends Value = Value, C extends Value = Value>(
    game: string,
    name: string,
    options: ValueMap | null = null,
  ): Promise<Room<I, C>> {
    return this.start({ name, game, room: null, create: true, options, filter: null });
  }

  /** The room with this id (rejects with JoinError RoomNotFound, RoomFull, RoomLocked, …). */
  join<I extends Value = Value, C extends Value = Value>(room: number, name: string): Promise<Room<I, C>> {
    return this.start({ name, game: null, room, create: false, options: null, filter: null });
  }

  /**
   * Watches room `room` as a spectator: no seat (the room's capacity does not count it), no
   * inputs, commands or chat; the replica holds what the game shows spectators. Rejects with
   * JoinError SpectatorsFull (the room takes no more spectators) or RoomNotFound. After a dropped
   * connection the Watch is sent again with the reconnect backoff; the room's end (Ended, or its
   * close) ends the Spectator.
   */
  async watch(room: number): Promise<Spectator> {
    const spectator = new Spectator(room, this.options.room);
    spectator[onDrop] = (info) =>
      void this.reconnect(
        spectator,
        info,
        () => this.handshake(this.watchAsk(spectator), this.resumeUrls(spectator)),
        WATCH_FINAL,
      );
    await this.firstAttempts(() => this.handshake(this.watchAsk(spectator), [this.wsUrl]));
    return spectator;
  }

  /** The delay before reconnect attempt `attempt` (1-based), ms. */
  backoffDelay(attempt: number): number {
    const b = this.options.backoff ?? {};
    const initial = b.initialMs ?? 250;
    const base = Math.min(b.maxMs ?? 5000, initial * (b.factor ?? 2) ** (attempt - 1));
    const jitter = b.jitter ?? 0.2;
    const random = this.options.random ?? Math.random;
    return Math.round(base * (1 - jitter + 2 * jitter * random()));
  }

  private async getJson(path: string): Promise<unknown> {
    const get = this.options.fetch ?? fetch;
    const res = await get(new URL(path, this.endpoint), { cache: "no-store" });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return (await res.json()) as unknown;
  }

  /**
   * A first join or watch. Only a server's `Unavailable` (a cluster whose directory is out of
   * reach for a moment) is retried, on a new connection after the reconnect backoff; every other
   * failure, TooManyRedirects included (a misconfigured cluster does not heal in seconds),
   * rejects at once.
   */
  private async firstAttempts(attempt: () => Promise<void>): Promise<void> {
    const maxAttempts = this.options.maxJoinAttempts ?? 8;
    for (let n = 1; ; n++) {
      try {
        await attempt();
        return;
      } catch (e) {
        const transient =
          e instanceof JoinError && e.code === ErrorCode.Unavailable && !(e instanceof TooManyRedirects);
        if (!transient || n >= maxAttempts) throw e;
        await sleep(this.backoffDelay(n));
      }
    }
  }

  private async start<I extends Value, C extends Value>(request: JoinRequest): Promise<Room<I, C>> {
    const room = new Room<I, C>(request, this.options.room);
    room[onDrop] = (info) =>
      void this.reconnect(
        room,
        info,
        () => this.handshake(this.joinAsk(room, this.resumeSteps(room)), this.resumeUrls(room)),
        FINAL,
      );
    const steps = [{ room: request.room, create: request.create, token: null, fallbackOn: [] }];
    await this.firstAttempts(() => this.handshake(this.joinAsk(room, steps), [this.wsUrl]));
    return room;
  }

  /**
   * Where to reconnect: the node that accepted the join or watch (in cluster mode, where its
   * room lives), then, if that cannot be reached, the address this Client was given, whose node
   * redirects the token (or the watch) or says the room is lost. On a single server both are the
   * same.
   */
  private resumeUrls(member: RoomFeed): string[] {
    return member.wsUrl === null || member.wsUrl === this.wsUrl ? [this.wsUrl] : [member.wsUrl, this.wsUrl];
  }

  /** The joins to try after a drop: resume the seat, else the same room afresh, else quick match. */
  private resumeSteps(room: AnyRoom): JoinStep[] {
    const steps: JoinStep[] = [];
    if (room.token) steps.push({ room: null, create: false, token: room.token, fallbackOn: FALLBACK });
    if (room.id !== null) steps.push({ room: room.id, create: false, token: null, fallbackOn: FALLBACK });
    steps.push({ room: null, create: false, token: null, fallbackOn: [] });
    return steps;
  }

  /**
   * After a drop: `attempt` (a join or watch handshake) with backoff until it works, the member
   * is closed, a close says not to come back, an error in `final` says it cannot work, or the
   * attempts run out.
   */
  private async reconnect(
    member: RoomFeed,
    info: CloseInfo,
    attempt: () => Promise<void>,
    final: readonly number[],
  ): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 60;
    let why = info.text;
    for (let n = 1; !member.closed; n++) {
      if (n > maxAttempts) {
        member[endRoom]({ code: info.code, reason: "gave up", text: `Could not reconnect: ${why}`, reconnect: false });
        return;
      }
      const delay = this.backoffDelay(n);
      member[showReconnecting](n, delay, why);
      await sleep(delay);
      if (member.closed) return;
      try {
        await attempt();
        return;
      } catch (e) {
        if (e instanceof ConnectionClosedError && !e.info.reconnect) {
          member[endRoom](e.info);
          return;
        }
        if (e instanceof JoinError && final.includes(e.code)) {
          member[endRoom]({ code: e.code, reason: e.serverMessage, text: e.message, reconnect: false });
          return;
        }
        why = e instanceof Error ? e.message : String(e);
      }
    }
  }

  /** The Join of a room's steps, tried in turn: each fallback code moves on to the next step. */
  private joinAsk(room: AnyRoom, steps: readonly JoinStep[]): Ask {
    const request = room.request;
    let step = 0;
    return {
      member: room,
      accepts: "welcome",
      send: (conn, ticket) => {
        const s = steps[step];
        if (!s) return;
        conn.send({
          type: "join",
          version: PROTOCOL_VERSION,
          name: request.name,
          // After a drop, quick match stays in the game the seat was in.
          game: room.seat?.game ?? request.game,
          room: s.room,
          create: s.create,
          options: request.options,
          filter: request.filter,
          token: s.token,
          ...(ticket !== null ? { ticket } : {}),
        });
      },
      again: (code, ticketed) => {
        const s = steps[step];
        // The seat ticket expired on the way (it lives a few seconds): the same join without it
        // lets this node place it afresh.
        if (ticketed && code === ErrorCode.BadToken && s?.token == null) return "retry";
        if (s && s.fallbackOn.includes(code) && step + 1 < steps.length) {
          step++;
          // The room is gone with its node: joining it by id again cannot work.
          while (code === ErrorCode.RoomLost && steps[step]?.room != null && step + 1 < steps.length) step++;
          return "next";
        }
        return null;
      },
      attach: (conn, msg) => {
        if (msg.type === "welcome") room[attachConnection](conn, msg, steps[step]?.token != null);
      },
    };
  }

  /** The Watch of a spectator: one request, no fallback (a refusal is the answer). */
  private watchAsk(spectator: Spectator): Ask {
    // Watched before: this is the same room again after a drop.
    const again = spectator.info !== null;
    return {
      member: spectator,
      accepts: "watching",
      // A Watch carries no ticket: a node redirects a watch with none.
      send: (conn) => conn.send({ type: "watch", version: PROTOCOL_VERSION, room: spectator.room }),
      again: () => null,
      attach: (conn, msg) => {
        if (msg.type === "watching") spectator[attachConnection](conn, msg, again);
      },
    };
  }

  /**
   * Sends `ask` until the server accepts it; the member takes the accepted connection over
   * synchronously, before any later frame is handled.
   *
   * The first connection goes to `urls[0]`, or to the next URL when one cannot be reached (it
   * closed before it opened). A Redirect moves the request to the node it names: the same
   * request again on a new connection, with the Redirect's ticket. The old connection is let go
   * at once, so its 4006 close reaches no listener and is never taken for a drop.
   */
  private handshake(ask: Ask, urls: readonly string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const member = ask.member;
      const unreached = urls.slice(1);
      /** The seat ticket of the last Redirect, sent with the request it answered. */
      let ticket: string | null = null;
      /** Redirects since the last request was answered otherwise. */
      let redirects = 0;
      let offs: Array<() => void> = [];
      let timer: ReturnType<typeof setTimeout> | undefined;
      /** Stops listening to the current connection (it is either the member's now, or done). */
      const letGo = (): void => {
        clearTimeout(timer);
        for (const off of offs) off();
        offs = [];
      };

      const connect = (url: string): void => {
        let conn: Connection;
        try {
          conn = new Connection(url, {
            ...this.options.connection,
            ...(this.options.transport ? { transport: this.options.transport } : {}),
          });
        } catch (e) {
          // The browser refuses some URLs outright (a ws:// one from an https page).
          reject(
            new ConnectionClosedError({
              code: CloseCode.Abnormal,
              reason: String(e).slice(0, 120),
              text: `Could not connect to ${url}.`,
              reconnect: true,
            }),
          );
          return;
        }
        let opened = false;
        // No answer in time: close with the join-timeout code, which (unlike 1000) is worth a retry.
        timer = setTimeout(() => {
          conn.close(CloseCode.JoinTimeout, "the server did not answer the join");
        }, this.options.joinTimeoutMs ?? 10000);
        offs = [
          conn.on("open", () => {
            opened = true;
            // A node answered: from here on it (or where it redirects) decides.
            unreached.length = 0;
            ask.send(conn, ticket);
          }),
          conn.on("message", (msg: ServerMessage) => {
            switch (msg.type) {
              case "welcome":
              case "watching":
                // A Welcome never answers a Watch, nor Watching a Join.
                if (msg.type !== ask.accepts) return;
                letGo();
                if (member.closed) {
                  conn.send({ type: "leave" });
                  conn.close();
                  reject(new ConnectionClosedError(LEFT));
                  return;
                }
                ask.attach(conn, msg);
                resolve();
                return;
              case "redirect":
                if (!isWebSocketUrl(msg.url)) {
                  // Reported by the close listener, like any frame this client cannot use.
                  conn.close(
                    CloseCode.InvalidPayload,
                    `redirected to ${msg.url}, not a ws:// or wss:// URL`.slice(0, 120),
                  );
                  return;
                }
                letGo();
                conn.close(CloseCode.Normal, "redirected");
                if (member.closed) {
                  reject(new ConnectionClosedError(LEFT));
                  return;
                }
                redirects++;
                if (redirects > MAX_REDIRECTS) {
                  reject(new TooManyRedirects(MAX_REDIRECTS, msg.url));
                  return;
                }
                ticket = msg.ticket;
                connect(msg.url);
                return;
              case "error": {
                const again = ask.again(msg.code, ticket !== null);
                ticket = null;
                if (again !== null) {
                  if (again === "next") redirects = 0;
                  ask.send(conn, ticket);
                  return;
                }
                letGo();
                conn.close();
                reject(new JoinError(msg.code, msg.message));
                return;
              }
              default:
                // Nothing else comes before a Welcome or Watching.
                return;
            }
          }),
          conn.on("close", (info) => {
            letGo();
            const next = unreached.shift();
            if (!opened && next !== undefined) {
              connect(next);
              return;
            }
            reject(new ConnectionClosedError(info));
          }),
        ];
      };

      const first = urls[0];
      if (first === undefined) {
        reject(new Error("no URL to join at"));
        return;
      }
      connect(first);
    });
  }
}
