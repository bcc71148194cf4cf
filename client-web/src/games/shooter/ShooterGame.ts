/**
 * The shooter on top of a Room, without the DOM: a fixed-rate local tick that sends inputs and
 * predicts the own ship (the `ship` whose `owner` is this seat's player), interpolation of the
 * other ships and the bullets, the hit counters from events, and what to draw each frame. The
 * map's size comes from the room's `map` entity (the default until the first state shows it).
 * For a spectator it sends and predicts nothing, and the camera follows the first ship it sees.
 */
import {
  FixedStep,
  Interpolation,
  Prediction,
  Room,
  type RoomFeed,
  type RosterEntry,
  type Spectator,
  type Value,
} from "@tickroom/client";
import {
  DEFAULT_MAP_SIZE,
  NO_INPUT,
  sameInput,
  stepShip,
  type BulletFields,
  type MapFields,
  type Position,
  type ScoreFields,
  type ShipFields,
  type ShooterInput,
} from "./rules";

export interface ShipSprite {
  id: number;
  owner: number;
  x: number;
  y: number;
  aim: number;
  hp: number;
  alive: boolean;
  self: boolean;
  name: string;
}

export interface Scene {
  /** Side of the square map, units. */
  mapSize: number;
  /** Where the camera looks: the own ship, or the map's centre before it is known. */
  camera: Position;
  ships: ShipSprite[];
  bullets: Position[];
}

/** What the player does this frame. */
export interface Control {
  dx: number;
  dy: number;
  /** The aim angle (0..255), or null to keep the last one. */
  aim: number | null;
  fire: boolean;
}

/** Remote ships: position and aim (an angle, blended the short way). */
type ShipState = { x: number; y: number; aim: number };

const field = (payload: Value, key: string): number | null => {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload) || payload instanceof Uint8Array) {
    return null;
  }
  const v = (payload as Record<string, Value>)[key];
  return typeof v === "number" ? v : null;
};

/** The item with the least key, or undefined for none. */
function minBy<T>(items: readonly T[], key: (item: T) => number): T | undefined {
  let best: T | undefined;
  for (const item of items) if (best === undefined || key(item) < key(best)) best = item;
  return best;
}

export class ShooterGame {
  readonly prediction: Prediction<Position, ShooterInput>;
  readonly ships: Interpolation<ShipState>;
  readonly bullets: Interpolation<Position>;
  /** Hits this player landed, hits it took (from `hit` events). */
  hitsDealt = 0;
  hitsTaken = 0;
  /** The local tick at the server's rate: at most 5 per frame (after a stalled tab, skip rather than burst). */
  private readonly clock: FixedStep;
  private size = DEFAULT_MAP_SIZE;
  private lastSent: ShooterInput = NO_INPUT;
  private aim = 0;
  private names = new Map<number, RosterEntry>();
  private readonly offs: Array<() => void>;
  /** The player's seat, which inputs go to; null for a spectator. */
  private readonly seat: Room<ShooterInput, never> | null;
  /** What the room sends, for a player and a spectator alike. */
  private readonly room: RoomFeed;

  constructor(
    room: Room<ShooterInput, never> | Spectator,
    options: { interpolationDelayMs?: number } = {},
    now: () => number = () => performance.now(),
  ) {
    this.room = room;
    this.seat = room instanceof Room ? room : null;
    const tickRate = room.info?.tickRate ?? 30;
    this.clock = new FixedStep(1000 / tickRate);
    const tickMs = this.clock.tickMs;
    const delayMs = options.interpolationDelayMs ?? 100;
    // The size is read at each step: replays after the map became known use the room's own.
    this.prediction = new Prediction((p, input, dt) => stepShip(p, input, dt, this.size), 1 / tickRate);
    this.ships = new Interpolation<ShipState>(tickMs, { delayMs, periods: { aim: 256 } });
    this.bullets = new Interpolation(tickMs, { delayMs, snapDistance: 200 });
    this.names = new Map(room.roster.map((p) => [p.player, p]));
    this.offs = [
      this.room.on("welcome", ({ info }) => {
        this.clock.tickMs = 1000 / info.tickRate;
        this.prediction.reset();
        this.ships.reset(this.clock.tickMs);
        this.bullets.reset(this.clock.tickMs);
        this.lastSent = NO_INPUT;
      }),
      this.room.on("state", ({ tick }) => this.onState(tick, now())),
      this.room.on("roster", (players) => (this.names = new Map(players.map((p) => [p.player, p])))),
      this.room.on("event", (e) => this.onEvent(e.name, e.payload)),
    ];
    if (room.replica.tick !== null) this.onState(room.replica.tick, now());
  }

  dispose(): void {
    for (const off of this.offs) off();
  }

  /** Side of the square map, units: the `map` entity's as of the last server state (else 4000). */
  get mapSize(): number {
    return this.size;
  }

