/**
 * Reads the admin endpoints' JSON into the types of `types.ts`, strictly: a missing or mistyped
 * field throws a `MalformedError` naming it, rather than showing "undefined" to an operator.
 */
import type { History, Labelled, Member, RoomDetail, RoomRow, Sample, Totals, Update } from "./types";

/** The server sent something this page does not understand (a server of another version?). */
export class MalformedError extends Error {
  override readonly name = "MalformedError";
}

/** The fields of one JSON object, read by name with their type checked. */
class Fields {
  private readonly o: Record<string, unknown>;

  constructor(
    value: unknown,
    private readonly path: string,
  ) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new MalformedError(`${path}: expected an object`);
    }
    this.o = value as Record<string, unknown>;
  }

  private fail(key: string, what: string): never {
    throw new MalformedError(`${this.path}.${key}: expected ${what}`);
  }

  num(key: string): number {
    const v = this.o[key];
    return typeof v === "number" && Number.isFinite(v) ? v : this.fail(key, "a number");
  }

  optNum(key: string): number | null {
    const v = this.o[key];
    return v === null || v === undefined ? null : this.num(key);
  }

  str(key: string): string {
    const v = this.o[key];
    return typeof v === "string" ? v : this.fail(key, "a string");
  }

  bool(key: string): boolean {
    const v = this.o[key];
    return typeof v === "boolean" ? v : this.fail(key, "a boolean");
  }

  one<T>(key: string, item: (value: unknown, path: string) => T): T {
    return item(this.o[key], `${this.path}.${key}`);
  }

  list<T>(key: string, item: (value: unknown, path: string) => T): T[] {
    const v = this.o[key];
    if (!Array.isArray(v)) return this.fail(key, "a list");
    return v.map((x, i) => item(x, `${this.path}.${key}[${i}]`));
  }

  strings(key: string): Record<string, string> {
    const f = new Fields(this.o[key], `${this.path}.${key}`);
    const out: Record<string, string> = {};
    for (const k of Object.keys(f.o)) out[k] = f.str(k);
    return out;
  }
}

export function parseSample(value: unknown, path = "sample"): Sample {
  const f = new Fields(value, path);
  return {
    t: f.num("t"),
    rooms: f.num("rooms"),
    players: f.num("players"),
    sessions: f.num("sessions"),
    latenessP99Us: f.optNum("lateness_p99_us"),
    latenessMaxUs: f.optNum("lateness_max_us"),
    bytesInPerS: f.num("bytes_in_per_s"),
    bytesOutPerS: f.num("bytes_out_per_s"),
    cpu: f.optNum("cpu"),
    rssBytes: f.optNum("rss_bytes"),
  };
}

export function parseRoomRow(value: unknown, path = "room"): RoomRow {
  const f = new Fields(value, path);
  return {
    id: f.num("id"),
    game: f.str("game"),
    players: f.num("players"),
    spectators: f.optNum("spectators"),
    capacity: f.num("capacity"),
    tickRate: f.num("tick_rate"),
    onChange: f.bool("on_change"),
    locked: f.bool("locked"),
    metadata: f.strings("metadata"),
    ageS: f.num("age_s"),
    latenessP99Us: f.num("lateness_p99_us"),
    latenessMaxUs: f.num("lateness_max_us"),
    bytesInPerS: f.num("bytes_in_per_s"),
    bytesOutPerS: f.num("bytes_out_per_s"),
    ticks: f.num("ticks"),
    lateTicks: f.num("late_ticks"),
    skippedSends: f.num("skipped_sends"),
    resyncs: f.num("resyncs"),
    slowKicks: f.num("slow_kicks"),
  };
}

function parseLabelled(value: unknown, path: string): Labelled {
  const f = new Fields(value, path);
  return { label: f.str("label"), code: f.optNum("code"), count: f.num("count") };
}

export function parseTotals(value: unknown, path = "totals"): Totals {
  const f = new Fields(value, path);
  return {
    uptimeS: f.num("uptime_s"),
    sessionsOpen: f.num("sessions_open"),
    sessionsTotal: f.num("sessions_total"),
    roomsOpen: f.num("rooms_open"),
    players: f.num("players"),
    cpu: f.optNum("cpu"),
    cpuSeconds: f.optNum("cpu_seconds"),
    rssBytes: f.optNum("rss_bytes"),
    bytesIn: f.num("bytes_in"),
    bytesOut: f.num("bytes_out"),
    closes: f.list("closes", parseLabelled),
    upgradesRefused: f.list("upgrades_refused", parseLabelled),
    joinsRefused: f.list("joins_refused", parseLabelled),
    apiRefused: f.num("api_refused"),
    rateLimited: f.num("rate_limited"),
    slowKicks: f.num("slow_kicks"),
    roomFailures: f.num("room_failures"),
  };
}

export function parseUpdate(value: unknown): Update {
  const f = new Fields(value, "update");
  return {
    sample: f.one("sample", parseSample),
    rooms: f.list("rooms", parseRoomRow),
    totals: f.one("totals", parseTotals),
  };
}

export function parseHistory(value: unknown): History {
  const f = new Fields(value, "history");
  return { intervalMs: f.num("interval_ms"), samples: f.list("samples", parseSample) };
}

function parseMember(value: unknown, path: string): Member {
  const f = new Fields(value, path);
  return {
    player: f.num("player"),
    name: f.str("name"),
    connected: f.bool("connected"),
    rttMs: f.optNum("rtt_ms"),
    pending: f.num("pending"),
    chatBacklog: f.num("chat_backlog"),
    snapshotDue: f.bool("snapshot_due"),
    stuckMs: f.optNum("stuck_ms"),
    unsentBytes: f.optNum("unsent_bytes"),
    skipped: f.num("skipped"),
    resyncs: f.num("resyncs"),
    heldMs: f.optNum("held_ms"),
  };
}

export function parseRoomDetail(value: unknown): RoomDetail {
  const f = new Fields(value, "room");
  return {
    id: f.num("id"),
    game: f.str("game"),
    tick: f.num("tick"),
    tickRate: f.num("tick_rate"),
    capacity: f.num("capacity"),
    locked: f.bool("locked"),
    spectators: f.optNum("spectators"),
    maxSpectators: f.optNum("max_spectators"),
    players: f.list("players", parseMember),
  };
}
