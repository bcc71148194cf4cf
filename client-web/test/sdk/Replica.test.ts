import { parseKinds, Replica, UnknownFieldError, type ServerMessage, type StateMessage } from "@tickroom/client";
import { describe, expect, it } from "vitest";
import { added, ARENA_KINDS, changed, delta, segment, snapshot } from "../fakes";

const state = (m: ServerMessage): StateMessage => {
  if (m.type !== "snapshot" && m.type !== "delta") throw new Error("not a state message");
  return m;
};

/** A kind with one field of every type. */
const ALL_TYPES = parseKinds([
  [
    "thing",
    [
      ["small", "i8", null],
      ["count", "u16", null],
      ["on", "bool", null],
      ["mood", "enum", ["calm", "angry", "asleep"]],
      ["speed", "float", 0.5],
      ["label", "text", 16],
      ["big", "u32", null],
    ],
  ],
]);

function arena(): Replica {
  const r = new Replica(ARENA_KINDS);
  // Players 1 (owner 7, at 100.25, 50) and 2; an orb.
  const err = r.apply(
    state(
      snapshot(10, [
        segment({
          added: [added(1, 0, [7, 401, 200, 0, 0, 100, 3]), added(2, 0, [8, 4000, 4000]), added(100, 1, [40, 80])],
        }),
      ]),
    ),
  );
  expect(err).toBeNull();
  return r;
}

