//! The run report: what the bots measured, as a readable table and as JSON.
//!
//! Every rate is over the measurement window only (after warm-up); counts of clients and of chain
//! problems (gaps, keyframes) cover the whole run, because a gap during the ramp matters too.

use crate::behavior::Behavior;
use crate::game::Game;
use crate::series::Series;
use crate::swarm::Decode;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Version of the JSON layout below; bumped on any incompatible change (2: protocol v2, the
/// game, commands, rooms ended and rejoins, delta bytes per changed entity).
pub const REPORT_FORMAT: u32 = 2;

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: u32,
    /// What was run.
    pub run: RunInfo,
    /// Client counts.
    pub clients: ClientCounts,
    /// Length of the measurement window, seconds.
    pub window_s: f64,
    /// Inputs the bots sent during the window.
    pub inputs: InputRate,
    /// Deltas (or, in listen mode, frames) received during the window.
    pub deltas: DeltaRate,
    /// Bytes received during the window.
    pub bytes: ByteRate,
    /// Input-to-ack latency: input sent until a delta shows the player's ack at or past it.
    pub latency_ms: Percentiles,
    /// Commands sent during the window and their results (games with commands only).
    pub commands: Option<Commands>,
    /// Ping round trips.
    pub rtt_ms: Percentiles,
    /// Joins, from starting to connect until the join snapshot was applied (redirects to
    /// another cluster node included); the first join of each bot, ramp included.
    #[serde(default)]
    pub join_ms: Percentiles,
    /// Time between consecutive deltas at one client: 33.3 ms at 30 Hz when nothing jitters.
    pub delta_interval_ms: Percentiles,
    /// Delta-chain problems over the whole run.
    pub chain: Chain,
    /// The bot process's own CPU during the window.
    pub bot_cpu: BotCpu,
    /// The replica check, when it was asked for.
    pub verify: Option<Verify>,
    /// Why clients failed or dropped, with counts.
    pub errors: BTreeMap<String, u64>,
    /// Reasons this run may have measured the load generator rather than the server; empty when
    /// it looks sound.
    pub warnings: Vec<String>,
    /// The whole run second by second (ramp and warm-up included), for charts and tools;
    /// `None` in reports written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
}

/// The run's parameters, echoed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Server WebSocket URL.
    pub url: String,
    /// The game played.
    pub game: Game,
    /// `quick`, `room N`, `rooms of N` or `listen`.
    pub placement: String,
    /// The behaviour.
    pub behavior: Behavior,
    /// How much of each snapshot and delta the bots decoded.
    pub decode: Decode,
    /// One bot in this many measured (decoded per `decode`, latency, round trips, the chain);
    /// the others only counted frames and bytes while sending the same inputs and pings. 1 = every
    /// bot measured (reports without the field).
    #[serde(default = "one")]
    pub measure_every: u32,
    /// Inputs per second per client.
    pub input_hz: f64,
    /// Joins per second during the ramp.
    pub ramp_per_s: f64,
    /// Warm-up after all joined, seconds.
    pub warmup_s: f64,
    /// Bot threads.
    pub threads: usize,
    /// Random seed.
    pub seed: u64,
}

fn one() -> u32 {
    1
}

/// How many clients got in and stayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCounts {
    /// Clients asked for.
    pub requested: u64,
    /// Clients that received their welcome and join snapshot.
    pub joined: u64,
    /// Clients that never joined (connect error, refusal, timeout). `joined + failed = requested`.
    pub failed: u64,
    /// Joined clients whose connection ended before the bots left.
    pub dropped: u64,
    /// Redirects to another node followed while joining (cluster mode; 0 on a single node).
    #[serde(default)]
    pub redirects: u64,
    /// Clients connected when the window began (the denominator of per-client rates).
    pub in_window: u64,
    /// `Ended` messages received: each bot of a room the game ended counts one.
    pub ended: u64,
    /// Times a bot joined again (quick match) after its room ended.
    pub rejoined: u64,
}

/// Input sending against the nominal rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputRate {
    /// Inputs sent in the window.
    pub sent: u64,
    /// Inputs per second actually sent.
    pub per_s: f64,
    /// Clients in window x input rate.
    pub nominal_per_s: f64,
    /// `per_s / nominal_per_s` (1 when no inputs are nominal).
    pub ratio: f64,
}

