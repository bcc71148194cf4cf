/**
 * A player without a browser: one WebSocket from the test runner (the `ws` package) that joins a
 * room with the SDK's codec, reads everything the server sends (answering its pings, as `ws`
 * does), and records how the connection ended. It never reconnects, so a spec sees exactly what
 * the server did to it (a kick, a closed room).
 */
import { decodeServer, encodeClient, PROTOCOL_VERSION, SUBPROTOCOL } from "@tickroom/client";
import WebSocket from "ws";

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

export interface JoinWhere {
  readonly game?: string;
  /** Join this room; otherwise `create` or quick match. */
  readonly room?: number;
  readonly create?: boolean;
}

export class WsPlayer {
  /** Resolves when the connection ends. */
  readonly closed: Promise<Closed>;

  private constructor(
    private readonly ws: WebSocket,
    readonly player: number,
    readonly room: number,
    closed: Promise<Closed>,
  ) {
    this.closed = closed;
  }

  /** Connects to the server at `httpUrl` and joins; resolves once welcomed. */
  static join(httpUrl: string, name: string, where: JoinWhere): Promise<WsPlayer> {
    const url = `${httpUrl.replace(/^http/, "ws")}/ws`;
    // The page origin of the server itself, as a browser page of it would send.
    const ws = new WebSocket(url, [SUBPROTOCOL], { origin: httpUrl });
    ws.binaryType = "arraybuffer";
    const closed = new Promise<Closed>((resolve) => {
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    return new Promise((resolve, reject) => {
      ws.on("error", reject);
      ws.on("open", () => {
        const join = encodeClient({
          type: "join",
          version: PROTOCOL_VERSION,
          name,
          game: where.game ?? null,
          room: where.room ?? null,
          create: where.create ?? false,
          options: null,
          filter: null,
          token: null,
        });
        ws.send(join);
      });
      let welcomed = false;
      ws.on("message", (data: ArrayBuffer) => {
        // After the welcome nothing is read: the ticks only need to arrive.
        if (welcomed) return;
        const msg = decodeServer(data);
        welcomed = msg.type === "welcome";
        if (msg.type === "welcome") resolve(new WsPlayer(ws, msg.player, msg.room, closed));
        else if (msg.type === "error") reject(new Error(`join refused: ${msg.code} ${msg.message}`));
      });
      void closed.then(({ code, reason }) => reject(new Error(`closed while joining: ${code} ${reason}`)));
    });
  }

  /** Leaves by closing the socket (the server holds the seat for a while). */
  close(): void {
    this.ws.close(1000, "the test is done");
  }
}
