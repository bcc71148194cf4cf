//! The run over time: one point per second of all bots, for the HTML report's charts and for
//! tools that read the JSON report.
//!
//! Keeping it cheap matters, because the benchmark sets the bots' CPU beside the server's. Each
//! bot thread ("shard") records into its own [`Interval`] (plain counters and two
//! histograms, no lock, no allocation per message); once per [`SAMPLE_PERIOD`] the shard folds
//! it into the shared [`SeriesBuilder`] under one lock and resets it. The builder merges the
//! shards' samples of the same second and turns them into a [`Point`] once every shard has
//! reported that second (or a later one): percentiles need the merged histogram, not the
//! shards' own percentiles.
//!
//! Unlike the report's totals, the series covers the whole run (ramp, warm-up, window, the
//! replica check), so joins and the warm-up show too; [`Series::window_from_s`] and
//! [`Series::window_to_s`] mark the window the totals come from.

use crate::report::Percentiles;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Length of one point of the series.
pub const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// Largest latency a histogram tracks, microseconds (a minute); larger samples are clamped.
pub(crate) const MAX_TRACKED_US: u64 = 60_000_000;

/// A histogram of microseconds, 1 µs to [`MAX_TRACKED_US`], 3 significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    // Fixed, valid bounds (1 µs to a minute, 3 digits): creation cannot fail.
    Histogram::new_with_bounds(1, MAX_TRACKED_US, 3).expect("valid histogram bounds")
}

/// Records `d` in microseconds, clamped to the histogram's range.
pub(crate) fn record_us(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    h.saturating_record(us.clamp(1, MAX_TRACKED_US));
}

/// The run over time, in the JSON report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Length of one point, seconds.
    pub period_s: f64,
    /// Start of the measurement window, seconds since the bots started (`None`: no window).
    pub window_from_s: Option<f64>,
    /// End of the measurement window, seconds since the bots started.
    pub window_to_s: Option<f64>,
    /// One point per period, in time order. A second in which a bot thread could not report
    /// (it was stalled longer than a period) carries that thread's figures in the next point.
    pub points: Vec<Point>,
}

/// One period of all bots.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// End of the period, seconds since the bots started.
    pub t_s: f64,
    /// Clients connected at the end of the period.
    pub clients: u64,
    /// Clients that joined in the period (rejoins after a room ended included).
    pub joins: u64,
    /// Clients that failed to join in the period.
    pub failed: u64,
    /// Joined clients whose connection ended early, in the period.
    pub drops: u64,
    /// Other errors in the period (the server's `Error` messages, a bot thread's failure).
    pub errors: u64,
    /// Inputs sent per second, all clients.
    pub inputs_per_s: f64,
    /// Deltas (in listen mode: frames) received per second, all clients.
    pub deltas_per_s: f64,
    /// Payload bytes received per second, all clients.
    pub payload_in_per_s: f64,
    /// Payload plus WebSocket frame headers received per second, all clients.
    pub wire_in_per_s: f64,
    /// Payload bytes sent per second (inputs, pings, commands, chat; not the joins), all clients.
    pub payload_out_per_s: f64,
    /// Payload plus frame headers (masked client frames) sent per second, all clients.
    pub wire_out_per_s: f64,
    /// Input-to-ack latency in the period (games with inputs), or the command round trip
    /// (games with commands), from the bots that measure; `samples` 0 when there was none.
    pub latency_ms: Percentiles,
    /// Time between consecutive deltas at one client (the tick interval the clients see),
    /// from the bots that measure.
    pub delta_interval_ms: Percentiles,
}

impl Point {
    /// `per_s` divided among the clients connected, `None` without clients.
    pub fn per_client(&self, per_s: f64) -> Option<f64> {
        (self.clients > 0).then(|| per_s / self.clients as f64)
    }
}

/// Event counts and bytes of one period (or of a merge of periods).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Inputs sent.
    pub inputs: u64,
    /// Deltas received.
    pub deltas: u64,
    /// Payload bytes received.
    pub payload_in: u64,
    /// Wire bytes received.
    pub wire_in: u64,
    /// Payload bytes sent.
    pub payload_out: u64,
    /// Wire bytes sent.
    pub wire_out: u64,
    /// Clients that joined.
    pub joins: u64,
    /// Clients that failed to join.
    pub failed: u64,
    /// Clients dropped.
    pub drops: u64,
    /// Other errors.
    pub errors: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.inputs += o.inputs;
        self.deltas += o.deltas;
        self.payload_in += o.payload_in;
        self.wire_in += o.wire_in;
        self.payload_out += o.payload_out;
        self.wire_out += o.wire_out;
        self.joins += o.joins;
        self.failed += o.failed;
        self.drops += o.drops;
        self.errors += o.errors;
    }
}