/// Deltas received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeltaRate {
    /// Deltas received in the window.
    pub received: u64,
    /// Per client per second (30 at 30 Hz).
    pub per_client_per_s: f64,
}

/// Bytes received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ByteRate {
    /// Payload bytes of every incoming message in the window.
    pub payload: u64,
    /// Payload plus WebSocket frame headers (and control frames) in the window.
    pub wire: u64,
    /// Payload bytes per client per second.
    pub payload_per_client_per_s: f64,
    /// Wire bytes per client per second.
    pub wire_per_client_per_s: f64,
    /// Payload bytes of the deltas alone in the window.
    pub delta_payload: u64,
    /// Entity records in the `changed` lists of those deltas (in arena: the players that moved).
    pub changed_entities: u64,
    /// `delta_payload / changed_entities`: delta bytes per changed entity, headers and acks
    /// included (in arena: bytes per moving player per tick). `None` without changes.
    pub per_changed_entity: Option<f64>,
}

/// Commands and their results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Commands {
    /// Commands sent in the window.
    pub sent: u64,
    /// Sent per move (`start`, `play`, `draw`).
    pub by_move: BTreeMap<String, u64>,
    /// Results received in the window that applied the command.
    pub applied: u64,
    /// Results received in the window that refused it, per refusal code.
    pub refused: BTreeMap<String, u64>,
    /// Command round trip: sent until its result arrived.
    pub latency_ms: Percentiles,
}

/// A latency distribution, milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Samples.
    pub samples: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Mean.
    pub mean: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// From a histogram of microseconds.
    pub fn from_us(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            samples: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            mean: h.mean() / 1000.0,
            max: ms(h.max()),
        }
    }
}

/// Delta-chain health.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// Deltas that did not build on the replica.
    pub gaps: u64,
    /// Resyncs the bots asked for (one per gap that was not already awaiting a keyframe).
    pub resync_requests: u64,
    /// Snapshots after the join snapshot (answers to resyncs, or the server's own keyframes).
    pub keyframes: u64,
    /// Gaps still waiting for their keyframe when the bots left.
    pub unresolved: u64,
}

/// The bot process's CPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotCpu {
    /// CPU seconds (user + system) used during the window.
    pub seconds: f64,
    /// Cores busy on average: `seconds / window_s`.
    pub cores: f64,
    /// CPU microseconds per client per tick-equivalent (per delta received).
    pub us_per_delta: f64,
    /// Context switches per second of all the bot process's threads in the window (voluntary
    /// plus involuntary, from `/proc/self/task/*/status`).
    #[serde(default)]
    pub switches_per_s: f64,
    /// Voluntary switches per second: how often a bot thread went to sleep and was woken.
    #[serde(default)]
    pub voluntary_switches_per_s: f64,
    /// Seconds per second the bot threads were runnable but waited for a core (summed over
    /// threads, from `/proc/self/task/*/schedstat`): a generator starved by a full machine.
    #[serde(default)]
    pub run_queue_wait: f64,
}

/// The replica check: once every bot stood still, each bot's replica (built from deltas) against
/// the keyframe the server sent for its `Resync` (the server's state, encoded afresh).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verify {
    /// Rooms with at least one replica compared.
    pub rooms: u64,
    /// Replicas compared.
    pub checked: u64,
    /// Replicas equal to the keyframe (entities, and the acks of seated players).
    pub equal: u64,
    /// Replicas that differ (each is a bug).
    pub mismatched: u64,
    /// Live bots that could not be compared (already awaiting a keyframe after a gap, no answer
    /// in time, a game other than arena, or no replica under `--decode acks`).
    pub unchecked: u64,
}

