/**
 * Game-defined values (inputs, commands, events, options, results): any MessagePack value, as
 * @msgpack/msgpack represents it. Maps have string keys (PROTOCOL.md: "`map` = a MessagePack map
 * with `str` keys"), binary data is a Uint8Array.
 */

/** Any MessagePack value. */
export type Value = null | boolean | number | string | Uint8Array | readonly Value[] | ValueMap;

/** A MessagePack map with string keys. */
export type ValueMap = { readonly [key: string]: Value };

/** True for a map (a plain object), not an array, binary data or null. */
export function isValueMap(v: unknown): v is ValueMap {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** True for a map whose values are all strings (a quick-match `filter`, room metadata). */
export function isStringMap(v: unknown): v is Readonly<Record<string, string>> {
  return isValueMap(v) && Object.values(v).every((x) => typeof x === "string");
}
