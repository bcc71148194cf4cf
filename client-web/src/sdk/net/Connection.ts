/**
 * One WebSocket connection to a tickroom server: offers and checks the subprotocol, decodes every
 * frame into a typed ServerMessage, watches bufferedAmount, and reports the close in words.
 */
import { Emitter } from "../Emitter";
import { describeClose, shouldReconnect } from "../protocol/closeCodes";
import { CodecError, decodeServer, encodeClient } from "../protocol/codec";
import { CloseCode, SUBPROTOCOL } from "../protocol/constants";
import type { ClientMessage, ServerMessage } from "../protocol/messages";
import type { Transport, TransportFactory } from "./Transport";
import { webSocketTransport } from "./WebSocketTransport";

/** How a connection ended. */
export interface CloseInfo {
  /** WebSocket close code (1006 when the connection dropped without a close frame). */
  code: number;
  /** The server's reason, or ours for a close we decided. */
  reason: string;
  /** A sentence for the player. */
  text: string;
  /** Whether reconnecting makes sense (false after leaving, being replaced, version mismatch). */
  reconnect: boolean;
}

export interface ConnectionEvents {
  open: void;
  message: ServerMessage;
  /** Size of every received frame, for the bytes/s meter. */
  bytes: number;
  close: CloseInfo;
}

export type ConnectionState = "connecting" | "open" | "closed";

export interface ConnectionOptions {
  transport?: TransportFactory;
  /**
   * Inputs are held back while the socket has more than this many bytes queued: sending more
   * would only queue stale inputs behind a stalled network. Default: 16384 bytes (hundreds of
   * inputs, so it is never reached on a healthy connection).
   */
  maxBufferedBytes?: number;
}

export class Connection extends Emitter<ConnectionEvents> {
  private readonly transport: Transport;
  private readonly maxBufferedBytes: number;
  private stateValue: ConnectionState = "connecting";

  constructor(
    readonly url: string,
    options: ConnectionOptions = {},
  ) {
    super();
    this.maxBufferedBytes = options.maxBufferedBytes ?? 16384;
    const open = options.transport ?? webSocketTransport;
    this.transport = open(url, [SUBPROTOCOL], {
      open: (protocol) => {
        if (this.stateValue !== "connecting") return;
        if (protocol !== SUBPROTOCOL) {
          this.fail(CloseCode.ProtocolError, `the server did not accept subprotocol ${SUBPROTOCOL}`);
          return;
        }
        this.stateValue = "open";
        this.emit("open", undefined);
      },
      message: (data) => {
        if (this.stateValue !== "open") return;
        this.emit("bytes", data.byteLength);
        let msg: ServerMessage;
        try {
          msg = decodeServer(data);
        } catch (e) {
          // Only CodecError is expected; anything else is a codec bug, and still no reason to
          // let an exception escape into the socket's event handler.
          const why = e instanceof CodecError ? e.message : `undecodable frame (${String(e)})`;
          this.fail(CloseCode.InvalidPayload, why.slice(0, 120));
          return;
        }
        this.emit("message", msg);
      },
      text: () => this.fail(CloseCode.Unsupported, "the server sent a text frame, but the protocol is binary"),
      close: (code, reason) => this.finish(code, reason),
    });
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Bytes queued in the socket, not yet sent. */
  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  /** True while the socket's send queue is over the limit: hold inputs back. */
  get congested(): boolean {
    return this.transport.bufferedAmount > this.maxBufferedBytes;
  }

  /** Sends one message; false when the connection is not open. */
  send(msg: ClientMessage): boolean {
    if (this.stateValue !== "open") return false;
    this.transport.send(encodeClient(msg));
    return true;
  }

  /** Closes from this side. The close event reports `code` and `reason`. */
  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.stateValue === "closed") return;
    // Browsers only let scripts send 1000 or 3000-4999.
    this.transport.close(code === CloseCode.Normal || code >= 3000 ? code : CloseCode.Normal, reason);
    this.finish(code, reason);
  }

  /** A problem this side detected: close and report it with its own code. */
  private fail(code: number, reason: string): void {
    this.close(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.stateValue === "closed") return;
    this.stateValue = "closed";
    this.emit("close", { code, reason, text: describeClose(code, reason), reconnect: shouldReconnect(code) });
  }
}
