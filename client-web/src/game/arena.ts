/**
 * The arena demo game as the client sees it: field indices, units, and the movement rule of
 * `server/src/arena.rs`, so the own player can be predicted with the server's exact arithmetic.
 */
import { Arena, type ArenaInput } from "../generated/protocol";

/** Field indices (order of Arena.fields). */
export const Field = {
  ack: 0,
  kind: 1,
  x: 2,
  y: 3,
  vx: 4,
  vy: 5,
  hp: 6,
  score: 7,
} as const;

/** A position in world units. */
export interface Vec {
  x: number;
  y: number;
}

/** Wire quarter units to world units. */
export const toWorld = (quarterUnits: number): number => quarterUnits / Arena.positionScale;

/** Position of an entity's fields, in world units. */
export const positionOf = (fields: ArrayLike<number>): Vec => ({
  x: toWorld(fields[Field.x] ?? 0),
  y: toWorld(fields[Field.y] ?? 0),
});

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const axis = (v: number): number => clamp(Math.trunc(v), -1, 1);

/** One server step of a player: each axis clamped to {-1,0,1}, 200 units/s, clamped to the world. */
export function stepPlayer(p: Vec, input: ArenaInput, dt: number): Vec {
  return {
    x: clamp(p.x + axis(input[0]) * Arena.speed * dt, 0, Arena.worldSize),
    y: clamp(p.y + axis(input[1]) * Arena.speed * dt, 0, Arena.worldSize),
  };
}

export const NO_INPUT: ArenaInput = [0, 0];

export const sameInput = (a: ArenaInput, b: ArenaInput): boolean => a[0] === b[0] && a[1] === b[1];
