/**
 * What a Connection needs from a socket, so tests can drive a Connection without a network and a
 * game can swap the browser WebSocket for another transport.
 */

/** Callbacks a transport makes. */
export interface TransportEvents {
  /** Connected; `protocol` is the subprotocol the server chose ("" when none). */
  open(protocol: string): void;
  /** One binary message. */
  message(data: ArrayBuffer): void;
  /** One text message (the protocol has none: the connection treats it as an error). */
  text(data: string): void;
  /** Closed, cleanly or not; called once. */
  close(code: number, reason: string): void;
}

/** An open (or opening) socket. */
export interface Transport {
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Bytes queued by send() and not yet handed to the network. */
  readonly bufferedAmount: number;
}

/** Opens a transport to `url`, offering `protocols`. */
export type TransportFactory = (url: string, protocols: string[], events: TransportEvents) => Transport;
