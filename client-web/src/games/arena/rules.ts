/**
 * The arena's contract (PROTOCOL.md, "arena") as the client needs it: the fields of its kinds,
 * its input, and the movement rule, so the own player is predicted with the server's arithmetic.
 */

/** World size, units (a square). */
export const WORLD_SIZE = 1000;
/** Walking speed per axis, units per second (diagonals are not normalised). */
export const SPEED = 200;

/** The `player` kind's fields. */
export type PlayerFields = {
  owner: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
  hp: number;
  score: number;
};

/** The `orb` kind's fields. */
export type OrbFields = { x: number; y: number };

/** `[dx, dy]`, each in {-1, 0, 1}. */
export type ArenaInput = [dx: number, dy: number];

/** A position in world units: what prediction and interpolation work on. */
export type Position = { x: number; y: number };

export const NO_INPUT: ArenaInput = [0, 0];

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
/** The server clamps each axis to {-1, 0, 1}. */
const axis = (v: number): number => clamp(Math.trunc(v), -1, 1);

/** One server tick of a player: `x = clamp(x + dx * 200 * dt, 0, 1000)`, same for y. */
export function stepPlayer(p: Position, input: ArenaInput, dt: number): Position {
  return {
    x: clamp(p.x + axis(input[0]) * SPEED * dt, 0, WORLD_SIZE),
    y: clamp(p.y + axis(input[1]) * SPEED * dt, 0, WORLD_SIZE),
  };
}

export const sameInput = (a: ArenaInput, b: ArenaInput): boolean => a[0] === b[0] && a[1] === b[1];
