//! The `Monitor` actor: the admin page's live view of the server.
//!
//! Once a second it reads the counters ([`Stats`], every room's [`RoomStats`], the process's CPU
//! time and resident memory) and the lobby's room list, turns them into one [`Update`] (a
//! [`Sample`] for the charts, the room table and the server's totals), keeps the samples of the
//! last five minutes, and sends the update, rendered once as a server-sent event, to every open
//! admin page. A page that opens gets the history at once ([`Subscribe`]), so its charts start
//! full rather than empty.
//!
//! The per-second arithmetic (rates from counter differences, the history's bound) is the plain
//! [`Sampler`], tested without a clock; the actor only reads counters and the time.

use crate::messages::{ListRooms, RoomSummary};
use crate::stats::{
    recent_lateness_histogram, CloseLabels, JoinRefusedLabels, RecentLateness, RefusedLabels,
    RoomCounts, RoomStats, Stats, JOIN_REFUSALS, SHUTTING_DOWN,
};
use actix::prelude::*;
use bytes::Bytes;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tickroom_shared::{CloseCode, RoomId};
use tokio::sync::broadcast;

/// Time between two samples.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Samples kept: five minutes at one a second.
pub const HISTORY_LEN: usize = 300;

/// Updates a slow admin page may fall behind before it skips to the newest.
const UPDATE_BACKLOG: usize = 8;

/// One second of the whole server: a point of the admin page's charts.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Sample {
    /// When it was taken: Unix time, milliseconds.
    pub t: u64,
    /// Rooms open.
    pub rooms: usize,
    /// Seats taken in them (held seats included).
    pub players: u64,
    /// WebSocket sessions open.
    pub sessions: i64,
    /// 99th percentile of the start lateness of every tick of every room during the second,
    /// microseconds; `None` when no room ticked.
    pub lateness_p99_us: Option<u64>,
    /// The worst of them, microseconds; `None` when no room ticked.
    pub lateness_max_us: Option<u64>,
    /// Payload bytes received from every client, per second.
    pub bytes_in_per_s: f64,
    /// Payload bytes sent to every client, per second.
    pub bytes_out_per_s: f64,
    /// CPU time the process used per second (1.0 is one core busy); `None` where unknown.
    pub cpu: Option<f64>,
    /// Resident memory of the process, bytes; `None` where unknown (not Linux).
    pub rss_bytes: Option<u64>,
}

/// One room in the admin page's table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RoomRow {
    /// Room id.
    pub id: RoomId,
    /// Game name.
    pub game: &'static str,
    /// Seats taken (held seats included).
    pub players: u64,
    /// Seats in all.
    pub capacity: u32,
    /// Spectators watching.
    pub spectators: u32,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Sends only on change.
    pub on_change: bool,
    /// Joins refused while locked.
    pub locked: bool,
    /// The game's metadata.
    pub metadata: BTreeMap<String, String>,
    /// Seconds since it opened.
    pub age_s: u64,
    /// 99th percentile tick start lateness during the last second, microseconds (0 when it did
    /// not tick).
    pub lateness_p99_us: u64,
    /// Worst tick start lateness during the last second, microseconds.
    pub lateness_max_us: u64,
    /// Payload bytes its members sent (inputs, commands, chat), per second.
    pub bytes_in_per_s: f64,
    /// Payload bytes it queued to its members, per second.
    pub bytes_out_per_s: f64,
    /// Ticks since it opened.
    pub ticks: u64,
    /// Ticks more than a tenth of a period late, since it opened.
    pub late_ticks: u64,
    /// Deltas skipped for full queues, since it opened.
    pub skipped_sends: u64,
    /// Keyframes sent to resync members, since it opened.
    pub resyncs: u64,
    /// Members dropped as too slow, since it opened.
    pub slow_kicks: u64,
}

/// A counter with its label.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Labelled {
    /// The label: a close code's name, a refusal's reason.
    pub label: String,
    /// A close code (closes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Count since the server started.
    pub count: u64,
}

