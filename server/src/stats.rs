//! What the engine counts about itself: Prometheus metrics at `/metrics` (through
//! `prometheus-client`, one registry per server so several servers can share a process) and a
//! JSON view with per-room detail at `/api/stats`, which the benchmark reads.
//!
//! Metrics are aggregated over rooms (no per-room labels: rooms come and go, label sets would
//! grow without bound); per-room figures live in [`RoomStats`] and only in the JSON view.
//! Everything is an atomic updated with relaxed ordering: statistics, not synchronisation.

use hdrhistogram::Histogram as HdrHistogram;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tickroom_shared::{PlayerId, RoomId};

/// Label of `tickroom_closes_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabels {
    /// WebSocket close code.
    pub code: u16,
}

/// Label of `tickroom_upgrades_refused_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    /// Why: an [`admission::Refusal`](crate::admission::Refusal) label, or `shutting_down`.
    pub reason: &'static str,
}

/// Label of `tickroom_joins_refused_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JoinRefusedLabels {
    /// Why: `ip_rooms`, `ip_creates`, `ip_seats` (an address's budgets), `max_rooms`.
    pub reason: &'static str,
}

/// Every reason a join is counted as refused, so each series exists from the start.
pub const JOIN_REFUSALS: [&str; 4] = ["ip_rooms", "ip_creates", "ip_seats", "max_rooms"];
/// Label of `tickroom_api_rebuilds_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// The cached endpoint: `stats`, `metrics`, `rooms` or `info`.
    pub endpoint: &'static str,
}

/// The endpoints whose bodies are cached, as labelled in `tickroom_api_rebuilds_total`.
pub const CACHED_ENDPOINTS: [&str; 4] = ["stats", "metrics", "rooms", "info"];

/// Label of `tickroom_agones_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AgonesLabels {
    /// The SDK call that failed: an [`agones::Call`](crate::agones::Call) label.
    pub call: &'static str,
}

/// The refusal reason of an upgrade that arrives while the server shuts down.
pub const SHUTTING_DOWN: &str = "shutting_down";

/// Server-wide metrics.
pub struct Stats {
    registry: Registry,
    /// WebSocket sessions open now.
    pub sessions_open: Gauge,
    /// WebSocket sessions opened since start.
    pub sessions_total: Counter,
    /// Client messages received.
    pub messages_in: Counter,
    /// Client payload bytes received.
    pub bytes_in: Counter,
    /// Server messages written to sessions.
    pub messages_out: Counter,
    /// Server payload bytes written to sessions.
    pub bytes_out: Counter,
    /// Connections closed by the server, by close code.
    pub closes: Family<CloseLabels, Counter>,
    /// Upgrades refused before a session started, by reason.
    pub refused: Family<RefusedLabels, Counter>,
    /// Joins the lobby refused for a budget or the room limit, by reason.
    pub joins_refused: Family<JoinRefusedLabels, Counter>,
    /// Messages refused by the per-connection rate limit.
    pub rate_limited: Counter,
    /// Inputs dropped because the room's queue was full.
    pub inputs_dropped: Counter,
    /// Rooms open now.
    pub rooms_open: Gauge,
    /// Room ticks run.
    pub ticks: Counter,
    /// Ticks that started more than a tenth of a period late.
    pub late_ticks: Counter,
    /// Ticks that started a whole period or more late.
    pub overruns: Counter,
    /// Seconds of work per tick (step, diff, encode, fan-out).
    pub tick_duration: Histogram,
    /// Keyframes sent to resync connections.
    pub resyncs: Counter,
    /// Deltas skipped for connections whose queue was full.
    pub skipped_sends: Counter,
    /// Connections dropped for staying too slow.
    pub slow_kicks: Counter,
    /// Rooms closed because their game panicked.
    pub room_failures: Counter,
    /// Connections shut down by the watchdog because their session stopped running (a client
    /// that does not read).
    pub stalled_closes: Counter,
    /// Connections shut down by the watchdog because their socket kept unsent data for the
    /// slow-client timeout (a client that does not read, seen before anything else fills).
    pub backlog_closes: Counter,
    /// Chat lines refused by the per-player chat rate.
    pub chat_limited: Counter,
    /// Chat lines a member missed because it could not take them for too long.
    pub chat_dropped: Counter,
    /// Recordings stopped by a write error (`--record`; the room went on unrecorded).
    pub recording_errors: Counter,
    /// Bodies of cached HTTP endpoints rebuilt, by endpoint.
    pub api_rebuilds: Family<EndpointLabels, Counter>,
    /// Operator requests refused (not loopback and no valid token).
    pub api_refused: Counter,
    /// WebSocket connections the server admits at once: `--max-connections`, or less when the
    /// file-descriptor limit allows fewer.
    pub max_connections: Gauge,
    /// Cluster mode's figures (all 0 on a single node).
    pub cluster: ClusterMetrics,
    /// Agones SDK requests that failed (no sidecar, an error answer), by call.
    pub agones_errors: Family<AgonesLabels, Counter>,
    /// Agones Health reports withheld because a room stopped ticking.
    pub agones_withheld: Counter,
    rooms: Mutex<BTreeMap<RoomId, Arc<RoomStats>>>,
}

