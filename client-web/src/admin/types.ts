/**
 * What the admin endpoints send (`/api/admin/stream`, `/api/admin/rooms/{id}`), in camelCase;
 * `parse.ts` reads the server's JSON into these. The server's doc comments (server/src/monitor.rs,
 * server/src/messages.rs) say what each figure counts.
 */

/** One second of the whole server: a point of the charts. */
export interface Sample {
  /** Unix time, ms. */
  readonly t: number;
  readonly rooms: number;
  readonly players: number;
  readonly sessions: number;
  /** p99 of every tick's start lateness during the second, µs; null when no room ticked. */
  readonly latenessP99Us: number | null;
  readonly latenessMaxUs: number | null;
  readonly bytesInPerS: number;
  readonly bytesOutPerS: number;
  /** CPU time per second (1 = one core); null where unknown. */
  readonly cpu: number | null;
  readonly rssBytes: number | null;
}

/** One room of the table. */
export interface RoomRow {
  readonly id: number;
  readonly game: string;
  readonly players: number;
  /** Spectators watching the room; null from a server without spectators (shown as "—"). */
  readonly spectators: number | null;
  readonly capacity: number;
  readonly tickRate: number;
  readonly onChange: boolean;
  readonly locked: boolean;
  readonly metadata: Readonly<Record<string, string>>;
  readonly ageS: number;
  readonly latenessP99Us: number;
  readonly latenessMaxUs: number;
  readonly bytesInPerS: number;
  readonly bytesOutPerS: number;
  readonly ticks: number;
  readonly lateTicks: number;
  readonly skippedSends: number;
  readonly resyncs: number;
  readonly slowKicks: number;
}

/** A counter with its label (a close code's name, a refusal's reason). */
export interface Labelled {
  readonly label: string;
  readonly code: number | null;
  readonly count: number;
}

/** The server since it started. */
export interface Totals {
  readonly uptimeS: number;
  readonly sessionsOpen: number;
  readonly sessionsTotal: number;
  readonly roomsOpen: number;
  readonly players: number;
  readonly cpu: number | null;
  readonly cpuSeconds: number | null;
  readonly rssBytes: number | null;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly closes: readonly Labelled[];
  readonly upgradesRefused: readonly Labelled[];
  readonly joinsRefused: readonly Labelled[];
  readonly apiRefused: number;
  readonly rateLimited: number;
  readonly slowKicks: number;
  readonly roomFailures: number;
}

/** The `update` event, every second. */
export interface Update {
  readonly sample: Sample;
  readonly rooms: readonly RoomRow[];
  readonly totals: Totals;
}

/** The `history` event, first on every stream. */
export interface History {
  readonly intervalMs: number;
  readonly samples: readonly Sample[];
}

/** One seat of a room. */
export interface Member {
  readonly player: number;
  readonly name: string;
  readonly connected: boolean;
  /** Round trip of the last answered WebSocket ping; null before the first or while held. */
  readonly rttMs: number | null;
  readonly pending: number;
  readonly chatBacklog: number;
  readonly snapshotDue: boolean;
  readonly stuckMs: number | null;
  readonly unsentBytes: number | null;
  readonly skipped: number;
  readonly resyncs: number;
  /** A held seat: ms left of its reconnect grace. */
  readonly heldMs: number | null;
}

/** `GET /api/admin/rooms/{id}`. */
export interface RoomDetail {
  readonly id: number;
  readonly game: string;
  readonly tick: number;
  readonly tickRate: number;
  readonly capacity: number;
  readonly locked: boolean;
  /** Spectators watching the room; null from a server without spectators. */
  readonly spectators: number | null;
  /** Spectators the room takes at most; null from a server without spectators. */
  readonly maxSpectators: number | null;
  readonly players: readonly Member[];
}
