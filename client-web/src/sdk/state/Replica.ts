/**
 * The client's copy of the entities it sees, the players' input acks and the tick they are at,
 * built from the welcome's kind schemas and kept exactly as the server has it (wire integers,
 * plain differences, texts replaced). Applies Snapshots and Deltas in the order PROTOCOL.md
 * gives: gap check, every segment's removals, then every segment's changes, then additions,
 * then acks. Removals come first because an entity moving between scopes is removed by one
 * segment and added by another in the same message.
 */
import { defaultWire, fitsField, type WireValue } from "../protocol/fields";
import type { KindSchema } from "../protocol/kinds";
import type { Acks, ServerMessageOf } from "../protocol/messages";
import { Entity, type FieldShape, type FieldValues } from "./Entity";

/** Why a Snapshot or Delta was not applied; either way the client sends Resync. */
export type ApplyError =
  /** The Delta builds on another tick than the replica's (or there was no Snapshot yet). */
  | { readonly kind: "gap"; readonly have: number | null; readonly need: number }
  /**
   * The message does not fit the replica: a removed or changed id that is missing, an added id
   * that is present, or a record that does not fit its kind's schema. The replica is no longer
   * trusted (its tick becomes null) until the next Snapshot.
   */
  | { readonly kind: "corrupt"; readonly reason: string };

/** A Snapshot or a Delta. */
export type StateMessage = ServerMessageOf<"snapshot"> | ServerMessageOf<"delta">;

/** Thrown inside apply() to stop at the first inconsistency; never leaves this module. */
class Corrupt extends Error {}

export class Replica {
  private schema: readonly KindSchema[];
  private readonly byId = new Map<number, Entity>();
  private readonly byKind = new Map<number, Map<number, Entity>>();
  private readonly wires = new Map<number, WireValue[]>();
  private readonly ackMap = new Map<number, number>();
  private tickValue: number | null = null;

  constructor(kinds: readonly KindSchema[] = []) {
    this.schema = kinds;
  }

  /** The kinds of the game, by index. */
  get kinds(): readonly KindSchema[] {
    return this.schema;
  }

  /** The kind with this name, if the game has one. */
  kind(name: string): KindSchema | undefined {
    return this.schema.find((k) => k.name === name);
  }

  /** The tick the replica is at; null before the first Snapshot, and after a corrupt message. */
  get tick(): number | null {
    return this.tickValue;
  }

  /** Number of entities. */
  get size(): number {
    return this.byId.size;
  }

  /** The entity with this id. */
  entity<F extends FieldShape<F> = FieldValues>(id: number): Entity<F> | undefined {
    return this.byId.get(id) as Entity<F> | undefined;
  }

  /** Every entity of a kind (none for a kind the game does not have), in the order they arrived. */
  entities<F extends FieldShape<F> = FieldValues>(kind: string): Entity<F>[] {
    const k = this.kind(kind);
    const map = k ? this.byKind.get(k.index) : undefined;
    return map ? ([...map.values()] as Entity<F>[]) : [];
  }

  /** The first entity of a kind that matches, e.g. the ship whose owner is you. */
  find<F extends FieldShape<F> = FieldValues>(kind: string, match: (e: Entity<F>) => boolean): Entity<F> | undefined {
    return this.entities<F>(kind).find(match);
  }

  /** Every entity, of every kind. */
  all(): IterableIterator<Entity> {
    return this.byId.values();
  }

  /** The last input `seq` the server applied for `player` (0 when none since it joined or resumed). */
  ack(player: number): number {
    return this.ackMap.get(player) ?? 0;
  }

  /** Every non-zero ack, by player. */
  get acks(): ReadonlyMap<number, number> {
    return this.ackMap;
  }

  /** Forgets everything; with `kinds`, the replica also takes a new schema (a new seat). */
  reset(kinds: readonly KindSchema[] = this.schema): void {
    this.schema = kinds;
    this.clear();
  }