/// Label of `tickroom_cluster_rooms`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabels {
    /// The node's id.
    pub node: String,
}

/// What cluster mode counts: the directory as this node last saw it, and this node's traffic
/// with it.
#[derive(Default)]
pub struct ClusterMetrics {
    /// Live nodes in the directory, at this node's last lease renewal.
    pub nodes: Gauge,
    /// Rooms per node in the directory, at this node's last lease renewal.
    pub rooms: Family<NodeLabels, Gauge>,
    /// Seats this node reserved in other nodes' rooms (tickets issued).
    pub reservations: Counter,
    /// Clients sent to another node with a `Redirect`.
    pub redirects: Counter,
    /// Tickets redeemed here.
    pub tickets_redeemed: Counter,
    /// Directory operations that failed (Redis unreachable, timed out or erring).
    pub redis_errors: Counter,
    /// Registrations of this node (the first, and each after its lease lapsed or Redis lost it).
    pub registrations: Counter,
    /// Nodes this node removed from the directory because their lease lapsed.
    pub reaped_nodes: Counter,
}

impl Default for Stats {
    fn default() -> Self {
        let mut s = Stats {
            registry: Registry::with_prefix("tickroom"),
            sessions_open: Gauge::default(),
            sessions_total: Counter::default(),
            messages_in: Counter::default(),
            bytes_in: Counter::default(),
            messages_out: Counter::default(),
            bytes_out: Counter::default(),
            closes: Family::default(),
            refused: Family::default(),
            joins_refused: Family::default(),
            rate_limited: Counter::default(),
            inputs_dropped: Counter::default(),
            rooms_open: Gauge::default(),
            ticks: Counter::default(),
            late_ticks: Counter::default(),
            overruns: Counter::default(),
            // 10 µs to about 80 ms.
            tick_duration: Histogram::new(exponential_buckets(1e-5, 2.0, 14)),
            resyncs: Counter::default(),
            skipped_sends: Counter::default(),
            slow_kicks: Counter::default(),
            room_failures: Counter::default(),
            stalled_closes: Counter::default(),
            backlog_closes: Counter::default(),
            chat_limited: Counter::default(),
            chat_dropped: Counter::default(),
            recording_errors: Counter::default(),
            api_rebuilds: Family::default(),
            api_refused: Counter::default(),
            max_connections: Gauge::default(),
            cluster: ClusterMetrics::default(),
            agones_errors: Family::default(),
            agones_withheld: Counter::default(),
            rooms: Mutex::new(BTreeMap::new()),
        };
        // Every labelled series a dashboard or alert may name exists from the start, at 0
        // (creating the series is the point; the returned guard is released at once).
        for code in tickroom_shared::CloseCode::ALL {
            drop(s.closes.get_or_create(&CloseLabels { code: code as u16 }));
        }
        let reasons = crate::admission::Refusal::ALL.map(crate::admission::Refusal::label);
        for reason in reasons.into_iter().chain([SHUTTING_DOWN]) {
            drop(s.refused.get_or_create(&RefusedLabels { reason }));
        }
        for endpoint in CACHED_ENDPOINTS {
            drop(s.api_rebuilds.get_or_create(&EndpointLabels { endpoint }));
        }
        for call in crate::agones::Call::ALL.map(crate::agones::Call::label) {
            drop(s.agones_errors.get_or_create(&AgonesLabels { call }));
        }
        s.registry.register(
            "sessions_open",
            "WebSocket sessions open now",
            s.sessions_open.clone(),
        );
        let c = &s.cluster;
        let r = &mut s.registry;
        r.register(
            "cluster_nodes",
            "Live nodes in the cluster directory",
            c.nodes.clone(),
        );
        r.register(
            "cluster_rooms",
            "Rooms in the cluster directory, by node",
            c.rooms.clone(),
        );
        r.register(
            "cluster_reservations",
            "Seats reserved in other nodes' rooms",
            c.reservations.clone(),
        );
        r.register(
            "cluster_redirects",
            "Clients redirected to another node",
            c.redirects.clone(),
        );
        r.register(
            "cluster_tickets_redeemed",
            "Seat tickets redeemed here",
            c.tickets_redeemed.clone(),
        );
        r.register(
            "cluster_redis_errors",
            "Directory operations that failed",
            c.redis_errors.clone(),
        );
        r.register(
            "cluster_registrations",
            "Registrations of this node in the directory",
            c.registrations.clone(),
        );
        r.register(
            "cluster_reaped_nodes",
            "Nodes removed from the directory after their lease lapsed",
            c.reaped_nodes.clone(),
        );
        s.registry.register(
            "sessions",
            "WebSocket sessions opened",
            s.sessions_total.clone(),
        );
        s.registry.register(
            "messages_in",
            "Client messages received",
            s.messages_in.clone(),
        );
        s.registry.register(
            "bytes_in",
            "Client payload bytes received",
            s.bytes_in.clone(),
        );
        s.registry.register(
            "messages_out",
            "Server messages sent",
            s.messages_out.clone(),
        );
        s.registry.register(
            "bytes_out",
            "Server payload bytes sent",
            s.bytes_out.clone(),
        );
        s.registry.register(
            "closes",
            "Connections closed by the server, by code",
            s.closes.clone(),
        );
        s.registry.register(
            "upgrades_refused",
            "Upgrades refused, by reason",
            s.refused.clone(),
        );
        for reason in JOIN_REFUSALS {
            // Creating the series is the point; the guard it returns is not needed.
            let _ = s.joins_refused.get_or_create(&JoinRefusedLabels { reason });
        }
        s.registry.register(
            "joins_refused",
            "Joins refused by an address's budget (rooms, creations, seats) or the room limit, by reason",
            s.joins_refused.clone(),
        );
        s.registry.register(
            "rate_limited",
            "Messages over the per-connection rate",
            s.rate_limited.clone(),
        );
        s.registry.register(
            "inputs_dropped",
            "Inputs dropped on full room queues",
            s.inputs_dropped.clone(),
        );
        s.registry
            .register("rooms_open", "Rooms open now", s.rooms_open.clone());
        s.registry
            .register("ticks", "Room ticks run", s.ticks.clone());
        s.registry.register(
            "late_ticks",
            "Ticks started over a tenth of a period late",
            s.late_ticks.clone(),
        );
        s.registry.register(
            "tick_overruns",
            "Ticks started a period or more late",
            s.overruns.clone(),
        );
        s.registry.register(
            "tick_duration_seconds",
            "Work per tick",
            s.tick_duration.clone(),
        );
        s.registry.register(
            "resyncs",
            "Keyframes sent to resync connections",
            s.resyncs.clone(),
        );
        s.registry.register(
            "skipped_deltas",
            "Deltas skipped for full connection queues",
            s.skipped_sends.clone(),
        );
        s.registry.register(
            "slow_kicks",
            "Connections dropped as too slow",
            s.slow_kicks.clone(),
        );
        s.registry.register(
            "room_failures",
            "Rooms closed by a game panic",
            s.room_failures.clone(),
        );
        s.registry.register(
            "stalled_closes",
            "Connections shut down because their session stopped running",
            s.stalled_closes.clone(),
        );
        s.registry.register(
            "backlog_closes",
            "Connections shut down because their socket kept unsent data",
            s.backlog_closes.clone(),
        );
        s.registry.register(
            "chat_limited",
            "Chat lines refused by the per-player chat rate",
            s.chat_limited.clone(),
        );
        s.registry.register(
            "chat_dropped",
            "Chat lines dropped for members that could not take them",
            s.chat_dropped.clone(),
        );
        s.registry.register(
            "recording_errors",
            "Room recordings stopped by a write error",
            s.recording_errors.clone(),
        );
        s.registry.register(
            "api_rebuilds",
            "Cached HTTP bodies rebuilt, by endpoint",
            s.api_rebuilds.clone(),
        );
        s.registry.register(
            "api_refused",
            "Operator requests refused",
            s.api_refused.clone(),
        );
        s.registry.register(
            "max_connections",
            "WebSocket connections admitted at once (after the descriptor limit)",
            s.max_connections.clone(),
        );
        s.registry.register(
            "agones_errors",
            "Agones SDK requests that failed, by call",
            s.agones_errors.clone(),
        );
        s.registry.register(
            "agones_health_withheld",
            "Agones Health reports withheld because a room stopped ticking",
            s.agones_withheld.clone(),
        );
        s
    }
}