/// What one shard records during a period: the hot path writes here.
pub struct Interval {
    /// Counts of the period.
    pub counts: Counts,
    /// Clients of this shard connected now (not reset between periods).
    pub connected: u64,
    latency: Histogram<u64>,
    delta_interval: Histogram<u64>,
}

impl Default for Interval {
    fn default() -> Self {
        Interval::new()
    }
}

impl Interval {
    /// An empty period.
    pub fn new() -> Interval {
        Interval {
            counts: Counts::default(),
            connected: 0,
            latency: histogram(),
            delta_interval: histogram(),
        }
    }

    /// One input-to-ack latency (or command round trip).
    pub fn latency(&mut self, d: Duration) {
        record_us(&mut self.latency, d);
    }

    /// One gap between two consecutive deltas at a client.
    pub fn delta_interval(&mut self, d: Duration) {
        record_us(&mut self.delta_interval, d);
    }

    /// Starts the next period: counts and histograms to zero (no allocation), clients kept.
    fn reset(&mut self) {
        self.counts = Counts::default();
        self.latency.reset();
        self.delta_interval.reset();
    }
}

/// One period being gathered from the shards.
struct Bucket {
    counts: Counts,
    clients: u64,
    /// Sum over the shards of count / seconds that shard's sample covered: each shard's own
    /// rate, so a shard whose timer fired late does not inflate the period.
    rates: Rates,
    latency: Histogram<u64>,
    delta_interval: Histogram<u64>,
}

#[derive(Clone, Copy, Default)]
struct Rates {
    inputs: f64,
    deltas: f64,
    payload_in: f64,
    wire_in: f64,
    payload_out: f64,
    wire_out: f64,
}

impl Bucket {
    fn new() -> Bucket {
        Bucket {
            counts: Counts::default(),
            clients: 0,
            rates: Rates::default(),
            latency: histogram(),
            delta_interval: histogram(),
        }
    }

    fn reset(&mut self) {
        self.counts = Counts::default();
        self.clients = 0;
        self.rates = Rates::default();
        self.latency.reset();
        self.delta_interval.reset();
    }
}

/// Where one shard stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reporting {
    /// Nothing reported yet.
    Not,
    /// The last period index it reported; it will report no earlier one.
    Upto(u64),
    /// Ended: it reports nothing more.
    Done,
}

/// Merges the shards' samples into points. Pure bookkeeping: no clock, no thread; the shards
/// call it under a lock.
pub struct SeriesBuilder {
    period: Duration,
    shards: Vec<Reporting>,
    open: BTreeMap<u64, Bucket>,
    /// Reset buckets for reuse, so a long run allocates no histograms per period.
    spare: Vec<Bucket>,
    points: Vec<Point>,
    /// The index of the latest point.
    closed: Option<u64>,
    /// Other errors in the points so far (for the live view).
    errors: u64,
}

impl SeriesBuilder {
    /// A builder for `shards` shards sampling every `period`.
    pub fn new(shards: usize, period: Duration) -> SeriesBuilder {
        SeriesBuilder {
            period,
            shards: vec![Reporting::Not; shards],
            open: BTreeMap::new(),
            spare: Vec::new(),
            points: Vec::new(),
            closed: None,
            errors: 0,
        }
    }

    /// Folds `sample`, what `shard` recorded over `covered` up to the end of period `index`
    /// (period `i` ends `i` periods after the start), into that period, and resets `sample` for
    /// the next one. A shard reports its periods in order; an index at or below one it already
    /// reported (a timer that fired twice) joins that shard's latest period instead.
    pub fn add(&mut self, shard: usize, index: u64, covered: Duration, sample: &mut Interval) {
        let index = match self.shards.get(shard) {
            Some(Reporting::Upto(last)) => index.max(*last),
            Some(Reporting::Not) => index,
            // An unknown or finished shard: nothing to merge into.
            Some(Reporting::Done) | None => {
                sample.reset();
                return;
            }
        };
        // A period already turned into a point takes no more: late figures go to the next one.
        let index = match self.closed {
            Some(closed) => index.max(closed + 1),
            None => index,
        };
        self.merge(shard, index, covered, sample);
    }

