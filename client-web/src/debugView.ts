/**
 * A read-only look into the running page, `window.__tickroom`, for the console and for browser
 * tests that need what a canvas does not show as text (where entities are, where to aim). It
 * belongs to the app, not to the SDK, and changes nothing: no test steers the client through it.
 */
import { Spectator, type FieldValue } from "@tickroom/client";
import type { App } from "./ui/App";

/** One entity: its id, kind name and fields as JavaScript values. */
export interface DebugEntity {
  id: number;
  kind: string;
  fields: Record<string, FieldValue>;
}

export interface DebugState {
  status: string;
  /** True when the page watches the room as a spectator (then `player` is null). */
  spectating: boolean;
  game: string | null;
  room: number | null;
  player: number | null;
  /** The WebSocket URL the seat was welcomed (or the watch accepted) at (in a cluster, its room's node). */
  wsUrl: string | null;
  tick: number | null;
  entities: DebugEntity[];
  acks: Array<[player: number, seq: number]>;
  resyncs: number;
}

export interface DebugView {
  /** The seat (or the spectator) and the replica as plain data, or null in the lobby. */
  state(): DebugState | null;
  /** The page position of a world point in the current game's canvas, or null. */
  toScreen(x: number, y: number): { x: number; y: number } | null;
}

declare global {
  interface Window {
    __tickroom?: DebugView;
  }
}

export function installDebugView(app: App): void {
  window.__tickroom = {
    state() {
      const room = app.room;
      if (!room) return null;
      return {
        status: room.status.state,
        spectating: room instanceof Spectator,
        game: room.info?.game ?? null,
        room: room.id,
        player: room.player,
        wsUrl: room.wsUrl,
        tick: room.replica.tick,
        entities: [...room.replica.all()].map((e) => ({ id: e.id, kind: e.kindName, fields: e.toObject() })),
        acks: [...room.replica.acks],
        resyncs: room.resyncs,
      };
    },
    toScreen(x, y) {
      return (app.screen?.view ?? app.replay?.view)?.toScreen?.(x, y) ?? null;
    },
  };
}