/// One room's counters, for `/api/stats`; every update also feeds the server-wide metrics.
pub struct RoomStats {
    id: RoomId,
    global: Arc<Stats>,
    ticks: AtomicU64,
    late_ticks: AtomicU64,
    overruns: AtomicU64,
    players: AtomicU64,
    /// The seated players, for the Agones `players` list; written on seat changes only.
    seated: Mutex<Vec<PlayerId>>,
    skipped_sends: AtomicU64,
    resyncs: AtomicU64,
    slow_kicks: AtomicU64,
    last_delta_bytes: AtomicU64,
    last_snapshot_bytes: AtomicU64,
    work_us: AtomicU64,
    lateness_us: Mutex<HdrHistogram<u64>>,
    /// When the room opened, for its age on the admin page.
    opened: Instant,
    /// Payload bytes of the inputs, commands and chat its members sent, since it opened.
    bytes_in: AtomicU64,
    /// Payload bytes the room queued to its members, since it opened.
    bytes_out: AtomicU64,
    /// Tick lateness since the admin monitor last took it ([`RoomStats::take_recent`]): the
    /// live charts need the last second, which the lifetime histogram cannot give.
    recent_lateness_us: Mutex<HdrHistogram<u32>>,
}

/// Lateness above this is clamped; a tick a minute late is already a disaster.
const MAX_TRACKED_US: u64 = 60_000_000;

