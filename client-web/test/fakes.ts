/** Test doubles: a scripted transport, and helpers to build server frames. */
import { decode, encode } from "@msgpack/msgpack";
import type { Transport, TransportEvents, TransportFactory } from "../src/net/Transport";

/** One fake socket: records what the client sent; the test plays the server. */
export class FakeSocket implements Transport {
  readonly sent: unknown[] = [];
  bufferedAmount = 0;
  closed: { code: number | undefined; reason: string | undefined } | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string[],
    private readonly events: TransportEvents,
  ) {}

  send(data: Uint8Array): void {
    this.sent.push(decode(data));
  }

  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
  }

  /** The server accepts the connection with `protocol`. */
  open(protocol = "tickroom.v1"): void {
    this.events.open(protocol);
  }

  /** The server sends a message array. */
  receive(msg: unknown[]): void {
    const bytes = encode(msg);
    this.events.message(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }

  /** The server sends a text frame (the protocol has none). */
  receiveText(text: string): void {
    this.events.text(text);
  }

  /** The connection ends (1006 = dropped without a close frame). */
  drop(code = 1006, reason = ""): void {
    this.events.close(code, reason);
  }

  /** Messages sent with this tag. */
  sentWithTag(tag: number): unknown[][] {
    return this.sent.filter((m): m is unknown[] => Array.isArray(m) && m[0] === tag);
  }
}

/** A transport factory that keeps every socket it opens. */
export function fakeNetwork(): { sockets: FakeSocket[]; transport: TransportFactory; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    transport: (url, protocols, events) => {
      const s = new FakeSocket(url, protocols, events);
      sockets.push(s);
      return s;
    },
    last() {
      const s = sockets[sockets.length - 1];
      if (!s) throw new Error("no socket opened");
      return s;
    },
  };
}

export const FIELDS = ["ack", "kind", "x", "y", "vx", "vy", "hp", "score"];

/** A Welcome array. */
export function welcome(
  o: { player?: number; entity?: number; room?: number; tick?: number; token?: string } = {},
): unknown[] {
  return [
    0,
    o.player ?? 1,
    o.entity ?? o.player ?? 1,
    o.room ?? 1,
    30,
    o.tick ?? 0,
    o.token ?? "1.1.aa",
    "arena",
    FIELDS,
  ];
}

/** Hex string ("96 02 ...") to bytes. */
export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(
    hex
      .trim()
      .split(/\s+/)
      .map((h) => parseInt(h, 16)),
  );
}

/** Bytes to a hex string like the golden file's. */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}
