import { decode, encode } from "@msgpack/msgpack";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ClientMessages, CodecError, decodeServer, encodeClient } from "../src/net/codec";
import { decodeEntityList, encodeEntityList, EntityListError } from "../src/net/entityList";
import { FIELDS, fromHex, toHex } from "./fakes";

const rec = (id: number, f: Record<number, number>): { id: number; fields: number[] } => ({
  id,
  fields: Array.from({ length: 8 }, (_, i) => f[i] ?? 0),
});

describe("decodeServer", () => {
  /** Every server message type decodes from the documented array into its typed object. */
  it("decodes every server message type", () => {
    expect(decodeServer(encode([0, 2, 2, 1, 30, 900, "1.2.ff", "arena", FIELDS]))).toEqual({
      type: "welcome",
      player: 2,
      entity: 2,
      room: 1,
      tickRate: 30,
      tick: 900,
      token: "1.2.ff",
      game: "arena",
      fields: FIELDS,
    });
    expect(decodeServer(encode([1, 900, [1, 0b1110, 1, 2000, 400, 1001, 0b100, 80]]))).toEqual({
      type: "snapshot",
      tick: 900,
      entities: [rec(1, { 1: 1, 2: 2000, 3: 400 }), rec(1001, { 2: 80 })],
    });
    expect(decodeServer(encode([2, 1000, 1, [5, 0b110, 1, 100], [3, 0b1101, 1, 27, -27], [4]]))).toEqual({
      type: "delta",
      tick: 1000,
      base: 999,
      added: [rec(5, { 1: 1, 2: 100 })],
      changed: [rec(3, { 0: 1, 2: 27, 3: -27 })],
      removed: [4],
    });
    expect(decodeServer(encode([3, 123456, 1000]))).toEqual({ type: "pong", echo: 123456, tick: 1000 });
    expect(decodeServer(encode([4, 2, "bo", "hi"]))).toEqual({ type: "chat", player: 2, name: "bo", text: "hi" });
    expect(
      decodeServer(
        encode([
          5,
          [
            [1, 1, "ann", true],
            [2, 2, "bo", false],
          ],
        ]),
      ),
    ).toEqual({
      type: "roster",
      players: [
        { player: 1, entity: 1, name: "ann", connected: true },
        { player: 2, entity: 2, name: "bo", connected: false },
      ],
    });
    expect(decodeServer(encode([6, 4, "the room is full"]))).toEqual({
      type: "error",
      code: 4,
      message: "the room is full",
    });
  });

  /** The exact bytes the Rust codec produces for a delta decode to the same delta. */
  it("decodes the Rust codec's delta vector", () => {
    const bytes = fromHex("96 02 cd 03 e8 01 90 95 03 0d 01 1b e5 90");
    expect(decodeServer(bytes)).toEqual({
      type: "delta",
      tick: 1000,
      base: 999,
      added: [],
      changed: [rec(3, { 0: 1, 2: 27, 3: -27 })],
      removed: [],
    });
  });

  /** Ticks beyond 32 bits (uint64 on the wire) still decode. */
  it("decodes 64-bit ticks", () => {
    const tick = 2 ** 40 + 5;
    const msg = decodeServer(encode([2, tick, 1, [], [], []]));
    expect(msg).toMatchObject({ type: "delta", tick, base: tick - 1 });
  });

  /** Malformed frames are CodecErrors, never crashes or half-decoded messages. */
  it("rejects malformed frames", () => {
    const bad: unknown[] = [
      7, // not an array
      [], // no tag
      [9, 1], // unknown tag
      [3, 1], // Pong too short
      [3, 1, 2, 3], // trailing element
      [2, 5, 6, [], [], []], // back > tick
      [2, 5, 1, [3], [], []], // record without mask
      [2, 5, 1, [3, 0b11, 1], [], []], // mask promises two values, one given
      [2, 5, 1, [3, 256], [], []], // mask wider than the fields
      [1, 5, [1, 1, 1.5]], // non-integer value
      [1, 5, [1, 1, 0]], // a present field of zero (the Rust decoder refuses it too)
      [5, [[1, 1, "ann"]]], // short roster entry
      [0, 1, 1, 1, 30, 0, "t", "arena"], // Welcome without fields
      [6, "4", "x"], // code not a number
    ];
    for (const m of bad) expect(() => decodeServer(encode(m)), JSON.stringify(m)).toThrow(CodecError);
    expect(() => decodeServer(new Uint8Array([0xc1]))).toThrow(CodecError);
  });
});