/// The server as a whole, since it started.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Totals {
    /// Seconds since the server started.
    pub uptime_s: u64,
    /// WebSocket sessions open now.
    pub sessions_open: i64,
    /// WebSocket sessions opened.
    pub sessions_total: u64,
    /// Rooms open now.
    pub rooms_open: usize,
    /// Seats taken now.
    pub players: u64,
    /// CPU time used per second over the last second (1.0 is one core).
    pub cpu: Option<f64>,
    /// CPU time used since start, seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident memory, bytes.
    pub rss_bytes: Option<u64>,
    /// Client payload bytes received.
    pub bytes_in: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
    /// Connections the server closed, by close code (every code the server sends).
    pub closes: Vec<Labelled>,
    /// Upgrades refused, by reason.
    pub upgrades_refused: Vec<Labelled>,
    /// Joins refused for a budget or the room limit, by reason.
    pub joins_refused: Vec<Labelled>,
    /// Operator and admin requests refused.
    pub api_refused: u64,
    /// Connections closed for sending above the message rate.
    pub rate_limited: u64,
    /// Members dropped as too slow.
    pub slow_kicks: u64,
    /// Rooms closed by a game panic.
    pub room_failures: u64,
}

/// What an admin page receives every second.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Update {
    /// The second's point of the charts.
    pub sample: Sample,
    /// Every room, by id.
    pub rooms: Vec<RoomRow>,
    /// The server as a whole.
    pub totals: Totals,
}

/// The samples a freshly opened page draws at once.
#[derive(Serialize)]
struct History<'a> {
    /// Milliseconds between samples.
    interval_ms: u64,
    /// Oldest first.
    samples: &'a VecDeque<Sample>,
}

/// What the monitor reads from the server-wide counters at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reading {
    /// Client payload bytes received since start.
    pub bytes_in: u64,
    /// Payload bytes sent since start.
    pub bytes_out: u64,
    /// CPU time the process used since start.
    pub cpu: Option<Duration>,
    /// Resident memory, bytes.
    pub rss_bytes: Option<u64>,
    /// Sessions open.
    pub sessions: i64,
}

/// What the monitor knows of one room at one instant: the lobby's summary and the room's
/// counters.
#[derive(Clone, Debug)]
pub struct RoomReading {
    /// Game, capacity, rate, lock and metadata, from the lobby.
    pub summary: RoomSummary,
    /// How long it has been open.
    pub age: Duration,
    /// Payload bytes in and out since it opened.
    pub traffic: (u64, u64),
    /// Its lateness during the last second.
    pub recent: RecentLateness,
    /// Its counters since it opened, and its seats taken now.
    pub counts: RoomCounts,
}

/// The per-second arithmetic: rates from the differences of counters between two readings,
/// and the bounded history. Pure: readings and instants are passed in.
#[derive(Debug, Default)]
pub struct Sampler {
    history: VecDeque<Sample>,
    last: Option<(Instant, Reading)>,
    /// Each room's traffic counters at the last sample.
    rooms: HashMap<RoomId, (u64, u64)>,
}

/// `(now - before) / elapsed`, 0 for no time or a counter that went back (a new room that
/// took a closed one's id in cluster mode).
fn per_second(before: u64, now: u64, elapsed: Duration) -> f64 {
    if elapsed.is_zero() {
        return 0.0;
    }
    now.saturating_sub(before) as f64 / elapsed.as_secs_f64()
}

impl Sampler {
    /// The samples kept, oldest first.
    pub fn history(&self) -> &VecDeque<Sample> {
        &self.history
    }