/// An empty histogram of recent lateness: 2 significant digits (1 %) keep it at about 10 KiB,
/// so a thousand rooms cost 10 MiB; the bounds are fixed, so creation cannot fail.
pub fn recent_lateness_histogram() -> HdrHistogram<u32> {
    HdrHistogram::new_with_bounds(1, MAX_TRACKED_US, 2).expect("valid histogram bounds")
}

impl RoomStats {
    /// Records one tick that started `lateness` after its schedule, with a period of `period`.
    pub fn record_tick(&self, lateness: Duration, period: Duration) {
        self.ticks.fetch_add(1, Relaxed);
        self.global.ticks.inc();
        if lateness * 10 > period {
            self.late_ticks.fetch_add(1, Relaxed);
            self.global.late_ticks.inc();
        }
        if lateness >= period {
            self.overruns.fetch_add(1, Relaxed);
            self.global.overruns.inc();
        }
        let us = (lateness.as_micros() as u64).clamp(1, MAX_TRACKED_US);
        // A poisoned lock only means another thread panicked mid-update; the data is still usable.
        let mut h = self
            .lateness_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Cannot fail: the value is clamped into the histogram's bounds.
        let _ = h.record(us);
        drop(h);
        let mut recent = self
            .recent_lateness_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Cannot fail: clamped as above. A count that would overflow u32 saturates.
        let _ = recent.record(us);
    }

