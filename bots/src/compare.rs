//! Two runs side by side: which key figures got better or worse between JSON report A (say,
//! the base commit) and B (the change), for `tickroom-bots compare`.
//!
//! It reads both kinds of file the tools write: a `tickroom-bots --json` report (one run) and a
//! `tickroom-bench` result (`bench/results/*.json`: one row per client count, each holding the
//! bots' report beside the server's CPU, RSS and tick rate). Files are read as plain JSON rather
//! than as [`crate::Report`], so files written before a field existed still compare: a figure
//! missing on either side is shown as `-` and judged by nobody.
//!
//! A figure counts as changed only when it moved by more than the tolerance (percent of A) and,
//! for latencies, by more than [`LATENCY_SLACK_MS`] too: on loopback a 0.3 ms p50 that becomes
//! 0.4 ms is +33 % and means nothing. Counts that should be zero (drops, failed joins, errors,
//! gaps) are worse as soon as they rise from zero.

use serde_json::Value;
use std::fmt::Write as _;
use thiserror::Error;

/// Changes of a latency below this many milliseconds are never counted.
pub const LATENCY_SLACK_MS: f64 = 1.0;

/// Which way is good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Lower is better (latency, bytes, CPU, drops).
    Lower,
    /// Higher is better (deltas per second, tick rate, inputs sent).
    Higher,
}

/// What happened to one figure from A to B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Moved the good way by more than the tolerance.
    Better,
    /// Moved the bad way by more than the tolerance.
    Worse,
    /// Within the tolerance.
    Same,
    /// Missing on one side (an older file, another game): not judged.
    Missing,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Better => "better",
            Verdict::Worse => "WORSE",
            Verdict::Same => "same",
            Verdict::Missing => "n/a",
        })
    }
}

/// Judges the change from `a` to `b`: beyond `tolerance_pct` percent of `a` and beyond `slack`
/// (absolute), the way `better` says. From zero, any change beyond `slack` counts.
pub fn verdict(a: f64, b: f64, better: Better, tolerance_pct: f64, slack: f64) -> Verdict {
    let diff = b - a;
    if diff.abs() <= slack {
        return Verdict::Same;
    }
    if a != 0.0 && (diff / a.abs() * 100.0).abs() <= tolerance_pct {
        return Verdict::Same;
    }
    match (better, diff > 0.0) {
        (Better::Lower, false) | (Better::Higher, true) => Verdict::Better,
        (Better::Lower, true) | (Better::Higher, false) => Verdict::Worse,
    }
}

/// Why two files cannot be compared.
#[derive(Debug, Error)]
pub enum CompareError {
    /// The file is neither a bots report nor a bench result.
    #[error("{0} is neither a tickroom-bots report nor a tickroom-bench result")]
    Unknown(&'static str),
    /// No run of A has a run of B with the same client count.
    #[error("no client count is in both files (A: {a}; B: {b})")]
    NoCommonRun {
        /// A's client counts.
        a: String,
        /// B's client counts.
        b: String,
    },
}

/// One run in a file: the bots' report, and the bench row around it (server figures).
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    /// Clients asked for.
    pub clients: Option<u64>,
    /// The bots' report.
    pub bots: Option<&'a Value>,
    /// The bench row (absent for a plain bots report).
    pub row: Option<&'a Value>,
}

/// The runs of one file, or `None` if it is neither kind.
pub fn runs(doc: &Value) -> Option<Vec<Run<'_>>> {
    if let Some(rows) = doc.get("rows").and_then(Value::as_array) {
        return Some(
            rows.iter()
                .map(|row| Run {
                    clients: row.get("clients").and_then(Value::as_u64),
                    bots: row.get("bots").filter(|b| b.is_object()),
                    row: Some(row),
                })
                .collect(),
        );
    }
    if doc.get("latency_ms").is_some() && doc.get("clients").is_some() {
        return Some(vec![Run {
            clients: doc.pointer("/clients/requested").and_then(Value::as_u64),
            bots: Some(doc),
            row: None,
        }]);
    }
    None
}

