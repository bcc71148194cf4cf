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
 */
import { ConnectionClosedError, JoinError } from "./errors";
import { parseRoomListings, parseServerInfo, type RoomListing, type ServerInfo } from "./httpApi";
import { attachConnection, endRoom, onDrop, showReconnecting } from "./internal";
import { Connection, type CloseInfo, type ConnectionOptions } from "./net/Connection";
import type { TransportFactory } from "./net/Transport";
import { CloseCode, ErrorCode, PROTOCOL_VERSION } from "./protocol/constants";
import type { ServerMessage, StringMap } from "./protocol/messages";
import type { Value, ValueMap } from "./protocol/value";
import { Room, type JoinRequest, type RoomOptions } from "./Room";

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
];

/** Join errors that no retry can fix. */
const FINAL: readonly number[] = [ErrorCode.VersionMismatch, ErrorCode.UnknownGame];

/** The Client drives rooms of every input and command type alike. */
type AnyRoom = Room<Value, Value>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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

  private async start<I extends Value, C extends Value>(request: JoinRequest): Promise<Room<I, C>> {
    const room = new Room<I, C>(request, this.options.room);
    room[onDrop] = (info) => void this.reconnect(room, info);
    await this.handshake(room, [{ room: request.room, create: request.create, token: null, fallbackOn: [] }]);
    return room;
  }

  /** The joins to try after a drop: resume the seat, else the same room afresh, else quick match. */
  private resumeSteps(room: AnyRoom): JoinStep[] {
    const steps: JoinStep[] = [];
    if (room.token) steps.push({ room: null, create: false, token: room.token, fallbackOn: FALLBACK });
    if (room.id !== null) steps.push({ room: room.id, create: false, token: null, fallbackOn: FALLBACK });
    steps.push({ room: null, create: false, token: null, fallbackOn: [] });
    return steps;
  }

  private async reconnect(room: AnyRoom, info: CloseInfo): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 60;
    let why = info.text;
    for (let attempt = 1; !room.closed; attempt++) {
      if (attempt > maxAttempts) {
        room[endRoom]({ code: info.code, reason: "gave up", text: `Could not reconnect: ${why}`, reconnect: false });
        return;
      }
      const delay = this.backoffDelay(attempt);
      room[showReconnecting](attempt, delay, why);
      await sleep(delay);
      if (room.closed) return;
      try {
        await this.handshake(room, this.resumeSteps(room));
        return;
      } catch (e) {
        if (e instanceof ConnectionClosedError && !e.info.reconnect) {
          room[endRoom](e.info);
          return;
        }
        if (e instanceof JoinError && FINAL.includes(e.code)) {
          room[endRoom]({ code: e.code, reason: e.serverMessage, text: e.message, reconnect: false });
          return;
        }
        why = e instanceof Error ? e.message : String(e);
      }
    }
  }

  /**
   * Opens a connection and sends the joins of `steps` in turn until one is welcomed; the room
   * takes the connection over synchronously, before any later frame is handled.
   */
  private handshake(room: AnyRoom, steps: JoinStep[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const conn = new Connection(this.wsUrl, {
        ...this.options.connection,
        ...(this.options.transport ? { transport: this.options.transport } : {}),
      });
      const request = room.request;
      let step = 0;
      const sendJoin = (): void => {
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
        });
      };
      // No answer in time: close with the join-timeout code, which (unlike 1000) is worth a retry.
      const timer = setTimeout(() => {
        conn.close(CloseCode.JoinTimeout, "the server did not answer the join");
      }, this.options.joinTimeoutMs ?? 10000);
      const offs: Array<() => void> = [];
      const done = (): void => {
        clearTimeout(timer);
        for (const off of offs) off();
      };
      offs.push(
        conn.on("open", sendJoin),
        conn.on("message", (msg: ServerMessage) => {
          if (msg.type === "welcome") {
            done();
            if (room.closed) {
              conn.send({ type: "leave" });
              conn.close();
              reject(
                new ConnectionClosedError({ code: 1000, reason: "left", text: "You left the room.", reconnect: false }),
              );
              return;
            }
            room[attachConnection](conn, msg, steps[step]?.token != null);
            resolve();
          } else if (msg.type === "error") {
            const s = steps[step];
            if (s && s.fallbackOn.includes(msg.code) && step + 1 < steps.length) {
              step++;
              sendJoin();
              return;
            }
            done();
            conn.close();
            reject(new JoinError(msg.code, msg.message));
          }
        }),
        conn.on("close", (info) => {
          done();
          reject(new ConnectionClosedError(info));
        }),
      );
    });
  }
}