describe("golden vectors (shared/golden/messages.json, written by the Rust codec)", () => {
  const file = join(__dirname, "../../shared/golden/messages.json");
  const vectors = JSON.parse(readFileSync(file, "utf8")) as Array<{
    direction: string;
    name: string;
    hex: string;
    value: unknown[];
  }>;

  /** Every server vector decodes, and its generic value matches the Rust side's. */
  it.each(vectors.filter((v) => v.direction === "server").map((v) => [v.name, v] as const))("server %s", (_name, v) => {
    const bytes = fromHex(v.hex);
    expect(decode(bytes)).toEqual(v.value);
    const msg = decodeServer(bytes);
    expect(msg.type).toBeTypeOf("string");
  });

  /** The client encodes every client vector to exactly the Rust codec's bytes. */
  it("client messages encode to the Rust codec's bytes", () => {
    const built: Record<string, Uint8Array> = {
      "Join quick match": encodeClient(ClientMessages.join({ name: "ann", room: null, create: false, token: null })),
      "Join room 7": encodeClient(ClientMessages.join({ name: "bo", room: 7, create: false, token: null })),
      "Join new room": encodeClient(ClientMessages.join({ name: "cy", room: null, create: true, token: null })),
      "Join with reconnect token": encodeClient(
        ClientMessages.join({ name: "ann", room: null, create: false, token: "1.2.00ff" }),
      ),
      Input: encodeClient(ClientMessages.input(300, [1, -1])),
      Ping: encodeClient(ClientMessages.ping(123456)),
      Chat: encodeClient(ClientMessages.chat("hi")),
      Leave: encodeClient(ClientMessages.leave()),
      Resync: encodeClient(ClientMessages.resync()),
    };
    const client = vectors.filter((v) => v.direction === "client");
    expect(client.length).toBe(Object.keys(built).length);
    for (const v of client) {
      const bytes = built[v.name];
      expect(bytes, v.name).toBeDefined();
      expect(toHex(bytes ?? new Uint8Array()), v.name).toBe(v.hex);
    }
  });

  /** The golden delta with a move, an add and a remove decodes field by field. */
  it("decodes the golden delta exactly", () => {
    const v = vectors.find((x) => x.name.startsWith("Delta: one moved"));
    expect(v).toBeDefined();
    expect(decodeServer(fromHex(v?.hex ?? ""))).toEqual({
      type: "delta",
      tick: 1000,
      base: 999,
      added: [rec(5, { 1: 1, 2: 100, 3: 200, 6: 100 })],
      changed: [rec(3, { 0: 1, 2: 27, 3: -27 })],
      removed: [4],
    });
  });
});

describe("entity lists", () => {
  /** encode and decode are inverse, zero fields left out, extreme values kept. */
  it("round-trips", () => {
    const records = [rec(0, {}), rec(7, { 0: -1, 7: 2147483647 }), rec(4294967295, { 3: -2147483648 })];
    const flat = encodeEntityList(records);
    expect(flat.slice(0, 2)).toEqual([0, 0]);
    expect(decodeEntityList(flat)).toEqual(records);
  });

  it("rejects a truncated list", () => {
    expect(() => decodeEntityList([1, 0b101, 5])).toThrow(EntityListError);
  });
});