    fn merge(&mut self, shard: usize, index: u64, covered: Duration, sample: &mut Interval) {
        let spare = &mut self.spare;
        let bucket = self
            .open
            .entry(index)
            .or_insert_with(|| spare.pop().unwrap_or_else(Bucket::new));
        bucket.counts.add(&sample.counts);
        bucket.clients += sample.connected;
        let secs = covered.as_secs_f64();
        if secs > 0.0 {
            let c = &sample.counts;
            let r = &mut bucket.rates;
            r.inputs += c.inputs as f64 / secs;
            r.deltas += c.deltas as f64 / secs;
            r.payload_in += c.payload_in as f64 / secs;
            r.wire_in += c.wire_in as f64 / secs;
            r.payload_out += c.payload_out as f64 / secs;
            r.wire_out += c.wire_out as f64 / secs;
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = bucket.latency.add(&sample.latency);
        let _ = bucket.delta_interval.add(&sample.delta_interval);
        sample.reset();
        if let Some(s) = self.shards.get_mut(shard) {
            *s = Reporting::Upto(index);
        }
        self.close_complete();
    }

    /// `shard` ended: it reports nothing more, so periods no longer wait for it.
    pub fn shard_done(&mut self, shard: usize) {
        if let Some(s) = self.shards.get_mut(shard) {
            *s = Reporting::Done;
        }
        self.close_complete();
    }

    /// The points complete so far.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Other errors (not failed joins, not drops) in the points so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Every point, those still waiting for a shard included.
    pub fn finish(&mut self) -> Vec<Point> {
        while let Some((index, bucket)) = self.open.pop_first() {
            self.close(index, bucket);
        }
        std::mem::take(&mut self.points)
    }

    fn t(&self, index: u64) -> f64 {
        index as f64 * self.period.as_secs_f64()
    }

    /// Turns into points the periods every shard has reported (or passed).
    fn close_complete(&mut self) {
        let upto = self
            .shards
            .iter()
            .map(|s| match s {
                Reporting::Not => None,
                Reporting::Upto(i) => Some(*i),
                Reporting::Done => Some(u64::MAX),
            })
            .min()
            .flatten();
        let Some(upto) = upto else { return };
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() > upto {
                break;
            }
            let (index, bucket) = entry.remove_entry();
            self.close(index, bucket);
        }
    }

