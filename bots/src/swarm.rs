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
//! kept until a delta or snapshot shows the bot's own player's ack (`acks` of the message) at or
//! past its sequence number. Card bots instead time each command until its `CommandResult`, and
//! join again (quick match) when the game ends their room.
//!
//! A light generator ([`SwarmConfig::measure_every`] above 1) keeps all that for one bot in K;
//! the others send the same inputs and pings but only count their frames and bytes, reading no
//! more of a message than its tag.
//!
//! Besides the window's totals, every shard records the current second of the run's series
//! ([`crate::series`]) whatever the phase, and folds it into the shared builder once a second;
//! the live view's p99 and error count come from there.

use crate::behavior::{Behavior, Gunner, Walk};
use crate::cards::CardPlayer;
use crate::connection::{ConnectOptions, Connection};
use crate::cpu::{ContextSwitches, ProcessSample, SchedTimes};
use crate::game::{BotInput, Game};
use crate::player::{Player, PlayerEvent};
use crate::report::{
    BotCpu, ByteRate, Chain, ClientCounts, Commands, DeltaRate, InputRate, Percentiles, Report,
    RunInfo, Verify, REPORT_FORMAT,
};
use crate::scan::{message_tag, scan_tick, TickScan};
use crate::series::{histogram, record_us, Interval, Series, SeriesBuilder, SAMPLE_PERIOD};
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
use tickroom_shared::protocol::server_tag;
use tickroom_shared::{
    ClientMsg, DecodeLimits, GameValue, InputSeq, Replica, RoomId, RosterEntry, ServerMsg, Tick,
    PROTOCOL_VERSION,
};
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

/// How often each bot pings for a round-trip sample.
pub const PING_INTERVAL: Duration = Duration::from_secs(1);

/// Inputs awaiting their ack that a bot keeps; older ones are forgotten (and counted) so a server
/// that stops acking cannot grow a bot's memory without bound.
const MAX_PENDING: usize = 1024;

/// WebSocket read buffer per bot: a 50-player delta is under 1 KiB; the buffer grows if needed.
const READ_BUFFER: usize = 4096;

/// How long the replica check waits for every bot to stop, and then for every bot to compare.
/// Generous: it only bounds a broken run, a healthy one takes a few ticks.
const VERIFY_PATIENCE: Duration = Duration::from_secs(20);

/// What a bot sends: its game's input, commands as MessagePack values.
type Out = ClientMsg<BotInput, GameValue>;

/// Where the bots sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Quick match: the server fills rooms up to its capacity.
    Quick,
    /// Every bot joins this room.
    Room(RoomId),
    /// Rooms of this many bots: the first of every group creates a room, the others join it.
    /// (A bot whose room ended rejoins by quick match.)
    Groups(u32),
    /// Connect only, never join, and count frames: for the raw duplex floor, not a tickroom
    /// server. Playing bots still send their inputs (the same encoded messages, at the same rate),
    /// so the floor reads what a server reads; they send no pings and measure no latency.
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

/// How much of each Snapshot and Delta a bot decodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decode {
    /// Everything, applied to a replica (entities and acks), with every check the replica makes:
    /// what cards and the replica check need.
    #[default]
    Full,
    /// Only the tick, the base and the bot's own ack ([`crate::scan`]); no replica. Cheaper for
    /// the load generator; the same latency measurement; games with inputs only.
    Acks,
}

impl std::fmt::Display for Decode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Decode::Full => "full",
            Decode::Acks => "acks",
        })
    }
}

impl std::str::FromStr for Decode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(Decode::Full),
            "acks" => Ok(Decode::Acks),
            other => Err(format!("unknown decode {other:?}: expected full or acks")),
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
    /// The game they play.
    pub game: Game,
    /// Where they sit.
    pub placement: Placement,
    /// What they do.
    pub behavior: Behavior,
    /// How much of each snapshot and delta they decode.
    pub decode: Decode,
    /// One bot in this many (of each bot thread's bots, so of each room too) measures: decodes
    /// per `decode`, follows the chain, times its acks and pings. The others only count frames and bytes (no decode, no
    /// bookkeeping per input) while sending the same inputs and pings, so the server sees the
    /// same traffic from a cheaper generator. 1 = every bot measures. Games with inputs only.
    pub measure_every: u32,
    /// Inputs per second per client (WORKLOAD.md: 30), for games with inputs.
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
    /// Options for the rooms the bots create (with [`Placement::Groups`]), e.g. a shooter
    /// room's `{"capacity": 1000, "size": 16000}`.
    pub room_options: Option<GameValue>,
}

