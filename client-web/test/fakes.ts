/** Test doubles: a scripted transport (the test plays the server), and builders of server messages. */
import { decode, encode } from "@msgpack/msgpack";
import {
  encodeServer,
  parseKinds,
  type AddedRecord,
  type ChangedRecord,
  type GameEvent,
  type KindSchema,
  type Segment,
  type ServerMessage,
  type Transport,
  type TransportEvents,
  type TransportFactory,
} from "@tickroom/client";

/** One fake socket: records what the client sent (decoded); the test plays the server. */
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
  open(protocol = "tickroom.v2"): void {
    this.events.open(protocol);
  }

  /** The server sends a typed message, or a raw array (to test malformed ones). */
  receive(msg: ServerMessage | unknown[]): void {
    const bytes = Array.isArray(msg) ? encode(msg) : encodeServer(msg as ServerMessage);
    this.receiveBytes(bytes);
  }

  receiveBytes(bytes: Uint8Array): void {
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

/** A Join array as the Client sends it (defaults: "ann" quick-playing arena); `ticket` adds the tenth element. */
export const joinArray = (o: {
  name?: string;
  game?: string | null;
  room?: number | null;
  create?: boolean;
  options?: unknown;
  filter?: unknown;
  token?: string | null;
  ticket?: string;
}): unknown[] => [
  0,
  2,
  o.name ?? "ann",
  o.game === undefined ? "arena" : o.game,
  o.room ?? null,
  o.create ?? false,
  o.options ?? null,
  o.filter ?? null,
  o.token ?? null,
  ...(o.ticket === undefined ? [] : [o.ticket]),
];

/** The arena's kinds, as PROTOCOL.md gives them. */
export const ARENA_KINDS_WIRE = [
  [
    "player",
    [
      ["owner", "u32", null],
      ["x", "float", 0.25],
      ["y", "float", 0.25],
      ["vx", "i16", null],
      ["vy", "i16", null],
      ["hp", "u8", null],
      ["score", "u16", null],
    ],
  ],
  [
    "orb",
    [
      ["x", "float", 0.25],
      ["y", "float", 0.25],
    ],
  ],
];
export const ARENA_KINDS: KindSchema[] = parseKinds(ARENA_KINDS_WIRE);

/** The cards game's kinds. */
export const CARDS_KINDS_WIRE = [
  [
    "table",
    [
      ["phase", "enum", ["waiting", "playing", "finished"]],
      ["turn", "u32", null],
      ["top", "u8", null],
      ["suit", "enum", ["clubs", "diamonds", "hearts", "spades"]],
      ["stock", "u8", null],
      ["deadline", "u32", null],
    ],
  ],
  [
    "hand",
    [
      ["player", "u32", null],
      ["cards", "u8", null],
    ],
  ],
  [
    "card",
    [
      ["owner", "u32", null],
      ["card", "u8", null],
    ],
  ],
];
export const CARDS_KINDS: KindSchema[] = parseKinds(CARDS_KINDS_WIRE);

/** The shooter's kinds. */
export const SHOOTER_KINDS_WIRE = [
  [
    "ship",
    [
      ["owner", "u32", null],
      ["x", "float", 0.5],
      ["y", "float", 0.5],
      ["aim", "u8", null],
      ["hp", "u8", null],
      ["alive", "bool", null],
    ],
  ],
  [
    "bullet",
    [
      ["x", "float", 0.5],
      ["y", "float", 0.5],
      ["vx", "i16", null],
      ["vy", "i16", null],
      ["owner", "u32", null],
    ],
  ],
  [
    "score",
    [
      ["player", "u32", null],
      ["kills", "u16", null],
      ["deaths", "u16", null],
    ],
  ],
  ["map", [["size", "u32", null]]],
];
export const SHOOTER_KINDS: KindSchema[] = parseKinds(SHOOTER_KINDS_WIRE);

/** A Welcome. */
export function welcome(
  o: {
    player?: number;
    room?: number;
    tick?: number;
    token?: string;
    game?: string;
    kinds?: KindSchema[];
    tickRate?: number;
  } = {},
): ServerMessage {
  return {
    type: "welcome",
    player: o.player ?? 1,
    room: o.room ?? 1,
    game: o.game ?? "arena",
    tickRate: o.tickRate ?? 30,
    onChange: false,
    tick: o.tick ?? 0,
    token: o.token ?? "1.1.aa",
    kinds: o.kinds ?? ARENA_KINDS,
  };
}

/** An added record with every field given in `values` (zeros included, mask all ones). */
export function added(id: number, kind: number, values: Array<number | string>): AddedRecord {
  return { id, kind, mask: values.length === 0 ? 0 : 2 ** values.length - 1, values };
}

/** A changed record from a field index → value map. */
export function changed(id: number, fields: Record<number, number | string>): ChangedRecord {
  const entries = Object.entries(fields)
    .map(([k, v]) => [Number(k), v] as const)
    .sort((a, b) => a[0] - b[0]);
  return { id, mask: entries.reduce((m, [k]) => m | (1 << k), 0), values: entries.map(([, v]) => v) };
}

export function segment(s: Partial<Segment> = {}): Segment {
  return { removed: s.removed ?? [], changed: s.changed ?? [], added: s.added ?? [] };
}

const NO_ACKS = { bits: new Uint8Array(0), set: [] };

export function snapshot(
  tick: number,
  segments: Segment[],
  o: { events?: GameEvent[]; acks?: Array<[number, number]>; bits?: Uint8Array } = {},
): ServerMessage {
  return {
    type: "snapshot",
    tick,
    segments,
    events: o.events ?? [],
    acks: o.acks || o.bits ? { bits: o.bits ?? new Uint8Array(0), set: o.acks ?? [] } : NO_ACKS,
  };
}

export function delta(
  tick: number,
  segments: Segment[],
  o: { back?: number; events?: GameEvent[]; acks?: Array<[number, number]>; bits?: Uint8Array } = {},
): ServerMessage {
  return {
    type: "delta",
    tick,
    back: o.back ?? 1,
    segments,
    events: o.events ?? [],
    acks: o.acks || o.bits ? { bits: o.bits ?? new Uint8Array(0), set: o.acks ?? [] } : NO_ACKS,
  };
}

/** Hex string ("96 02 ...") to bytes. */
export function fromHex(hex: string): Uint8Array {
  const parts = hex.trim().split(/\s+/).filter(Boolean);
  return Uint8Array.from(parts.map((h) => parseInt(h, 16)));
}

/** Bytes to a hex string like the golden file's. */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}