describe("Replica", () => {
  /** Typed views: kind names, fields by name as JS values, floats scaled by their step. */
  it("exposes typed views of the arena's entities", () => {
    const r = arena();
    expect(r.tick).toBe(10);
    expect(r.size).toBe(3);
    expect(r.entities("player").map((e) => e.id)).toEqual([1, 2]);
    expect(r.entities("orb").map((e) => e.id)).toEqual([100]);
    expect(r.entities("nothing")).toEqual([]);
    const me = r.find<{ owner: number; x: number; y: number; score: number }>("player", (e) => e.get("owner") === 7);
    expect(me?.kindName).toBe("player");
    expect(me?.get("x")).toBe(100.25);
    expect(me?.get("y")).toBe(50);
    expect(me?.wire("x")).toBe(401);
    expect(me?.get("score")).toBe(3);
    // Absent fields of an added record take their default.
    expect(r.entity(2)?.get("hp")).toBe(0);
    expect(r.entity(100)?.toObject()).toEqual({ x: 10, y: 20 });
    expect(() => r.entity(100)?.get("owner")).toThrow(UnknownFieldError);
  });

  /** Bools, enums, floats, texts and ints come out as JS values; the wire values stay exact. */
  it("converts every field type", () => {
    const r = new Replica(ALL_TYPES);
    r.apply(state(snapshot(1, [segment({ added: [added(5, 0, [-3, 65535, 1, 2, -7, "hello", 4_000_000_000])] })])));
    const e = r.entity(5);
    expect(e?.toObject()).toEqual({
      small: -3,
      count: 65535,
      on: true,
      mood: "asleep",
      speed: -3.5,
      label: "hello",
      big: 4_000_000_000,
    });
    expect(e?.wireValues).toEqual([-3, 65535, 1, 2, -7, "hello", 4_000_000_000]);
    // Changes: numbers are plain differences, texts replace.
    const err = r.apply(
      state(delta(2, [segment({ changed: [changed(5, { 0: 130, 2: -1, 3: -2, 4: 8, 5: "bye" })] })])),
    );
    expect(err).toBeNull();
    expect(e?.toObject()).toMatchObject({ small: 127, on: false, mood: "calm", speed: 0.5, label: "bye" });
    // A view kept across ticks follows the entity.
    expect(r.entity(5)).toBe(e);
  });

  /** Defaults of a record with nothing present: 0, false, the first variant, 0.0, "". */
  it("gives absent fields their defaults", () => {
    const r = new Replica(ALL_TYPES);
    r.apply(state(snapshot(1, [segment({ added: [{ id: 1, kind: 0, mask: 0, values: [] }] })])));
    expect(r.entity(1)?.toObject()).toEqual({
      small: 0,
      count: 0,
      on: false,
      mood: "calm",
      speed: 0,
      label: "",
      big: 0,
    });
  });

  /** An entity moving between scopes is removed by one segment and added by another in one Delta:
   * every removal of every segment comes before any addition. */
  it("applies all removals, then changes, then additions across segments", () => {
    const r = arena();
    const err = r.apply(
      state(
        delta(11, [
          // The new scope's keyframe re-adds entity 2 (moved there), listed before the old scope's removal.
          segment({ added: [added(2, 0, [8, 400, 400])] }),
          segment({ removed: [2], changed: [changed(1, { 1: 4, 6: 1 })] }),
        ]),
      ),
    );
    expect(err).toBeNull();
    expect(r.entity(2)?.get("x")).toBe(100);
    expect(r.entity(1)?.get("x")).toBe(101.25);
    expect(r.entity(1)?.get("score")).toBe(4);
    expect(r.tick).toBe(11);
  });

  /** Acks: bits add exactly one, `set` gives a value outright; a Snapshot clears them first. */
  it("applies acks bits and set pairs", () => {
    const r = arena();
    // Players 1 and 9: byte 0 bit 1, byte 1 bit 1.
    r.apply(state(delta(11, [], { bits: new Uint8Array([0b10, 0b10]) })));
    expect(r.ack(1)).toBe(1);
    expect(r.ack(9)).toBe(1);
    r.apply(state(delta(12, [], { bits: new Uint8Array([0b10]), acks: [[3, 40]] })));
    expect(r.ack(1)).toBe(2);
    expect(r.ack(3)).toBe(40);
    expect([...r.acks]).toEqual([
      [1, 2],
      [9, 1],
      [3, 40],
    ]);
    r.apply(state(snapshot(13, [], { acks: [[3, 41]] })));
    expect([...r.acks]).toEqual([[3, 41]]);
    expect(r.ack(1)).toBe(0);
    expect(r.size).toBe(0);
  });

  /** A Delta that does not build on the replica's tick is a gap: nothing is applied. */
  it("detects gaps", () => {
    const r = arena();
    expect(r.apply(state(delta(12, [segment({ removed: [1] })])))).toEqual({ kind: "gap", have: 10, need: 11 });
    expect(r.size).toBe(3);
    expect(r.tick).toBe(10);
    expect(r.apply(state(delta(12, [segment({ removed: [1] })], { back: 2 })))).toBeNull();
    expect(new Replica(ARENA_KINDS).apply(state(delta(5, [])))).toEqual({ kind: "gap", have: null, need: 4 });
  });

  /** Missing or duplicate ids and records that do not fit the schema leave the replica untrusted. */
  it.each<[string, ServerMessage]>([
    ["removing an unknown id", delta(11, [segment({ removed: [55] })])],
    ["changing an unknown id", delta(11, [segment({ changed: [changed(55, { 0: 1 })] })])],
    ["adding a present id", delta(11, [segment({ added: [added(100, 1, [1, 1])] })])],
    ["removing one id twice", delta(11, [segment({ removed: [1] }), segment({ removed: [1] })])],
    ["an unknown kind", delta(11, [segment({ added: [added(9, 5, [])] })])],
    ["a mask beyond the kind's fields", delta(11, [segment({ added: [added(9, 1, [1, 2, 3])] })])],
    ["a value out of range", delta(11, [segment({ changed: [changed(1, { 5: 200 })] })])],
    ["a text for a number", delta(11, [segment({ changed: [changed(1, { 1: "x" })] })])],
  ])("detects corruption: %s", (_what, msg) => {
    const r = arena();
    const err = r.apply(state(msg));
    expect(err?.kind).toBe("corrupt");
    expect(r.tick).toBeNull();
    // Only a Snapshot repairs it.
    expect(r.apply(state(delta(12, [])))?.kind).toBe("gap");
    expect(r.apply(state(snapshot(12, [segment({ added: [added(3, 1, [4, 4])] })])))).toBeNull();
    expect(r.size).toBe(1);
  });

  /** A text field holds its text; a changed text replaces it whole. */
  it("replaces text fields", () => {
    const kinds = parseKinds([
      [
        "sign",
        [
          ["text", "text", 32],
          ["n", "u8", null],
        ],
      ],
    ]);
    const r = new Replica(kinds);
    r.apply(state(snapshot(1, [segment({ added: [{ id: 1, kind: 0, mask: 1, values: ["héllo"] }] })])));
    r.apply(state(delta(2, [segment({ changed: [changed(1, { 0: "", 1: 2 })] })])));
    expect(r.entity(1)?.toObject()).toEqual({ text: "", n: 2 });
  });

  /** reset() forgets everything and may take a new schema. */
  it("resets", () => {
    const r = arena();
    r.reset(ALL_TYPES);
    expect(r.size).toBe(0);
    expect(r.tick).toBeNull();
    expect(r.kinds).toBe(ALL_TYPES);
    expect(r.kind("thing")?.index).toBe(0);
  });
});