    /// Turns the readings taken at `at` (Unix time `t` ms) into the second's sample and room
    /// rows, keeping the sample (and at most [`HISTORY_LEN`] of them). `lateness` is the
    /// server-wide p99 and max of the second's ticks, if any ticked. Rates are over the time
    /// since the previous call; a room seen for the first time counts from its opening.
    pub fn sample(
        &mut self,
        at: Instant,
        t: u64,
        server: Reading,
        rooms: Vec<RoomReading>,
        lateness: Option<(u64, u64)>,
    ) -> (Sample, Vec<RoomRow>) {
        let (elapsed, before) = match self.last {
            Some((then, before)) => (at.saturating_duration_since(then), Some(before)),
            None => (Duration::ZERO, None),
        };
        let before = before.unwrap_or_default();
        let cpu = match (before.cpu, server.cpu) {
            (Some(b), Some(n)) if !elapsed.is_zero() => {
                Some(n.saturating_sub(b).as_secs_f64() / elapsed.as_secs_f64())
            }
            _ => None,
        };
        let first = self.last.is_none();
        let mut seen = HashMap::with_capacity(rooms.len());
        let rows: Vec<RoomRow> = rooms
            .into_iter()
            .map(|r| {
                let (base, span) = match self.rooms.get(&r.summary.id) {
                    Some(base) => (*base, elapsed),
                    // New since the last sample: everything it counted, over its age.
                    None if first => ((0, 0), r.age),
                    None => ((0, 0), r.age.min(elapsed)),
                };
                seen.insert(r.summary.id, r.traffic);
                let c = r.counts;
                RoomRow {
                    id: r.summary.id,
                    game: r.summary.game,
                    players: c.players,
                    capacity: r.summary.capacity,
                    spectators: r.summary.spectators.unwrap_or(0),
                    tick_rate: r.summary.tick_rate,
                    on_change: r.summary.on_change,
                    locked: r.summary.locked,
                    metadata: r.summary.metadata,
                    age_s: r.age.as_secs(),
                    lateness_p99_us: r.recent.p99_us,
                    lateness_max_us: r.recent.max_us,
                    bytes_in_per_s: per_second(base.0, r.traffic.0, span),
                    bytes_out_per_s: per_second(base.1, r.traffic.1, span),
                    ticks: c.ticks,
                    late_ticks: c.late_ticks,
                    skipped_sends: c.skipped_sends,
                    resyncs: c.resyncs,
                    slow_kicks: c.slow_kicks,
                }
            })
            .collect();
        self.rooms = seen;
        let sample = Sample {
            t,
            rooms: rows.len(),
            players: rows.iter().map(|r| r.players).sum(),
            sessions: server.sessions,
            lateness_p99_us: lateness.map(|(p99, _)| p99),
            lateness_max_us: lateness.map(|(_, max)| max),
            bytes_in_per_s: per_second(before.bytes_in, server.bytes_in, elapsed),
            bytes_out_per_s: per_second(before.bytes_out, server.bytes_out, elapsed),
            cpu,
            rss_bytes: server.rss_bytes,
        };
        self.last = Some((at, server));
        if self.history.len() == HISTORY_LEN {
            self.history.pop_front();
        }
        self.history.push_back(sample.clone());
        (sample, rows)
    }
}

/// What a new admin page gets: the history and the last update as server-sent events, then
/// every update as it comes.
pub struct Subscription {
    /// `event: history`, the samples kept.
    pub history: Bytes,
    /// `event: update`, the last one sent (none before the first second).
    pub latest: Option<Bytes>,
    /// The next updates.
    pub updates: broadcast::Receiver<Bytes>,
}

/// Subscribe to the updates.
#[derive(Message)]
#[rtype(result = "Subscription")]
pub struct Subscribe;

/// The monitor.
pub struct Monitor {
    stats: Arc<Stats>,
    lobby: Recipient<ListRooms>,
    sampler: Sampler,
    updates: broadcast::Sender<Bytes>,
    latest: Option<Bytes>,
    started: Instant,
    /// A room list was asked for and has not come back: a busy lobby is not asked again.
    polling: bool,
}

impl Monitor {
    /// A monitor of these counters and the lobby's rooms.
    pub fn new(stats: Arc<Stats>, lobby: Recipient<ListRooms>) -> Monitor {
        Monitor {
            stats,
            lobby,
            sampler: Sampler::default(),
            updates: broadcast::channel(UPDATE_BACKLOG).0,
            latest: None,
            started: Instant::now(),
            polling: false,
        }
    }