  /** The own ship's entity, if this seat sees it. */
  own(): { id: number; x: number; y: number; hp: number; alive: boolean } | null {
    const me = this.room.player;
    const s = this.room.replica.find<ShipFields>("ship", (e) => e.get("owner") === me);
    return s ? { id: s.id, x: s.get("x"), y: s.get("y"), hp: s.get("hp"), alive: s.get("alive") } : null;
  }

  /** The own score entity's counters. */
  score(): { kills: number; deaths: number } {
    const me = this.room.player;
    const s = this.room.replica.find<ScoreFields>("score", (e) => e.get("player") === me);
    return { kills: s?.get("kills") ?? 0, deaths: s?.get("deaths") ?? 0 };
  }

  /** Advances the local clock to `nowMs` with `control` held and returns the scene to draw. */
  frame(nowMs: number, control: Control): Scene {
    if (control.aim !== null) this.aim = control.aim;
    const input: ShooterInput = [control.dx, control.dy, this.aim, control.fire];
    const alpha = this.clock.advance(nowMs, () => this.localTick(input));
    this.prediction.decay(this.clock.elapsedMs);
    return this.scene(nowMs, alpha);
  }

  /** Stops moving and firing now (the page lost focus: it runs no frames while hidden). */
  release(): void {
    const stop: ShooterInput = [0, 0, this.aim, false];
    if (this.seat === null || sameInput(this.lastSent, stop)) return;
    const seq = this.seat.sendInput(stop);
    if (seq !== null) {
      this.lastSent = stop;
      this.prediction.applyInput(seq, stop);
    }
  }

  private localTick(input: ShooterInput): void {
    const active = input[0] !== 0 || input[1] !== 0 || input[3];
    if (this.seat !== null && (active || !sameInput(input, this.lastSent))) {
      const seq = this.seat.sendInput(input);
      if (seq !== null) {
        this.lastSent = input;
        this.prediction.applyInput(seq, input);
        return;
      }
    }
    this.prediction.idle();
  }

  private onState(tick: number, nowMs: number): void {
    const replica = this.room.replica;
    // Before reconciling below, whose replay steps the own ship on the map.
    this.size = replica.entities<MapFields>("map")[0]?.get("size") ?? DEFAULT_MAP_SIZE;
    const own = this.own();
    const ships = new Map<number, ShipState>();
    for (const s of replica.entities<ShipFields>("ship")) {
      if (s.id !== own?.id) ships.set(s.id, { x: s.get("x"), y: s.get("y"), aim: s.get("aim") });
    }
    this.ships.push(tick, ships, nowMs);
    const bullets = new Map<number, Position>();
    for (const b of replica.entities<BulletFields>("bullet")) bullets.set(b.id, { x: b.get("x"), y: b.get("y") });
    this.bullets.push(tick, bullets, nowMs);
    const me = this.room.player;
    if (!own || me === null) return;
    // A dead ship does not move; its respawn is a jump, not a correction to smooth.
    if (!own.alive) this.prediction.reset();
    else this.prediction.reconcile({ x: own.x, y: own.y }, replica.ack(me));
  }

  private onEvent(name: string, payload: Value): void {
    const me = this.room.player;
    if (name === "hit") {
      if (field(payload, "by") === me) this.hitsDealt++;
      if (field(payload, "target") === me) this.hitsTaken++;
    } else if (name === "respawn") {
      this.prediction.reset();
    }
  }

  private scene(nowMs: number, alpha: number): Scene {
    const me = this.room.player;
    const ships = this.ships.sample(nowMs);
    const ownSprite: ShipSprite[] = [];
    const sprites: ShipSprite[] = [];
    for (const s of this.room.replica.entities<ShipFields>("ship")) {
      const owner = s.get("owner");
      const self = owner === me;
      const drawn = self ? this.prediction.render(alpha) : ships.get(s.id);
      const sprite: ShipSprite = {
        id: s.id,
        owner,
        x: drawn?.x ?? s.get("x"),
        y: drawn?.y ?? s.get("y"),
        aim: self ? this.aim : (ships.get(s.id)?.aim ?? s.get("aim")),
        hp: s.get("hp"),
        alive: s.get("alive"),
        self,
        name: this.names.get(owner)?.name ?? `#${owner}`,
      };
      (self ? ownSprite : sprites).push(sprite);
    }
    // A spectator has no ship of its own: the camera follows the ship of the lowest id it sees.
    const followed = ownSprite[0] ?? (this.seat === null ? minBy(sprites, (s) => s.id) : undefined);
    const centre = this.mapSize / 2;
    return {
      mapSize: this.mapSize,
      camera: followed ? { x: followed.x, y: followed.y } : { x: centre, y: centre },
      // The own ship last, on top.
      ships: [...sprites, ...ownSprite],
      bullets: [...this.bullets.sample(nowMs).values()],
    };
  }
}
