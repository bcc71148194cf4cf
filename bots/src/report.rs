//! The run report: what the bots measured, as a readable table and as JSON.
//!
//! Every rate is over the measurement window only (after warm-up); counts of clients and of chain
//! problems (gaps, keyframes) cover the whole run, because a gap during the ramp matters too.

use crate::behavior::Behavior;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// Version of the JSON layout below; bumped on any incompatible change.
pub const REPORT_FORMAT: u32 = 1;

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
    /// Ping round trips.
    pub rtt_ms: Percentiles,
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
}

/// The run's parameters, echoed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Server WebSocket URL.
    pub url: String,
    /// `quick`, `room N`, `rooms of N` or `listen`.
    pub placement: String,
    /// The behaviour.
    pub behavior: Behavior,
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
    /// Clients connected when the window began (the denominator of per-client rates).
    pub in_window: u64,
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
}

/// The replica check: every bot's replica against a fresh observer's join snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verify {
    /// Rooms observed.
    pub rooms: u64,
    /// Replicas compared.
    pub checked: u64,
    /// Replicas equal to the server's world.
    pub equal: u64,
    /// Replicas that differ (each is a bug).
    pub mismatched: u64,
    /// Live bots that could not be compared (no capture, or the observer could not join).
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
        if let Some(v) = &self.verify {
            if v.mismatched > 0 {
                w.push(format!("{} replicas differ from the server", v.mismatched));
            }
        }
        self.warnings = w;
    }

    /// The report as a plain-text table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_table(&mut out);
        out
    }

    fn write_table(&self, o: &mut String) -> fmt::Result {
        let c = &self.clients;
        let lat = |p: &Percentiles| {
            format!(
                "p50 {:.1}  p90 {:.1}  p99 {:.1}  mean {:.1}  max {:.1} ms  ({} samples)",
                p.p50, p.p90, p.p99, p.mean, p.max, p.samples
            )
        };
        writeln!(
            o,
            "tickroom-bots: {} ({}, {}, {} inputs/s)",
            self.run.url, self.run.placement, self.run.behavior, self.run.input_hz
        )?;
        writeln!(
            o,
            "  clients         requested {}  joined {}  failed {}  dropped {}  in window {}",
            c.requested, c.joined, c.failed, c.dropped, c.in_window
        )?;
        writeln!(o, "  window          {:.1} s", self.window_s)?;
        writeln!(
            o,
            "  inputs          {:.0}/s sent of {:.0}/s nominal ({:.1} %)",
            self.inputs.per_s,
            self.inputs.nominal_per_s,
            self.inputs.ratio * 100.0
        )?;
        writeln!(
            o,
            "  deltas          {:.2} per client per s",
            self.deltas.per_client_per_s
        )?;
        writeln!(
            o,
            "  bytes           {:.0} payload / {:.0} wire per client per s",
            self.bytes.payload_per_client_per_s, self.bytes.wire_per_client_per_s
        )?;
        writeln!(o, "  input-to-ack    {}", lat(&self.latency_ms))?;
        writeln!(o, "  rtt             {}", lat(&self.rtt_ms))?;
        writeln!(o, "  delta interval  {}", lat(&self.delta_interval_ms))?;
        let ch = &self.chain;
        writeln!(
            o,
            "  chain           gaps {}  resync requests {}  keyframes {}  unresolved {}",
            ch.gaps, ch.resync_requests, ch.keyframes, ch.unresolved
        )?;
        writeln!(
            o,
            "  bot cpu         {:.2} s = {:.2} cores, {:.2} µs per delta received",
            self.bot_cpu.seconds, self.bot_cpu.cores, self.bot_cpu.us_per_delta
        )?;
        if let Some(v) = &self.verify {
            writeln!(
                o,
                "  verify          {} rooms: {} of {} replicas equal the server, {} differ, {} unchecked",
                v.rooms, v.equal, v.checked, v.mismatched, v.unchecked
            )?;
        }
        for (reason, n) in &self.errors {
            writeln!(o, "  error           {n} x {reason}")?;
        }
        for w in &self.warnings {
            writeln!(o, "  WARNING         {w}")?;
        }
        Ok(())
    }
}
