import { encode } from "@msgpack/msgpack";
import {
  CodecError,
  decodeClient,
  decodeServer,
  encodeClient,
  encodeServer,
  PROTOCOL_VERSION,
  type ClientMessage,
  type ServerMessage,
} from "@tickroom/client";
import { describe, expect, it } from "vitest";
import { added, ARENA_KINDS, ARENA_KINDS_WIRE, changed, CARDS_KINDS_WIRE, segment, toHex } from "../fakes";

const join = (o: Partial<Extract<ClientMessage, { type: "join" }>> = {}): ClientMessage => ({
  type: "join",
  version: PROTOCOL_VERSION,
  name: "ann",
  game: null,
  room: null,
  create: false,
  options: null,
  filter: null,
  token: null,
  ...o,
});

describe("client messages", () => {
  /** Join has the documented nine-element layout, with the shortest integer encodings. */
  it("encodes Join exactly", () => {
    expect(toHex(encodeClient(join({ game: "arena" })))).toBe("99 00 02 a3 61 6e 6e a5 61 72 65 6e 61 c0 c2 c0 c0 c0");
    expect(
      encodeClient(join({ game: "cards", create: false, options: { mode: "quick" }, filter: { mode: "quick" } })),
    ).toEqual(encode([0, 2, "ann", "cards", null, false, { mode: "quick" }, { mode: "quick" }, null]));
    expect(encodeClient(join({ room: 300, token: "1.2.ff" }))).toEqual(
      encode([0, 2, "ann", null, 300, false, null, null, "1.2.ff"]),
    );
  });

  /** A Join with a seat ticket has a tenth element; without one (or with nil) it keeps nine. */
  it("encodes and decodes the Join's optional ticket", () => {
    const ticket = "9f86d081884c7d659a2feaa0c55ad015";
    expect(encodeClient(join({ ticket }))).toEqual(encode([0, 2, "ann", null, null, false, null, null, null, ticket]));
    expect(encodeClient(join({ ticket: null }))).toEqual(encodeClient(join()));
    expect(decodeClient(encodeClient(join({ ticket })))).toEqual(join({ ticket }));
    // Nine elements: no ticket. Ten with nil: the same as none, and nine again when encoded.
    expect(decodeClient(encode([0, 2, "ann", null, null, false, null, null, null]))).not.toHaveProperty("ticket");
    const nilTicket = decodeClient(encode([0, 2, "ann", null, null, false, null, null, null, null]));
    expect(nilTicket).toEqual(join());
    expect(encodeClient(nilTicket)).toEqual(encodeClient(join()));
  });

  /** Every client message round-trips through encode and decode. */
  it("round-trips every client message", () => {
    const messages: ClientMessage[] = [
      join({ game: "cards", create: true, options: { mode: "classic" } }),
      { type: "input", seq: 300, input: [1, -1, 64, true] },
      { type: "ping", echo: 123456 },
      { type: "chat", text: "hi ✓" },
      { type: "leave" },
      { type: "resync" },
      { type: "command", id: 7, command: { type: "play", card: 7, suit: 2 } },
      { type: "watch", version: 2, room: 70000 },
    ];
    for (const m of messages) expect(decodeClient(encodeClient(m))).toEqual(m);
    expect(toHex(encodeClient({ type: "command", id: 7, command: { type: "draw" } }))).toBe(
      "93 06 07 81 a4 74 79 70 65 a4 64 72 61 77",
    );
    expect(toHex(encodeClient({ type: "input", seq: 300, input: [1, -1] }))).toBe("93 01 cd 01 2c 92 01 ff");
    expect(toHex(encodeClient({ type: "leave" }))).toBe("91 04");
    // Watch [7, version, room], the spectator's join.
    expect(toHex(encodeClient({ type: "watch", version: PROTOCOL_VERSION, room: 3 }))).toBe("93 07 02 03");
  });

  /** Client frames that break the layout are refused like the server would. */
  it("decodes client frames strictly", () => {
    const bad: unknown[][] = [
      [0, 2, "ann", null, null, false, null, null], // one field short
      [0, 2, "ann", null, null, 0, null, null, null], // create not a bool
      [0, 2, "ann", null, null, false, { mode: 1 }, { mode: 1 }, null], // filter values must be strings
      [0, 2, "ann", null, null, false, null, null, null, 7], // a ticket is a string
      [0, 2, "ann", null, null, false, null, null, null, "t", null], // eleven elements
      [6, -1, {}],
      [9],
      [4, 1],
      [7, 2], // Watch without its room
      [7, 2, 3, null], // Watch with a fourth element
      [7, 2, -3], // a room id is unsigned
      [7, 2, 2 ** 32], // and 32 bits
    ];
    for (const m of bad) expect(() => decodeClient(encode(m))).toThrow(CodecError);
  });
});

