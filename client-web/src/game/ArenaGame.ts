/**
 * The arena game on top of a Room: a fixed-rate local tick that sends inputs and predicts the own
 * player, interpolation of everyone else, and the list of things to draw each frame. Time comes
 * in as arguments, so the loop can be driven by requestAnimationFrame or by a test.
 */
import { Arena, type ArenaInput } from "../generated/protocol";
import type { RosterEntry } from "../net/codec";
import type { Room } from "../Room";
import { Interpolation } from "../sync/Interpolation";
import { Prediction } from "../sync/Prediction";
import { Field, NO_INPUT, positionOf, sameInput, stepPlayer, type Vec } from "./arena";

/** One thing to draw. */
export interface Sprite {
  id: number;
  kind: number;
  x: number;
  y: number;
  score: number;
  /** The player's name (players only). */
  name: string;
  /** The own player. */
  self: boolean;
  /** False while the player's seat is held for a reconnect. */
  connected: boolean;
}

export interface ArenaGameOptions {
  /** How far in the past remote players are drawn, ms. Default: 100. */
  interpolationDelayMs?: number;
}

/** Local ticks run at most this many times per frame (after a stalled tab, skip rather than burst). */
const MAX_TICKS_PER_FRAME = 5;

/** Frames of the own player's drawn position kept for inspection (tests, debugging). */
const DRAWN_HISTORY = 300;

export class ArenaGame {
  /** The own player's drawn positions, last DRAWN_HISTORY frames. */
  readonly drawn: Array<{ t: number; x: number; y: number }> = [];
  readonly prediction: Prediction<ArenaInput>;
  readonly interpolation: Interpolation;
  private tickMs: number;
  private accumulator = 0;
  private lastFrameMs: number | null = null;
  private lastSent: ArenaInput = NO_INPUT;
  private names = new Map<number, RosterEntry>();
  private readonly offs: Array<() => void>;

  constructor(
    readonly room: Room,
    options: ArenaGameOptions = {},
    now: () => number = () => performance.now(),
  ) {
    const tickRate = room.seat?.tickRate ?? 30;
    this.tickMs = 1000 / tickRate;
    this.prediction = new Prediction(stepPlayer, 1 / tickRate);
    this.interpolation = new Interpolation(this.tickMs, { delayMs: options.interpolationDelayMs ?? 100 });
    this.setRoster(room.roster);
    this.offs = [
      room.on("join", ({ seat }) => {
        // A new seat, or a resumed one whose unacked inputs died with the old socket.
        this.tickMs = 1000 / seat.tickRate;
        this.prediction.reset();
        this.interpolation.reset(this.tickMs);
        this.lastSent = NO_INPUT;
      }),
      room.on("state", ({ tick }) => this.onState(tick, now())),
      room.on("roster", (players) => this.setRoster(players)),
    ];
    if (room.replica.tick !== null) this.onState(room.replica.tick, now());
  }

  dispose(): void {
    for (const off of this.offs) off();
  }

  /**
   * Advances the local clock to `nowMs` with `direction` held: runs the due local ticks (each
   * sends an input when the direction is held or just changed) and returns what to draw.
   */
  frame(nowMs: number, direction: ArenaInput): Sprite[] {
    const elapsed = this.lastFrameMs === null ? 0 : nowMs - this.lastFrameMs;
    this.lastFrameMs = nowMs;
    this.accumulator += elapsed;
    let ticks = 0;
    while (this.accumulator >= this.tickMs) {
      this.accumulator -= this.tickMs;
      if (ticks++ < MAX_TICKS_PER_FRAME) this.localTick(direction);
    }
    this.prediction.decay(elapsed);
    const sprites = this.sprites(nowMs, this.accumulator / this.tickMs);
    const self = sprites.find((s) => s.self);
    if (self) {
      this.drawn.push({ t: nowMs, x: self.x, y: self.y });
      if (this.drawn.length > DRAWN_HISTORY) this.drawn.shift();
    }
    return sprites;
  }

  /**
   * Stops the own player now (the page is being hidden or lost focus): a hidden page runs no
   * frames, and the server keeps applying the last input until it hears otherwise.
   */
  release(): void {
    if (sameInput(this.lastSent, NO_INPUT)) return;
    const seq = this.room.sendInput(NO_INPUT);
    if (seq !== null) {
      this.lastSent = NO_INPUT;
      this.prediction.applyInput(seq, NO_INPUT);
    }
  }

  /** One local tick: send the input when it matters, and predict it. */
  private localTick(direction: ArenaInput): void {
    const moving = direction[0] !== 0 || direction[1] !== 0;
    if (moving || !sameInput(direction, this.lastSent)) {
      const seq = this.room.sendInput(direction);
      if (seq !== null) {
        this.lastSent = direction;
        this.prediction.applyInput(seq, direction);
        return;
      }
    }
    this.prediction.idle();
  }

  private onState(tick: number, nowMs: number): void {
    const seat = this.room.seat;
    const replica = this.room.replica;
    const positions = new Map<number, Vec>();
    for (const [id, fields] of replica.entries()) {
      if (seat && id === seat.entity) continue;
      positions.set(id, positionOf(fields));
    }
    this.interpolation.push(tick, positions, nowMs);
    const own = seat ? replica.get(seat.entity) : undefined;
    if (own) this.prediction.reconcile(positionOf(own), own[Field.ack] ?? 0);
  }

  private setRoster(players: RosterEntry[]): void {
    this.names = new Map(players.map((p) => [p.entity, p]));
  }

  private sprites(nowMs: number, alpha: number): Sprite[] {
    const seat = this.room.seat;
    const smooth = this.interpolation.sample(nowMs);
    const out: Sprite[] = [];
    for (const [id, fields] of this.room.replica.entries()) {
      const kind = fields[Field.kind] ?? 0;
      const self = seat !== null && id === seat.entity;
      const pos = (self ? this.prediction.render(alpha) : smooth.get(id)) ?? positionOf(fields);
      const member = this.names.get(id);
      out.push({
        id,
        kind,
        x: pos.x,
        y: pos.y,
        score: fields[Field.score] ?? 0,
        name: member?.name ?? (kind === Arena.kindPlayer ? `#${id}` : ""),
        self,
        connected: member?.connected ?? true,
      });
    }
    // Orbs below players, the own player on top.
    out.sort(
      (a, b) =>
        Number(a.kind === Arena.kindPlayer) - Number(b.kind === Arena.kindPlayer) || Number(a.self) - Number(b.self),
    );
    return out;
  }
}