    fn close(&mut self, index: u64, mut b: Bucket) {
        let point = Point {
            t_s: self.t(index),
            clients: b.clients,
            joins: b.counts.joins,
            failed: b.counts.failed,
            drops: b.counts.drops,
            errors: b.counts.errors,
            inputs_per_s: b.rates.inputs,
            deltas_per_s: b.rates.deltas,
            payload_in_per_s: b.rates.payload_in,
            wire_in_per_s: b.rates.wire_in,
            payload_out_per_s: b.rates.payload_out,
            wire_out_per_s: b.rates.wire_out,
            latency_ms: Percentiles::from_us(&b.latency),
            delta_interval_ms: Percentiles::from_us(&b.delta_interval),
        };
        self.errors += point.errors;
        self.points.push(point);
        self.closed = Some(index);
        b.reset();
        self.spare.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn sample(deltas: u64, latencies_ms: &[u64], connected: u64) -> Interval {
        let mut i = Interval::new();
        i.counts.deltas = deltas;
        i.counts.payload_in = deltas * 100;
        i.connected = connected;
        for ms in latencies_ms {
            i.latency(Duration::from_millis(*ms));
        }
        i
    }

    /// A period becomes a point only once every shard reported it, and the point merges the
    /// shards: counts and rates add up, percentiles come from the merged histogram.
    #[test]
    fn a_point_waits_for_every_shard_and_merges_them() {
        let mut b = SeriesBuilder::new(2, S);
        let mut a = sample(30, &[10, 10, 10], 1);
        b.add(0, 1, S, &mut a);
        assert!(b.points().is_empty(), "shard 1 has not reported second 1");
        assert_eq!(a.counts, Counts::default(), "the shard's period was reset");
        assert_eq!(a.connected, 1, "connected clients carry over");
        let mut c = sample(60, &[100], 2);
        b.add(1, 1, S, &mut c);
        let p = b.points();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].t_s, 1.0);
        assert_eq!(p[0].clients, 3);
        assert_eq!(p[0].deltas_per_s, 90.0);
        assert_eq!(p[0].payload_in_per_s, 9_000.0);
        assert_eq!(p[0].latency_ms.samples, 4);
        // 3 of 4 samples are 10 ms: the median is shard 0's, the max shard 1's.
        assert!(
            (p[0].latency_ms.p50 - 10.0).abs() < 0.1,
            "{:?}",
            p[0].latency_ms
        );
        assert!(
            (p[0].latency_ms.max - 100.0).abs() < 0.1,
            "{:?}",
            p[0].latency_ms
        );
    }

    /// Each shard's rate is its count over the time its sample covered: a late timer that
    /// covered 2 s does not double the rate.
    #[test]
    fn rates_use_the_time_each_sample_covered() {
        let mut b = SeriesBuilder::new(2, S);
        b.add(0, 1, Duration::from_secs(2), &mut sample(60, &[], 1));
        b.add(1, 1, Duration::from_millis(500), &mut sample(15, &[], 1));
        assert_eq!(b.points()[0].deltas_per_s, 30.0 + 30.0);
    }

    /// A shard that skipped a period (stalled) does not hold the others back: the period closes
    /// once the shard reports a later one, and a finished shard is waited for no more.
    #[test]
    fn skipped_periods_and_finished_shards_do_not_block() {
        let mut b = SeriesBuilder::new(2, S);
        b.add(0, 1, S, &mut sample(1, &[], 1));
        b.add(0, 2, S, &mut sample(1, &[], 1));
        assert!(b.points().is_empty());
        b.add(1, 2, Duration::from_secs(2), &mut sample(2, &[], 1));
        assert_eq!(
            b.points().iter().map(|p| p.t_s).collect::<Vec<_>>(),
            [1.0, 2.0]
        );
        b.add(0, 3, S, &mut sample(1, &[], 1));
        assert_eq!(b.points().len(), 2, "shard 1 may still report second 3");
        b.shard_done(1);
        assert_eq!(b.points().len(), 3);
        b.add(1, 4, S, &mut sample(5, &[], 1));
        assert_eq!(
            b.points().len(),
            3,
            "a finished shard's samples are ignored"
        );
    }

    /// Figures a shard reports for a period already closed go to the next open one, never lost
    /// and never out of order.
    #[test]
    fn late_figures_join_the_next_open_period() {
        let mut b = SeriesBuilder::new(1, S);
        b.add(0, 1, S, &mut sample(1, &[], 1));
        b.add(0, 1, S, &mut sample(2, &[], 1));
        let p = b.finish();
        assert_eq!(p.iter().map(|p| p.t_s).collect::<Vec<_>>(), [1.0, 2.0]);
        assert_eq!(p[1].deltas_per_s, 2.0);
    }

    /// Events are counted per period, and the builder keeps the running error total the live
    /// view shows.
    #[test]
    fn events_count_per_period_and_errors_add_up() {
        let mut b = SeriesBuilder::new(1, S);
        let mut i = Interval::new();
        i.counts.joins = 5;
        i.counts.failed = 1;
        i.connected = 5;
        b.add(0, 1, S, &mut i);
        i.counts.drops = 2;
        i.counts.errors = 3;
        i.connected = 3;
        b.add(0, 2, S, &mut i);
        let p = b.points();
        assert_eq!((p[0].joins, p[0].failed, p[0].clients), (5, 1, 5));
        assert_eq!(
            (p[1].joins, p[1].drops, p[1].errors, p[1].clients),
            (0, 2, 3, 3)
        );
        assert_eq!(
            b.errors(),
            3,
            "failed joins and drops are not counted twice"
        );
        assert_eq!(
            p[1].latency_ms.samples, 0,
            "no latency sample: empty percentiles"
        );
    }

    /// finish() closes what is still open, in time order.
    #[test]
    fn finish_closes_open_periods_in_order() {
        let mut b = SeriesBuilder::new(2, S);
        b.add(0, 2, S, &mut sample(1, &[], 1));
        b.add(0, 3, S, &mut sample(1, &[], 1));
        let p = b.finish();
        assert_eq!(p.iter().map(|p| p.t_s).collect::<Vec<_>>(), [2.0, 3.0]);
        assert!(b.points().is_empty());
    }

    #[test]
    fn per_client_needs_clients() {
        let p = Point {
            clients: 4,
            ..Point::default()
        };
        assert_eq!(p.per_client(120.0), Some(30.0));
        assert_eq!(Point::default().per_client(120.0), None);
    }
}
