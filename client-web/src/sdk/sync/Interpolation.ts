/**
 * Entity interpolation, for any numeric fields of any kind: remote entities are drawn a little in
 * the past (`delayMs`, default 100), between the two server states around that moment, so they
 * move smoothly although states arrive only at the tick rate and with jitter. A state is any
 * record of numbers the game reads from its entities (`{ x, y }`, `{ x, y, aim }`); fields that
 * wrap around (an angle) blend the short way round when given a period.
 *
 * Server ticks are mapped to local time with an offset estimated from arrivals: the earliest
 * arrival seen wins at once (it shows the least-delayed path), later ones pull the estimate only
 * slowly, so jitter delays a state instead of shifting the whole timeline.
 */
import { stateLength, subtractState, type NumericState } from "./NumericState";

export interface InterpolationOptions<S> {
  /** How far in the past remote entities are drawn, ms. Default: 100. */
  delayMs?: number;
  /** States kept, ms of history. Default: 1000. */
  historyMs?: number;
  /** A move longer than this between two states is a teleport: no sliding. Default: 100. */
  snapDistance?: number;
  /** How far apart two states are, for `snapDistance`. Default: Euclidean over the keys without a period. */
  distance?: (a: S, b: S) => number;
  /** Fields that wrap around, with their period: `{ aim: 256 }` blends 250 → 4 through 0. */
  periods?: Partial<Record<keyof S & string, number>>;
}

interface Frame<S> {
  tick: number;
  states: ReadonlyMap<number, S>;
}

export class Interpolation<S extends NumericState<S>> {
  delayMs: number;
  private readonly historyMs: number;
  private readonly snapDistance: number;
  private readonly distance: (a: S, b: S) => number;
  private readonly periods: ReadonlyMap<string, number>;
  private readonly frames: Frame<S>[] = [];
  /** Local time minus tick time of the least-delayed arrival, ms. */
  private offset: number | null = null;

  /** `tickMs` is the server's tick period in ms. */
  constructor(
    private tickMs: number,
    options: InterpolationOptions<S> = {},
  ) {
    this.delayMs = options.delayMs ?? 100;
    this.historyMs = options.historyMs ?? 1000;
    this.snapDistance = options.snapDistance ?? 100;
    const periods = new Map<string, number>();
    for (const [key, period] of Object.entries(options.periods ?? {})) {
      if (typeof period === "number" && period > 0) periods.set(key, period);
    }
    this.periods = periods;
    this.distance = options.distance ?? ((a, b) => stateLength(this.withoutPeriodic(subtractState(a, b))));
  }

  /** Forgets every state (a new room, or a different tick rate). */
  reset(tickMs: number = this.tickMs): void {
    this.tickMs = tickMs;
    this.frames.length = 0;
    this.offset = null;
  }

  /** Number of states buffered. */
  get length(): number {
    return this.frames.length;
  }

  /** Records the entities' states at server tick `tick`, received at local time `nowMs`. */
  push(tick: number, states: ReadonlyMap<number, S>, nowMs: number): void {
    const last = this.frames[this.frames.length - 1];
    if (last && tick <= last.tick) {
      // An older or repeated tick (a resync keyframe): start the history again from here.
      if (tick < last.tick) this.frames.length = 0;
      else this.frames.pop();
    }
    this.frames.push({ tick, states });
    const sample = nowMs - tick * this.tickMs;
    if (this.offset === null || sample < this.offset) this.offset = sample;
    else this.offset += (sample - this.offset) * 0.02;
    const keep = Math.ceil(this.historyMs / this.tickMs) + 1;
    if (this.frames.length > keep) this.frames.splice(0, this.frames.length - keep);
  }

  /** The server tick (fractional) drawn at local time `nowMs`. */
  renderTick(nowMs: number): number | null {
    if (this.offset === null) return null;
    return (nowMs - this.delayMs - this.offset) / this.tickMs;
  }

  /** The interpolated state of every entity at local time `nowMs`. */
  sample(nowMs: number): Map<number, S> {
    const out = new Map<number, S>();
    const target = this.renderTick(nowMs);
    const first = this.frames[0];
    const last = this.frames[this.frames.length - 1];
    if (target === null || !first || !last) return out;
    if (target <= first.tick) return new Map(first.states);
    if (target >= last.tick) return new Map(last.states);
    let i = 0;
    while (i + 1 < this.frames.length && (this.frames[i + 1]?.tick ?? Infinity) <= target) i++;
    const a = this.frames[i];
    const b = this.frames[i + 1];
    if (!a || !b) return new Map(last.states);
    const t = (target - a.tick) / (b.tick - a.tick);
    for (const [id, sb] of b.states) {
      const sa = a.states.get(id);
      if (!sa || this.distance(sb, sa) > this.snapDistance) {
        // New entity, or a teleport: show it where it is in the older state if it existed, so
        // nothing appears before its time; else at its first state.
        out.set(id, sa ?? sb);
        continue;
      }
      out.set(id, this.blend(sa, sb, t));
    }
    return out;
  }

  private blend(a: S, b: S, t: number): S {
    const out: Record<string, number> = {};
    const na = a as Record<string, number>;
    for (const [key, vb] of Object.entries(b as Record<string, number>)) {
      const va = na[key] ?? vb;
      const period = this.periods.get(key);
      if (period === undefined) {
        out[key] = va + (vb - va) * t;
      } else {
        // The short way round: a difference in [-period/2, period/2), the result in [0, period).
        const d = ((((vb - va) % period) + period * 1.5) % period) - period / 2;
        out[key] = (((va + d * t) % period) + period) % period;
      }
    }
    return out as S;
  }

  private withoutPeriodic(s: S): S {
    if (this.periods.size === 0) return s;
    const out: Record<string, number> = { ...(s as Record<string, number>) };
    for (const key of this.periods.keys()) delete out[key];
    return out as S;
  }
}
