/**
 * Browser entry point. Query options: `?delay=MS` sets the interpolation delay of remote players
 * (default 100).
 */
import { Field, positionOf } from "./game/arena";
import { App } from "./ui/App";

const params = new URLSearchParams(location.search);
const delay = Number(params.get("delay"));
const mount = document.getElementById("app");
if (!mount) throw new Error("#app is missing from index.html");
const app = new App(
  mount,
  location.origin,
  Number.isFinite(delay) && delay >= 0 && params.has("delay") ? { interpolationDelayMs: delay } : {},
);

/** A read-only view for tests and the console: `window.__tickroom`. */
export interface TestHook {
  app: App;
  /** Drops the connection as a network failure would (the client reconnects and resumes). */
  drop(): void;
  /** The seat, the replica's tick and every entity's position in world units. */
  state(): {
    status: string;
    room: number | null;
    player: number | null;
    entity: number | null;
    tick: number | null;
    entities: Array<{ id: number; kind: number; x: number; y: number; ack: number; score: number }>;
    /** Own inputs sent and not yet acknowledged. */
    unacked: number;
    /** Own player's drawn positions, most recent frames last. */
    drawn: Array<{ t: number; x: number; y: number }>;
    resyncs: number;
  } | null;
}

declare global {
  interface Window {
    __tickroom: TestHook;
  }
}

window.__tickroom = {
  app,
  drop: () => app.room?.simulateDrop(),
  state() {
    const room = app.room;
    const game = app.game?.game;
    if (!room || !game) return null;
    return {
      status: room.status.state,
      room: room.id,
      player: room.seat?.player ?? null,
      entity: room.seat?.entity ?? null,
      tick: room.replica.tick,
      entities: [...room.replica.entries()].map(([id, f]) => ({
        id,
        kind: f[Field.kind] ?? 0,
        ...positionOf(f),
        ack: f[Field.ack] ?? 0,
        score: f[Field.score] ?? 0,
      })),
      unacked: game.prediction.unacked,
      drawn: game.drawn.slice(),
      resyncs: room.resyncs,
    };
  },
};