    /// Asks the lobby for its rooms, then samples (a second that finds the last question
    /// unanswered is skipped: the next sample's rates cover both).
    fn poll(&mut self, ctx: &mut Context<Self>) {
        if self.polling {
            return;
        }
        self.polling = true;
        let rooms = self.lobby.send(ListRooms);
        ctx.spawn(rooms.into_actor(self).map(|rooms, monitor, _| {
            monitor.polling = false;
            // A lobby that does not answer is stopping with the server: no rooms to show.
            monitor.publish(rooms.unwrap_or_default());
        }));
    }

    fn publish(&mut self, summaries: Vec<RoomSummary>) {
        let at = Instant::now();
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let stats = &self.stats;
        let mut all = recent_lateness_histogram();
        // Every room's ticks count towards the server's lateness, also those of a room the
        // lobby already forgot (closing); only rooms it lists get a row.
        let mut counters: HashMap<RoomId, (Arc<RoomStats>, RecentLateness)> = stats
            .rooms()
            .into_iter()
            .map(|r| {
                let recent = r.take_recent(&mut all);
                (r.id(), (r, recent))
            })
            .collect();
        let rooms: Vec<RoomReading> = summaries
            .into_iter()
            .filter_map(|summary| {
                let (room, recent) = counters.remove(&summary.id)?;
                Some(RoomReading {
                    age: room.age(),
                    traffic: room.traffic(),
                    recent,
                    counts: room.counts(),
                    summary,
                })
            })
            .collect();
        let lateness = (!all.is_empty()).then(|| (all.value_at_quantile(0.99), all.max()));
        let cpu = process_cpu_time();
        let reading = Reading {
            bytes_in: stats.bytes_in.get(),
            bytes_out: stats.bytes_out.get(),
            cpu,
            rss_bytes: process_rss_bytes(),
            sessions: stats.sessions_open.get(),
        };
        let (sample, rows) = self.sampler.sample(at, t, reading, rooms, lateness);
        let totals = self.totals(&sample, cpu);
        let update = Update {
            sample,
            rooms: rows,
            totals,
        };
        let Some(event) = event("update", &update) else {
            return;
        };
        self.latest = Some(event.clone());
        // No open admin page means nobody to send it to.
        let _ = self.updates.send(event);
    }

    fn totals(&self, sample: &Sample, cpu: Option<Duration>) -> Totals {
        let s = &self.stats;
        let closes = CloseCode::ALL
            .iter()
            .map(|code| Labelled {
                label: format!("{code:?}"),
                code: Some(*code as u16),
                count: s
                    .closes
                    .get_or_create(&CloseLabels { code: *code as u16 })
                    .get(),
            })
            .collect();
        let reasons = crate::admission::Refusal::ALL.map(crate::admission::Refusal::label);
        let upgrades_refused = reasons
            .into_iter()
            .chain([SHUTTING_DOWN])
            .map(|reason| Labelled {
                label: reason.to_owned(),
                code: None,
                count: s.refused.get_or_create(&RefusedLabels { reason }).get(),
            })
            .collect();
        let joins_refused = JOIN_REFUSALS
            .into_iter()
            .map(|reason| Labelled {
                label: reason.to_owned(),
                code: None,
                count: s
                    .joins_refused
                    .get_or_create(&JoinRefusedLabels { reason })
                    .get(),
            })
            .collect();
        Totals {
            uptime_s: self.started.elapsed().as_secs(),
            sessions_open: s.sessions_open.get(),
            sessions_total: s.sessions_total.get(),
            rooms_open: sample.rooms,
            players: sample.players,
            cpu: sample.cpu,
            cpu_seconds: cpu.map(|c| c.as_secs_f64()),
            rss_bytes: sample.rss_bytes,
            bytes_in: s.bytes_in.get(),
            bytes_out: s.bytes_out.get(),
            closes,
            upgrades_refused,
            joins_refused,
            api_refused: s.api_refused.get(),
            rate_limited: s.rate_limited.get(),
            slow_kicks: s.slow_kicks.get(),
            room_failures: s.room_failures.get(),
        }
    }
}

