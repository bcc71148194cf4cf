/**
 * The arena on top of a Room, without the DOM: a fixed-rate local tick that sends inputs and
 * predicts the own player (the `player` entity whose `owner` is this seat's player id),
 * interpolation of everyone else, and the list of things to draw each frame. Time comes in as
 * arguments, so a test drives it without a browser or a clock. For a spectator it sends nothing
 * and predicts nothing: every player is interpolated.
 */
import {
  FixedStep,
  Interpolation,
  Prediction,
  Room,
  type RoomFeed,
  type RosterEntry,
  type Spectator,
} from "@tickroom/client";
import {
  NO_INPUT,
  sameInput,
  stepPlayer,
  type ArenaInput,
  type OrbFields,
  type PlayerFields,
  type Position,
} from "./rules";

/** One thing to draw. */
export interface Sprite {
  id: number;
  kind: "player" | "orb";
  x: number;
  y: number;
  score: number;
  /** The player's name (players only). */
  name: string;
  /** The player id of a player sprite (0 for orbs), for its colour. */
  owner: number;
  /** The own player. */
  self: boolean;
  /** False while the player's seat is held for a reconnect. */
  connected: boolean;
}

export interface ArenaGameOptions {
  /** How far in the past remote players are drawn, ms. Default: 100. */
  interpolationDelayMs?: number;
}

export class ArenaGame {
  readonly prediction: Prediction<Position, ArenaInput>;
  readonly interpolation: Interpolation<Position>;
  /** The local tick at the server's rate: at most 5 per frame (after a stalled tab, skip rather than burst). */
  private readonly clock: FixedStep;
  private lastSent: ArenaInput = NO_INPUT;
  private names = new Map<number, RosterEntry>();
  private readonly offs: Array<() => void>;
  /** The player's seat, which inputs go to; null for a spectator. */
  private readonly seat: Room<ArenaInput, never> | null;
  /** What the room sends, for a player and a spectator alike. */
  private readonly room: RoomFeed;

  constructor(
    room: Room<ArenaInput, never> | Spectator,
    options: ArenaGameOptions = {},
    now: () => number = () => performance.now(),
  ) {
    this.room = room;
    this.seat = room instanceof Room ? room : null;
    const tickRate = room.info?.tickRate ?? 30;
    this.clock = new FixedStep(1000 / tickRate);
    this.prediction = new Prediction(stepPlayer, 1 / tickRate);
    this.interpolation = new Interpolation(this.clock.tickMs, { delayMs: options.interpolationDelayMs ?? 100 });
    this.setRoster(room.roster);
    this.offs = [
      this.room.on("welcome", ({ info }) => {
        // A new seat, or a resumed one whose unacked inputs died with the old socket.
        this.clock.tickMs = 1000 / info.tickRate;
        this.prediction.reset();
        this.interpolation.reset(this.clock.tickMs);
        this.lastSent = NO_INPUT;
      }),
      this.room.on("state", ({ tick }) => this.onState(tick, now())),
      this.room.on("roster", (players) => this.setRoster(players)),
    ];
    if (room.replica.tick !== null) this.onState(room.replica.tick, now());
  }

  dispose(): void {
    for (const off of this.offs) off();
  }

  /** The own player's entity, if the replica has it. */
  own(): { id: number; x: number; y: number } | null {
    const me = this.room.player;
    const e = this.room.replica.find<PlayerFields>("player", (p) => p.get("owner") === me);
    return e ? { id: e.id, x: e.get("x"), y: e.get("y") } : null;
  }

  /**
   * Advances the local clock to `nowMs` with `direction` held: runs the due local ticks (each
   * sends an input when the direction is held or just changed; a spectator's send nothing) and
   * returns what to draw.
   */
  frame(nowMs: number, direction: ArenaInput): Sprite[] {
    const alpha = this.clock.advance(nowMs, () => this.localTick(direction));
    this.prediction.decay(this.clock.elapsedMs);
    return this.sprites(nowMs, alpha);
  }

  /**
   * Stops the own player now (the page is being hidden or lost focus): a hidden page runs no
   * frames, and the server keeps applying the last input until it hears otherwise.
   */
  release(): void {
    if (this.seat === null || sameInput(this.lastSent, NO_INPUT)) return;
    const seq = this.seat.sendInput(NO_INPUT);
    if (seq !== null) {
      this.lastSent = NO_INPUT;
      this.prediction.applyInput(seq, NO_INPUT);
    }
  }

  /** One local tick: send the input when it matters, and predict it. */
  private localTick(direction: ArenaInput): void {
    const moving = direction[0] !== 0 || direction[1] !== 0;
    if (this.seat !== null && (moving || !sameInput(direction, this.lastSent))) {
      const seq = this.seat.sendInput(direction);
      if (seq !== null) {
        this.lastSent = direction;
        this.prediction.applyInput(seq, direction);
        return;
      }
    }
    this.prediction.idle();
  }

  private onState(tick: number, nowMs: number): void {
    const replica = this.room.replica;
    const own = this.own();
    const positions = new Map<number, Position>();
    for (const p of replica.entities<PlayerFields>("player")) {
      if (p.id !== own?.id) positions.set(p.id, { x: p.get("x"), y: p.get("y") });
    }
    this.interpolation.push(tick, positions, nowMs);
    const me = this.room.player;
    if (own && me !== null) this.prediction.reconcile({ x: own.x, y: own.y }, replica.ack(me));
  }

  private setRoster(players: readonly RosterEntry[]): void {
    this.names = new Map(players.map((p) => [p.player, p]));
  }

  private sprites(nowMs: number, alpha: number): Sprite[] {
    const replica = this.room.replica;
    const me = this.room.player;
    const smooth = this.interpolation.sample(nowMs);
    const out: Sprite[] = [];
    for (const o of replica.entities<OrbFields>("orb")) {
      out.push({
        id: o.id,
        kind: "orb",
        x: o.get("x"),
        y: o.get("y"),
        score: 0,
        name: "",
        owner: 0,
        self: false,
        connected: true,
      });
    }
    const players = replica.entities<PlayerFields>("player");
    for (const p of players) {
      const owner = p.get("owner");
      const self = owner === me;
      const pos = (self ? this.prediction.render(alpha) : smooth.get(p.id)) ?? { x: p.get("x"), y: p.get("y") };
      const member = this.names.get(owner);
      out.push({
        id: p.id,
        kind: "player",
        x: pos.x,
        y: pos.y,
        score: p.get("score"),
        name: member?.name ?? `#${owner}`,
        owner,
        self,
        connected: member?.connected ?? true,
      });
    }
    // Orbs below players, the own player on top.
    out.sort((a, b) => Number(a.kind === "player") - Number(b.kind === "player") || Number(a.self) - Number(b.self));
    return out;
  }
}
