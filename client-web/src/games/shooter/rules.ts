/**
 * The shooter's contract (PROTOCOL.md, "shooter") as the client needs it: its kinds' fields, its
 * input, the aim angle's encoding, and the movement rule for predicting the own ship.
 */

/**
 * The side of the square map, in units, until the `map` entity tells the room's own (rooms are
 * created with a `size` option; this is the server's default).
 */
export const DEFAULT_MAP_SIZE = 4000;
/** Ship speed per axis, units per second. */
export const SPEED = 250;
/** A full turn of the `aim` field. */
export const AIM_TURN = 256;

/** The `ship` kind (spatial scope). */
export type ShipFields = { owner: number; x: number; y: number; aim: number; hp: number; alive: boolean };
/** The `bullet` kind (spatial scope). */
export type BulletFields = { x: number; y: number; vx: number; vy: number; owner: number };
/** The `score` kind (everyone). */
export type ScoreFields = { player: number; kills: number; deaths: number };
/** The `map` kind (everyone, one per room): the side of the square map, in units. */
export type MapFields = { size: number };

/** `[dx, dy, aim, fire]`: direction per axis in {-1, 0, 1}, aim 0..255, fire held. */
export type ShooterInput = [dx: number, dy: number, aim: number, fire: boolean];

export type Position = { x: number; y: number };

export const NO_INPUT: ShooterInput = [0, 0, 0, false];

/** The `aim` value pointing along (dx, dy): 0 = +x, 64 = +y (down the screen), 256 = a full turn. */
export function aimFrom(dx: number, dy: number): number {
  if (dx === 0 && dy === 0) return 0;
  const turns = Math.atan2(dy, dx) / (2 * Math.PI);
  return ((Math.round(turns * AIM_TURN) % AIM_TURN) + AIM_TURN) % AIM_TURN;
}

/** The angle in radians of an `aim` value. */
export const aimToRadians = (aim: number): number => (aim / AIM_TURN) * 2 * Math.PI;

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const axis = (v: number): number => clamp(Math.trunc(v), -1, 1);

/**
 * One tick of the own ship: 250 units/s per axis, kept on a map of side `mapSize`. PROTOCOL.md
 * gives the speed but not whether diagonals are normalised; like the arena they are assumed not
 * to be (a wrong guess only shows as smoothed corrections).
 */
export function stepShip(p: Position, input: ShooterInput, dt: number, mapSize: number): Position {
  return {
    x: clamp(p.x + axis(input[0]) * SPEED * dt, 0, mapSize),
    y: clamp(p.y + axis(input[1]) * SPEED * dt, 0, mapSize),
  };
}

export const sameInput = (a: ShooterInput, b: ShooterInput): boolean =>
  a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
