/**
 * A typed, live view of one replicated entity: its kind's name, its fields by name as JavaScript
 * values (floats scaled by their step, bools, enum variant names, texts), and the exact wire
 * values for comparisons that must not go through floating point. The replica updates the view
 * in place, so a view kept across ticks always shows the entity's current state.
 */
import { fromWire, type FieldValue, type WireValue } from "../protocol/fields";
import type { FieldSchema, KindSchema } from "../protocol/kinds";

/** Field values by name, for entities of a kind the code does not describe. */
export type FieldValues = { [name: string]: FieldValue };

/**
 * The shape a game gives a kind's fields, e.g. `{ owner: number; x: number; alive: boolean }`,
 * so `entity.get("x")` is a number. Nothing checks it against the welcome's schema at run time
 * beyond the field names: the game knows its own kinds.
 */
export type FieldShape<F> = { [K in keyof F]: FieldValue };

/** Asking for a field the entity's kind does not have: a bug in the calling code. */
export class UnknownFieldError extends Error {
  override readonly name = "UnknownFieldError";
}

export class Entity<F extends FieldShape<F> = FieldValues> {
  constructor(
    readonly id: number,
    readonly kind: KindSchema,
    /** The wire values in field order; owned and updated by the replica. */
    private readonly values: WireValue[],
  ) {}

  /** The kind's name, e.g. "ship". */
  get kindName(): string {
    return this.kind.name;
  }

  /** The field's value as JavaScript sees it. Throws UnknownFieldError for a name the kind lacks. */
  get<K extends keyof F & string>(name: K): F[K] {
    const field = this.field(name);
    return fromWire(field, this.values[field.index] ?? 0) as F[K];
  }

  /** The field's exact wire value: an integer (`q` for floats, the index for enums) or a text. */
  wire(name: keyof F & string): WireValue {
    return this.values[this.field(name).index] ?? 0;
  }

  /** Every wire value, in field order. */
  get wireValues(): readonly WireValue[] {
    return this.values;
  }

  /** Every field as a plain object (a copy: it does not follow later changes). */
  toObject(): F {
    const out: FieldValues = {};
    for (const f of this.kind.fields) out[f.name] = fromWire(f, this.values[f.index] ?? 0);
    return out as F;
  }

  private field(name: string): FieldSchema {
    const field = this.kind.byName.get(name);
    if (!field) throw new UnknownFieldError(`kind ${this.kind.name} has no field ${JSON.stringify(name)}`);
    return field;
  }
}