impl Report {
    /// Fills [`Report::warnings`] from the load-generator health rules of WORKLOAD.md.
    pub fn assess(&mut self) {
        let mut w = Vec::new();
        if self.inputs.nominal_per_s > 0.0 && self.inputs.ratio < 0.95 {
            w.push(format!(
                "bots sent {:.1} % of the nominal inputs: the run measured the generator",
                self.inputs.ratio * 100.0
            ));
        }
        if self.bot_cpu.cores >= 0.95 {
            w.push(format!(
                "the bot process used {:.2} cores: it may be saturated",
                self.bot_cpu.cores
            ));
        }
        if self.clients.failed > 0 {
            w.push(format!("{} clients failed to join", self.clients.failed));
        }
        if self.clients.dropped > 0 {
            w.push(format!("{} clients dropped", self.clients.dropped));
        }
        if let Some(c) = &self.commands {
            let refused: u64 = c.refused.values().sum();
            if refused > 0 {
                w.push(format!("the game refused {refused} commands"));
            }
        }
        if let Some(v) = &self.verify {
            if v.mismatched > 0 {
                w.push(format!("{} replicas differ from the server", v.mismatched));
            }
        }
        self.warnings = w;
    }

    /// Why the load generator rather than the server may have been the limit of this run, for a
    /// benchmark's flag column: inputs sent under 99 % of nominal (WORKLOAD.md's warning is at
    /// 95 %), the bot process busy on 90 % or more of the threads it has, or its threads waiting
    /// for a core a quarter of the time or more. Empty when none holds.
    pub fn generator_limits(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.inputs.nominal_per_s > 0.0 && self.inputs.ratio < 0.99 {
            why.push(format!("inputs {:.1} %", self.inputs.ratio * 100.0));
        }
        let threads = self.run.threads.max(1) as f64;
        if self.bot_cpu.cores >= 0.9 * threads {
            why.push(format!(
                "bot cores {:.2} of {}",
                self.bot_cpu.cores, self.run.threads
            ));
        }
        if self.bot_cpu.run_queue_wait >= 0.25 * threads {
            why.push(format!(
                "bots waited for a core {:.0} % of the time",
                self.bot_cpu.run_queue_wait / threads * 100.0
            ));
        }
        why
    }

    /// The report as a plain-text table: [`Report::title`], then [`Report::rows`].
    pub fn table(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{}", self.title());
        for (label, value) in self.rows() {
            let _ = writeln!(out, "  {label:<16}{value}");
        }
        out
    }

    /// What was run, in one line: the table's first line and the HTML report's subtitle.
    pub fn title(&self) -> String {
        let inputs = if self.run.game.has_inputs() {
            format!(", {} inputs/s", self.run.input_hz)
        } else {
            String::new()
        };
        let sampled = if self.run.measure_every > 1 {
            format!(", 1 in {} bots measure", self.run.measure_every)
        } else {
            String::new()
        };
        format!(
            "tickroom-bots: {} (game {}, {}, {}{inputs}, {} decode{sampled})",
            self.run.url, self.run.game, self.run.placement, self.run.behavior, self.run.decode
        )
    }

