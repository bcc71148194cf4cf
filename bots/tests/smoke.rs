//! The bots against an in-process server running every bundled game: each game's behaviour
//! joins, plays and reports, and arena replicas equal the server's state.
//!
//! Correctness only, never timing: the windows are short and the assertions hold for any length.

use std::process::Command;
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

/// The `tickroom-bots` binary: a short arena run writes the JSON report with its series and a
/// self-contained HTML page (summary and charts, nothing fetched from the network); `compare`
/// exits 0 on the same report, 1 when B got worse, 2 on a file that is no report.
#[test]
fn the_cli_writes_json_and_html_reports_and_compare_gates_on_regressions() {
    let server = server();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bots-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let (json, html) = (dir.join("a.json"), dir.join("a.html"));
    let bots = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_tickroom-bots"))
            .args(args)
            .output()
            .expect("tickroom-bots runs")
    };
    let url = format!("ws://{}/ws", server.addr);
    let run = bots(&[
        "--url".as_ref(),
        url.as_ref(),
        "--clients".as_ref(),
        "6".as_ref(),
        "--ramp".as_ref(),
        "100".as_ref(),
        "--warmup".as_ref(),
        "0.5".as_ref(),
        "--duration".as_ref(),
        "2.5".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report"))
            .expect("a report");
    let series = report.series.as_ref().expect("the report has its series");
    assert!(!series.points.is_empty(), "{series:?}");
    let (Some(from), Some(to)) = (series.window_from_s, series.window_to_s) else {
        panic!("the window is marked: {series:?}");
    };
    assert!(from < to, "{series:?}");
    let joins: u64 = series.points.iter().map(|p| p.joins).sum();
    assert_eq!(joins, 6, "every join is in the series: {series:?}");
    assert!(
        series
            .points
            .iter()
            .any(|p| p.latency_ms.samples > 0 && p.deltas_per_s > 0.0),
        "{series:?}"
    );

    let page = std::fs::read_to_string(&html).expect("the HTML report");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<svg").count(), 6, "six charts");
    assert!(
        page.contains("Input-to-ack latency (ms)"),
        "the latency chart"
    );
    assert!(page.contains("<th>input-to-ack</th>"), "the summary table");
    assert!(
        page.contains("<th>delta interval</th>"),
        "the summary table"
    );
    for fetch in ["<script", "<link", "<img", " src=", "@import", "url("] {
        assert!(!page.contains(fetch), "nothing to fetch: found {fetch}");
    }
    assert_eq!(
        page.matches("http").count(),
        page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "the only URLs are SVG namespaces"
    );

    let same = bots(&["compare".as_ref(), json.as_os_str(), json.as_os_str()]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    assert!(String::from_utf8_lossy(&same.stdout).contains("nothing got worse"));

    let mut worse: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report"))
            .expect("JSON");
    let p99 = worse["latency_ms"]["p99"].as_f64().expect("a p99");
    worse["latency_ms"]["p99"] = (p99 * 3.0 + 10.0).into();
    worse["clients"]["dropped"] = 1.into();
    let b = dir.join("b.json");
    std::fs::write(&b, worse.to_string()).expect("written");
    let regressed = bots(&["compare".as_ref(), json.as_os_str(), b.as_os_str()]);
    let table = String::from_utf8_lossy(&regressed.stdout);
    assert_eq!(regressed.status.code(), Some(1), "{table}");
    assert!(table.contains("2 figures got worse"), "{table}");
    let improved = bots(&["compare".as_ref(), b.as_os_str(), json.as_os_str()]);
    assert_eq!(
        improved.status.code(),
        Some(0),
        "B better than A is no regression"
    );

    let other = dir.join("other.json");
    std::fs::write(&other, r#"{"mode": "seated"}"#).expect("written");
    let refused = bots(&["compare".as_ref(), json.as_os_str(), other.as_os_str()]);
    assert_eq!(refused.status.code(), Some(2));
    // The scratch files only help debugging a failure; leaving them is harmless.
    let _ = std::fs::remove_dir_all(&dir);
}