  /**
   * Applies a Snapshot or a Delta. Returns null on success. A gap leaves the replica as it was;
   * a corrupt message leaves it untrusted (tick null) until the next Snapshot.
   */
  apply(msg: StateMessage): ApplyError | null {
    if (msg.type === "delta") {
      const need = msg.tick - msg.back;
      if (this.tickValue === null || this.tickValue !== need) return { kind: "gap", have: this.tickValue, need };
    } else {
      this.clear();
    }
    try {
      this.applySegments(msg);
      this.applyAcks(msg.acks);
    } catch (e) {
      if (!(e instanceof Corrupt)) throw e;
      this.tickValue = null;
      return { kind: "corrupt", reason: e.message };
    }
    this.tickValue = msg.tick;
    return null;
  }

  private clear(): void {
    this.byId.clear();
    this.byKind.clear();
    this.wires.clear();
    this.ackMap.clear();
    this.tickValue = null;
  }

  private applySegments(msg: StateMessage): void {
    for (const segment of msg.segments) {
      for (const id of segment.removed) this.remove(id);
    }
    for (const segment of msg.segments) {
      for (const record of segment.changed) this.change(record.id, record.mask, record.values);
    }
    for (const segment of msg.segments) {
      for (const record of segment.added) this.add(record.id, record.kind, record.mask, record.values);
    }
  }

  private remove(id: number): void {
    const entity = this.byId.get(id);
    if (!entity) throw new Corrupt(`removed entity ${id} is unknown`);
    this.byId.delete(id);
    this.wires.delete(id);
    this.byKind.get(entity.kind.index)?.delete(id);
  }

  private change(id: number, mask: number, values: readonly WireValue[]): void {
    const entity = this.byId.get(id);
    const wires = this.wires.get(id);
    if (!entity || !wires) throw new Corrupt(`changed entity ${id} is unknown`);
    const kind = entity.kind;
    this.checkMask(kind, mask, id);
    let v = 0;
    for (const field of kind.fields) {
      if (((mask >>> field.index) & 1) === 0) continue;
      const value = values[v++] ?? 0;
      let next: WireValue;
      if (field.type === "text") {
        if (typeof value !== "string") throw new Corrupt(`entity ${id}: text ${field.name} changed by a number`);
        next = value;
      } else {
        const old = wires[field.index];
        if (typeof value !== "number" || typeof old !== "number") {
          throw new Corrupt(`entity ${id}: ${field.name} changed by a text`);
        }
        // Plain integer arithmetic: the protocol has no wrap-around, the result fits the field.
        next = old + value;
      }
      if (!fitsField(field, next))
        throw new Corrupt(`entity ${id}: ${field.name} = ${next} does not fit ${field.type}`);
      wires[field.index] = next;
    }
  }

  private add(id: number, kindIndex: number, mask: number, values: readonly WireValue[]): void {
    if (this.byId.has(id)) throw new Corrupt(`added entity ${id} is already present`);
    const kind = this.schema[kindIndex];
    if (!kind) throw new Corrupt(`added entity ${id} has unknown kind ${kindIndex}`);
    this.checkMask(kind, mask, id);
    const wires = kind.fields.map(defaultWire);
    let v = 0;
    for (const field of kind.fields) {
      if (((mask >>> field.index) & 1) === 0) continue;
      const value = values[v++] ?? 0;
      if (!fitsField(field, value)) {
        throw new Corrupt(`entity ${id}: ${JSON.stringify(value)} is not a valid ${field.type} for ${field.name}`);
      }
      wires[field.index] = value;
    }
    const entity = new Entity(id, kind, wires);
    this.byId.set(id, entity);
    this.wires.set(id, wires);
    let ofKind = this.byKind.get(kind.index);
    if (!ofKind) {
      ofKind = new Map();
      this.byKind.set(kind.index, ofKind);
    }
    ofKind.set(id, entity);
  }

  private checkMask(kind: KindSchema, mask: number, id: number): void {
    if (kind.fields.length < 32 && mask >>> kind.fields.length !== 0) {
      throw new Corrupt(`entity ${id}: mask ${mask} names fields that kind ${kind.name} does not have`);
    }
  }

  private applyAcks(acks: Acks): void {
    acks.bits.forEach((byte, i) => {
      for (let bit = 0; bit < 8; bit++) {
        if (((byte >> bit) & 1) === 0) continue;
        const player = i * 8 + bit;
        this.ackMap.set(player, (this.ackMap.get(player) ?? 0) + 1);
      }
    });
    for (const [player, seq] of acks.set) {
      if (seq === 0) this.ackMap.delete(player);
      else this.ackMap.set(player, seq);
    }
  }
}
