/**
 * A fixed-rate local clock for the client's game loop: frames come at the display's rate (and
 * irregularly), inputs and prediction run at the server's tick rate. Each `advance(nowMs, onTick)`
 * runs `onTick` once per whole tick elapsed since the previous call and returns how far into the
 * next tick `nowMs` is (0..1), the blend factor for `Prediction.render(alpha)`.
 *
 * Time comes in as an argument (`performance.now()` or a requestAnimationFrame timestamp), so a
 * test drives it without a clock.
 */

export interface FixedStepOptions {
  /**
   * Ticks run at most per `advance`; the rest of a longer gap is dropped, not replayed. A hidden
   * tab gets no frames, and replaying the minutes it missed would send hundreds of inputs at once
   * and freeze the page. Default: 5 (167 ms at 30 Hz).
   */
  maxTicksPerAdvance?: number;
}

export class FixedStep {
  /** Ticks run at most per `advance`. */
  readonly maxTicksPerAdvance: number;
  private tick: number;
  /** Time elapsed and not yet run as a tick, ms. */
  private accumulator = 0;
  private lastMs: number | null = null;
  private elapsed = 0;

  /** `tickMs` is the tick period in ms (`1000 / tickRate`). */
  constructor(tickMs: number, options: FixedStepOptions = {}) {
    this.tick = checkedTickMs(tickMs);
    this.maxTicksPerAdvance = options.maxTicksPerAdvance ?? 5;
  }

  /**
   * The tick period, ms. Setting it (a new seat's tick rate) keeps the time already accumulated:
   * the next `advance` counts it in ticks of the new length.
   */
  get tickMs(): number {
    return this.tick;
  }

  set tickMs(tickMs: number) {
    this.tick = checkedTickMs(tickMs);
  }

  /** The time the last `advance` covered, ms (0 on the first call): for decays per frame. */
  get elapsedMs(): number {
    return this.elapsed;
  }

  /**
   * Advances the clock to `nowMs`: calls `onTick` once per whole tick elapsed since the previous
   * call (at most `maxTicksPerAdvance` times), and returns the fraction of the next tick already
   * elapsed. The first call only starts the clock.
   */
  advance(nowMs: number, onTick: () => void): number {
    this.elapsed = this.lastMs === null ? 0 : nowMs - this.lastMs;
    this.lastMs = nowMs;
    this.accumulator += this.elapsed;
    let ticks = 0;
    while (this.accumulator >= this.tick) {
      this.accumulator -= this.tick;
      // Ticks past the cap are dropped, not deferred: the clock stays in step with real time.
      if (ticks++ < this.maxTicksPerAdvance) onTick();
    }
    return this.accumulator / this.tick;
  }
}

/** A tick period must be positive, else `advance` would loop forever. */
function checkedTickMs(tickMs: number): number {
  if (!(tickMs > 0)) throw new RangeError(`tick period must be positive, got ${tickMs} ms`);
  return tickMs;
}
