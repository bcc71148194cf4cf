//! The load-testing harness itself: a short run of the bots against an in-process server.
//!
//! Correctness only, never timing: every bot joins, follows the delta chain without unresolved
//! gaps, holds exactly the server's world at the end, and the JSON report is well-formed with
//! counts that add up.

use std::time::Duration;
use tickroom_bots::swarm::{Placement, Swarm, SwarmConfig};
use tickroom_bots::Report;
use tickroom_server::arena::Arena;
use tickroom_tests::{start, test_config, ws_url};

/// Bots in the smoke run.
const BOTS: u64 = 50;

/// 50 bots play for a few seconds; every replica equals the server's world and the report adds up.
#[tokio::test]
async fn fifty_bots_play_keep_exact_replicas_and_report_consistently() {
    let server = start::<Arena>(test_config());
    let mut config = SwarmConfig::new(ws_url(&server), BOTS as usize);
    // Two rooms of 25 under the capacity of 50: the replica check's observers need a free seat.
    config.placement = Placement::Groups(25);
    config.threads = 2;
    config.ramp_per_s = 200.0;
    config.warmup_s = 1.0;
    config.join_timeout = Duration::from_secs(30);
    let mut swarm = Swarm::start(config).expect("a valid configuration");
    assert!(
        swarm.wait_joined(Duration::from_secs(60)).await,
        "every bot joined or failed"
    );
    // The run's length, not a wait for something to happen: the assertions below hold for any.
    tokio::time::sleep(Duration::from_secs(1)).await;
    swarm.begin_window();
    tokio::time::sleep(Duration::from_secs(3)).await;
    swarm.end_window();
    let verify = swarm.verify().await;
    let report = swarm.finish().await;
    let table = report.table();

    let c = &report.clients;
    assert_eq!(c.requested, BOTS, "{table}");
    assert_eq!(c.joined, BOTS, "every bot joined: {table}");
    assert_eq!(c.failed, 0, "{table}");
    assert_eq!(c.dropped, 0, "no bot was dropped: {table}");
    assert_eq!(c.joined + c.failed, c.requested, "{table}");
    assert_eq!(c.in_window, BOTS, "{table}");

    // Gaps may happen on a loaded machine, but each must have been answered by a keyframe.
    let chain = &report.chain;
    assert_eq!(chain.unresolved, 0, "{table}");
    assert_eq!(chain.gaps, chain.resync_requests, "{table}");
    assert!(chain.keyframes >= chain.resync_requests, "{table}");

    assert_eq!(verify.rooms, 2, "{table}");
    assert_eq!(verify.checked, BOTS, "every replica was compared: {table}");
    assert_eq!(
        verify.equal, BOTS,
        "every replica equals the server: {table}"
    );
    assert_eq!(verify.mismatched, 0, "{table}");
    assert_eq!(verify.unchecked, 0, "{table}");
    assert_eq!(report.verify.as_ref(), Some(&verify));

    // The counts are consistent with each other.
    assert!(report.inputs.sent > 0, "{table}");
    assert!(report.deltas.received > 0, "{table}");
    assert!(report.bytes.wire > report.bytes.payload, "{table}");
    assert!(
        report.latency_ms.samples <= report.inputs.sent + BOTS,
        "at most one sample per input (plus those sent just before the window): {table}"
    );
    assert!(
        report.delta_interval_ms.samples <= report.deltas.received,
        "{table}"
    );
    assert!(report.window_s > 0.0);
    assert!(report.errors.is_empty(), "{table}");

    // The JSON report is well-formed and carries the same numbers.
    let json = serde_json::to_string_pretty(&report).expect("a report serializes");
    let value: serde_json::Value = serde_json::from_str(&json).expect("the report is valid JSON");
    for key in [
        "format",
        "run",
        "clients",
        "window_s",
        "inputs",
        "deltas",
        "bytes",
        "latency_ms",
        "rtt_ms",
        "delta_interval_ms",
        "chain",
        "bot_cpu",
        "verify",
        "errors",
        "warnings",
    ] {
        assert!(value.get(key).is_some(), "report has {key}: {json}");
    }
    assert_eq!(value["clients"]["joined"], BOTS);
    assert_eq!(value["latency_ms"]["samples"], report.latency_ms.samples);
    // Counts read back exactly (floats may differ in the last digit, so they are not compared).
    let back: Report = serde_json::from_str(&json).expect("the report reads back");
    assert_eq!(back.clients, report.clients);
    assert_eq!(back.chain, report.chain);
    assert_eq!(back.verify, report.verify);
    assert_eq!(back.errors, report.errors);
    assert_eq!(
        (back.inputs.sent, back.deltas.received, back.bytes.payload),
        (
            report.inputs.sent,
            report.deltas.received,
            report.bytes.payload
        )
    );
}