    /// Records one tick's traffic: payload bytes the members sent (taken from the inbox and
    /// chat) and bytes queued to them. One call per tick, so the counters cost the room thread
    /// two atomic additions per tick, not per member.
    pub fn record_traffic(&self, bytes_in: u64, bytes_out: u64) {
        if bytes_in > 0 {
            self.bytes_in.fetch_add(bytes_in, Relaxed);
        }
        if bytes_out > 0 {
            self.bytes_out.fetch_add(bytes_out, Relaxed);
        }
    }

    /// The room's id.
    pub fn id(&self) -> RoomId {
        self.id
    }

    /// How long the room has been open.
    pub fn age(&self) -> Duration {
        self.opened.elapsed()
    }

    /// Payload bytes in and out since the room opened (see [`RoomStats::record_traffic`]).
    pub fn traffic(&self) -> (u64, u64) {
        (self.bytes_in.load(Relaxed), self.bytes_out.load(Relaxed))
    }

    /// Ticks, late ticks, skipped sends, resyncs and slow kicks since the room opened, and the
    /// seats taken now: [`RoomStats::report`] without its percentiles, which cost a walk over
    /// the lifetime histogram (the admin monitor reads every room every second).
    pub fn counts(&self) -> RoomCounts {
        RoomCounts {
            ticks: self.ticks.load(Relaxed),
            late_ticks: self.late_ticks.load(Relaxed),
            skipped_sends: self.skipped_sends.load(Relaxed),
            resyncs: self.resyncs.load(Relaxed),
            slow_kicks: self.slow_kicks.load(Relaxed),
            players: self.players.load(Relaxed),
        }
    }

    /// The lateness of the ticks since the last call, added to `all` (the server-wide window)
    /// and summarised for this room; the room's window starts again empty. Only the admin
    /// monitor calls it, once a second.
    pub fn take_recent(&self, all: &mut HdrHistogram<u32>) -> RecentLateness {
        let mut recent = self
            .recent_lateness_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let summary = RecentLateness {
            ticks: recent.len(),
            p99_us: recent.value_at_quantile(0.99),
            max_us: recent.max(),
        };
        if !recent.is_empty() {
            // Cannot fail: both histograms have the same bounds (recent_lateness_histogram).
            let _ = all.add(&*recent);
            recent.reset();
        }
        summary
    }

    /// Records the work of one tick.
    pub fn record_work(&self, work: Duration) {
        self.work_us.fetch_add(work.as_micros() as u64, Relaxed);
        self.global.tick_duration.observe(work.as_secs_f64());
    }

    /// Records the sizes of the encoded delta or snapshot.
    pub fn record_sizes(&self, delta: Option<usize>, snapshot: Option<usize>) {
        if let Some(d) = delta {
            self.last_delta_bytes.store(d as u64, Relaxed);
        }
        if let Some(s) = snapshot {
            self.last_snapshot_bytes.store(s as u64, Relaxed);
        }
    }