    /// The summary as (label, value) rows: the terminal table and the HTML report show the same.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let c = &self.clients;
        let lat = |p: &Percentiles| {
            format!(
                "p50 {:.1}  p90 {:.1}  p99 {:.1}  mean {:.1}  max {:.1} ms  ({} samples)",
                p.p50, p.p90, p.p99, p.mean, p.max, p.samples
            )
        };
        let mut rows = vec![(
            "clients",
            format!(
                "requested {}  joined {}  failed {}  dropped {}  in window {}",
                c.requested, c.joined, c.failed, c.dropped, c.in_window
            ),
        )];
        if c.ended > 0 || c.rejoined > 0 {
            rows.push((
                "rooms ended",
                format!("{} end messages, {} rejoins", c.ended, c.rejoined),
            ));
        }
        rows.push(("window", format!("{:.1} s", self.window_s)));
        rows.push((
            "inputs",
            format!(
                "{:.0}/s sent of {:.0}/s nominal ({:.1} %)",
                self.inputs.per_s,
                self.inputs.nominal_per_s,
                self.inputs.ratio * 100.0
            ),
        ));
        rows.push((
            "deltas",
            format!("{:.2} per client per s", self.deltas.per_client_per_s),
        ));
        rows.push((
            "bytes",
            format!(
                "{:.0} payload / {:.0} wire per client per s",
                self.bytes.payload_per_client_per_s, self.bytes.wire_per_client_per_s
            ),
        ));
        if let Some(per) = self.bytes.per_changed_entity {
            rows.push((
                "delta bytes",
                format!(
                    "{per:.2} per changed entity ({} entities in {} bytes)",
                    self.bytes.changed_entities, self.bytes.delta_payload
                ),
            ));
        }
        if self.run.game.has_inputs() {
            rows.push(("input-to-ack", lat(&self.latency_ms)));
        }
        if let Some(cmd) = &self.commands {
            let counts = |m: &BTreeMap<String, u64>| {
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let refused: u64 = cmd.refused.values().sum();
            rows.push((
                "commands",
                format!(
                    "{} sent ({}), {} applied, {} refused{}",
                    cmd.sent,
                    counts(&cmd.by_move),
                    cmd.applied,
                    refused,
                    if refused > 0 {
                        format!(" ({})", counts(&cmd.refused))
                    } else {
                        String::new()
                    }
                ),
            ));
            rows.push(("command rtt", lat(&cmd.latency_ms)));
        }
        rows.push(("rtt", lat(&self.rtt_ms)));
        if self.join_ms.samples > 0 {
            let redirects = match self.clients.redirects {
                0 => String::new(),
                n => format!("  ({n} redirected)"),
            };
            rows.push(("join", format!("{}{redirects}", lat(&self.join_ms))));
        }
        rows.push(("delta interval", lat(&self.delta_interval_ms)));
        let ch = &self.chain;
        rows.push((
            "chain",
            format!(
                "gaps {}  resync requests {}  keyframes {}  unresolved {}",
                ch.gaps, ch.resync_requests, ch.keyframes, ch.unresolved
            ),
        ));
        rows.push((
            "bot cpu",
            format!(
                "{:.2} s = {:.2} cores, {:.2} µs per delta received, {:.0} context switches/s ({:.0} voluntary), waited for a core {:.2} s/s",
                self.bot_cpu.seconds,
                self.bot_cpu.cores,
                self.bot_cpu.us_per_delta,
                self.bot_cpu.switches_per_s,
                self.bot_cpu.voluntary_switches_per_s,
                self.bot_cpu.run_queue_wait
            ),
        ));
        if let Some(v) = &self.verify {
            rows.push((
                "verify",
                format!(
                    "{} rooms: {} of {} replicas equal the server, {} differ, {} unchecked",
                    v.rooms, v.equal, v.checked, v.mismatched, v.unchecked
                ),
            ));
        }
        for (reason, n) in &self.errors {
            rows.push(("error", format!("{n} x {reason}")));
        }
        for w in &self.warnings {
            rows.push(("WARNING", w.clone()));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(game: Game) -> Report {
        Report {
            format: REPORT_FORMAT,
            run: RunInfo {
                url: "ws://127.0.0.1:1/ws".into(),
                game,
                placement: "quick match".into(),
                behavior: Behavior::Play,
                decode: Decode::Full,
                measure_every: 1,
                input_hz: 30.0,
                ramp_per_s: 500.0,
                warmup_s: 5.0,
                threads: 1,
                seed: 1,
            },
            clients: ClientCounts {
                requested: 4,
                joined: 4,
                failed: 0,
                dropped: 0,
                redirects: 0,
                in_window: 4,
                ended: 2,
                rejoined: 2,
            },
            window_s: 20.0,
            inputs: InputRate {
                sent: 0,
                per_s: 0.0,
                nominal_per_s: 0.0,
                ratio: 1.0,
            },
            deltas: DeltaRate {
                received: 800,
                per_client_per_s: 10.0,
            },
            bytes: ByteRate {
                payload: 40_000,
                wire: 41_600,
                payload_per_client_per_s: 500.0,
                wire_per_client_per_s: 520.0,
                delta_payload: 30_000,
                changed_entities: 1_200,
                per_changed_entity: Some(25.0),
            },
            latency_ms: Percentiles::default(),
            commands: game.has_commands().then(|| Commands {
                sent: 10,
                by_move: BTreeMap::from([("play".into(), 9), ("start".into(), 1)]),
                applied: 9,
                refused: BTreeMap::from([("not_your_turn".into(), 1)]),
                latency_ms: Percentiles::default(),
            }),
            rtt_ms: Percentiles::default(),
            join_ms: Percentiles::default(),
            delta_interval_ms: Percentiles::default(),
            chain: Chain::default(),
            bot_cpu: BotCpu {
                seconds: 1.0,
                cores: 0.05,
                us_per_delta: 1.0,
                switches_per_s: 0.0,
                voluntary_switches_per_s: 0.0,
                run_queue_wait: 0.0,
            },
            verify: None,
            errors: BTreeMap::new(),
            warnings: Vec::new(),
            series: None,
        }
    }

    #[test]
    fn the_table_names_the_game_and_shows_commands_and_delta_bytes() {
        let mut r = report(Game::Cards);
        r.assess();
        assert_eq!(r.warnings, vec!["the game refused 1 commands".to_owned()]);
        let table = r.table();
        assert!(
            table.contains("(game cards, quick match, play, full decode)"),
            "{table}"
        );
        assert!(
            table.contains("10 sent (play 9, start 1), 9 applied, 1 refused (not_your_turn 1)"),
            "{table}"
        );
        assert!(table.contains("25.00 per changed entity"), "{table}");
        assert!(table.contains("2 end messages, 2 rejoins"), "{table}");
        assert!(
            !table.contains("input-to-ack"),
            "cards has no inputs: {table}"
        );
        let arena = report(Game::Arena).table();
        assert!(
            arena.contains("(game arena, quick match, play, 30 inputs/s, full decode)"),
            "{arena}"
        );
        assert!(arena.contains("input-to-ack"), "{arena}");
    }

    /// The generator-limit flag: inputs under 99 % of nominal, or bot cores near its threads.
    #[test]
    fn generator_limits_name_the_inputs_and_the_bot_cores() {
        let mut r = report(Game::Arena);
        assert!(r.generator_limits().is_empty());
        r.inputs = InputRate {
            sent: 1_000,
            per_s: 2_940.0,
            nominal_per_s: 3_000.0,
            ratio: 0.98,
        };
        r.bot_cpu.cores = 0.93;
        assert_eq!(
            r.generator_limits(),
            vec!["inputs 98.0 %".to_owned(), "bot cores 0.93 of 1".to_owned()]
        );
        r.run.threads = 2;
        assert_eq!(r.generator_limits(), vec!["inputs 98.0 %".to_owned()]);
        r.bot_cpu.run_queue_wait = 1.2;
        assert_eq!(
            r.generator_limits(),
            vec![
                "inputs 98.0 %".to_owned(),
                "bots waited for a core 60 % of the time".to_owned()
            ]
        );
    }

    /// A report written before the light mode (no `measure_every`, no switches) still reads.
    #[test]
    fn older_reports_read_with_every_bot_measuring() {
        let mut json = serde_json::to_value(report(Game::Arena)).expect("serializes");
        json["run"]
            .as_object_mut()
            .expect("run is an object")
            .remove("measure_every");
        json["bot_cpu"]
            .as_object_mut()
            .expect("bot_cpu is an object")
            .remove("switches_per_s");
        let back: Report = serde_json::from_value(json).expect("reads back");
        assert_eq!(back.run.measure_every, 1);
        assert_eq!(back.bot_cpu.switches_per_s, 0.0);
    }

    #[test]
    fn the_json_carries_the_game_and_reads_back() {
        let r = report(Game::Cards);
        let json = serde_json::to_value(&r).expect("serializes");
        assert_eq!(json["format"], 2);
        assert_eq!(json["run"]["game"], "cards");
        assert_eq!(json["run"]["behavior"], "play");
        assert_eq!(json["run"]["decode"], "full");
        assert_eq!(json["commands"]["refused"]["not_your_turn"], 1);
        let back: Report = serde_json::from_value(json).expect("reads back");
        assert_eq!(back.commands, r.commands);
        assert_eq!(back.clients, r.clients);
        // A v1 report's behaviour name still reads.
        let old: Behavior = serde_json::from_str("\"arena\"").expect("alias");
        assert_eq!(old, Behavior::Play);
    }
}
