/**
 * Entity interpolation: remote entities are drawn a little in the past (`delayMs`, default 100),
 * between the two server states around that moment, so they move smoothly although states arrive
 * only at the tick rate and with jitter.
 *
 * Server ticks are mapped to local time with an offset estimated from arrivals: the earliest
 * arrival seen wins at once (it shows the least-delayed path), later ones pull the estimate only
 * slowly, so jitter delays a state instead of shifting the whole timeline.
 */
import type { Vec } from "../game/arena";

export interface InterpolationOptions {
  /** How far in the past remote entities are drawn, ms. Default: 100. */
  delayMs?: number;
  /** States kept, ms of history. Default: 1000. */
  historyMs?: number;
  /** A move longer than this (world units) between two states is a teleport: no sliding. Default: 100. */
  snapDistance?: number;
}

interface Frame {
  tick: number;
  positions: Map<number, Vec>;
}

export class Interpolation {
  delayMs: number;
  private readonly historyMs: number;
  private readonly snapDistance: number;
  private readonly frames: Frame[] = [];
  /** Local time minus tick time of the least-delayed arrival, ms. */
  private offset: number | null = null;

  /** `tickMs` is the server's tick period in ms. */
  constructor(
    private tickMs: number,
    options: InterpolationOptions = {},
  ) {
    this.delayMs = options.delayMs ?? 100;
    this.historyMs = options.historyMs ?? 1000;
    this.snapDistance = options.snapDistance ?? 100;
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

  /** Records the positions at server tick `tick`, received at local time `nowMs`. */
  push(tick: number, positions: Map<number, Vec>, nowMs: number): void {
    const last = this.frames[this.frames.length - 1];
    if (last && tick <= last.tick) {
      // An older or repeated tick (a resync keyframe): start the history again from here.
      if (tick < last.tick) this.frames.length = 0;
      else this.frames.pop();
    }
    this.frames.push({ tick, positions });
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

  /** Interpolated positions of every entity at local time `nowMs`. */
  sample(nowMs: number): Map<number, Vec> {
    const out = new Map<number, Vec>();
    const target = this.renderTick(nowMs);
    const first = this.frames[0];
    const last = this.frames[this.frames.length - 1];
    if (target === null || !first || !last) return out;
    if (target <= first.tick) return new Map(first.positions);
    if (target >= last.tick) return new Map(last.positions);
    let i = 0;
    while (i + 1 < this.frames.length && (this.frames[i + 1]?.tick ?? Infinity) <= target) i++;
    const a = this.frames[i];
    const b = this.frames[i + 1];
    if (!a || !b) return new Map(last.positions);
    const t = (target - a.tick) / (b.tick - a.tick);
    for (const [id, pb] of b.positions) {
      const pa = a.positions.get(id);
      if (!pa || Math.hypot(pb.x - pa.x, pb.y - pa.y) > this.snapDistance) {
        // New entity, or a teleport: show it where it is in the older state if it existed, so
        // nothing appears before its time; else at its first position.
        out.set(id, pa ?? pb);
        continue;
      }
      out.set(id, { x: pa.x + (pb.x - pa.x) * t, y: pa.y + (pb.y - pa.y) * t });
    }
    return out;
  }
}