    /// A send was skipped for a full queue.
    pub fn skipped(&self) {
        self.skipped_sends.fetch_add(1, Relaxed);
        self.global.skipped_sends.inc();
    }

    /// A keyframe resynced a connection.
    pub fn resynced(&self) {
        self.resyncs.fetch_add(1, Relaxed);
        self.global.resyncs.inc();
    }

    /// A connection was dropped as too slow.
    pub fn slow_kick(&self) {
        self.slow_kicks.fetch_add(1, Relaxed);
        self.global.slow_kicks.inc();
    }

    /// The seats taken now (held ones included). Called on seat changes, never per tick.
    pub fn set_players(&self, players: impl Iterator<Item = PlayerId>) {
        let mut seated = self.seated.lock().unwrap_or_else(PoisonError::into_inner);
        seated.clear();
        seated.extend(players);
        self.players.store(seated.len() as u64, Relaxed);
    }

    /// A serializable copy of the counters.
    pub fn report(&self) -> RoomReport {
        let h = self
            .lateness_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        RoomReport {
            id: self.id,
            ticks: self.ticks.load(Relaxed),
            late_ticks: self.late_ticks.load(Relaxed),
            overruns: self.overruns.load(Relaxed),
            players: self.players.load(Relaxed),
            skipped_sends: self.skipped_sends.load(Relaxed),
            resyncs: self.resyncs.load(Relaxed),
            slow_kicks: self.slow_kicks.load(Relaxed),
            last_delta_bytes: self.last_delta_bytes.load(Relaxed),
            last_snapshot_bytes: self.last_snapshot_bytes.load(Relaxed),
            work_us: self.work_us.load(Relaxed),
            lateness_p50_us: h.value_at_quantile(0.5),
            lateness_p99_us: h.value_at_quantile(0.99),
            lateness_max_us: h.max(),
        }
    }
}

/// A room's counters since it opened (see [`RoomStats::counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoomCounts {
    /// Ticks run.
    pub ticks: u64,
    /// Ticks more than a tenth of a period late.
    pub late_ticks: u64,
    /// Deltas skipped for full queues.
    pub skipped_sends: u64,
    /// Keyframes sent to resync members.
    pub resyncs: u64,
    /// Members dropped as too slow.
    pub slow_kicks: u64,
    /// Seats taken now.
    pub players: u64,
}

/// One room's tick lateness over a short window (the admin page's last second).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecentLateness {
    /// Ticks in the window.
    pub ticks: u64,
    /// 99th percentile, microseconds (0 without ticks).
    pub p99_us: u64,
    /// Worst, microseconds (0 without ticks).
    pub max_us: u64,
}

/// A room's counters as served by `/api/stats`.
#[derive(Clone, Debug, Serialize)]
pub struct RoomReport {
    /// The room.
    pub id: RoomId,
    /// Ticks run since the room opened.
    pub ticks: u64,
    /// Ticks more than a tenth of a period late.
    pub late_ticks: u64,
    /// Ticks a full period or more late.
    pub overruns: u64,
    /// Seated players.
    pub players: u64,
    /// Deltas skipped for full session queues.
    pub skipped_sends: u64,
    /// Keyframes sent to resync sessions.
    pub resyncs: u64,
    /// Sessions dropped as too slow.
    pub slow_kicks: u64,
    /// Size of the last delta, bytes.
    pub last_delta_bytes: u64,
    /// Size of the last snapshot, bytes.
    pub last_snapshot_bytes: u64,
    /// Total tick work (step, diff, encode, fan-out), microseconds.
    pub work_us: u64,
    /// Median tick start lateness, microseconds.
    pub lateness_p50_us: u64,
    /// 99th percentile tick start lateness, microseconds.
    pub lateness_p99_us: u64,
    /// Worst tick start lateness, microseconds.
    pub lateness_max_us: u64,
}