/// One server-sent event: `event: NAME`, the value as one line of JSON, a blank line.
fn event<T: Serialize>(name: &str, value: &T) -> Option<Bytes> {
    match serde_json::to_string(value) {
        // JSON without pretty-printing has no line breaks, so it is one `data:` line.
        Ok(json) => Some(Bytes::from(format!("event: {name}\ndata: {json}\n\n"))),
        Err(e) => {
            // Our own plain structs always serialize; say so loudly if one does not.
            tracing::error!(error = %e, "cannot serialize an admin {name} event");
            None
        }
    }
}

impl Actor for Monitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.poll(ctx);
        ctx.run_interval(SAMPLE_INTERVAL, |monitor, ctx| monitor.poll(ctx));
    }
}

impl Handler<Subscribe> for Monitor {
    type Result = MessageResult<Subscribe>;

    /// The history and the last update, and a receiver of the next ones.
    fn handle(&mut self, _: Subscribe, _: &mut Context<Self>) -> MessageResult<Subscribe> {
        let history = History {
            interval_ms: u64::try_from(SAMPLE_INTERVAL.as_millis()).unwrap_or(1000),
            samples: self.sampler.history(),
        };
        MessageResult(Subscription {
            history: event("history", &history).unwrap_or_default(),
            latest: self.latest.clone(),
            updates: self.updates.subscribe(),
        })
    }
}

/// CPU time (user and system) the process has used, where the system tells it.
fn process_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes one `rusage` through the pointer, which points at a live,
        // zeroed local of that type.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: `rusage` is plain integers, all-zero is a valid value, and getrusage filled it.
        let usage = unsafe { usage.assume_init() };
        let time = |t: libc::timeval| {
            Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
                + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
        };
        Some(time(usage.ru_utime) + time(usage.ru_stime))
    }
    #[cfg(not(unix))]
    None
}

/// Resident memory of the process (Linux: `VmRSS` of `/proc/self/status`).
fn process_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_rss_bytes(&status)
}