impl SwarmConfig {
    /// Defaults per WORKLOAD.md for `clients` bots against `url`: arena, quick match, the walk
    /// at 30 Hz.
    pub fn new(url: impl Into<String>, clients: usize) -> SwarmConfig {
        SwarmConfig {
            url: url.into(),
            clients,
            game: Game::Arena,
            placement: Placement::Quick,
            behavior: Behavior::Play,
            decode: Decode::Full,
            measure_every: 1,
            input_hz: 30.0,
            ramp_per_s: 500.0,
            threads: 1,
            seed: 1,
            join_timeout: Duration::from_secs(10),
            warmup_s: 5.0,
            room_options: None,
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
    /// Once the replica reaches the tick from which its whole room stood still, ask for a
    /// keyframe and compare it with the replica.
    Check,
    /// Leave and end.
    Leave,
}

/// Counters everyone may read at any time (progress display, phase waits).
#[derive(Default)]
struct Live {
    joined: AtomicU64,
    /// Redirects followed while joining (cluster mode).
    redirects: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    /// Joined and still connected.
    connected: AtomicU64,
    /// Bots whose stop input the server acked (after [`Phase::Frozen`]).
    stopped: AtomicU64,
    /// Bots done with the replica check (after [`Phase::Check`]).
    checked: AtomicU64,
}

/// One shard's live view, read by [`Swarm::progress`].
struct ShardLive {
    messages: AtomicU64,
}

/// One bot's replica check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// The keyframe equalled the replica.
    Equal(RoomId),
    /// It did not (a bug).
    Differ(RoomId),
    /// No comparison: the bot was waiting for a keyframe anyway, so its replica was stale.
    Unchecked,
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
    checks: Mutex<Vec<Check>>,
    /// Per room, the latest tick at which a bot saw its stop acked: from that tick on, the room's
    /// world is static, so a replica at or past it must equal any later keyframe.
    still_from: Mutex<HashMap<RoomId, Tick>>,
    /// The run over time: every shard folds its period in once per [`SAMPLE_PERIOD`].
    series: Mutex<SeriesBuilder>,
}

/// What one shard measured; merged into the report.
struct Metrics {
    inputs_sent: u64,
    deltas: u64,
    payload: u64,
    wire: u64,
    delta_payload: u64,
    changed: u64,
    ended: u64,
    rejoined: u64,
    commands: CommandMetrics,
    latency: Histogram<u64>,
    /// Connect to seated (join snapshot applied), redirects included, of every first join.
    join: Histogram<u64>,
    rtt: Histogram<u64>,
    interval: Histogram<u64>,
    chain: Chain,
    forgotten_inputs: u64,
    errors: BTreeMap<String, u64>,
    /// The current period of the series, recorded whatever the phase.
    period: Interval,
}

impl Metrics {
    fn new() -> Metrics {
        Metrics {
            inputs_sent: 0,
            deltas: 0,
            payload: 0,
            wire: 0,
            delta_payload: 0,
            changed: 0,
            ended: 0,
            rejoined: 0,
            commands: CommandMetrics::new(),
            latency: histogram(),
            join: histogram(),
            rtt: histogram(),
            interval: histogram(),
            chain: Chain::default(),
            forgotten_inputs: 0,
            errors: BTreeMap::new(),
            period: Interval::new(),
        }
    }

    fn merge(&mut self, other: Metrics) {
        self.inputs_sent += other.inputs_sent;
        self.deltas += other.deltas;
        self.payload += other.payload;
        self.wire += other.wire;
        self.delta_payload += other.delta_payload;
        self.changed += other.changed;
        self.ended += other.ended;
        self.rejoined += other.rejoined;
        self.commands.merge(other.commands);
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.join.add(&other.join);
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

    /// A delta (or, listening, a frame) arrived at `now`: counted, and timed against the
    /// client's previous one (`last`).
    fn delta(&mut self, last: &mut Option<Instant>, now: Instant, recording: bool) {
        self.period.counts.deltas += 1;
        if let Some(prev) = *last {
            self.period.delta_interval(now - prev);
            if recording {
                record_us(&mut self.interval, now - prev);
            }
        }
        if recording {
            self.deltas += 1;
        }
        *last = Some(now);
    }
}

/// Commands and their results in the window.
struct CommandMetrics {
    sent: u64,
    by_move: BTreeMap<String, u64>,
    applied: u64,
    refused: BTreeMap<String, u64>,
    latency: Histogram<u64>,
}

impl CommandMetrics {
    fn new() -> CommandMetrics {
        CommandMetrics {
            sent: 0,
            by_move: BTreeMap::new(),
            applied: 0,
            refused: BTreeMap::new(),
            latency: histogram(),
        }
    }