/// Everything `/api/stats` serves.
#[derive(Clone, Debug, Serialize)]
pub struct StatsReport {
    /// Sessions open now.
    pub sessions_open: i64,
    /// Sessions opened since start.
    pub sessions_total: u64,
    /// Client messages received.
    pub messages_in: u64,
    /// Client bytes received.
    pub bytes_in: u64,
    /// Messages sent.
    pub messages_out: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Messages refused by the rate limit.
    pub rate_limited: u64,
    /// Inputs dropped on full room queues.
    pub inputs_dropped: u64,
    /// Rooms open now.
    pub rooms_open: usize,
    /// Per-room counters.
    pub rooms: Vec<RoomReport>,
}

impl Stats {
    /// Registers a new room's counters.
    pub fn add_room(self: &Arc<Self>, id: RoomId) -> Arc<RoomStats> {
        let room = Arc::new(RoomStats {
            id,
            global: self.clone(),
            ticks: AtomicU64::new(0),
            late_ticks: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            players: AtomicU64::new(0),
            seated: Mutex::new(Vec::new()),
            skipped_sends: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            slow_kicks: AtomicU64::new(0),
            last_delta_bytes: AtomicU64::new(0),
            last_snapshot_bytes: AtomicU64::new(0),
            work_us: AtomicU64::new(0),
            // 3 significant digits up to a minute: fixed bounds, so creation cannot fail.
            lateness_us: Mutex::new(
                HdrHistogram::new_with_bounds(1, MAX_TRACKED_US, 3)
                    .expect("valid histogram bounds"),
            ),
            opened: Instant::now(),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            recent_lateness_us: Mutex::new(recent_lateness_histogram()),
        });
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, room.clone());
        self.rooms_open.inc();
        room
    }

    /// Every open room's counters, by id (for the admin monitor).
    pub fn rooms(&self) -> Vec<Arc<RoomStats>> {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Forgets a closed room.
    pub fn remove_room(&self, id: RoomId) {
        if self
            .rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
            .is_some()
        {
            self.rooms_open.dec();
        }
    }

    /// Counts a close by the server.
    pub fn closed(&self, code: u16) {
        self.closes.get_or_create(&CloseLabels { code }).inc();
    }

    /// Counts a refused upgrade.
    pub fn refuse(&self, reason: &'static str) {
        self.refused.get_or_create(&RefusedLabels { reason }).inc();
    }

    /// Counts a join refused by an address's budget or the room limit.
    pub fn refuse_join(&self, reason: &'static str) {
        self.joins_refused
            .get_or_create(&JoinRefusedLabels { reason })
            .inc();
    }

    /// Every open room's tick count, for telling a stuck room thread.
    pub fn room_ticks(&self) -> Vec<(RoomId, u64)> {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|r| (r.id, r.ticks.load(Relaxed)))
            .collect()
    }

    /// Every seated player as `ROOM.PLAYER` (the prefix of its reconnect token), by room and
    /// player id.
    pub fn seated_players(&self) -> Vec<String> {
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let mut players = Vec::new();
        for room in rooms.values() {
            let seated = room.seated.lock().unwrap_or_else(PoisonError::into_inner);
            players.extend(seated.iter().map(|p| format!("{}.{p}", room.id)));
        }
        players
    }

    /// The metrics in Prometheus text format.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// A serializable copy of the JSON view.
    pub fn report(&self) -> StatsReport {
        let rooms: Vec<RoomReport> = self
            .rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|r| r.report())
            .collect();
        StatsReport {
            sessions_open: self.sessions_open.get(),
            sessions_total: self.sessions_total.get(),
            messages_in: self.messages_in.get(),
            bytes_in: self.bytes_in.get(),
            messages_out: self.messages_out.get(),
            bytes_out: self.bytes_out.get(),
            rate_limited: self.rate_limited.get(),
            inputs_dropped: self.inputs_dropped.get(),
            rooms_open: rooms.len(),
            rooms,
        }
    }
}
