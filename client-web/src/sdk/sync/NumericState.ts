/**
 * A game state that prediction and interpolation can blend: a record of numbers, such as
 * `{ x, y }` or `{ x, y, aim }`. The arithmetic here works key by key on whatever keys the
 * state has, so it serves every game without knowing its fields.
 */

/** Every property is a number. Works for interfaces and type aliases alike. */
export type NumericState<S> = { [K in keyof S]: number };

type Numbers = Record<string, number>;
const numbers = (s: object): Numbers => s as Numbers;

/** `a + (b - a) * t` for every key of `b` (keys missing from `a` take `b`'s value). */
export function lerpState<S extends NumericState<S>>(a: S, b: S, t: number): S {
  const out: Numbers = {};
  const na = numbers(a);
  for (const [key, vb] of Object.entries(numbers(b))) {
    const va = na[key] ?? vb;
    out[key] = va + (vb - va) * t;
  }
  return out as S;
}

/** `a - b` for every key of `a`. */
export function subtractState<S extends NumericState<S>>(a: S, b: S): S {
  const out: Numbers = {};
  const nb = numbers(b);
  for (const [key, va] of Object.entries(numbers(a))) out[key] = va - (nb[key] ?? 0);
  return out as S;
}

/** `a + b` for every key of `a`. */
export function addState<S extends NumericState<S>>(a: S, b: S): S {
  const out: Numbers = {};
  const nb = numbers(b);
  for (const [key, va] of Object.entries(numbers(a))) out[key] = va + (nb[key] ?? 0);
  return out as S;
}

/** `a * k` for every key, with values this close to 0 set to 0 (so a decaying offset ends). */
export function scaleState<S extends NumericState<S>>(a: S, k: number, epsilon = 0): S {
  const out: Numbers = {};
  for (const [key, va] of Object.entries(numbers(a))) {
    const v = va * k;
    out[key] = Math.abs(v) < epsilon ? 0 : v;
  }
  return out as S;
}

/** The Euclidean length of a state seen as a vector (the default "how far apart" of two states). */
export function stateLength<S extends NumericState<S>>(a: S): number {
  return Math.hypot(...Object.values(numbers(a)));
}

/** A state of the same keys with every value 0. */
export function zeroState<S extends NumericState<S>>(like: S): S {
  return scaleState(like, 0);
}