/// The `VmRSS:` line of a `/proc/<pid>/status` text, in bytes.
fn vm_rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: u32) -> RoomSummary {
        RoomSummary {
            id: RoomId(id),
            game: "lab",
            players: 2,
            capacity: 8,
            spectators: Some(1),
            tick_rate: 30,
            on_change: false,
            locked: false,
            metadata: BTreeMap::new(),
        }
    }

    fn room(id: u32, age: Duration, traffic: (u64, u64)) -> RoomReading {
        RoomReading {
            summary: summary(id),
            age,
            traffic,
            recent: RecentLateness {
                ticks: 30,
                p99_us: 900,
                max_us: 1200,
            },
            counts: RoomCounts {
                ticks: 30,
                late_ticks: 1,
                skipped_sends: 2,
                resyncs: 3,
                slow_kicks: 4,
                players: 2,
            },
        }
    }

    fn reading(bytes_in: u64, bytes_out: u64, cpu_ms: u64) -> Reading {
        Reading {
            bytes_in,
            bytes_out,
            cpu: Some(Duration::from_millis(cpu_ms)),
            rss_bytes: Some(10 << 20),
            sessions: 3,
        }
    }

    /// Rates are counter differences over the time between samples; the first sample has
    /// none; a room seen for the first time counts from its opening.
    #[test]
    fn rates_come_from_differences_between_samples() {
        let t0 = Instant::now();
        let mut s = Sampler::default();
        let (first, _) = s.sample(t0, 1_000, reading(100, 1_000, 0), vec![], None);
        assert_eq!(first.bytes_in_per_s, 0.0);
        assert_eq!(first.cpu, None);
        assert_eq!(first.lateness_p99_us, None);

        let t1 = t0 + Duration::from_secs(2);
        let rooms = vec![room(1, Duration::from_millis(500), (50, 400))];
        let (second, rows) = s.sample(
            t1,
            3_000,
            reading(300, 5_000, 500),
            rooms,
            Some((900, 1200)),
        );
        assert_eq!(second.bytes_in_per_s, 100.0);
        assert_eq!(second.bytes_out_per_s, 2_000.0);
        assert_eq!(second.cpu, Some(0.25));
        assert_eq!((second.rooms, second.players, second.sessions), (1, 2, 3));
        assert_eq!(second.lateness_p99_us, Some(900));
        assert_eq!(
            rows[0].bytes_in_per_s, 100.0,
            "50 bytes in its first half second"
        );
        assert_eq!(rows[0].bytes_out_per_s, 800.0);
        assert_eq!(
            (rows[0].ticks, rows[0].skipped_sends, rows[0].slow_kicks),
            (30, 2, 4)
        );

        let t2 = t1 + Duration::from_secs(1);
        let rooms = vec![room(1, Duration::from_millis(1500), (80, 1_400))];
        let (_, rows) = s.sample(t2, 4_000, reading(300, 5_000, 500), rooms, None);
        assert_eq!(rows[0].bytes_in_per_s, 30.0);
        assert_eq!(rows[0].bytes_out_per_s, 1_000.0);
        assert_eq!(s.history().len(), 3);
        assert_eq!(
            s.history().iter().map(|x| x.t).collect::<Vec<_>>(),
            [1_000, 3_000, 4_000]
        );
    }

    /// A room that closed and came back under the same id does not show a negative rate.
    #[test]
    fn a_counter_that_went_back_is_zero_not_negative() {
        let t0 = Instant::now();
        let mut s = Sampler::default();
        s.sample(
            t0,
            0,
            reading(0, 0, 0),
            vec![room(7, Duration::from_secs(9), (900, 900))],
            None,
        );
        let t1 = t0 + Duration::from_secs(1);
        let (_, rows) = s.sample(
            t1,
            1,
            reading(0, 0, 0),
            vec![room(7, Duration::ZERO, (10, 10))],
            None,
        );
        assert_eq!(
            (rows[0].bytes_in_per_s, rows[0].bytes_out_per_s),
            (0.0, 0.0)
        );
    }

    /// The history keeps the last five minutes, oldest first.
    #[test]
    fn the_history_is_bounded() {
        let t0 = Instant::now();
        let mut s = Sampler::default();
        for i in 0..(HISTORY_LEN as u64 + 25) {
            s.sample(
                t0 + Duration::from_secs(i),
                i,
                Reading::default(),
                vec![],
                None,
            );
        }
        assert_eq!(s.history().len(), HISTORY_LEN);
        assert_eq!(s.history().front().map(|x| x.t), Some(25));
        assert_eq!(
            s.history().back().map(|x| x.t),
            Some(HISTORY_LEN as u64 + 24)
        );
    }

    #[test]
    fn vm_rss_is_read_from_proc_status() {
        let status = "Name:\ttickroom\nVmPeak:\t  20000 kB\nVmRSS:\t   12345 kB\nThreads:\t9\n";
        assert_eq!(vm_rss_bytes(status), Some(12345 * 1024));
        assert_eq!(vm_rss_bytes("Name:\tx\n"), None);
        assert_eq!(vm_rss_bytes("VmRSS:\tlots kB\n"), None);
    }

    /// An event is one `event:` line, one `data:` line of JSON and a blank line.
    #[test]
    fn events_are_single_line_json() {
        let value = serde_json::json!({"a": "line\nbreak", "b": [1, 2]});
        let event = event("update", &value).expect("JSON values serialize");
        assert_eq!(
            &event[..],
            b"event: update\ndata: {\"a\":\"line\\nbreak\",\"b\":[1,2]}\n\n"
        );
    }
}
