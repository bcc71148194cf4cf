/**
 * The flat wire form of an entity list (see `shared/src/world.rs`): records `id, mask, v...` one
 * after another, where bit `i` of `mask` says field `i` is present and `popcount(mask)` values
 * follow in field order. Absent fields are 0 in snapshots and added entities, and "unchanged"
 * (a difference of 0) in changed entities, so one representation serves both.
 */
import { FIELD_COUNT } from "../generated/protocol";

/** One entity of a snapshot or delta. `fields` always has FIELD_COUNT entries. */
export interface EntityRecord {
  id: number;
  /** Absolute values (snapshot, added) or int32 wrapping differences (changed). */
  fields: number[];
}

/** A flat list that does not follow the record layout. */
export class EntityListError extends Error {
  override readonly name = "EntityListError";
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** Parses a flat list into records; throws EntityListError on a malformed list. */
export function decodeEntityList(flat: readonly unknown[]): EntityRecord[] {
  const out: EntityRecord[] = [];
  let i = 0;
  while (i < flat.length) {
    const id = flat[i];
    const mask = flat[i + 1];
    if (!isInt(id) || id < 0) throw new EntityListError(`bad entity id at index ${i}`);
    if (!isInt(mask) || mask < 0 || mask >= 1 << FIELD_COUNT) {
      throw new EntityListError(`bad mask after entity ${id}`);
    }
    i += 2;
    const fields = new Array<number>(FIELD_COUNT).fill(0);
    for (let f = 0; f < FIELD_COUNT; f++) {
      if ((mask & (1 << f)) === 0) continue;
      const v = flat[i];
      if (!isInt(v)) throw new EntityListError(`missing value for field ${f} of entity ${id}`);
      // Like the Rust decoder: zero fields are left out, so a present zero is a malformed list.
      if (v === 0) throw new EntityListError(`zero value for field ${f} of entity ${id}`);
      fields[f] = v | 0;
      i += 1;
    }
    out.push({ id, fields });
  }
  return out;
}

/** The inverse of decodeEntityList (zero fields are left out), for tests and tools. */
export function encodeEntityList(records: readonly EntityRecord[]): number[] {
  const flat: number[] = [];
  for (const r of records) {
    let mask = 0;
    const values: number[] = [];
    r.fields.forEach((v, f) => {
      if (v !== 0) {
        mask |= 1 << f;
        values.push(v | 0);
      }
    });
    flat.push(r.id, mask, ...values);
  }
  return flat;
}
