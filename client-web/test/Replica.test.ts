import { describe, expect, it } from "vitest";
import { decodeServer } from "../src/net/codec";
import type { EntityRecord } from "../src/net/entityList";
import { Replica, type DeltaChanges } from "../src/sync/Replica";
import { fromHex } from "./fakes";

const rec = (id: number, fields: number[]): EntityRecord => ({
  id,
  fields: [...fields, 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 8),
});
const fieldsOf = (r: Replica, id: number): number[] | undefined => {
  const f = r.get(id);
  return f ? Array.from(f) : undefined;
};
const worldOf = (r: Replica): Map<number, number[]> => new Map([...r.entries()].map(([id, f]) => [id, Array.from(f)]));

/** The server's diff (shared/src/world.rs `World::diff`), to generate deltas for property tests. */
function diff(a: Map<number, number[]>, b: Map<number, number[]>, base: number, tick: number): DeltaChanges {
  const removed = [...a.keys()].filter((id) => !b.has(id)).sort((x, y) => x - y);
  const added: EntityRecord[] = [];
  const changed: EntityRecord[] = [];
  for (const [id, nf] of [...b].sort(([x], [y]) => x - y)) {
    const of = a.get(id);
    if (!of) added.push({ id, fields: nf });
    else if (nf.some((v, i) => v !== of[i])) changed.push({ id, fields: nf.map((v, i) => (v - (of[i] ?? 0)) | 0) });
  }
  return { tick, base, added, changed, removed };
}

/** A small deterministic PRNG so the property test is reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("Replica", () => {
  /** A snapshot replaces everything; the Rust delta vector then changes fields 0, 2 and 3 of entity 3. */
  it("applies a snapshot and the Rust delta vector", () => {
    const r = new Replica();
    r.applySnapshot(999, [rec(3, [4, 1, 400, 400]), rec(9, [0, 2, 8, 8])]);
    const delta = decodeServer(fromHex("96 02 cd 03 e8 01 90 95 03 0d 01 1b e5 90"));
    if (delta.type !== "delta") throw new Error("not a delta");
    expect(r.applyDelta(delta)).toBeNull();
    expect(r.tick).toBe(1000);
    expect(fieldsOf(r, 3)).toEqual([5, 1, 427, 373, 0, 0, 0, 0]);
    expect(fieldsOf(r, 9)).toEqual([0, 2, 8, 8, 0, 0, 0, 0]);
  });

  /** Differences wrap in 32 bits exactly like Rust's wrapping_add. */
  it("wraps differences in 32 bits", () => {
    const r = new Replica();
    r.applySnapshot(1, [rec(1, [2147483647, -2147483648])]);
    expect(r.applyDelta({ tick: 2, base: 1, added: [], changed: [rec(1, [1, -1])], removed: [] })).toBeNull();
    expect(fieldsOf(r, 1)?.slice(0, 2)).toEqual([-2147483648, 2147483647]);
    // The difference from -2^31 to 2^31-1 travels as -1.
    expect(r.applyDelta({ tick: 3, base: 2, added: [], changed: [rec(1, [-1, 1])], removed: [] })).toBeNull();
    expect(fieldsOf(r, 1)?.slice(0, 2)).toEqual([2147483647, -2147483648]);
  });

  /** Removed, then changed, then added: an id can leave and come back in one delta. */
  it("applies removed before changed before added", () => {
    const r = new Replica();
    r.applySnapshot(1, [rec(1, [0, 1, 10]), rec(2, [0, 1, 20])]);
    const error = r.applyDelta({
      tick: 2,
      base: 1,
      added: [rec(1, [0, 2, 99])],
      changed: [rec(2, [0, 0, 5])],
      removed: [1],
    });
    expect(error).toBeNull();
    expect(fieldsOf(r, 1)).toEqual([0, 2, 99, 0, 0, 0, 0, 0]);
    expect(fieldsOf(r, 2)?.[2]).toBe(25);
  });

  /** A delta that does not build on the replica's tick is a gap and changes nothing. */
  it("refuses gaps and keeps its state", () => {
    const r = new Replica();
    expect(r.applyDelta({ tick: 2, base: 1, added: [], changed: [], removed: [] })).toEqual({
      kind: "gap",
      have: null,
      need: 1,
    });
    r.applySnapshot(5, [rec(1, [0, 1, 10])]);
    expect(r.applyDelta({ tick: 8, base: 7, added: [], changed: [rec(1, [0, 0, 1])], removed: [] })).toEqual({
      kind: "gap",
      have: 5,
      need: 7,
    });
    expect(r.tick).toBe(5);
    expect(fieldsOf(r, 1)?.[2]).toBe(10);
    // Deltas may skip ticks (back > 1) when they build on the replica's tick.
    expect(r.applyDelta({ tick: 7, base: 5, added: [], changed: [rec(1, [0, 0, 1])], removed: [] })).toBeNull();
    expect(r.tick).toBe(7);
  });

  /** An inconsistent delta leaves the replica without a tick: only a snapshot can repair it. */
  it("forgets its tick after an inconsistent delta", () => {
    const r = new Replica();
    r.applySnapshot(1, [rec(1, [1])]);
    expect(r.applyDelta({ tick: 2, base: 1, added: [], changed: [], removed: [7] })).toEqual({
      kind: "unknown-entity",
      id: 7,
    });
    expect(r.tick).toBeNull();
    r.applySnapshot(3, []);
    expect(r.applyDelta({ tick: 4, base: 3, added: [rec(1, [1])], changed: [], removed: [] })).toBeNull();
    expect(r.applyDelta({ tick: 5, base: 4, added: [rec(1, [1])], changed: [], removed: [] })).toEqual({
      kind: "duplicate-entity",
      id: 1,
    });
  });

  /** Property: a chain of server diffs over random worlds reproduces every world exactly. */
  it("follows a chain of random deltas exactly", () => {
    const random = rng(42);
    const randomWorld = (): Map<number, number[]> => {
      const w = new Map<number, number[]>();
      for (let id = 0; id < 30; id++) {
        if (random() < 0.5) continue;
        w.set(
          id,
          Array.from({ length: 8 }, () => (random() < 0.3 ? 0 : Math.floor(random() * 2 ** 32) | 0)),
        );
      }
      return w;
    };
    let world = randomWorld();
    const r = new Replica();
    r.applySnapshot(
      0,
      [...world].map(([id, fields]) => ({ id, fields })),
    );
    for (let tick = 1; tick <= 200; tick++) {
      const next = randomWorld();
      expect(r.applyDelta(diff(world, next, tick - 1, tick))).toBeNull();
      expect(worldOf(r)).toEqual(next);
      world = next;
    }
  });
});