    fn merge(&mut self, other: CommandMetrics) {
        self.sent += other.sent;
        self.applied += other.applied;
        for (k, v) in other.by_move {
            *self.by_move.entry(k).or_default() += v;
        }
        for (k, v) in other.refused {
            *self.refused.entry(k).or_default() += v;
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
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
    /// Input-to-ack p99 (command round-trip p99 in games without inputs) of the latest
    /// complete second of the series, milliseconds (`None` without samples).
    pub recent_p99_ms: Option<f64>,
    /// Errors other than failed joins and drops (the server's `Error` messages, a bot thread's
    /// failure) up to the latest complete second.
    pub errors: u64,
}

/// The bot process at one edge of the window. Without `/proc` the figures read zero rather than
/// failing the run.
struct WindowEdge {
    at: Instant,
    cpu: ProcessSample,
    switches: ContextSwitches,
    sched: SchedTimes,
}

impl WindowEdge {
    fn now() -> WindowEdge {
        WindowEdge {
            at: Instant::now(),
            cpu: ProcessSample::own().unwrap_or(ProcessSample {
                cpu: Duration::ZERO,
                rss_bytes: 0,
            }),
            switches: ContextSwitches::own().unwrap_or_default(),
            sched: SchedTimes::own().unwrap_or_default(),
        }
    }
}

/// A running swarm.
pub struct Swarm {
    shared: Arc<Shared>,
    phase: watch::Sender<Phase>,
    shards: Vec<(Arc<ShardLive>, oneshot::Receiver<Metrics>)>,
    threads: Vec<std::thread::JoinHandle<()>>,
    window: Option<WindowEdge>,
    window_end: Option<WindowEdge>,
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
        if config.measure_every == 0 {
            return Err(SwarmError::Config(
                "measure every 0th bot: use 1 for every bot".into(),
            ));
        }
        if config.measure_every > 1 && !config.game.has_inputs() {
            return Err(SwarmError::Config(format!(
                "{} needs every bot to decode: its bots play from the replica",
                config.game
            )));
        }
        if config.decode == Decode::Acks && !config.game.has_inputs() {
            return Err(SwarmError::Config(format!(
                "{} needs the full decode: its bots play from the replica",
                config.game
            )));
        }
        let threads = config.threads;
        let shared = Arc::new(Shared {
            config,
            t0: Instant::now(),
            live: Live::default(),
            groups: Mutex::new(HashMap::new()),
            group_ready: Notify::new(),
            checks: Mutex::new(Vec::new()),
            still_from: Mutex::new(HashMap::new()),
            series: Mutex::new(SeriesBuilder::new(threads, SAMPLE_PERIOD)),
        });
        let (phase, phase_rx) = watch::channel(Phase::Warmup);
        let mut shards = Vec::new();
        let mut handles = Vec::new();
        for shard in 0..threads {
            let live = Arc::new(ShardLive {
                messages: AtomicU64::new(0),
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

    /// Current counts and the latest second's input-to-ack p99.
    pub fn progress(&self) -> Progress {
        let live = &self.shared.live;
        let messages = self
            .shards
            .iter()
            .map(|(shard, _)| shard.messages.load(Relaxed))
            .sum();
        let series = self
            .shared
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let latest = series.points().last().map(|p| &p.latency_ms);
        Progress {
            joined: live.joined.load(Relaxed),
            failed: live.failed.load(Relaxed),
            dropped: live.dropped.load(Relaxed),
            connected: live.connected.load(Relaxed),
            messages,
            recent_p99_ms: latest.filter(|l| l.samples > 0).map(|l| l.p99),
            errors: series.errors(),
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
        self.in_window = self.shared.live.connected.load(Relaxed);
        self.window = Some(WindowEdge::now());
        self.phase.send_replace(Phase::Window);
    }

    /// Ends the measurement window (the bots keep playing until [`Swarm::finish`]).
    pub fn end_window(&mut self) {
        self.phase.send_replace(Phase::Cooldown);
        self.window_end = Some(WindowEdge::now());
    }

    /// Checks replica equality (arena only): every bot sends a (0, 0) input and stops; once the
    /// server acked every stop, the rooms' worlds are static (nobody moves, so nobody collects an
    /// orb); every bot whose replica is at or past the tick its whole room stood still sends
    /// `Resync` and compares the keyframe that answers it, the server's own state encoded afresh,
    /// with the replica it built from deltas (entities, and the acks of the roster's players).
    /// Needs no free seat. Ends the window if running. In other games (which never stand still),
    /// under [`Decode::Acks`] and when not every bot measures (no replica), every bot counts as
    /// unchecked.
    pub async fn verify(&mut self) -> Verify {
        if self.window.is_some() && self.window_end.is_none() {
            self.end_window();
        }
        let live = &self.shared.live;
        let config = &self.shared.config;
        if config.game != Game::Arena || config.decode != Decode::Full || config.measure_every != 1
        {
            let verify = Verify {
                unchecked: live.connected.load(Relaxed),
                ..Verify::default()
            };
            self.verify = Some(verify.clone());
            return verify;
        }
        let all = |n: &AtomicU64| n.load(Relaxed) >= live.connected.load(Relaxed);
        self.phase.send_replace(Phase::Frozen);
        let deadline = Instant::now() + VERIFY_PATIENCE;
        while !all(&live.stopped) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.phase.send_replace(Phase::Check);
        let deadline = Instant::now() + VERIFY_PATIENCE;
        while !all(&live.checked) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let checks: Vec<Check> = std::mem::take(
            &mut *self
                .shared
                .checks
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut verify = Verify::default();
        let mut rooms = std::collections::BTreeSet::new();
        for check in &checks {
            match check {
                Check::Equal(room) => {
                    verify.equal += 1;
                    rooms.insert(*room);
                }
                Check::Differ(room) => {
                    verify.mismatched += 1;
                    rooms.insert(*room);
                }
                Check::Unchecked => verify.unchecked += 1,
            }
        }
        verify.checked = verify.equal + verify.mismatched;
        verify.rooms = rooms.len() as u64;
        // Bots that never finished their check (still connected, or dropped meanwhile).
        verify.unchecked += live
            .connected
            .load(Relaxed)
            .saturating_sub(checks.len() as u64);
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
        let (window_s, cpu_s, switches, sched) = match (&self.window, &self.window_end) {
            (Some(a), Some(b)) => (
                (b.at - a.at).as_secs_f64(),
                b.cpu.cpu.saturating_sub(a.cpu.cpu).as_secs_f64(),
                b.switches.since(&a.switches),
                b.sched.since(&a.sched),
            ),
            _ => (0.0, 0.0, ContextSwitches::default(), SchedTimes::default()),
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
        // Listening bots (the raw floor) send their inputs too.
        let nominal = if config.behavior.plays() && config.game.has_inputs() {
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
                game: config.game,
                placement: config.placement.to_string(),
                behavior: config.behavior,
                decode: config.decode,
                measure_every: config.measure_every,
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
                redirects: live.redirects.load(Relaxed),
                in_window: self.in_window,
                ended: m.ended,
                rejoined: m.rejoined,
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
                delta_payload: m.delta_payload,
                changed_entities: m.changed,
                per_changed_entity: (m.changed > 0)
                    .then(|| m.delta_payload as f64 / m.changed as f64),
            },
            latency_ms: Percentiles::from_us(&m.latency),
            commands: config.game.has_commands().then(|| Commands {
                sent: m.commands.sent,
                by_move: m.commands.by_move.clone(),
                applied: m.commands.applied,
                refused: m.commands.refused.clone(),
                latency_ms: Percentiles::from_us(&m.commands.latency),
            }),
            rtt_ms: Percentiles::from_us(&m.rtt),
            join_ms: Percentiles::from_us(&m.join),
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
                switches_per_s: per_s(switches.total()),
                voluntary_switches_per_s: per_s(switches.voluntary),
                run_queue_wait: if window_s > 0.0 {
                    sched.waiting.as_secs_f64() / window_s
                } else {
                    0.0
                },
            },
            verify: self.verify.clone(),
            errors,
            warnings: Vec::new(),
            series: Some(self.series()),
        };
        report.assess();
        report
    }

    /// The series so far (every point, once the shards ended) and the window's place in it.
    fn series(&self) -> Series {
        let t0 = self.shared.t0;
        let since = |edge: &Option<WindowEdge>| {
            edge.as_ref()
                .map(|e| e.at.saturating_duration_since(t0).as_secs_f64())
        };
        Series {
            period_s: SAMPLE_PERIOD.as_secs_f64(),
            window_from_s: since(&self.window),
            window_to_s: since(&self.window_end),
            points: self
                .shared
                .series
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .finish(),
        }
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        // Dropped without finish (e.g. the caller failed): tell the bots to leave so the threads
        // end; nobody waits for them.
        self.phase.send_replace(Phase::Leave);
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
    // However the shard ends (even by a panic), the series stops waiting for it.
    let _done = ShardDone {
        shard,
        shared: shared.clone(),
    };
    let metrics = Rc::new(RefCell::new(Metrics::new()));
    let local = tokio::task::LocalSet::new();
    let (stop, stopped) = oneshot::channel();
    let sampler = sample_periods(shard, &shared, &metrics, stopped);
    let bots = async {
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
                let mut m = metrics.borrow_mut();
                m.error("bot task panicked".into());
                m.period.counts.errors += 1;
            }
        }
        // The sampler is joined below, so it is still listening.
        let _ = stop.send(());
    };
    local.block_on(&runtime, async {
        tokio::join!(bots, sampler);
    });
    let m = std::mem::replace(&mut *metrics.borrow_mut(), Metrics::new());
    // The receiver only goes away if the swarm was dropped; nothing to report then.
    let _ = done.send(m);
}

/// Tells the series that a shard ended, when dropped.
struct ShardDone {
    shard: usize,
    shared: Arc<Shared>,
}

impl Drop for ShardDone {
    fn drop(&mut self) {
        self.shared
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .shard_done(self.shard);
    }
}

/// Folds the shard's current period into the series at every [`SAMPLE_PERIOD`] of the swarm's
/// clock (so all shards' periods line up), and a last time when `stop` fires, if that last
/// stretch covers half a period or more (a shorter one would give noisy rates; its counts are
/// in the report's totals anyway).
async fn sample_periods(
    shard: usize,
    shared: &Shared,
    metrics: &RefCell<Metrics>,
    mut stop: oneshot::Receiver<()>,
) {
    let t0 = shared.t0;
    let period = SAMPLE_PERIOD.as_secs_f64();
    let mut ticks = tokio::time::interval_at(t0 + SAMPLE_PERIOD, SAMPLE_PERIOD);
    // A stalled thread reports one longer period (rates use the time it covered), not a burst.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut last = Instant::now();
    let fold = |index: u64, now: Instant, last: Instant| {
        let mut m = metrics.borrow_mut();
        shared
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(shard, index, now - last, &mut m.period);
    };
    loop {
        tokio::select! {
            due = ticks.tick() => {
                let now = Instant::now();
                let index = ((due - t0).as_secs_f64() / period).round() as u64;
                fold(index, now, last);
                last = now;
            }
            _ = &mut stop => {
                let now = Instant::now();
                if now - last >= SAMPLE_PERIOD / 2 {
                    let index = ((now - t0).as_secs_f64() / period).ceil() as u64;
                    fold(index, now, last);
                }
                return;
            }
        }
    }
}

/// One bot's fixed context.
struct Bot {
    index: usize,
    shared: Arc<Shared>,
    live: Arc<ShardLive>,
    metrics: Rc<RefCell<Metrics>>,
    phase: watch::Receiver<Phase>,
}

/// Why a bot's connection ended.
enum End {
    /// It left, as told.
    Left,
    /// The game ended its room (a rejoin follows while the run goes on).
    Ended,
    /// Anything else, with the reason for the report.
    Dropped(String),
}

/// Bytes of the masking key every client-to-server WebSocket frame carries after its header.
const MASK_LEN: u64 = 4;

/// WebSocket frame header bytes for a server-to-client (unmasked) payload of `len` bytes.
fn header_len(len: usize) -> u64 {
    match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

/// What produces a game's inputs.
enum Controls {
    /// The workload's random walk.
    Arena(Walk),
    /// The walk plus aim and trigger.
    Shooter(Gunner),
}

impl Controls {
    /// The controls of `game`, `None` for a game without inputs.
    fn new(game: Game, rng: &mut SmallRng) -> Option<Controls> {
        match game {
            Game::Arena => Some(Controls::Arena(Walk::new(rng))),
            Game::Shooter => Some(Controls::Shooter(Gunner::new(rng))),
            Game::Cards => None,
        }
    }

    fn input(&mut self, elapsed: Duration, rng: &mut SmallRng) -> BotInput {
        match self {
            Controls::Arena(walk) => BotInput::Arena(walk.input(elapsed, rng)),
            Controls::Shooter(gunner) => BotInput::Shooter(gunner.input(elapsed, rng)),
        }
    }
}

/// Where a bot is in the replica check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CheckStep {
    /// Waiting for the replica to reach the tick from which its room stood still.
    Waiting,
    /// `Resync` sent; the next snapshot is compared.
    Asked,
    /// Reported.
    Done,
}

/// One connection's state while playing.
struct Round {
    player: Player,
    next_seq: u32,
    /// The last input sent, to stand still with the same aim.
    last_input: Option<BotInput>,
    /// Inputs awaiting their ack: sequence number and send time.
    pending: VecDeque<(u32, Instant)>,
    last_delta: Option<Instant>,
    /// The stop input's sequence number, once sent; `None` again after its ack was reported.
    stop_seq: Option<u32>,
    stop_reported: bool,
    check: CheckStep,
    /// The chain and the ack under [`Decode::Acks`].
    light: Light,
}

/// What a bot that keeps no replica knows ([`Decode::Acks`]).
#[derive(Clone, Copy, Debug, Default)]
struct Light {
    /// The tick of the last snapshot or delta applied.
    tick: Option<Tick>,
    /// The bot's own ack.
    ack: InputSeq,
    /// A resync was sent and no snapshot came yet.
    awaiting: bool,
}

/// What to send after a frame was handled.
#[derive(Default)]
struct Reply {
    /// A `Resync` (after a gap, or for the replica check).
    resync: bool,
    /// A command.
    command: Option<(u32, crate::cards::Move)>,
    /// The room ended: close and rejoin.
    ended: bool,
}

/// Replica equality for the check: the same entities, and the same ack for every seated player
/// (a keyframe lists only seated players' acks, a replica keeps those of players who left).
fn same_state(before: &Replica, after: &Replica, roster: &[RosterEntry]) -> bool {
    before.entities() == after.entities()
        && roster
            .iter()
            .all(|e| before.ack(e.player) == after.ack(e.player))
}

impl Bot {
    async fn run(mut self) {
        let shared = self.shared.clone();
        let config = &shared.config;
        let start = shared.t0 + Duration::from_secs_f64(self.index as f64 / config.ramp_per_s);
        tokio::time::sleep_until(start).await;
        if *self.phase.borrow() >= Phase::Leave {
            return;
        }
        let mut rng = SmallRng::seed_from_u64(config.seed.wrapping_add(self.index as u64));
        let mut cards = CardPlayer::new();
        let asked = Instant::now();
        let joined = tokio::time::timeout(config.join_timeout, self.join(false)).await;
        let (mut conn, mut player) = match joined {
            Ok(Ok(joined)) => {
                record_us(&mut self.metrics.borrow_mut().join, asked.elapsed());
                joined
            }
            Ok(Err(reason)) => return self.fail(reason),
            Err(_) => return self.fail("join timed out".into()),
        };
        let live = &shared.live;
        live.joined.fetch_add(1, Relaxed);
        live.connected.fetch_add(1, Relaxed);
        {
            let period = &mut self.metrics.borrow_mut().period;
            period.counts.joins += 1;
            period.connected += 1;
        }
        let dropped = loop {
            match self.play(conn, player, &mut rng, &mut cards).await {
                End::Ended if *self.phase.borrow() < Phase::Leave => {
                    cards.reset();
                    match tokio::time::timeout(config.join_timeout, self.join(true)).await {
                        Ok(Ok(joined)) => {
                            let mut m = self.metrics.borrow_mut();
                            m.rejoined += 1;
                            m.period.counts.joins += 1;
                            (conn, player) = joined;
                        }
                        Ok(Err(reason)) => break Some(format!("rejoining: {reason}")),
                        Err(_) => break Some("rejoin timed out".into()),
                    }
                }
                End::Ended | End::Left => break None,
                End::Dropped(reason) => break Some(reason),
            }
        };
        live.connected.fetch_sub(1, Relaxed);
        let mut m = self.metrics.borrow_mut();
        m.period.connected -= 1;
        if let Some(reason) = dropped {
            live.dropped.fetch_add(1, Relaxed);
            m.error(reason);
            m.period.counts.drops += 1;
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

    /// Moves the replica check on; true when `Resync` must be sent now.
    fn advance_check(&self, player: &Player, step: &mut CheckStep) -> bool {
        if *step != CheckStep::Waiting {
            return false;
        }
        let Some(seat) = &player.seat else {
            // No seat (listen mode): nothing to compare.
            *step = CheckStep::Done;
            self.finish_check(None);
            return false;
        };
        if player.awaiting_resync {
            // A keyframe is coming anyway: the replica is stale, not comparable.
            *step = CheckStep::Done;
            self.finish_check(Some(Check::Unchecked));
            return false;
        }
        let still = self
            .shared
            .still_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&seat.room)
            .copied();
        let tick = player.replica.tick();
        if still.is_some_and(|s| tick.is_none_or(|t| t < s)) {
            return false;
        }
        *step = CheckStep::Asked;
        true
    }

    fn finish_check(&self, check: Option<Check>) {
        if let Some(check) = check {
            self.shared
                .checks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(check);
        }
        self.shared.live.checked.fetch_add(1, Relaxed);
    }

    fn fail(&self, reason: String) {
        self.shared.live.failed.fetch_add(1, Relaxed);
        let mut m = self.metrics.borrow_mut();
        m.error(reason);
        m.period.counts.failed += 1;
    }

    /// Connects and takes a seat; returns once the join snapshot is applied. A rejoin (after the
    /// room ended) always quick-matches.
    async fn join(&self, rejoin: bool) -> Result<(Connection, Player), String> {
        let config = &self.shared.config;
        let options = ConnectOptions {
            recv_buffer: None,
            read_buffer: Some(READ_BUFFER),
        };
        let mut url = config.url.clone();
        let mut conn = Connection::connect_opts(&url, options)
            .await
            .map_err(|e| format!("connect: {}", short(&e.to_string())))?;
        let mut player = Player::new();
        let placement = if rejoin {
            Placement::Quick
        } else {
            config.placement
        };
        let (room, create, group) = match placement {
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
        let mut join: Out = ClientMsg::Join {
            version: PROTOCOL_VERSION,
            name: format!("bot{}", self.index),
            game: Some(config.game.name().to_owned()),
            room,
            create,
            options: create.then(|| config.room_options.clone()).flatten(),
            filter: None,
            token: None,
            ticket: None,
        };
        // A cluster node may send the join on to the node that holds the seat (PROTOCOL.md,
        // "Cluster mode"); one redirect is the norm, a few are tolerated.
        let mut redirects = 0;
        conn.send(&join)
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
                PlayerEvent::Snapshot(..) => return Ok((conn, player)),
                PlayerEvent::Error(code, message) => {
                    return Err(format!("join refused: {code:?} {message}"))
                }
                PlayerEvent::Gap(e) => return Err(format!("join snapshot: {e}")),
                PlayerEvent::Redirect { url: to, ticket } => {
                    redirects += 1;
                    if redirects > 3 {
                        return Err(format!("more than 3 redirects (last to {to})"));
                    }
                    self.shared.live.redirects.fetch_add(1, Relaxed);
                    url = to;
                    conn = Connection::connect_opts(&url, options)
                        .await
                        .map_err(|e| format!("connect {url}: {}", short(&e.to_string())))?;
                    if let ClientMsg::Join { ticket: t, .. } = &mut join {
                        *t = ticket;
                    }
                    conn.send(&join)
                        .await
                        .map_err(|e| format!("send join: {}", short(&e.to_string())))?;
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

    /// Plays until told to leave, the room ends or the connection ends.
    async fn play(
        &mut self,
        conn: Connection,
        player: Player,
        rng: &mut SmallRng,
        cards: &mut CardPlayer,
    ) -> End {
        let shared = self.shared.clone();
        let config = &shared.config;
        let limits: DecodeLimits = conn.limits();
        let mut ws = conn.into_inner();
        let listen = config.placement == Placement::Listen;
        let now = Instant::now();
        let input_period = Duration::from_secs_f64(1.0 / config.input_hz);
        // The input timer starts at a random phase within the first period (WORKLOAD.md).
        let offset = input_period.mul_f64(rng.random_range(0.0..1.0));
        let mut inputs = tokio::time::interval_at(now + offset, input_period);
        // A late generator skips inputs instead of bursting them, so the report shows the shortfall.
        inputs.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut controls = Controls::new(config.game, rng);
        let plays = config.behavior.plays();
        // Listening bots (the raw floor) send their inputs too, so the floor reads what a
        // server reads.
        let mut sending = plays && controls.is_some();
        let commanding = plays && !listen && config.game.has_commands();
        // Counted within the bot's thread (bots are dealt to threads in turn), so every thread
        // has its share of measuring bots, and every room of consecutive joiners too.
        let measuring = (self.index / config.threads.max(1))
            .is_multiple_of(config.measure_every.max(1) as usize);
        // Only a measuring bot at a tickroom server keeps its inputs until their ack: the others
        // never look for one.
        let tracking = measuring && !listen;
        let walk_start = now + offset;
        let ping_offset = PING_INTERVAL.mul_f64(rng.random_range(0.0..1.0));
        let mut pings = tokio::time::interval_at(now + ping_offset, PING_INTERVAL);
        pings.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let chatty = config.behavior.chats() && !listen;
        let mut chats =
            tokio::time::interval_at(now + ping_offset / 2, crate::behavior::CHAT_PERIOD);
        chats.set_missed_tick_behavior(MissedTickBehavior::Skip);
        // Under Decode::Acks the replica stops at the join snapshot: only its tick and ack go on.
        let light = Light {
            tick: player.replica.tick(),
            ack: player.acked().unwrap_or_default(),
            awaiting: false,
        };
        let mut round = Round {
            light,
            player,
            next_seq: 1,
            last_input: None,
            pending: VecDeque::new(),
            last_delta: None,
            stop_seq: None,
            stop_reported: false,
            check: CheckStep::Waiting,
        };
        let mut phase = *self.phase.borrow_and_update();
        // Act on the phase the bot starts in (it may have changed while it joined).
        let mut phase_news = true;
        // The join snapshot may already call for a move (cards).
        let mut reply = Reply {
            command: if commanding {
                cards.decide(&round.player, Instant::now())
            } else {
                None
            },
            ..Reply::default()
        };

        loop {
            if std::mem::take(&mut phase_news) {
                if phase >= Phase::Frozen && !round.stop_reported && round.stop_seq.is_none() {
                    let moving = (sending && tracking).then_some(round.last_input).flatten();
                    sending = false;
                    if let Some(last) = moving {
                        let seq = round.next_seq;
                        round.next_seq += 1;
                        round.stop_seq = Some(seq);
                        let stop = Out::Input {
                            seq: InputSeq(seq),
                            input: last.still(),
                        };
                        if let Err(e) = send(&mut ws, &stop, &self.metrics).await {
                            return End::Dropped(e);
                        }
                    } else {
                        // Never moved (idle, listen, cards): already still.
                        round.stop_reported = true;
                        self.report_still(&round.player);
                    }
                }
                if phase >= Phase::Check && !listen {
                    reply.resync |= self.advance_check(&round.player, &mut round.check);
                }
                if phase >= Phase::Leave {
                    if round.player.awaiting_resync || round.light.awaiting {
                        self.metrics.borrow_mut().chain.unresolved += 1;
                    }
                    if !listen {
                        // The server frees the seat at once; a failure here only means it is gone.
                        let _ = send(&mut ws, &Out::Leave, &self.metrics).await;
                    }
                    let _ = ws.close(None).await;
                    return End::Left;
                }
            }
            let recording = phase == Phase::Window;
            let done = std::mem::take(&mut reply);
            if done.resync {
                if let Err(e) = send(&mut ws, &Out::Resync, &self.metrics).await {
                    return End::Dropped(e);
                }
            }
            if let Some((id, play)) = done.command {
                let command = Out::Command {
                    id,
                    command: play.command(),
                };
                if let Err(e) = send(&mut ws, &command, &self.metrics).await {
                    return End::Dropped(e);
                }
                if recording {
                    let mut m = self.metrics.borrow_mut();
                    m.commands.sent += 1;
                    *m.commands
                        .by_move
                        .entry(play.name().to_owned())
                        .or_default() += 1;
                }
            }
            if done.ended {
                self.metrics.borrow_mut().ended += 1;
                // The server closes after `Ended`; closing from this side too is a courtesy.
                let _ = ws.close(None).await;
                return End::Ended;
            }
            tokio::select! {
                changed = self.phase.changed() => {
                    if changed.is_err() {
                        // The swarm is gone: leave quietly.
                        phase = Phase::Leave;
                    } else {
                        phase = *self.phase.borrow_and_update();
                    }
                    phase_news = true;
                }
                _ = inputs.tick(), if sending => {
                    let Some(controls) = controls.as_mut() else { continue };
                    let input = controls.input(Instant::now().saturating_duration_since(walk_start), rng);
                    let seq = round.next_seq;
                    round.next_seq += 1;
                    let at = Instant::now();
                    if let Err(e) = send(&mut ws, &Out::Input { seq: InputSeq(seq), input }, &self.metrics).await {
                        return End::Dropped(e);
                    }
                    round.last_input = Some(input);
                    let mut m = self.metrics.borrow_mut();
                    m.period.counts.inputs += 1;
                    if tracking {
                        if round.pending.len() >= MAX_PENDING {
                            round.pending.pop_front();
                            m.forgotten_inputs += 1;
                        }
                        round.pending.push_back((seq, at));
                    }
                    if recording {
                        m.inputs_sent += 1;
                    }
                }
                _ = pings.tick(), if !listen => {
                    let echo = Instant::now().saturating_duration_since(shared.t0).as_micros() as u64;
                    if let Err(e) = send(&mut ws, &Out::Ping { echo }, &self.metrics).await {
                        return End::Dropped(e);
                    }
                    // A safety net for cards: decide again even if no message came.
                    if commanding && !round.player.awaiting_resync {
                        reply.command = cards.decide(&round.player, Instant::now());
                    }
                }
                _ = chats.tick(), if chatty && phase < Phase::Frozen => {
                    let text = format!("hello from bot{}", self.index);
                    if let Err(e) = send(&mut ws, &Out::Chat { text }, &self.metrics).await {
                        return End::Dropped(e);
                    }
                }
                frame = ws.next() => {
                    let now = Instant::now();
                    let bytes = match frame {
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(Message::Ping(p) | Message::Pong(p))) => {
                            let wire = p.len() as u64 + header_len(p.len());
                            let mut m = self.metrics.borrow_mut();
                            m.period.counts.wire_in += wire;
                            if recording {
                                m.wire += wire;
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
                    let frame = Frame { bytes: &bytes, decode: config.decode, now, recording, listen, measuring, phase, commanding };
                    match self.on_frame(&mut round, cards, &frame, &limits) {
                        Ok(r) => reply = r,
                        Err(end) => return end,
                    }
                }
            }
        }
    }

    /// Handles one binary frame: measures it, applies it, and says what to send in return.
    fn on_frame(
        &self,
        round: &mut Round,
        cards: &mut CardPlayer,
        frame: &Frame<'_>,
        limits: &DecodeLimits,
    ) -> Result<Reply, End> {
        let now = frame.now;
        let mut m = self.metrics.borrow_mut();
        let len = frame.bytes.len() as u64;
        let wire = len + header_len(frame.bytes.len());
        m.period.counts.payload_in += len;
        m.period.counts.wire_in += wire;
        if frame.recording {
            m.payload += len;
            m.wire += wire;
        }
        let mut reply = Reply::default();
        if frame.listen {
            m.delta(&mut round.last_delta, now, frame.recording);
            return Ok(reply);
        }
        if !frame.measuring {
            // A counting bot: deltas and bytes only, no decode. What it cannot ignore (errors,
            // command results, the end of its room, anything unknown) takes the full path below.
            match message_tag(frame.bytes) {
                Some(server_tag::DELTA) => {
                    m.period.counts.deltas += 1;
                    if frame.recording {
                        m.deltas += 1;
                    }
                    return Ok(reply);
                }
                Some(
                    server_tag::SNAPSHOT
                    | server_tag::PONG
                    | server_tag::ROSTER
                    | server_tag::CHAT
                    | server_tag::WELCOME,
                ) => return Ok(reply),
                _ => {}
            }
        }
        if frame.decode == Decode::Acks {
            if let Some(me) = round.player.id() {
                match scan_tick(frame.bytes, me) {
                    Ok(Some(scan)) => return Ok(self.on_scan(round, scan, frame, &mut m)),
                    // Not a tick message: the full decode below.
                    Ok(None) => {}
                    Err(e) => return Err(End::Dropped(format!("bad server message: {e}"))),
                }
            }
        }
        let msg: ServerMsg = tickroom_shared::decode(frame.bytes, limits)
            .map_err(|e| End::Dropped(format!("bad server message: {}", short(&e.to_string()))))?;
        // The replica check compares the replica from just before the keyframe it asked for.
        let before = (round.check == CheckStep::Asked && matches!(msg, ServerMsg::Snapshot { .. }))
            .then(|| (round.player.replica.clone(), round.player.awaiting_resync));
        let player = &mut round.player;
        let state = match player.handle(&msg) {
            PlayerEvent::Delta(..) => {
                m.delta(&mut round.last_delta, now, frame.recording);
                if frame.recording {
                    if let ServerMsg::Delta { segments, .. } = &msg {
                        m.delta_payload += len;
                        m.changed += segments.iter().map(|s| s.changed.len() as u64).sum::<u64>();
                    }
                }
                true
            }
            PlayerEvent::Snapshot(..) => {
                m.chain.keyframes += 1;
                if let (Some((replica, stale)), Some(seat)) = (before, &player.seat) {
                    round.check = CheckStep::Done;
                    let check = if stale {
                        Check::Unchecked
                    } else if same_state(&replica, &player.replica, &player.roster) {
                        Check::Equal(seat.room)
                    } else {
                        Check::Differ(seat.room)
                    };
                    self.finish_check(Some(check));
                }
                true
            }
            PlayerEvent::Gap(_) => {
                if let (Some(_), Some(seat)) = (before, &player.seat) {
                    // The keyframe the check asked for did not apply: that is a difference.
                    round.check = CheckStep::Done;
                    self.finish_check(Some(Check::Differ(seat.room)));
                }
                m.chain.gaps += 1;
                m.chain.resync_requests += 1;
                let _: Out = player.resync_request();
                reply.resync = true;
                false
            }
            PlayerEvent::Pong { echo } => {
                if frame.recording {
                    let sent = self.shared.t0 + Duration::from_micros(echo);
                    record_us(&mut m.rtt, now.saturating_duration_since(sent));
                }
                false
            }
            PlayerEvent::Error(code, message) => {
                m.error(format!("server error {code:?}: {}", short(&message)));
                m.period.counts.errors += 1;
                false
            }
            PlayerEvent::Redirect { url, .. } => {
                // Only a join is redirected; in a room this is a server bug, and the close
                // that follows drops the bot.
                m.error(format!("redirect outside a join, to {}", short(&url)));
                false
            }
            PlayerEvent::CommandResult { id, refusal } => {
                if let Some(outcome) = cards.on_result(id, refusal.as_ref(), now) {
                    m.period.latency(outcome.latency);
                    if frame.recording {
                        record_us(&mut m.commands.latency, outcome.latency);
                        match outcome.refused {
                            Some(code) => *m.commands.refused.entry(code).or_default() += 1,
                            None => m.commands.applied += 1,
                        }
                    }
                }
                false
            }
            PlayerEvent::Ended(_) => {
                reply.ended = true;
                return Ok(reply);
            }
            PlayerEvent::Watching => {
                // Bots never watch: a server bug, counted like any other.
                m.error("Watching without a Watch".to_owned());
                false
            }
            PlayerEvent::None | PlayerEvent::Welcomed => false,
        };
        if state {
            cards.on_state();
            if let (Some(seq), Some(ack)) = (round.stop_seq, player.acked()) {
                if ack.0 >= seq {
                    round.stop_seq = None;
                    round.stop_reported = true;
                    self.report_still(player);
                }
            }
            if frame.phase >= Phase::Check {
                reply.resync |= self.advance_check(player, &mut round.check);
            }
            if let Some(ack) = player.acked() {
                self.take_acks(&mut round.pending, ack, frame, &mut m);
            }
        }
        if frame.commanding && !player.awaiting_resync && frame.phase < Phase::Frozen {
            reply.command = cards.decide(player, now);
        }
        Ok(reply)
    }
}

impl Bot {
    /// Records the input-to-ack latency of every pending input at or below `ack`.
    fn take_acks(
        &self,
        pending: &mut VecDeque<(u32, Instant)>,
        ack: InputSeq,
        frame: &Frame<'_>,
        m: &mut Metrics,
    ) {
        while let Some(&(seq, at)) = pending.front() {
            if seq > ack.0 {
                break;
            }
            pending.pop_front();
            let latency = frame.now.saturating_duration_since(at);
            if frame.recording {
                record_us(&mut m.latency, latency);
            }
            m.period.latency(latency);
        }
    }

    /// Follows the chain and the bot's ack from a scanned Snapshot or Delta ([`Decode::Acks`]).
    fn on_scan(
        &self,
        round: &mut Round,
        scan: TickScan,
        frame: &Frame<'_>,
        m: &mut Metrics,
    ) -> Reply {
        let mut reply = Reply::default();
        let light = &mut round.light;
        match scan.base {
            None => {
                m.chain.keyframes += 1;
                light.awaiting = false;
            }
            Some(_) if light.awaiting => return reply,
            Some(base) if light.tick != Some(base) => {
                m.chain.gaps += 1;
                m.chain.resync_requests += 1;
                light.awaiting = true;
                reply.resync = true;
                return reply;
            }
            Some(_) => {
                m.delta(&mut round.last_delta, frame.now, frame.recording);
                if frame.recording {
                    m.delta_payload += frame.bytes.len() as u64;
                    m.changed += scan.changed;
                }
            }
        }
        light.tick = Some(scan.tick);
        light.ack = scan.ack(light.ack);
        let ack = light.ack;
        self.take_acks(&mut round.pending, ack, frame, m);
        reply
    }
}

/// One received frame and the bot's situation when it arrived.
struct Frame<'a> {
    bytes: &'a [u8],
    decode: Decode,
    now: Instant,
    recording: bool,
    listen: bool,
    /// This bot measures (see [`SwarmConfig::measure_every`]); otherwise it only counts.
    measuring: bool,
    phase: Phase,
    commanding: bool,
}

/// Encodes and sends one message, counting its bytes in the series; the error as text for the
/// report.
async fn send(
    ws: &mut crate::connection::WsStream,
    msg: &Out,
    metrics: &RefCell<Metrics>,
) -> Result<(), String> {
    let bytes = tickroom_shared::encode(msg).map_err(|e| format!("encode: {e}"))?;
    let len = bytes.len();
    ws.send(Message::Binary(bytes.into()))
        .await
        .map_err(|e| format!("send: {}", short(&e.to_string())))?;
    let counts = &mut metrics.borrow_mut().period.counts;
    counts.payload_out += len as u64;
    counts.wire_out += len as u64 + header_len(len) + MASK_LEN;
    Ok(())
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