describe("server messages", () => {
  /** Every server message type decodes from the documented array into its typed object. */
  it("decodes every server message type", () => {
    expect(decodeServer(encode([0, 2, 1, "arena", 30, false, 900, "1.2.ff", ARENA_KINDS_WIRE]))).toEqual({
      type: "welcome",
      player: 2,
      room: 1,
      game: "arena",
      tickRate: 30,
      onChange: false,
      tick: 900,
      token: "1.2.ff",
      kinds: ARENA_KINDS,
    });
    // Watching: Welcome's fields without player and token.
    expect(decodeServer(encode([10, 1, "arena", 30, false, 900, ARENA_KINDS_WIRE]))).toEqual({
      type: "watching",
      room: 1,
      game: "arena",
      tickRate: 30,
      onChange: false,
      tick: 900,
      kinds: ARENA_KINDS,
    });
    const bits = new Uint8Array([0b101]);
    expect(
      decodeServer(
        encode([
          1,
          900,
          [[[], [], [1, 0, 0b11, 7, 400, 1001, 1, 0b1, 80]]],
          [["pickup", { player: 7 }]],
          [bits, [3, 9]],
        ]),
      ),
    ).toEqual({
      type: "snapshot",
      tick: 900,
      segments: [
        segment({
          added: [
            { id: 1, kind: 0, mask: 3, values: [7, 400] },
            { id: 1001, kind: 1, mask: 1, values: [80] },
          ],
        }),
      ],
      events: [{ name: "pickup", payload: { player: 7 } }],
      acks: { bits, set: [[3, 9]] },
    });
    expect(
      decodeServer(
        encode([
          2,
          1000,
          1,
          [
            [[4], [3, 0b110, 27, -27], []],
            [[], [9, 0b1, "new"], []],
          ],
          [],
          [new Uint8Array(), []],
        ]),
      ),
    ).toEqual({
      type: "delta",
      tick: 1000,
      back: 1,
      segments: [
        segment({ removed: [4], changed: [{ id: 3, mask: 6, values: [27, -27] }] }),
        segment({ changed: [{ id: 9, mask: 1, values: ["new"] }] }),
      ],
      events: [],
      acks: { bits: new Uint8Array(), set: [] },
    });
    expect(decodeServer(encode([3, 123456, 1000]))).toEqual({ type: "pong", echo: 123456, tick: 1000 });
    expect(decodeServer(encode([4, 2, "bo", "hi"]))).toEqual({ type: "chat", player: 2, name: "bo", text: "hi" });
    expect(
      decodeServer(
        encode([
          5,
          [
            [1, "ann", true],
            [2, "bo", false],
          ],
        ]),
      ),
    ).toEqual({
      type: "roster",
      players: [
        { player: 1, name: "ann", connected: true },
        { player: 2, name: "bo", connected: false },
      ],
    });
    expect(decodeServer(encode([6, 4, "the room is full"]))).toEqual({
      type: "error",
      code: 4,
      message: "the room is full",
    });
    expect(decodeServer(encode([7, 5, null]))).toEqual({ type: "commandResult", id: 5, refusal: null });
    expect(decodeServer(encode([7, 6, ["not_your_turn", "wait for your turn"]]))).toEqual({
      type: "commandResult",
      id: 6,
      refusal: { code: "not_your_turn", message: "wait for your turn" },
    });
    expect(decodeServer(encode([8, { winner: 2, name: "bo" }]))).toEqual({
      type: "ended",
      result: { winner: 2, name: "bo" },
    });
    expect(decodeServer(encode([9, "ws://10.0.0.2:8080/ws", "abc"]))).toEqual({
      type: "redirect",
      url: "ws://10.0.0.2:8080/ws",
      ticket: "abc",
    });
    expect(decodeServer(encode([9, "wss://b.example/ws", null]))).toEqual({
      type: "redirect",
      url: "wss://b.example/ws",
      ticket: null,
    });
  });

  /** encodeServer is the inverse of decodeServer, for every message type and field type. */
  it("round-trips every server message", () => {
    const messages: ServerMessage[] = [
      {
        type: "welcome",
        player: 3,
        room: 9,
        game: "cards",
        tickRate: 10,
        onChange: true,
        tick: 1 << 40,
        token: "9.3.abc",
        kinds: decodeWelcomeKinds(CARDS_KINDS_WIRE),
      },
      {
        type: "delta",
        tick: 12,
        back: 2,
        segments: [segment({ removed: [1, 2], changed: [changed(3, { 0: -5, 2: 1 })], added: [added(4, 1, [9, 2])] })],
        events: [{ name: "hit", payload: { target: 1, by: 2, hp: 75 } }],
        acks: { bits: new Uint8Array([0, 2]), set: [[1, 100]] },
      },
      { type: "commandResult", id: 1, refusal: { code: "need_suit", message: "choose a suit" } },
      { type: "ended", result: null },
      {
        type: "watching",
        room: 9,
        game: "cards",
        tickRate: 10,
        onChange: true,
        tick: 1 << 40,
        kinds: decodeWelcomeKinds(CARDS_KINDS_WIRE),
      },
      { type: "redirect", url: "ws://10.0.0.2:8080/ws", ticket: "9f86d081" },
      { type: "redirect", url: "ws://10.0.0.2:8080/ws", ticket: null },
    ];
    for (const m of messages) expect(decodeServer(encodeServer(m))).toEqual(m);
  });

  /** Malformed frames are a CodecError naming what was wrong, never another exception. */
  it.each<[string, unknown]>([
    ["not an array", { a: 1 }],
    ["empty array", []],
    ["unknown tag", [42]],
    ["missing field", [3, 1]],
    ["extra field", [3, 1, 2, 3]],
    ["negative tick", [3, 1, -2]],
    ["float id", [7, 1.5, null]],
    ["bin for str", [4, 1, new Uint8Array([104]), "hi"]],
    ["roster entry of v1", [5, [[1, 1, "ann", true]]]],
    ["bad refusal", [7, 1, ["only code"]]],
    ["back above tick", [2, 1, 2, [], [], [new Uint8Array(), []]]],
    ["segment not a triple", [2, 2, 1, [[[], []]], [], [new Uint8Array(), []]]],
    ["record cut short", [2, 2, 1, [[[], [1, 0b11, 5], []]], [], [new Uint8Array(), []]]],
    ["added without kind", [1, 2, [[[], [], [1]]], [], [new Uint8Array(), []]]],
    ["record value is a bool", [1, 2, [[[], [], [1, 0, 1, true]]], [], [new Uint8Array(), []]]],
    ["acks bits not bin", [1, 2, [], [], [[1], []]]],
    ["acks set odd", [1, 2, [], [], [new Uint8Array(), [1]]]],
    ["event not a pair", [1, 2, [], [["hit"]], [new Uint8Array(), []]]],
    ["unknown field type", [0, 1, 1, "g", 30, false, 0, "t", [["k", [["f", "f32", null]]]]]],
    ["enum without variants", [0, 1, 1, "g", 30, false, 0, "t", [["k", [["f", "enum", []]]]]]],
    ["redirect without ticket", [9, "ws://b/ws"]],
    ["redirect url not a string", [9, 7, null]],
    ["float without step", [0, 1, 1, "g", 30, false, 0, "t", [["k", [["f", "float", null]]]]]],
    ["watching with a player", [10, 7, 1, "g", 30, false, 0, []]],
    ["watching without kinds", [10, 1, "g", 30, false, 0]],
    ["watching kinds not kinds", [10, 1, "g", 30, false, 0, [["k", [["f", "f32", null]]]]]],
    ["watching tick rate above u16", [10, 1, "g", 70000, false, 0, []]],
  ])("refuses a malformed frame: %s", (_what, value) => {
    expect(() => decodeServer(encode(value))).toThrow(CodecError);
  });

  /** Bytes that are not MessagePack at all, or have trailing bytes, are CodecErrors too. */
  it("refuses garbage bytes", () => {
    expect(() => decodeServer(new Uint8Array([0xc1]))).toThrow(CodecError);
    expect(() => decodeServer(new Uint8Array([0x93, 0x03, 0x01]))).toThrow(CodecError);
    expect(() => decodeServer(new Uint8Array([0x93, 0x03, 0x01, 0x02, 0x00]))).toThrow(CodecError);
    // Ended with a map whose key is an integer: maps have string keys.
    expect(() => decodeServer(new Uint8Array([0x92, 0x08, 0x81, 0x01, 0x02]))).toThrow(CodecError);
    // A fuzz of random frames: whatever they are, the only exception is CodecError.
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 24) }, () => Math.floor(random() * 256));
      bytes[0] = 0x90 + Math.floor(random() * 7);
      try {
        decodeServer(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(CodecError);
      }
    }
  });
});

function decodeWelcomeKinds(wire: unknown): Extract<ServerMessage, { type: "welcome" }>["kinds"] {
  const msg = decodeServer(encode([0, 1, 1, "g", 10, true, 0, "t", wire]));
  if (msg.type !== "welcome") throw new Error("not a welcome");
  return msg.kinds;
}
