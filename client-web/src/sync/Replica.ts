/**
 * The client's copy of a room's world: the last snapshot plus every delta since, exactly as the
 * server has it (integer fields, wrapping differences, so no drift). Mirrors `Replica` in
 * `shared/src/world.rs`: a delta whose base is not the replica's tick is refused as a gap.
 */
import { FIELD_COUNT } from "../generated/protocol";
import type { EntityRecord } from "../net/entityList";

/** Why a delta could not be applied. */
export type ApplyError =
  /** The delta builds on another tick: deltas were missed (or no snapshot yet). Ask for a resync. */
  | { kind: "gap"; have: number | null; need: number }
  /** A changed or removed entity is unknown: the replica is no longer trusted. */
  | { kind: "unknown-entity"; id: number }
  /** An added entity already exists: the replica is no longer trusted. */
  | { kind: "duplicate-entity"; id: number };

/** The parts of a delta the replica applies. */
export interface DeltaChanges {
  tick: number;
  base: number;
  added: readonly EntityRecord[];
  changed: readonly EntityRecord[];
  removed: readonly number[];
}

export class Replica {
  private readonly entities = new Map<number, Int32Array>();
  private tickValue: number | null = null;

  /** The tick the replica is at; null before the first snapshot or after an inconsistent delta. */
  get tick(): number | null {
    return this.tickValue;
  }

  get size(): number {
    return this.entities.size;
  }

  /** The fields of entity `id` (do not modify). */
  get(id: number): Int32Array | undefined {
    return this.entities.get(id);
  }

  /** Every entity id with its fields, in no particular order. */
  entries(): IterableIterator<[number, Int32Array]> {
    return this.entities.entries();
  }

  /** Forgets everything (a new room). */
  clear(): void {
    this.entities.clear();
    this.tickValue = null;
  }

  /** Replaces the replica with a full snapshot. */
  applySnapshot(tick: number, records: readonly EntityRecord[]): void {
    this.entities.clear();
    for (const r of records) this.entities.set(r.id, Int32Array.from(r.fields));
    this.tickValue = tick;
  }

  /**
   * Applies a delta that builds on the replica's tick: removed, then changed (adding wrapping
   * differences), then added. Returns null on success. A gap leaves the replica unchanged; an
   * inconsistent delta leaves it without a tick, so only a snapshot can repair it.
   */
  applyDelta(delta: DeltaChanges): ApplyError | null {
    if (this.tickValue === null || this.tickValue !== delta.base) {
      return { kind: "gap", have: this.tickValue, need: delta.base };
    }
    const error = this.applyChanges(delta);
    if (error) {
      this.tickValue = null;
      return error;
    }
    this.tickValue = delta.tick;
    return null;
  }

  private applyChanges(delta: DeltaChanges): ApplyError | null {
    for (const id of delta.removed) {
      if (!this.entities.delete(id)) return { kind: "unknown-entity", id };
    }
    for (const change of delta.changed) {
      const fields = this.entities.get(change.id);
      if (!fields) return { kind: "unknown-entity", id: change.id };
      for (let f = 0; f < FIELD_COUNT; f++) {
        // Int32Array stores modulo 2^32: exactly Rust's wrapping_add.
        fields[f] = (fields[f] ?? 0) + (change.fields[f] ?? 0);
      }
    }
    for (const added of delta.added) {
      if (this.entities.has(added.id)) return { kind: "duplicate-entity", id: added.id };
      this.entities.set(added.id, Int32Array.from(added.fields));
    }
    return null;
  }
}