/// One key figure: how to read it from a run and how to judge it.
pub struct Figure {
    /// Name and unit, as printed.
    pub name: &'static str,
    /// Which way is good.
    pub better: Better,
    /// Absolute change that never counts.
    pub slack: f64,
    /// Whole numbers (counts).
    pub count: bool,
    read: fn(&Run) -> Option<f64>,
}

impl Figure {
    /// The figure's value in `run`, `None` when the file lacks it.
    pub fn read(&self, run: &Run) -> Option<f64> {
        (self.read)(run)
    }
}

fn bots_f64(run: &Run, pointer: &str) -> Option<f64> {
    run.bots?.pointer(pointer)?.as_f64()
}

fn row_f64(run: &Run, pointer: &str) -> Option<f64> {
    run.row?.pointer(pointer)?.as_f64()
}

/// A percentile of a distribution in the bots' report, if it has samples.
fn percentile(run: &Run, dist: &str, which: &str) -> Option<f64> {
    let d = run.bots?.pointer(dist)?;
    if d.get("samples")?.as_u64()? == 0 {
        return None;
    }
    d.get(which)?.as_f64()
}

/// The key figures, in the order printed.
pub const FIGURES: &[Figure] = &[
    Figure {
        name: "input-to-ack p50 (ms)",
        better: Better::Lower,
        slack: LATENCY_SLACK_MS,
        count: false,
        read: |r| percentile(r, "/latency_ms", "p50"),
    },
    Figure {
        name: "input-to-ack p99 (ms)",
        better: Better::Lower,
        slack: LATENCY_SLACK_MS,
        count: false,
        read: |r| percentile(r, "/latency_ms", "p99"),
    },
    Figure {
        name: "command round trip p99 (ms)",
        better: Better::Lower,
        slack: LATENCY_SLACK_MS,
        count: false,
        read: |r| percentile(r, "/commands/latency_ms", "p99"),
    },
    Figure {
        name: "deltas per client per s",
        better: Better::Higher,
        slack: 0.0,
        count: false,
        read: |r| bots_f64(r, "/deltas/per_client_per_s"),
    },
    Figure {
        name: "wire bytes per client per s",
        better: Better::Lower,
        slack: 0.0,
        count: false,
        read: |r| bots_f64(r, "/bytes/wire_per_client_per_s"),
    },
    Figure {
        name: "tick interval p99 (ms)",
        better: Better::Lower,
        slack: LATENCY_SLACK_MS,
        count: false,
        read: |r| percentile(r, "/delta_interval_ms", "p99"),
    },
    Figure {
        name: "inputs sent (% of nominal)",
        better: Better::Higher,
        slack: 0.0,
        count: false,
        read: |r| {
            if bots_f64(r, "/inputs/nominal_per_s")? > 0.0 {
                bots_f64(r, "/inputs/ratio").map(|x| x * 100.0)
            } else {
                None
            }
        },
    },
    Figure {
        name: "failed joins",
        better: Better::Lower,
        slack: 0.0,
        count: true,
        read: |r| bots_f64(r, "/clients/failed"),
    },
    Figure {
        name: "drops",
        better: Better::Lower,
        slack: 0.0,
        count: true,
        read: |r| bots_f64(r, "/clients/dropped"),
    },
    Figure {
        name: "errors (all reasons)",
        better: Better::Lower,
        slack: 0.0,
        count: true,
        read: |r| {
            let errors = r.bots?.get("errors")?.as_object()?;
            // Folded from +0: an empty f64 sum is -0, which would print as "-0".
            Some(
                errors
                    .values()
                    .filter_map(Value::as_f64)
                    .fold(0.0, |a, b| a + b),
            )
        },
    },
    Figure {
        name: "chain gaps",
        better: Better::Lower,
        slack: 0.0,
        count: true,
        read: |r| bots_f64(r, "/chain/gaps"),
    },
    Figure {
        name: "bot CPU per delta (µs)",
        better: Better::Lower,
        slack: 0.0,
        count: false,
        read: |r| bots_f64(r, "/bot_cpu/us_per_delta").filter(|v| *v > 0.0),
    },
    Figure {
        name: "server CPU per client-tick (µs)",
        better: Better::Lower,
        slack: 0.0,
        count: false,
        read: |r| row_f64(r, "/server_us_per_client_tick"),
    },
    Figure {
        name: "ticks/s per room (min)",
        better: Better::Higher,
        slack: 0.0,
        count: false,
        read: |r| row_f64(r, "/ticks_per_s_min"),
    },
    Figure {
        name: "tick lateness p99 (ms)",
        better: Better::Lower,
        slack: LATENCY_SLACK_MS,
        count: false,
        read: |r| row_f64(r, "/lateness_p99_ms"),
    },
    Figure {
        name: "server RSS (MB)",
        better: Better::Lower,
        slack: 0.0,
        count: false,
        read: |r| row_f64(r, "/server_rss_mb"),
    },
];

