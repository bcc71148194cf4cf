/**
 * Entry point of the SDK: lists rooms, joins one, and keeps the seat through dropped connections.
 *
 *     const client = new Client("http://127.0.0.1:8080");
 *     const room = await client.quickPlay("ann");
 *     room.on("state", () => draw(room.replica));
 *
 * When a connection drops for a reason worth retrying (network loss, server restart, room
 * failure), the Client reconnects with exponential backoff and resumes the seat with the token
 * from the last Welcome. A token the server does not know (it restarted, or the grace period
 * passed) is answered with BadToken: the Client then joins the same room afresh, and when that
 * room is gone, any room by quick match.
 */
import { CloseCode, ErrorCode } from "./generated/protocol";
import { describeError } from "./net/closeCodes";
import { ClientMessages, type ServerMessage, type ServerMessageOf } from "./net/codec";
import { Connection, type CloseInfo, type ConnectionOptions } from "./net/Connection";
import type { TransportFactory } from "./net/Transport";
import { Room, type JoinRequest, type RoomOptions } from "./Room";

/** A room as listed by GET /api/rooms. */
export interface RoomListing {
  id: number;
  game: string;
  players: number;
  capacity: number;
  tick_rate: number;
}

/** GET /api/info. */
export interface ServerInfo {
  game: string;
  protocol_version: number;
  subprotocol: string;
  tick_rate: number;
  room_capacity: number;
  /** Addresses to share on the LAN; empty unless the server listens on all interfaces. */
  lan_urls: string[];
}

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
  /** A join must be answered within this time, ms. Default: 10000. */
  joinTimeoutMs?: number;
  /** Randomness for the backoff jitter. Default: Math.random. */
  random?: () => number;
}

/** The server refused the join with an Error message. */
export class JoinError extends Error {
  override readonly name = "JoinError";
  constructor(
    readonly code: number,
    readonly serverMessage: string,
  ) {
    super(describeError(code, serverMessage));
  }
}

/** The connection closed before the join was answered. */
export class ConnectionClosedError extends Error {
  override readonly name = "ConnectionClosedError";
  constructor(readonly info: CloseInfo) {
    super(info.text);
  }
}

/** One Join message to try; the next one is tried when the server answers with a fallback code. */
interface JoinStep {
  room: number | null;
  create: boolean;
  token: string | null;
  /** Error codes after which the next step is tried. */
  fallbackOn: readonly number[];
}

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

  /** Rooms open on the server. */
  async rooms(): Promise<RoomListing[]> {
    return this.getJson<RoomListing[]>("/api/rooms");
  }

  /** What the server runs, and its LAN addresses when it listens on all interfaces. */
  async info(): Promise<ServerInfo> {
    return this.getJson<ServerInfo>("/api/info");
  }

  /** The fullest room with a free seat, else a new one. */
  quickPlay(name: string): Promise<Room> {
    return this.start({ name, room: null, create: false });
  }

  /** A brand-new room. */
  create(name: string): Promise<Room> {
    return this.start({ name, room: null, create: true });
  }

  /** The room with this id (rejects with JoinError RoomNotFound / RoomFull). */
  join(name: string, room: number): Promise<Room> {
    return this.start({ name, room, create: false });
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

  private async getJson<T>(path: string): Promise<T> {
    const res = await fetch(new URL(path, this.endpoint), { cache: "no-store" });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  private async start(request: JoinRequest): Promise<Room> {
    const room = new Room(request, this.options.room);
    room.onDrop = (info) => void this.reconnect(room, info);
    await this.handshake(room, [{ room: request.room, create: request.create, token: null, fallbackOn: [] }]);
    return room;
  }

  /** The joins to try after a drop: resume the seat, else the same room afresh, else any room. */
  private resumeSteps(room: Room): JoinStep[] {
    const steps: JoinStep[] = [];
    const fallback = [ErrorCode.BadToken, ErrorCode.RoomNotFound, ErrorCode.RoomFull];
    if (room.token) steps.push({ room: null, create: false, token: room.token, fallbackOn: fallback });
    if (room.id !== null) steps.push({ room: room.id, create: false, token: null, fallbackOn: fallback });
    steps.push({ room: null, create: false, token: null, fallbackOn: [] });
    return steps;
  }

  private async reconnect(room: Room, info: CloseInfo): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 60;
    let why = info.text;
    for (let attempt = 1; !room.closed; attempt++) {
      if (attempt > maxAttempts) {
        room.end({ code: info.code, reason: "gave up", text: `Could not reconnect: ${why}`, reconnect: false });
        return;
      }
      const delay = this.backoffDelay(attempt);
      room.reconnecting(attempt, delay, why);
      await sleep(delay);
      if (room.closed) return;
      try {
        await this.handshake(room, this.resumeSteps(room));
        return;
      } catch (e) {
        if (e instanceof ConnectionClosedError && !e.info.reconnect) {
          room.end(e.info);
          return;
        }
        if (e instanceof JoinError && e.code === ErrorCode.VersionMismatch) {
          room.end({ code: e.code, reason: e.serverMessage, text: e.message, reconnect: false });
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
  private handshake(room: Room, steps: JoinStep[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const conn = new Connection(this.wsUrl, { ...this.options.connection, ...transportOf(this.options) });
      let step = 0;
      const sendJoin = (): void => {
        const s = steps[step];
        if (!s) return;
        conn.send(ClientMessages.join({ name: room.request.name, room: s.room, create: s.create, token: s.token }));
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
              conn.close();
              reject(
                new ConnectionClosedError({ code: 1000, reason: "left", text: "You left the room.", reconnect: false }),
              );
              return;
            }
            room.attach(conn, msg satisfies ServerMessageOf<"welcome">, steps[step]?.token != null);
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

function transportOf(options: ClientOptions): { transport?: TransportFactory } {
  return options.transport ? { transport: options.transport } : {};
}
