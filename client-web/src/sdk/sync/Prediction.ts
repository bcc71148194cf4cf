/**
 * Client-side prediction of the own player with server reconciliation, for any game: the game
 * gives its step rule `(state, input, dt) => state` (the server's rule, so both compute the same),
 * and its state is any record of numbers (`{ x, y }`).
 *
 * Every input sent is applied locally at once and kept until the server acknowledges it (the
 * replica's ack of the own player: the last input `seq` the server applied). On every server
 * state the prediction restarts from the server's state and replays the inputs still unacked, so
 * it never drifts for long. A difference between the old and the new prediction (jitter in which
 * tick an input landed, the wire's rounding) is not shown as a jump: it becomes a visual offset
 * that decays over `smoothingMs`.
 */
import {
  addState,
  lerpState,
  scaleState,
  stateLength,
  subtractState,
  zeroState,
  type NumericState,
} from "./NumericState";

/** Advances the game state by one tick of `dt` seconds with one input. */
export type StepFn<S, I> = (state: S, input: I, dt: number) => S;

export interface PredictionOptions<S> {
  /** Time constant of the correction offset's decay, ms. Default: 80. */
  smoothingMs?: number;
  /** Corrections larger than this are applied at once (a teleport, a respawn). Default: 120. */
  snapDistance?: number;
  /** How far apart two states are, for `snapDistance`. Default: Euclidean over every key. */
  distance?: (a: S, b: S) => number;
  /** Unacked inputs kept at most; older ones are dropped. Default: 120 (4 s at 30 Hz). */
  maxPending?: number;
}

interface PendingInput<I> {
  seq: number;
  input: I;
}

/** Offsets below this are dropped, so a decayed correction ends at exactly 0. */
const SETTLED = 0.01;

export class Prediction<S extends NumericState<S>, I> {
  private readonly pending: PendingInput<I>[] = [];
  private current: S | null = null;
  private previous: S | null = null;
  private error: S | null = null;
  private readonly smoothingMs: number;
  private readonly snapDistance: number;
  private readonly distance: (a: S, b: S) => number;
  private readonly maxPending: number;

  /** `dt` is the server's tick period in seconds. */
  constructor(
    private readonly step: StepFn<S, I>,
    private readonly dt: number,
    options: PredictionOptions<S> = {},
  ) {
    this.smoothingMs = options.smoothingMs ?? 80;
    this.snapDistance = options.snapDistance ?? 120;
    this.distance = options.distance ?? ((a, b) => stateLength(subtractState(a, b)));
    this.maxPending = options.maxPending ?? 120;
  }

  /** Forgets everything (a new seat, or a reconnect: unsent inputs of the old socket are lost). */
  reset(): void {
    this.pending.length = 0;
    this.current = null;
    this.previous = null;
    this.error = null;
  }

  /** The predicted state at the last local tick (null before the first server state). */
  get state(): S | null {
    return this.current;
  }

  /** Inputs sent and not yet acknowledged. */
  get unacked(): number {
    return this.pending.length;
  }

  /** The visual correction still being smoothed away (null before the first server state). */
  get correction(): S | null {
    return this.error;
  }

  /** A local tick in which input `seq` was sent: predict its effect now. */
  applyInput(seq: number, input: I): void {
    this.pending.push({ seq, input });
    if (this.pending.length > this.maxPending) this.pending.shift();
    this.previous = this.current;
    if (this.current) this.current = this.step(this.current, input, this.dt);
  }

  /** A local tick without a new input: the predicted state holds. */
  idle(): void {
    this.previous = this.current;
  }

  /** A server state: the own entity at `server`, the inputs up to `ack` applied. */
  reconcile(server: S, ack: number): void {
    while (this.pending.length > 0 && (this.pending[0]?.seq ?? Infinity) <= ack) this.pending.shift();
    let next = server;
    for (const p of this.pending) next = this.step(next, p.input, this.dt);
    const old = this.current;
    this.current = next;
    if (!old || !this.previous || !this.error) {
      this.previous = next;
      this.error = zeroState(next);
      return;
    }
    const jump = subtractState(old, next);
    // Keep the in-between frame continuous: move the lerp origin with the new prediction.
    this.previous = subtractState(this.previous, jump);
    const error = addState(this.error, jump);
    if (this.distance(addState(next, error), next) > this.snapDistance) {
      this.error = zeroState(next);
      this.previous = next;
    } else {
      this.error = error;
    }
  }

  /** Decays the correction offset by `elapsedMs` of wall time (call once per frame). */
  decay(elapsedMs: number): void {
    if (this.error) this.error = scaleState(this.error, Math.exp(-elapsedMs / this.smoothingMs), SETTLED);
  }

  /** Where to draw the player: `alpha` (0..1) of the way from the previous to the current local
   * tick, plus the decaying correction. */
  render(alpha: number): S | null {
    if (!this.current) return null;
    const a = Math.min(1, Math.max(0, alpha));
    const state = lerpState(this.previous ?? this.current, this.current, a);
    return this.error ? addState(state, this.error) : state;
  }
}