/// One figure of one pair of runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The figure's name.
    pub figure: &'static str,
    /// A's value.
    pub a: Option<f64>,
    /// B's value.
    pub b: Option<f64>,
    /// Whether the figure is a count.
    pub count: bool,
    /// The judgement.
    pub verdict: Verdict,
}

/// One pair of runs (a client count present in both files).
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// "clients N", or both counts when a single run on each side differs.
    pub title: String,
    /// Figures present on at least one side.
    pub lines: Vec<Line>,
    /// Differences in how the runs were made, which make the comparison less like for like.
    pub notes: Vec<String>,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Tolerance used, percent.
    pub tolerance_pct: f64,
    /// One per pair of runs.
    pub sections: Vec<Section>,
    /// Client counts only one side has.
    pub unmatched: Vec<String>,
}

/// Compares file A with file B at `tolerance_pct` percent. Runs pair by client count; a file
/// with a single run pairs with a single run whatever its count (with a note).
pub fn compare(a: &Value, b: &Value, tolerance_pct: f64) -> Result<Comparison, CompareError> {
    let runs_a = runs(a).ok_or(CompareError::Unknown("A"))?;
    let runs_b = runs(b).ok_or(CompareError::Unknown("B"))?;
    let mut pairs = Vec::new();
    let mut unmatched = Vec::new();
    if let ([ra], [rb]) = (runs_a.as_slice(), runs_b.as_slice()) {
        pairs.push((*ra, *rb));
    } else {
        for ra in &runs_a {
            match runs_b.iter().find(|rb| rb.clients == ra.clients) {
                Some(rb) => pairs.push((*ra, *rb)),
                None => unmatched.push(format!("clients {} only in A", count(ra.clients))),
            }
        }
        for rb in &runs_b {
            if !runs_a.iter().any(|ra| ra.clients == rb.clients) {
                unmatched.push(format!("clients {} only in B", count(rb.clients)));
            }
        }
    }
    if pairs.is_empty() {
        let list = |runs: &[Run]| {
            runs.iter()
                .map(|r| count(r.clients))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(CompareError::NoCommonRun {
            a: list(&runs_a),
            b: list(&runs_b),
        });
    }
    let sections = pairs
        .into_iter()
        .map(|(ra, rb)| section(&ra, &rb, tolerance_pct))
        .collect();
    Ok(Comparison {
        tolerance_pct,
        sections,
        unmatched,
    })
}

fn count(clients: Option<u64>) -> String {
    clients.map_or_else(|| "?".into(), |c| c.to_string())
}

fn section(ra: &Run, rb: &Run, tolerance_pct: f64) -> Section {
    let title = if ra.clients == rb.clients {
        format!("clients {}", count(ra.clients))
    } else {
        format!(
            "clients {} (A) / {} (B)",
            count(ra.clients),
            count(rb.clients)
        )
    };
    let lines = FIGURES
        .iter()
        .filter_map(|f| {
            let (a, b) = (f.read(ra), f.read(rb));
            if a.is_none() && b.is_none() {
                return None;
            }
            let verdict = match (a, b) {
                (Some(a), Some(b)) => verdict(a, b, f.better, tolerance_pct, f.slack),
                _ => Verdict::Missing,
            };
            Some(Line {
                figure: f.name,
                a,
                b,
                count: f.count,
                verdict,
            })
        })
        .collect();
    Section {
        title,
        lines,
        notes: differences(ra, rb),
    }
}

/// How the two runs were made differently (game, placement, decode, sampling, input rate,
/// clients, window length), each as "what: A vs B".
fn differences(ra: &Run, rb: &Run) -> Vec<String> {
    let mut notes = Vec::new();
    let (Some(a), Some(b)) = (ra.bots, rb.bots) else {
        return notes;
    };
    // What files written before a field existed meant by its absence: format 1 reports were
    // all arena, every bot decoded fully and measured.
    for (name, pointer, absent) in [
        ("game", "/run/game", Some(Value::from("arena"))),
        ("placement", "/run/placement", None),
        ("behaviour", "/run/behavior", None),
        ("decode", "/run/decode", Some(Value::from("full"))),
        ("measure every", "/run/measure_every", Some(Value::from(1))),
        ("input rate", "/run/input_hz", None),
        ("clients requested", "/clients/requested", None),
    ] {
        let read = |v: &Value| match v.pointer(pointer) {
            // The behaviour `play` was called `arena` in format 1.
            Some(Value::String(s)) if pointer == "/run/behavior" && s == "arena" => {
                Some(Value::from("play"))
            }
            Some(v) => Some(v.clone()),
            None => absent.clone(),
        };
        let (x, y) = (read(a), read(b));
        if x != y {
            let show = |v: Option<Value>| v.map_or_else(|| "-".into(), |v| plain(&v));
            notes.push(format!("{name}: {} vs {}", show(x), show(y)));
        }
    }
    let window = |v: &Value| v.get("window_s").and_then(Value::as_f64);
    if let (Some(x), Some(y)) = (window(a), window(b)) {
        if (x - y).abs() >= 1.0 {
            notes.push(format!("window: {x:.1} s vs {y:.1} s"));
        }
    }
    notes
}

/// A JSON value without the quotes of a string.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Decimals for a line's values: none for counts, else by the larger value's size, so A and B
/// show alike.
fn decimals(a: Option<f64>, b: Option<f64>, count: bool) -> usize {
    let size = a.into_iter().chain(b).map(f64::abs).fold(0.0, f64::max);
    match size {
        _ if count => 0,
        s if s >= 1000.0 => 0,
        s if s >= 100.0 => 1,
        _ => 2,
    }
}

fn number(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

/// The change from A to B in percent of A.
fn change(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a != 0.0 => {
            let pct = (b - a) / a.abs() * 100.0;
            if pct.abs() < 0.05 {
                "0.0 %".into()
            } else {
                format!("{pct:+.1} %")
            }
        }
        (Some(_), Some(0.0)) => "0.0 %".into(),
        (Some(_), Some(_)) => "from 0".into(),
        _ => "-".into(),
    }
}

impl Comparison {
    /// Every figure that got worse beyond the tolerance, as "section: figure".
    pub fn worse(&self) -> Vec<String> {
        self.sections
            .iter()
            .flat_map(|s| {
                s.lines
                    .iter()
                    .filter(|l| l.verdict == Verdict::Worse)
                    .map(move |l| format!("{}: {}", s.title, l.figure))
            })
            .collect()
    }

    /// The comparison as text: per pair of runs, each figure's A, B, change and verdict; then
    /// what got worse.
    pub fn table(&self) -> String {
        let mut o = String::new();
        // Writing to a String cannot fail (here and below).
        let _ = writeln!(
            o,
            "tolerance {} % (latencies also {LATENCY_SLACK_MS} ms); B against A",
            self.tolerance_pct
        );
        for s in &self.sections {
            let _ = writeln!(o, "\n{}", s.title);
            for n in &s.notes {
                let _ = writeln!(o, "  note: runs differ in {n}");
            }
            let _ = writeln!(
                o,
                "  {:<32}{:>12}{:>12}{:>10}  verdict",
                "figure", "A", "B", "change"
            );
            for l in &s.lines {
                let d = decimals(l.a, l.b, l.count);
                let _ = writeln!(
                    o,
                    "  {:<32}{:>12}{:>12}{:>10}  {}",
                    l.figure,
                    number(l.a, d),
                    number(l.b, d),
                    change(l.a, l.b),
                    l.verdict
                );
            }
        }
        for u in &self.unmatched {
            let _ = writeln!(o, "\n{u}: not compared");
        }
        let worse = self.worse();
        if worse.is_empty() {
            let _ = writeln!(o, "\nnothing got worse beyond {} %", self.tolerance_pct);
        } else {
            let _ = writeln!(
                o,
                "\n{} got worse beyond {} %: {}",
                if worse.len() == 1 {
                    "1 figure".to_owned()
                } else {
                    format!("{} figures", worse.len())
                },
                self.tolerance_pct,
                worse.join("; ")
            );
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Lower-is-better and higher-is-better figures, within and beyond the tolerance.
    #[test]
    fn verdicts_follow_the_direction_and_the_tolerance() {
        use Better::*;
        assert_eq!(verdict(20.0, 21.0, Lower, 10.0, 0.0), Verdict::Same);
        assert_eq!(verdict(20.0, 23.0, Lower, 10.0, 0.0), Verdict::Worse);
        assert_eq!(verdict(20.0, 17.0, Lower, 10.0, 0.0), Verdict::Better);
        assert_eq!(verdict(30.0, 25.0, Higher, 10.0, 0.0), Verdict::Worse);
        assert_eq!(verdict(30.0, 34.0, Higher, 10.0, 0.0), Verdict::Better);
        assert_eq!(verdict(30.0, 30.0, Higher, 0.0, 0.0), Verdict::Same);
        // The tolerance is a flag: the same change judged at 20 %.
        assert_eq!(verdict(20.0, 23.0, Lower, 20.0, 0.0), Verdict::Same);
    }

    /// A small absolute change (a sub-millisecond latency) never counts, however large in %.
    #[test]
    fn the_slack_absorbs_small_absolute_changes() {
        assert_eq!(verdict(0.3, 0.4, Better::Lower, 10.0, 1.0), Verdict::Same);
        assert_eq!(verdict(0.3, 1.5, Better::Lower, 10.0, 1.0), Verdict::Worse);
    }

    /// A count that was zero is worse as soon as it rises.
    #[test]
    fn counts_rising_from_zero_are_worse() {
        assert_eq!(verdict(0.0, 1.0, Better::Lower, 10.0, 0.0), Verdict::Worse);
        assert_eq!(verdict(1.0, 0.0, Better::Lower, 10.0, 0.0), Verdict::Better);
        assert_eq!(verdict(0.0, 0.0, Better::Lower, 10.0, 0.0), Verdict::Same);
    }

    fn bots(p99: f64, dropped: u64) -> Value {
        json!({
            "format": 2,
            "run": {"game": "arena", "placement": "quick match", "decode": "full",
                    "measure_every": 1, "input_hz": 30.0},
            "clients": {"requested": 100, "joined": 100, "failed": 0, "dropped": dropped},
            "window_s": 20.0,
            "inputs": {"sent": 60000, "per_s": 3000.0, "nominal_per_s": 3000.0, "ratio": 1.0},
            "deltas": {"received": 60000, "per_client_per_s": 30.0},
            "bytes": {"wire_per_client_per_s": 7150.0},
            "latency_ms": {"samples": 60000, "p50": 15.0, "p90": 28.0, "p99": p99, "mean": 15.0, "max": 40.0},
            "delta_interval_ms": {"samples": 60000, "p50": 33.3, "p90": 34.0, "p99": 36.0, "mean": 33.3, "max": 45.0},
            "chain": {"gaps": 0},
            "bot_cpu": {"seconds": 3.0, "cores": 0.15, "us_per_delta": 50.0},
            "errors": {},
        })
    }

    /// Two bots reports: a p99 that doubled and a drop make B worse, and the table says so.
    #[test]
    fn two_reports_name_what_got_worse() {
        let c = compare(&bots(30.0, 0), &bots(60.0, 1), 10.0).expect("comparable");
        assert_eq!(
            c.worse(),
            vec!["clients 100: input-to-ack p99 (ms)", "clients 100: drops"]
        );
        let table = c.table();
        assert!(table.contains("+100.0 %  WORSE"), "{table}");
        assert!(table.contains("2 figures got worse beyond 10 %"), "{table}");
        // The other way round it is all better.
        let back = compare(&bots(60.0, 1), &bots(30.0, 0), 10.0).expect("comparable");
        assert!(back.worse().is_empty(), "{}", back.table());
        assert!(
            back.table().contains("nothing got worse"),
            "{}",
            back.table()
        );
    }

    /// A bench result from before a field existed still compares: missing figures are `n/a`,
    /// never a failure, and rows pair by client count.
    #[test]
    fn older_bench_results_compare_with_missing_figures() {
        let mut old_bots = bots(30.0, 0);
        let old_bots_map = old_bots.as_object_mut().expect("an object");
        old_bots_map.remove("bot_cpu");
        old_bots_map["run"]
            .as_object_mut()
            .expect("an object")
            .remove("measure_every");
        let old = json!({"rows": [
            {"clients": 100, "server_us_per_client_tick": 60.0, "ticks_per_s_min": 30.0, "bots": old_bots},
            {"clients": 500, "server_us_per_client_tick": 40.0, "ticks_per_s_min": 30.0, "bots": bots(30.0, 0)},
        ]});
        let new = json!({"rows": [
            {"clients": 100, "server_us_per_client_tick": 50.0, "ticks_per_s_min": 30.0,
             "server_rss_mb": 10.0, "bots": bots(30.0, 0)},
            {"clients": 1000, "server_us_per_client_tick": 30.0, "bots": bots(30.0, 0)},
        ]});
        let c = compare(&old, &new, 10.0).expect("comparable");
        assert_eq!(c.sections.len(), 1);
        let s = &c.sections[0];
        assert_eq!(s.title, "clients 100");
        assert!(
            s.notes.is_empty(),
            "a missing measure_every means 1: {:?}",
            s.notes
        );
        let line = |name: &str| {
            s.lines
                .iter()
                .find(|l| l.figure == name)
                .unwrap_or_else(|| panic!("{name} in {:?}", s.lines))
        };
        assert_eq!(line("bot CPU per delta (µs)").verdict, Verdict::Missing);
        assert_eq!(line("server RSS (MB)").verdict, Verdict::Missing);
        assert_eq!(
            line("server CPU per client-tick (µs)").verdict,
            Verdict::Better
        );
        assert_eq!(
            c.unmatched,
            vec!["clients 500 only in A", "clients 1000 only in B"]
        );
        assert!(c.worse().is_empty());
        assert!(
            !s.lines.iter().any(|l| l.figure.starts_with("command")),
            "a figure neither side has is left out"
        );
    }

    /// Runs made differently are compared, with a note; files of another kind are refused.
    #[test]
    fn different_runs_get_a_note_and_other_files_an_error() {
        let mut b = bots(30.0, 0);
        b["run"]["decode"] = json!("acks");
        b["clients"]["requested"] = json!(200);
        let c = compare(&bots(30.0, 0), &b, 10.0).expect("comparable");
        assert_eq!(c.sections[0].title, "clients 100 (A) / 200 (B)");
        assert_eq!(
            c.sections[0].notes,
            vec!["decode: full vs acks", "clients requested: 100 vs 200"]
        );
        let hostile = json!({"mode": "seated", "samples": []});
        assert!(matches!(
            compare(&hostile, &b, 10.0),
            Err(CompareError::Unknown("A"))
        ));
        let bench =
            |n: u64| json!({"rows": [{"clients": n, "bots": bots(30.0, 0)}, {"clients": n + 1}]});
        assert!(matches!(
            compare(&bench(100), &bench(500), 10.0),
            Err(CompareError::NoCommonRun { .. })
        ));
    }
}
