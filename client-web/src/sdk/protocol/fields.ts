/**
 * What a field's wire value means (PROTOCOL.md, "Entity kinds and field types"): integers as
 * themselves, bools as 0/1, enums as a variant index, floats as a multiple `q` of their step,
 * texts as strings. The replica stores wire values (exact, comparable); views convert on read.
 */
import type { FieldSchema, IntType } from "./kinds";

/** A field's value on the wire: an integer, or a string for text fields. */
export type WireValue = number | string;

/** A field's value in JavaScript: a number (ints, floats), a boolean, or a string (enums, texts). */
export type FieldValue = number | boolean | string;

const INT_RANGE: Record<IntType, readonly [number, number]> = {
  i8: [-0x80, 0x7f],
  i16: [-0x8000, 0x7fff],
  i32: [-0x8000_0000, 0x7fff_ffff],
  u8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffff_ffff],
};

/** The field's default on the wire: 0, false, the first variant, 0.0 or the empty text. */
export function defaultWire(field: FieldSchema): WireValue {
  return field.type === "text" ? "" : 0;
}

/**
 * True when `wire` is a valid value of `field`: an integer in the type's range (any safe integer
 * for a float's `q`), or a string for text. Text length is not checked: the server cuts texts,
 * and a longer one is still readable.
 */
export function fitsField(field: FieldSchema, wire: WireValue): boolean {
  if (field.type === "text") return typeof wire === "string";
  if (typeof wire !== "number" || !Number.isSafeInteger(wire)) return false;
  switch (field.type) {
    case "bool":
      return wire === 0 || wire === 1;
    case "enum":
      return wire >= 0 && wire < field.variants.length;
    case "float":
      return true;
    default: {
      const [lo, hi] = INT_RANGE[field.type];
      return wire >= lo && wire <= hi;
    }
  }
}

/** The JavaScript value of a wire value (assumed to fit the field). */
export function fromWire(field: FieldSchema, wire: WireValue): FieldValue {
  switch (field.type) {
    case "text":
      return String(wire);
    case "bool":
      return wire === 1;
    case "enum":
      return field.variants[Number(wire)] ?? String(wire);
    case "float":
      return Number(wire) * field.step;
    default:
      return Number(wire);
  }
}

/**
 * The wire value of a JavaScript value (floats are rounded to the step, as the server does).
 * For tools and tests that build messages; throws a RangeError when the value cannot be encoded.
 */
export function toWire(field: FieldSchema, value: FieldValue): WireValue {
  let wire: WireValue;
  switch (field.type) {
    case "text":
      wire = String(value);
      break;
    case "bool":
      wire = value === true || value === 1 ? 1 : 0;
      break;
    case "enum":
      wire = typeof value === "string" ? field.variants.indexOf(value) : Number(value);
      break;
    case "float":
      wire = Math.round(Number(value) / field.step);
      break;
    default:
      wire = Number(value);
  }
  if (!fitsField(field, wire))
    throw new RangeError(`${JSON.stringify(value)} is not a valid ${field.type} for ${field.name}`);
  return wire;
}
