//! A swarm of bots: thousands of clients on a few threads, measured per WORKLOAD.md.
//!
//! Each bot thread ("shard") runs a single-threaded tokio runtime with its bots as local tasks,
//! so a bot's measurements go into its shard's plain (non-atomic) metrics and no two threads
//! touch the same cache line per message. The caller drives the phases: start (the bots ramp in),
//! [`Swarm::wait_joined`], warm-up, [`Swarm::begin_window`] / [`Swarm::end_window`], optionally
//! [`Swarm::verify`], then [`Swarm::finish`] for the [`Report`]. The benchmark uses the same calls
//! so it can sample the server exactly at the window's edges.
//!
//! One bot is one task with one socket: a `select!` over its input timer, its ping timer, phase
//! changes and the next frame. Latency is measured per WORKLOAD.md: every input's send time is
//! kept until a delta shows the bot's own entity with an ack at or past its sequence number.

use crate::behavior::{Behavior, Walk};
use crate::connection::{ConnectOptions, Connection, ConnectionError};
use crate::cpu::ProcessSample;
use crate::player::{Player, PlayerEvent};
use crate::report::{
    BotCpu, ByteRate, Chain, ClientCounts, DeltaRate, InputRate, Percentiles, Report, RunInfo,
    Verify, REPORT_FORMAT,
};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use thiserror::Error;
use tickroom_shared::arena::ArenaInput;
use tickroom_shared::{
    ClientMsg, DecodeLimits, InputSeq, RoomId, ServerMsg, Tick, World, PROTOCOL_VERSION,
};
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

/// Largest latency a histogram tracks, microseconds (a minute); larger samples are clamped.
const MAX_TRACKED_US: u64 = 60_000_000;

/// How often each bot pings for a round-trip sample.
pub const PING_INTERVAL: Duration = Duration::from_secs(1);

/// Inputs awaiting their ack that a bot keeps; older ones are forgotten (and counted) so a server
/// that stops acking cannot grow a bot's memory without bound.
const MAX_PENDING: usize = 1024;

/// WebSocket read buffer per bot: a 50-player delta is under 1 KiB; the buffer grows if needed.
const READ_BUFFER: usize = 4096;

/// How long the replica check waits for every bot to stop, and then for every bot to capture.
/// Generous: it only bounds a broken run, a healthy one takes a few ticks.
const VERIFY_PATIENCE: Duration = Duration::from_secs(20);

/// Where the bots sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Quick match: the server fills rooms up to its capacity.
    Quick,
    /// Every bot joins this room.
    Room(RoomId),
    /// Rooms of this many bots: the first of every group creates a room, the others join it.
    Groups(u32),
    /// Connect only, never join, and count frames: for the raw fan-out floor, not a tickroom server.
    Listen,
}

impl std::fmt::Display for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Placement::Quick => f.write_str("quick match"),
            Placement::Room(id) => write!(f, "room {id}"),
            Placement::Groups(n) => write!(f, "rooms of {n}"),
            Placement::Listen => f.write_str("listen only"),
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct SwarmConfig {
    /// Server WebSocket URL, e.g. `ws://127.0.0.1:8080/ws`.
    pub url: String,
    /// Number of clients.
    pub clients: usize,
    /// Where they sit.
    pub placement: Placement,
    /// What they do.
    pub behavior: Behavior,
    /// Inputs per second per client (WORKLOAD.md: 30).
    pub input_hz: f64,
    /// Joins per second while ramping up.
    pub ramp_per_s: f64,
    /// Bot threads.
    pub threads: usize,
    /// Seed: bot `i` draws from `seed + i`, so a run's inputs are reproducible.
    pub seed: u64,
    /// How long one join may take (connect, welcome, snapshot) before it counts as failed.
    pub join_timeout: Duration,
    /// Warm-up the caller intends, seconds (only echoed in the report).
    pub warmup_s: f64,
}

impl SwarmConfig {
    /// Defaults per WORKLOAD.md for `clients` bots against `url`: quick match, arena walk at 30 Hz.
    pub fn new(url: impl Into<String>, clients: usize) -> SwarmConfig {
        SwarmConfig {
            url: url.into(),
            clients,
            placement: Placement::Quick,
            behavior: Behavior::Arena,
            input_hz: 30.0,
            ramp_per_s: 500.0,
            threads: 1,
            seed: 1,
            join_timeout: Duration::from_secs(10),
            warmup_s: 5.0,
        }
    }
}

