/**
 * Entity kinds as the welcome (and `GET /api/info`) describes them: `[name, [[field, type, param]]]`.
 * Kinds are numbered by position, fields by position within their kind. This module turns that
 * raw value into a checked schema and back; what each type means for values is in `fields.ts`.
 */
import { MAX_FIELDS } from "./constants";

/** Integer field types: the wire value is the number itself. */
export type IntType = "i8" | "i16" | "i32" | "u8" | "u16" | "u32";

/** Every field type of PROTOCOL.md. */
export type FieldType = IntType | "bool" | "enum" | "float" | "text";

interface FieldBase {
  /** Position within its kind: bit `index` of a record's mask. */
  readonly index: number;
  readonly name: string;
}

/** One field of a kind, with its type's parameter. */
export type FieldSchema =
  | (FieldBase & { readonly type: IntType })
  | (FieldBase & { readonly type: "bool" })
  | (FieldBase & { readonly type: "enum"; readonly variants: readonly string[] })
  | (FieldBase & { readonly type: "float"; readonly step: number })
  | (FieldBase & { readonly type: "text"; readonly maxBytes: number });

/** One entity kind of a game. */
export interface KindSchema {
  /** Position in the welcome's `kinds`: the `kind` of an added record. */
  readonly index: number;
  readonly name: string;
  readonly fields: readonly FieldSchema[];
  /** Fields by name. */
  readonly byName: ReadonlyMap<string, FieldSchema>;
}

/** A kinds value that does not follow the layout. */
export class SchemaError extends Error {
  override readonly name = "SchemaError";
}

const INT_TYPES: ReadonlySet<string> = new Set<IntType>(["i8", "i16", "i32", "u8", "u16", "u32"]);
const isUint = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

function parseField(raw: unknown, index: number, kind: string): FieldSchema {
  if (!Array.isArray(raw) || raw.length !== 3)
    throw new SchemaError(`kind ${kind}: field ${index} is not [name, type, param]`);
  const [name, type, param] = raw as [unknown, unknown, unknown];
  if (typeof name !== "string") throw new SchemaError(`kind ${kind}: field ${index} has no name`);
  const where = `field ${kind}.${name}`;
  if (typeof type !== "string") throw new SchemaError(`${where}: the type is not a string`);
  if (INT_TYPES.has(type) || type === "bool") {
    if (param !== null) throw new SchemaError(`${where}: ${type} takes no parameter`);
    return { index, name, type: type as IntType | "bool" };
  }
  switch (type) {
    case "enum":
      if (!Array.isArray(param) || param.length === 0 || !param.every((v) => typeof v === "string")) {
        throw new SchemaError(`${where}: enum needs a non-empty list of variant names`);
      }
      return { index, name, type, variants: [...(param as string[])] };
    case "float":
      if (typeof param !== "number" || !(param > 0) || !Number.isFinite(param)) {
        throw new SchemaError(`${where}: float needs a positive step`);
      }
      return { index, name, type, step: param };
    case "text":
      if (!isUint(param) || param > 0xffff) throw new SchemaError(`${where}: text needs a u16 length`);
      return { index, name, type, maxBytes: param };
    default:
      throw new SchemaError(`${where}: unknown type ${JSON.stringify(type)}`);
  }
}

function parseKind(raw: unknown, index: number): KindSchema {
  if (!Array.isArray(raw) || raw.length !== 2) throw new SchemaError(`kind ${index} is not [name, fields]`);
  const [name, rawFields] = raw as [unknown, unknown];
  if (typeof name !== "string") throw new SchemaError(`kind ${index} has no name`);
  if (!Array.isArray(rawFields)) throw new SchemaError(`kind ${name}: fields is not an array`);
  if (rawFields.length > MAX_FIELDS) throw new SchemaError(`kind ${name}: more than ${MAX_FIELDS} fields`);
  const fields = rawFields.map((f, i) => parseField(f, i, name));
  const byName = new Map(fields.map((f) => [f.name, f]));
  if (byName.size !== fields.length) throw new SchemaError(`kind ${name}: two fields share a name`);
  return { index, name, fields, byName };
}

/** Parses the welcome's `kinds` (or the same value from `/api/info`). Throws SchemaError. */
export function parseKinds(raw: unknown): KindSchema[] {
  if (!Array.isArray(raw)) throw new SchemaError("kinds is not an array");
  const kinds = raw.map(parseKind);
  if (new Set(kinds.map((k) => k.name)).size !== kinds.length) throw new SchemaError("two kinds share a name");
  return kinds;
}

/** The wire form of a schema (the inverse of parseKinds). */
export function kindsToWire(kinds: readonly KindSchema[]): unknown[] {
  return kinds.map((k) => [
    k.name,
    k.fields.map((f) => {
      switch (f.type) {
        case "enum":
          return [f.name, f.type, [...f.variants]];
        case "float":
          return [f.name, f.type, f.step];
        case "text":
          return [f.name, f.type, f.maxBytes];
        default:
          return [f.name, f.type, null];
      }
    }),
  ]);
}

/** True when two schemas describe the same kinds and fields (a resumed seat keeps its replica). */
export function sameKinds(a: readonly KindSchema[], b: readonly KindSchema[]): boolean {
  return JSON.stringify(kindsToWire(a)) === JSON.stringify(kindsToWire(b));
}
