/** Admin JSON as the server sends it (snake_case), for the parsing and stream tests. */

export function sampleJson(t: number, players = 2): Record<string, unknown> {
  return {
    t,
    rooms: 1,
    players,
    sessions: players + 1,
    lateness_p99_us: 1900,
    lateness_max_us: 2500,
    bytes_in_per_s: 100,
    bytes_out_per_s: 2000,
    cpu: 0.05,
    rss_bytes: 24 << 20,
  };
}

export function updateJson(t: number): Record<string, unknown> {
  return {
    sample: sampleJson(t),
    rooms: [
      {
        id: 3,
        game: "arena",
        players: 2,
        capacity: 50,
        tick_rate: 30,
        on_change: false,
        locked: false,
        metadata: { mode: "quick" },
        age_s: 12,
        lateness_p99_us: 1900,
        lateness_max_us: 2500,
        bytes_in_per_s: 100,
        bytes_out_per_s: 2000,
        ticks: 360,
        late_ticks: 1,
        skipped_sends: 0,
        resyncs: 0,
        slow_kicks: 0,
      },
    ],
    totals: {
      uptime_s: 20,
      sessions_open: 3,
      sessions_total: 5,
      rooms_open: 1,
      players: 2,
      cpu: 0.05,
      cpu_seconds: 1.5,
      rss_bytes: 24 << 20,
      bytes_in: 1000,
      bytes_out: 40000,
      closes: [
        { label: "Normal", code: 1000, count: 2 },
        { label: "Kicked", code: 4007, count: 0 },
      ],
      upgrades_refused: [{ label: "origin", count: 1 }],
      joins_refused: [{ label: "ip_seats", count: 0 }],
      api_refused: 0,
      rate_limited: 0,
      slow_kicks: 0,
      room_failures: 0,
    },
  };
}

export function detailJson(): Record<string, unknown> {
  return {
    id: 3,
    game: "arena",
    tick: 360,
    tick_rate: 30,
    capacity: 50,
    locked: false,
    players: [
      {
        player: 1,
        name: "ann",
        connected: true,
        rtt_ms: 1.25,
        pending: 0,
        chat_backlog: 0,
        snapshot_due: false,
        stuck_ms: null,
        unsent_bytes: 0,
        skipped: 0,
        resyncs: 0,
        held_ms: null,
      },
      {
        player: 2,
        name: "bob",
        connected: false,
        rtt_ms: null,
        pending: 0,
        chat_backlog: 0,
        snapshot_due: true,
        stuck_ms: null,
        unsent_bytes: null,
        skipped: 3,
        resyncs: 1,
        held_ms: 9000,
      },
    ],
  };
}