/// Why a swarm could not start.
#[derive(Debug, Error)]
pub enum SwarmError {
    /// A parameter is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A bot thread could not be started.
    #[error("cannot start a bot thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Phases, in order; bots act on every phase they pass, even if they see only the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Ramp and warm-up: play, do not record.
    Warmup,
    /// The measurement window: play and record.
    Window,
    /// After the window: play, do not record.
    Cooldown,
    /// Stand still: send one (0, 0) input, then no more inputs; report the tick at which the
    /// server acked it.
    Frozen,
    /// Copy the replica once it reaches its room's capture tick (every bot of the room stopped).
    Capture,
    /// Leave and end.
    Leave,
}

fn histogram() -> Histogram<u64> {
    // Fixed, valid bounds (1 µs to a minute, 3 digits): creation cannot fail.
    Histogram::new_with_bounds(1, MAX_TRACKED_US, 3).expect("valid histogram bounds")
}

fn record_us(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    h.saturating_record(us.clamp(1, MAX_TRACKED_US));
}

/// Counters everyone may read at any time (progress display, phase waits).
#[derive(Default)]
struct Live {
    joined: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    /// Joined and still connected.
    connected: AtomicU64,
    /// Bots whose stop input the server acked (after [`Phase::Frozen`]).
    stopped: AtomicU64,
    captured: AtomicU64,
}

/// One shard's live view, read by [`Swarm::progress`].
struct ShardLive {
    messages: AtomicU64,
    /// Input-to-ack latency since the last progress reading.
    recent: Mutex<Histogram<u64>>,
}

/// A replica copied for the check.
struct Capture {
    room: RoomId,
    tick: Option<Tick>,
    world: World,
    /// The bot was waiting for a keyframe: its replica is known to be stale.
    stale: bool,
}

/// State shared by every thread of one swarm.
struct Shared {
    config: SwarmConfig,
    /// Reference instant: the ramp schedule and ping echo values count from here.
    t0: Instant,
    live: Live,
    /// Room of each group (for [`Placement::Groups`]), set by the group's first bot.
    groups: Mutex<HashMap<usize, RoomId>>,
    group_ready: Notify,
    captures: Mutex<Vec<Capture>>,
    /// Per room, the latest tick at which a bot saw its stop acked: from that tick on, the room's
    /// world is static, so every replica at or past it must equal the server's world.
    still_from: Mutex<HashMap<RoomId, Tick>>,
}

/// What one shard measured; merged into the report.
struct Metrics {
    inputs_sent: u64,
    deltas: u64,
    payload: u64,
    wire: u64,
    latency: Histogram<u64>,
    rtt: Histogram<u64>,
    interval: Histogram<u64>,
    chain: Chain,
    forgotten_inputs: u64,
    errors: BTreeMap<String, u64>,
}

impl Metrics {
    fn new() -> Metrics {
        Metrics {
            inputs_sent: 0,
            deltas: 0,
            payload: 0,
            wire: 0,
            latency: histogram(),
            rtt: histogram(),
            interval: histogram(),
            chain: Chain::default(),
            forgotten_inputs: 0,
            errors: BTreeMap::new(),
        }
    }

    fn merge(&mut self, other: Metrics) {
        self.inputs_sent += other.inputs_sent;
        self.deltas += other.deltas;
        self.payload += other.payload;
        self.wire += other.wire;
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.rtt.add(&other.rtt);
        let _ = self.interval.add(&other.interval);
        self.chain.gaps += other.chain.gaps;
        self.chain.resync_requests += other.chain.resync_requests;
        self.chain.keyframes += other.chain.keyframes;
        self.chain.unresolved += other.chain.unresolved;
        self.forgotten_inputs += other.forgotten_inputs;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }

    fn error(&mut self, reason: String) {
        *self.errors.entry(reason).or_default() += 1;
    }
}

/// A moment's view of the swarm, for a progress display.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// Clients that joined.
    pub joined: u64,
    /// Clients that failed to join.
    pub failed: u64,
    /// Joined clients whose connection ended early.
    pub dropped: u64,
    /// Clients connected now.
    pub connected: u64,
    /// Messages received since the start, all bots.
    pub messages: u64,
    /// Input-to-ack p99 since the previous call, milliseconds (`None` without samples).
    pub recent_p99_ms: Option<f64>,
}

/// A running swarm.
pub struct Swarm {
    shared: Arc<Shared>,
    phase: watch::Sender<Phase>,
    shards: Vec<(Arc<ShardLive>, oneshot::Receiver<Metrics>)>,
    threads: Vec<std::thread::JoinHandle<()>>,
    window: Option<(Instant, ProcessSample)>,
    window_end: Option<(Instant, ProcessSample)>,
    in_window: u64,
    verify: Option<Verify>,
}

