//! The bots against an in-process server running every bundled game: each game's behaviour
//! joins, plays and reports, and arena replicas equal the server's state.
//!
//! Correctness only, never timing: the windows are short and the assertions hold for any length.

use std::time::Duration;
use tickroom_bots::swarm::{Decode, Placement, Swarm, SwarmConfig};
use tickroom_bots::{Game, Report};
use tickroom_server::{Config, ServerHandle};

fn server() -> ServerHandle {
    let config = Config {
        bind: "127.0.0.1:0".parse().expect("a literal address"),
        seed: Some(1),
        static_dir: None,
        room_threads: 1,
        workers: 1,
        ..Config::default()
    };
    tickroom_server::spawn(config, tickroom_games::all()).expect("a server on port 0")
}

fn config(server: &ServerHandle, game: Game, clients: usize) -> SwarmConfig {
    let mut config = SwarmConfig::new(format!("ws://{}/ws", server.addr), clients);
    config.game = game;
    config.ramp_per_s = 200.0;
    config.warmup_s = 0.5;
    config.join_timeout = Duration::from_secs(30);
    config
}

/// Runs the phases with a `window` long measurement, optionally checking replicas.
async fn run(config: SwarmConfig, window: Duration, verify: bool) -> Report {
    let clients = config.clients as u64;
    let warmup = Duration::from_secs_f64(config.warmup_s);
    let mut swarm = Swarm::start(config).expect("a valid configuration");
    assert!(swarm.wait_joined(Duration::from_secs(60)).await);
    tokio::time::sleep(warmup).await;
    swarm.begin_window();
    tokio::time::sleep(window).await;
    swarm.end_window();
    if verify {
        swarm.verify().await;
    }
    let report = swarm.finish().await;
    let table = report.table();
    assert_eq!(report.clients.joined, clients, "{table}");
    assert_eq!(report.clients.dropped, 0, "{table}");
    assert_eq!(report.chain.unresolved, 0, "{table}");
    assert!(report.errors.is_empty(), "{table}");
    report
}

/// Arena bots send inputs, see their acks, and hold exactly the server's state at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arena_bots_measure_acks_and_keep_exact_replicas() {
    let server = server();
    let mut config = config(&server, Game::Arena, 20);
    config.placement = Placement::Groups(10);
    let report = run(config, Duration::from_secs(2), true).await;
    let table = report.table();
    assert_eq!(report.run.game, Game::Arena);
    assert!(report.inputs.sent > 0, "{table}");
    assert!(report.latency_ms.samples > 0, "{table}");
    assert!(report.bytes.per_changed_entity.is_some(), "{table}");
    assert!(report.commands.is_none(), "{table}");
    let verify = report.verify.clone().expect("verified");
    assert_eq!(verify.rooms, 2, "{table}");
    assert_eq!(
        verify.equal, 20,
        "every replica equals the keyframe: {table}"
    );
    assert_eq!(verify.mismatched + verify.unchecked, 0, "{table}");
}

/// Bots that only scan for their acks measure the same things, without a replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arena_bots_scanning_only_acks_measure_latency_and_bytes() {
    let server = server();
    let mut config = config(&server, Game::Arena, 10);
    config.decode = Decode::Acks;
    let report = run(config, Duration::from_secs(2), false).await;
    let table = report.table();
    assert!(report.latency_ms.samples > 0, "{table}");
    assert!(report.deltas.received > 0, "{table}");
    assert!(report.bytes.per_changed_entity.is_some(), "{table}");
    assert_eq!(report.chain.gaps, report.chain.resync_requests, "{table}");
}

/// Light bots: only every Kth bot measures, yet the report has latency from those, and every
/// bot (measuring or not) sends its inputs and counts its deltas and bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn light_bots_report_latency_from_their_sampled_bots() {
    let server = server();
    let mut config = config(&server, Game::Arena, 12);
    config.measure_every = 4;
    let report = run(config, Duration::from_secs(2), false).await;
    let table = report.table();
    assert_eq!(report.run.measure_every, 4, "{table}");
    assert!(table.contains("1 in 4 bots measure"), "{table}");
    assert!(report.latency_ms.samples > 0, "{table}");
    assert!(report.rtt_ms.samples > 0, "{table}");
    assert!(report.inputs.sent > 0, "{table}");
    assert!(report.bytes.per_changed_entity.is_some(), "{table}");
    // Only measuring bots time the interval between deltas (one sample per delta), while every
    // bot counts its deltas: the count exceeds the measuring bots' share.
    assert!(
        report.deltas.received > report.delta_interval_ms.samples,
        "counting bots count their deltas: {table}"
    );
    // Only measuring bots time inputs, so each latency sample is one of theirs.
    assert!(report.latency_ms.samples <= report.inputs.sent, "{table}");
}

/// Card bots start games and play legal cards: commands are applied, none is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_bots_start_and_play_legal_cards() {
    let server = server();
    let report = run(
        config(&server, Game::Cards, 8),
        Duration::from_secs(3),
        false,
    )
    .await;
    let table = report.table();
    let commands = report.commands.clone().expect("cards has commands");
    assert!(commands.applied > 0, "{table}");
    assert!(commands.refused.is_empty(), "no refusal: {table}");
    assert!(commands.by_move.contains_key("play") || commands.by_move.contains_key("draw"));
    assert!(commands.latency_ms.samples > 0, "{table}");
    assert_eq!(report.inputs.nominal_per_s, 0.0, "cards has no inputs");
    assert!(report.warnings.is_empty(), "{table}");
}

/// Shooter bots move, aim and fire; their inputs are acked and bytes are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shooter_bots_send_inputs_and_count_bytes() {
    let server = server();
    let report = run(
        config(&server, Game::Shooter, 10),
        Duration::from_secs(2),
        false,
    )
    .await;
    let table = report.table();
    assert_eq!(report.run.game, Game::Shooter);
    assert!(report.inputs.sent > 0, "{table}");
    assert!(report.latency_ms.samples > 0, "{table}");
    assert!(report.bytes.payload_per_client_per_s > 0.0, "{table}");
}
