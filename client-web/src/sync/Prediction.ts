/**
 * Client-side prediction of the own player with server reconciliation.
 *
 * Every input sent is applied locally at once and kept until the server acknowledges it (the
 * `ack` field of the own entity is the last input sequence the server applied). On every server
 * state the prediction restarts from the server's position and replays the inputs still unacked,
 * so it can never drift from the server for long. Any difference between the old and the new
 * prediction (jitter in which tick an input landed, rounding of the wire's quarter units) is not
 * shown as a jump: it becomes a visual offset that decays over `smoothingMs`.
 */
import type { Vec } from "../game/arena";

/** Advances a position by one tick with one input. */
export type StepFn<I> = (pos: Vec, input: I, dt: number) => Vec;

export interface PredictionOptions {
  /** Time constant of the correction offset's decay, ms. Default: 80. */
  smoothingMs?: number;
  /** Corrections larger than this (world units) are applied at once (a teleport). Default: 120. */
  snapDistance?: number;
  /** Unacked inputs kept at most; older ones are dropped. Default: 120 (4 s at 30 Hz). */
  maxPending?: number;
}

interface PendingInput<I> {
  seq: number;
  input: I;
}

export class Prediction<I> {
  private readonly pending: PendingInput<I>[] = [];
  private current: Vec | null = null;
  private previous: Vec | null = null;
  private error: Vec = { x: 0, y: 0 };
  private readonly smoothingMs: number;
  private readonly snapDistance: number;
  private readonly maxPending: number;

  /** `dt` is the server's tick period in seconds. */
  constructor(
    private readonly step: StepFn<I>,
    private readonly dt: number,
    options: PredictionOptions = {},
  ) {
    this.smoothingMs = options.smoothingMs ?? 80;
    this.snapDistance = options.snapDistance ?? 120;
    this.maxPending = options.maxPending ?? 120;
  }

  /** Forgets everything (new seat, or a reconnect: unsent inputs of the old socket are lost). */
  reset(): void {
    this.pending.length = 0;
    this.current = null;
    this.previous = null;
    this.error = { x: 0, y: 0 };
  }

  /** The predicted position at the last local tick (null before the first server state). */
  get position(): Vec | null {
    return this.current;
  }

  /** Inputs sent and not yet acknowledged. */
  get unacked(): number {
    return this.pending.length;
  }

  /** The visual correction still being smoothed away. */
  get correction(): Vec {
    return { ...this.error };
  }

  /** A local tick in which input `seq` was sent: predict its effect now. */
  applyInput(seq: number, input: I): void {
    this.pending.push({ seq, input });
    if (this.pending.length > this.maxPending) this.pending.shift();
    this.previous = this.current;
    if (this.current) this.current = this.step(this.current, input, this.dt);
  }

  /** A local tick without a new input: the predicted position holds. */
  idle(): void {
    this.previous = this.current;
  }

  /** A server state: the own entity at `server`, inputs up to `ack` applied. */
  reconcile(server: Vec, ack: number): void {
    while (this.pending.length > 0 && (this.pending[0]?.seq ?? Infinity) <= ack) this.pending.shift();
    let next = server;
    for (const p of this.pending) next = this.step(next, p.input, this.dt);
    const old = this.current;
    this.current = next;
    if (!old || !this.previous) {
      this.previous = next;
      return;
    }
    const dx = old.x - next.x;
    const dy = old.y - next.y;
    // Keep the in-between frame continuous: move the lerp origin with the new prediction.
    this.previous = { x: this.previous.x - dx, y: this.previous.y - dy };
    if (Math.hypot(dx + this.error.x, dy + this.error.y) > this.snapDistance) {
      this.error = { x: 0, y: 0 };
      this.previous = next;
    } else {
      this.error = { x: this.error.x + dx, y: this.error.y + dy };
    }
  }

  /** Decays the correction offset by `elapsedMs` of wall time (call once per frame). */
  decay(elapsedMs: number): void {
    const k = Math.exp(-elapsedMs / this.smoothingMs);
    this.error = { x: this.error.x * k, y: this.error.y * k };
    if (Math.abs(this.error.x) < 0.01) this.error.x = 0;
    if (Math.abs(this.error.y) < 0.01) this.error.y = 0;
  }

  /** Where to draw the player: `alpha` (0..1) of the way from the previous to the current local
   * tick, plus the decaying correction. */
  render(alpha: number): Vec | null {
    if (!this.current) return null;
    const from = this.previous ?? this.current;
    const a = Math.min(1, Math.max(0, alpha));
    return {
      x: from.x + (this.current.x - from.x) * a + this.error.x,
      y: from.y + (this.current.y - from.y) * a + this.error.y,
    };
  }
}