impl Swarm {
    /// Starts the bot threads; the bots join at the ramp rate from now on.
    pub fn start(config: SwarmConfig) -> Result<Swarm, SwarmError> {
        if config.clients == 0 || config.threads == 0 {
            return Err(SwarmError::Config(
                "clients and threads must be at least 1".into(),
            ));
        }
        if !(config.input_hz > 0.0 && config.input_hz <= 1000.0) {
            return Err(SwarmError::Config(
                "input rate must be in (0, 1000] Hz".into(),
            ));
        }
        if config.ramp_per_s <= 0.0 || !config.ramp_per_s.is_finite() {
            return Err(SwarmError::Config("ramp must be a positive rate".into()));
        }
        if let Placement::Groups(0) = config.placement {
            return Err(SwarmError::Config("room size must be at least 1".into()));
        }
        let threads = config.threads;
        let shared = Arc::new(Shared {
            config,
            t0: Instant::now(),
            live: Live::default(),
            groups: Mutex::new(HashMap::new()),
            group_ready: Notify::new(),
            captures: Mutex::new(Vec::new()),
            still_from: Mutex::new(HashMap::new()),
        });
        let (phase, phase_rx) = watch::channel(Phase::Warmup);
        let mut shards = Vec::new();
        let mut handles = Vec::new();
        for shard in 0..threads {
            let live = Arc::new(ShardLive {
                messages: AtomicU64::new(0),
                recent: Mutex::new(histogram()),
            });
            let (tx, rx) = oneshot::channel();
            let (shared, live2, phase_rx) = (shared.clone(), live.clone(), phase_rx.clone());
            let handle = std::thread::Builder::new()
                .name(format!("bots-{shard}"))
                .spawn(move || run_shard(shard, threads, shared, live2, phase_rx, tx))?;
            shards.push((live, rx));
            handles.push(handle);
        }
        Ok(Swarm {
            shared,
            phase,
            shards,
            threads: handles,
            window: None,
            window_end: None,
            in_window: 0,
            verify: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SwarmConfig {
        &self.shared.config
    }

    /// Current counts and the recent input-to-ack p99 (which this call resets).
    pub fn progress(&self) -> Progress {
        let live = &self.shared.live;
        let mut recent = histogram();
        let mut messages = 0;
        for (shard, _) in &self.shards {
            messages += shard.messages.load(Relaxed);
            let mut h = shard.recent.lock().unwrap_or_else(PoisonError::into_inner);
            // Same bounds on both sides, so adding cannot fail.
            let _ = recent.add(&*h);
            h.reset();
        }
        Progress {
            joined: live.joined.load(Relaxed),
            failed: live.failed.load(Relaxed),
            dropped: live.dropped.load(Relaxed),
            connected: live.connected.load(Relaxed),
            messages,
            recent_p99_ms: (!recent.is_empty())
                .then(|| recent.value_at_quantile(0.99) as f64 / 1000.0),
        }
    }

    /// Waits until every client joined or failed, or `limit` passed; true if all are accounted for.
    pub async fn wait_joined(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let clients = self.shared.config.clients as u64;
        loop {
            let live = &self.shared.live;
            if live.joined.load(Relaxed) + live.failed.load(Relaxed) >= clients {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the measurement window.
    pub fn begin_window(&mut self) {
        let cpu = ProcessSample::own().unwrap_or(ProcessSample {
            cpu: Duration::ZERO,
            rss_bytes: 0,
        });
        self.in_window = self.shared.live.connected.load(Relaxed);
        self.window = Some((Instant::now(), cpu));
        self.phase.send_replace(Phase::Window);
    }

    /// Ends the measurement window (the bots keep playing until [`Swarm::finish`]).
    pub fn end_window(&mut self) {
        self.phase.send_replace(Phase::Cooldown);
        let cpu = ProcessSample::own().unwrap_or(ProcessSample {
            cpu: Duration::ZERO,
            rss_bytes: 0,
        });
        self.window_end = Some((Instant::now(), cpu));
    }

    /// Checks replica equality: every bot sends a (0, 0) input and stops; once the server acked
    /// every stop, the rooms' worlds are static (nobody moves, so nobody collects an orb); every
    /// bot copies its replica as soon as it is at or past the tick its whole room was still; then
    /// one observer per room joins and its join snapshot (the server's own world) is compared with
    /// every copy. Needs a free seat in each room (e.g. [`Placement::Groups`] below
    /// the server's capacity); rooms without one count as unchecked. Ends the window if running.
    pub async fn verify(&mut self) -> Verify {
        if self.window.is_some() && self.window_end.is_none() {
            self.end_window();
        }
        let live = &self.shared.live;
        let all = |n: &AtomicU64| n.load(Relaxed) >= live.connected.load(Relaxed);
        self.phase.send_replace(Phase::Frozen);
        let deadline = Instant::now() + VERIFY_PATIENCE;
        while !all(&live.stopped) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.phase.send_replace(Phase::Capture);
        let deadline = Instant::now() + VERIFY_PATIENCE;
        while !all(&live.captured) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let captures: Vec<Capture> = std::mem::take(
            &mut *self
                .shared
                .captures
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut verify = Verify {
            unchecked: live
                .connected
                .load(Relaxed)
                .saturating_sub(captures.len() as u64),
            ..Verify::default()
        };
        let mut by_room: BTreeMap<RoomId, Vec<Capture>> = BTreeMap::new();
        for c in captures {
            by_room.entry(c.room).or_default().push(c);
        }
        for (room, captures) in by_room {
            let Ok((tick, world)) = observe(&self.shared.config.url, room).await else {
                verify.unchecked += captures.len() as u64;
                continue;
            };
            verify.rooms += 1;
            for c in captures {
                if c.stale || c.tick.is_none() {
                    verify.unchecked += 1;
                    continue;
                }
                verify.checked += 1;
                // The world was static from before the capture on, so a replica at an earlier tick
                // must equal the observer's later snapshot exactly.
                if c.world == world && c.tick <= Some(tick) {
                    verify.equal += 1;
                } else {
                    verify.mismatched += 1;
                }
            }
        }
        self.verify = Some(verify.clone());
        verify
    }

    /// Makes every bot leave, waits for the bot threads and builds the report.
    pub async fn finish(mut self) -> Report {
        if self.window.is_some() && self.window_end.is_none() {
            self.end_window();
        }
        self.phase.send_replace(Phase::Leave);
        let mut metrics = Metrics::new();
        for (_, rx) in std::mem::take(&mut self.shards) {
            // A shard that panicked drops its sender; its bots are then missing from the counts.
            if let Ok(m) = rx.await {
                metrics.merge(m);
            }
        }
        for t in std::mem::take(&mut self.threads) {
            // The shard already sent its metrics (or panicked, reported above); joining only tidies.
            let _ = t.join();
        }
        self.report(metrics)
    }

    fn report(&self, m: Metrics) -> Report {
        let config = &self.shared.config;
        let live = &self.shared.live;
        let (window_s, cpu_s) = match (&self.window, &self.window_end) {
            (Some((t0, c0)), Some((t1, c1))) => (
                (*t1 - *t0).as_secs_f64(),
                c1.cpu.saturating_sub(c0.cpu).as_secs_f64(),
            ),
            _ => (0.0, 0.0),
        };
        let per_s = |n: u64| {
            if window_s > 0.0 {
                n as f64 / window_s
            } else {
                0.0
            }
        };
        let per_client_s = |n: u64| {
            if window_s > 0.0 && self.in_window > 0 {
                n as f64 / window_s / self.in_window as f64
            } else {
                0.0
            }
        };
        let nominal = if config.behavior.sends_inputs() && config.placement != Placement::Listen {
            self.in_window as f64 * config.input_hz
        } else {
            0.0
        };
        let sent_per_s = per_s(m.inputs_sent);
        let mut errors = m.errors;
        if m.forgotten_inputs > 0 {
            errors.insert("inputs never acked (forgotten)".into(), m.forgotten_inputs);
        }
        let mut report = Report {
            format: REPORT_FORMAT,
            run: RunInfo {
                url: config.url.clone(),
                placement: config.placement.to_string(),
                behavior: config.behavior,
                input_hz: config.input_hz,
                ramp_per_s: config.ramp_per_s,
                warmup_s: config.warmup_s,
                threads: config.threads,
                seed: config.seed,
            },
            clients: ClientCounts {
                requested: config.clients as u64,
                joined: live.joined.load(Relaxed),
                failed: live.failed.load(Relaxed),
                dropped: live.dropped.load(Relaxed),
                in_window: self.in_window,
            },
            window_s,
            inputs: InputRate {
                sent: m.inputs_sent,
                per_s: sent_per_s,
                nominal_per_s: nominal,
                ratio: if nominal > 0.0 {
                    sent_per_s / nominal
                } else {
                    1.0
                },
            },
            deltas: DeltaRate {
                received: m.deltas,
                per_client_per_s: per_client_s(m.deltas),
            },
            bytes: ByteRate {
                payload: m.payload,
                wire: m.wire,
                payload_per_client_per_s: per_client_s(m.payload),
                wire_per_client_per_s: per_client_s(m.wire),
            },
            latency_ms: Percentiles::from_us(&m.latency),
            rtt_ms: Percentiles::from_us(&m.rtt),
            delta_interval_ms: Percentiles::from_us(&m.interval),
            chain: m.chain,
            bot_cpu: BotCpu {
                seconds: cpu_s,
                cores: if window_s > 0.0 {
                    cpu_s / window_s
                } else {
                    0.0
                },
                us_per_delta: if m.deltas > 0 {
                    cpu_s * 1e6 / m.deltas as f64
                } else {
                    0.0
                },
            },
            verify: self.verify.clone(),
            errors,
            warnings: Vec::new(),
        };
        report.assess();
        report
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        // Dropped without finish (e.g. the caller failed): tell the bots to leave so the threads
        // end; nobody waits for them.
        self.phase.send_replace(Phase::Leave);
    }
}

/// Joins `room` as an observer and returns its join snapshot (the server's world), then leaves.
async fn observe(url: &str, room: RoomId) -> Result<(Tick, World), ConnectionError> {
    let mut conn = Connection::connect(url).await?;
    conn.send(&ClientMsg::<ArenaInput>::Join {
        version: PROTOCOL_VERSION,
        name: "observer".into(),
        room: Some(room),
        create: false,
        token: None,
    })
    .await?;
    let mut player = Player::new();
    let limit = Duration::from_secs(5);
    loop {
        match conn.recv_timeout(limit).await? {
            crate::Incoming::Msg(msg, _) => match player.handle(&msg) {
                PlayerEvent::Snapshot(tick) => {
                    let world = player.replica.world().clone();
                    // Leaving is a courtesy; the check already has what it needs.
                    let _ = conn.send(&ClientMsg::<ArenaInput>::Leave).await;
                    return Ok((tick, world));
                }
                PlayerEvent::Error(code, message) => {
                    return Err(ConnectionError::Request(format!(
                        "observer refused: {code:?} {message}"
                    )))
                }
                _ => {}
            },
            crate::Incoming::Closed(_) => {
                return Err(ConnectionError::Request(
                    "observer's connection closed".into(),
                ))
            }
        }
    }
}

fn run_shard(
    shard: usize,
    threads: usize,
    shared: Arc<Shared>,
    live: Arc<ShardLive>,
    phase: watch::Receiver<Phase>,
    done: oneshot::Sender<Metrics>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let mut m = Metrics::new();
            m.error(format!("bot thread runtime: {e}"));
            // The receiver only goes away if the swarm was dropped; nothing to report then.
            let _ = done.send(m);
            return;
        }
    };
    let metrics = Rc::new(RefCell::new(Metrics::new()));
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let mut tasks = Vec::new();
        for index in (shard..shared.config.clients).step_by(threads) {
            let bot = Bot {
                index,
                shared: shared.clone(),
                live: live.clone(),
                metrics: metrics.clone(),
                phase: phase.clone(),
            };
            tasks.push(tokio::task::spawn_local(bot.run()));
        }
        for t in tasks {
            // A bot that panicked is a bug; count it so the report shows it rather than hide it.
            if t.await.is_err() {
                metrics.borrow_mut().error("bot task panicked".into());
            }
        }
    });
    let m = std::mem::replace(&mut *metrics.borrow_mut(), Metrics::new());
    // The receiver only goes away if the swarm was dropped; nothing to report then.
    let _ = done.send(m);
}

/// One bot's fixed context.
struct Bot {
    index: usize,
    shared: Arc<Shared>,
    live: Arc<ShardLive>,
    metrics: Rc<RefCell<Metrics>>,
    phase: watch::Receiver<Phase>,
}

/// Why a bot ended before leaving.
enum End {
    Left,
    Dropped(String),
}

/// WebSocket frame header bytes for a server-to-client (unmasked) payload of `len` bytes.
fn header_len(len: usize) -> u64 {
    match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

impl Bot {
    async fn run(mut self) {
        let config = &self.shared.config;
        let start = self.shared.t0 + Duration::from_secs_f64(self.index as f64 / config.ramp_per_s);
        tokio::time::sleep_until(start).await;
        if *self.phase.borrow() >= Phase::Leave {
            return;
        }
        let joined = tokio::time::timeout(config.join_timeout, self.join()).await;
        let (conn, player) = match joined {
            Ok(Ok(joined)) => joined,
            Ok(Err(reason)) => return self.fail(reason),
            Err(_) => return self.fail("join timed out".into()),
        };
        let shared = self.shared.clone();
        let live = &shared.live;
        live.joined.fetch_add(1, Relaxed);
        live.connected.fetch_add(1, Relaxed);
        let end = self.play(conn, player).await;
        live.connected.fetch_sub(1, Relaxed);
        if let End::Dropped(reason) = end {
            live.dropped.fetch_add(1, Relaxed);
            self.metrics.borrow_mut().error(reason);
        }
    }

    /// Records that this bot's player stands still from the replica's tick on.
    fn report_still(&self, player: &Player) {
        if let (Some(seat), Some(tick)) = (&player.seat, player.replica.tick()) {
            let mut still = self
                .shared
                .still_from
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let t = still.entry(seat.room).or_insert(tick);
            *t = (*t).max(tick);
        }
        self.shared.live.stopped.fetch_add(1, Relaxed);
    }

    /// Copies the replica if it is at or past the tick from which its room is still; true if done.
    fn try_capture(&self, player: &Player) -> bool {
        let Some(seat) = &player.seat else {
            // No seat (listen mode): nothing to compare.
            self.shared.live.captured.fetch_add(1, Relaxed);
            return true;
        };
        let still = self
            .shared
            .still_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&seat.room)
            .copied();
        let tick = player.replica.tick();
        // Waiting for a keyframe: capture the stale state anyway, flagged, rather than wait forever.
        if !player.awaiting_resync && still.is_some_and(|s| tick.is_none_or(|t| t < s)) {
            return false;
        }
        self.shared
            .captures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Capture {
                room: seat.room,
                tick,
                world: player.replica.world().clone(),
                stale: player.awaiting_resync,
            });
        self.shared.live.captured.fetch_add(1, Relaxed);
        true
    }

    fn fail(&self, reason: String) {
        self.shared.live.failed.fetch_add(1, Relaxed);
        self.metrics.borrow_mut().error(reason);
    }

    /// Connects and takes a seat; returns once the join snapshot is applied.
    async fn join(&self) -> Result<(Connection, Player), String> {
        let config = &self.shared.config;
        let options = ConnectOptions {
            recv_buffer: None,
            read_buffer: Some(READ_BUFFER),
        };
        let mut conn = Connection::connect_opts(&config.url, options)
            .await
            .map_err(|e| format!("connect: {}", short(&e.to_string())))?;
        let mut player = Player::new();
        let (room, create, group) = match config.placement {
            Placement::Listen => return Ok((conn, player)),
            Placement::Quick => (None, false, None),
            Placement::Room(id) => (Some(id), false, None),
            Placement::Groups(size) => {
                let group = self.index / size as usize;
                if self.index.is_multiple_of(size as usize) {
                    (None, true, Some(group))
                } else {
                    (Some(self.group_room(group).await), false, None)
                }
            }
        };
        conn.send(&ClientMsg::<ArenaInput>::Join {
            version: PROTOCOL_VERSION,
            name: format!("bot{}", self.index),
            room,
            create,
            token: None,
        })
        .await
        .map_err(|e| format!("send join: {}", short(&e.to_string())))?;
        loop {
            let msg = match conn.recv().await {
                Ok(crate::Incoming::Msg(msg, _)) => msg,
                Ok(crate::Incoming::Closed(close)) => {
                    return Err(format!("closed while joining: {close:?}"))
                }
                Err(e) => return Err(format!("joining: {}", short(&e.to_string()))),
            };
            self.live.messages.fetch_add(1, Relaxed);
            match player.handle(&msg) {
                PlayerEvent::Welcomed => {
                    if let (Some(group), Some(seat)) = (group, &player.seat) {
                        self.shared
                            .groups
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(group, seat.room);
                        self.shared.group_ready.notify_waiters();
                    }
                }
                PlayerEvent::Snapshot(_) => return Ok((conn, player)),
                PlayerEvent::Error(code, message) => {
                    return Err(format!("join refused: {code:?} {message}"))
                }
                _ => {}
            }
        }
    }

    /// The room of `group`, once its first bot has it.
    async fn group_room(&self, group: usize) -> RoomId {
        loop {
            // Register interest before looking, so a notification between the two is not lost.
            let notified = self.shared.group_ready.notified();
            if let Some(room) = self
                .shared
                .groups
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&group)
            {
                return *room;
            }
            notified.await;
        }
    }

    /// Plays until told to leave or the connection ends.
    async fn play(&mut self, conn: Connection, mut player: Player) -> End {
        let config = &self.shared.config;
        let limits: DecodeLimits = conn.limits();
        let mut ws = conn.into_inner();
        let listen = config.placement == Placement::Listen;
        let mut rng = SmallRng::seed_from_u64(config.seed.wrapping_add(self.index as u64));
        let now = Instant::now();
        let input_period = Duration::from_secs_f64(1.0 / config.input_hz);
        // The input timer starts at a random phase within the first period (WORKLOAD.md).
        let offset = input_period.mul_f64(rng.random_range(0.0..1.0));
        let mut inputs = tokio::time::interval_at(now + offset, input_period);
        // A late generator skips inputs instead of bursting them, so the report shows the shortfall.
        inputs.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut sending = config.behavior.sends_inputs() && !listen;
        let walk_start = now + offset;
        let mut walk = Walk::new(&mut rng);
        let ping_offset = PING_INTERVAL.mul_f64(rng.random_range(0.0..1.0));
        let mut pings = tokio::time::interval_at(now + ping_offset, PING_INTERVAL);
        pings.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let chatty = config.behavior.chats() && !listen;
        let mut chats =
            tokio::time::interval_at(now + ping_offset / 2, crate::behavior::CHAT_PERIOD);
        chats.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut next_seq: u32 = 1;
        let mut pending: VecDeque<(u32, Instant)> = VecDeque::new();
        let mut last_delta: Option<Instant> = None;
        let mut phase = *self.phase.borrow_and_update();
        let mut captured = false;
        // The stop input's sequence number, once sent; `None` again after its ack was reported.
        let mut stop_seq: Option<u32> = None;
        let mut stop_reported = false;

        loop {
            let recording = phase == Phase::Window;
            tokio::select! {
                changed = self.phase.changed() => {
                    if changed.is_err() {
                        // The swarm is gone: leave quietly.
                        phase = Phase::Leave;
                    } else {
                        phase = *self.phase.borrow_and_update();
                    }
                    if phase >= Phase::Frozen && !stop_reported && stop_seq.is_none() {
                        if sending {
                            sending = false;
                            let stop = ClientMsg::Input { seq: InputSeq(next_seq), input: ArenaInput::default() };
                            stop_seq = Some(next_seq);
                            next_seq += 1;
                            if let Err(e) = send(&mut ws, &stop).await {
                                return End::Dropped(e);
                            }
                        } else {
                            // Never moved (idle, listen): already still.
                            stop_reported = true;
                            self.report_still(&player);
                        }
                    }
                    if phase >= Phase::Capture && !captured && !listen {
                        captured = self.try_capture(&player);
                    }
                    if phase >= Phase::Leave {
                        if player.awaiting_resync {
                            self.metrics.borrow_mut().chain.unresolved += 1;
                        }
                        if !listen {
                            // The server frees the seat at once; a failure here only means it is gone.
                            let _ = send(&mut ws, &ClientMsg::<ArenaInput>::Leave).await;
                        }
                        let _ = ws.close(None).await;
                        return End::Left;
                    }
                }
                _ = inputs.tick(), if sending => {
                    let input = walk.input(Instant::now().saturating_duration_since(walk_start), &mut rng);
                    let seq = next_seq;
                    next_seq += 1;
                    let at = Instant::now();
                    if let Err(e) = send(&mut ws, &ClientMsg::Input { seq: InputSeq(seq), input }).await {
                        return End::Dropped(e);
                    }
                    if pending.len() >= MAX_PENDING {
                        pending.pop_front();
                        self.metrics.borrow_mut().forgotten_inputs += 1;
                    }
                    pending.push_back((seq, at));
                    if recording {
                        self.metrics.borrow_mut().inputs_sent += 1;
                    }
                }
                _ = pings.tick(), if !listen => {
                    let echo = Instant::now().saturating_duration_since(self.shared.t0).as_micros() as u64;
                    if let Err(e) = send(&mut ws, &ClientMsg::<ArenaInput>::Ping { echo }).await {
                        return End::Dropped(e);
                    }
                }
                _ = chats.tick(), if chatty && sending => {
                    let text = format!("hello from bot{}", self.index);
                    if let Err(e) = send(&mut ws, &ClientMsg::<ArenaInput>::Chat { text }).await {
                        return End::Dropped(e);
                    }
                }
                frame = ws.next() => {
                    let now = Instant::now();
                    let bytes = match frame {
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(Message::Ping(p) | Message::Pong(p))) => {
                            if recording {
                                self.metrics.borrow_mut().wire += p.len() as u64 + header_len(p.len());
                            }
                            continue;
                        }
                        Some(Ok(Message::Close(frame))) => {
                            let why = frame.map_or_else(|| "no close frame".to_owned(), |f| format!("{} {}", u16::from(f.code), f.reason));
                            return End::Dropped(format!("closed by the server: {}", short(&why)));
                        }
                        Some(Ok(Message::Text(_))) => return End::Dropped("text frame from the server".into()),
                        Some(Ok(Message::Frame(_))) => continue,
                        Some(Err(e)) => return End::Dropped(format!("websocket: {}", short(&e.to_string()))),
                        None => return End::Dropped("connection ended".into()),
                    };
                    self.live.messages.fetch_add(1, Relaxed);
                    // The metrics borrow ends before any await below (a resync is sent after it).
                    let resync = {
                    let mut m = self.metrics.borrow_mut();
                    if recording {
                        m.payload += bytes.len() as u64;
                        m.wire += bytes.len() as u64 + header_len(bytes.len());
                    }
                    if listen {
                        if recording {
                            m.deltas += 1;
                            if let Some(prev) = last_delta {
                                record_us(&mut m.interval, now - prev);
                            }
                        }
                        last_delta = Some(now);
                        continue;
                    }
                    let msg: ServerMsg = match tickroom_shared::decode(&bytes, &limits) {
                        Ok(msg) => msg,
                        Err(e) => return End::Dropped(format!("bad server message: {}", short(&e.to_string()))),
                    };
                    let mut resync_needed = false;
                    let check_acks = match player.handle(&msg) {
                        PlayerEvent::Delta(_) => {
                            if recording {
                                m.deltas += 1;
                                if let Some(prev) = last_delta {
                                    record_us(&mut m.interval, now - prev);
                                }
                            }
                            last_delta = Some(now);
                            true
                        }
                        PlayerEvent::Snapshot(_) => {
                            m.chain.keyframes += 1;
                            true
                        }
                        PlayerEvent::Gap(_) => {
                            m.chain.gaps += 1;
                            m.chain.resync_requests += 1;
                            resync_needed = true;
                            false
                        }
                        PlayerEvent::Pong { echo } => {
                            if recording {
                                let sent = self.shared.t0 + Duration::from_micros(echo);
                                record_us(&mut m.rtt, now.saturating_duration_since(sent));
                            }
                            false
                        }
                        PlayerEvent::Error(code, message) => {
                            m.error(format!("server error {code:?}: {}", short(&message)));
                            false
                        }
                        PlayerEvent::None | PlayerEvent::Welcomed => false,
                    };
                    if check_acks {
                        if let (Some(seq), Some(ack)) = (stop_seq, player.acked()) {
                            if ack >= seq {
                                stop_seq = None;
                                stop_reported = true;
                                self.report_still(&player);
                            }
                        }
                        if phase >= Phase::Capture && !captured {
                            captured = self.try_capture(&player);
                        }
                        if let Some(ack) = player.acked() {
                            let mut recent = None;
                            while let Some(&(seq, at)) = pending.front() {
                                if seq > ack {
                                    break;
                                }
                                pending.pop_front();
                                let latency = now.saturating_duration_since(at);
                                if recording {
                                    record_us(&mut m.latency, latency);
                                }
                                let h = recent.get_or_insert_with(|| {
                                    self.live.recent.lock().unwrap_or_else(PoisonError::into_inner)
                                });
                                record_us(h, latency);
                            }
                        }
                    }
                    resync_needed
                    };
                    if resync {
                        let resync = player.resync_request::<ArenaInput>();
                        if let Err(e) = send(&mut ws, &resync).await {
                            return End::Dropped(e);
                        }
                    }
                }
            }
        }
    }
}

/// Encodes and sends one message; the error as text for the report.
async fn send(
    ws: &mut crate::connection::WsStream,
    msg: &ClientMsg<ArenaInput>,
) -> Result<(), String> {
    let bytes = tickroom_shared::encode(msg).map_err(|e| format!("encode: {e}"))?;
    ws.send(Message::Binary(bytes.into()))
        .await
        .map_err(|e| format!("send: {}", short(&e.to_string())))
}

/// Error text cut to a length that keeps the report's error list readable.
fn short(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}
