//! `tickroom-bots`: load-test a tickroom server with thousands of bot clients.
//!
//! The bots ramp in, warm up, are measured over a window, optionally check their replicas
//! against the server's world, leave, and print a table (and, with `--json`, a report file;
//! with `--html`, a page with the table and charts over time). `--game` picks what they play:
//! arena (the benchmark workload), cards or shooter. `tickroom-bots compare A.json B.json`
//! tells what got better or worse between two reports (exit status 1 when something got worse).
//! See `bench/README.md` for how the benchmark uses it.

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tickroom_bots::swarm::{Decode, Placement, Swarm, SwarmConfig};
use tickroom_bots::{Behavior, Game};
use tickroom_shared::RoomId;
use tokio::time::Instant;

/// Parses seconds, fractions allowed ("0.5").
fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|e| format!("not a number of seconds: {e}"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("invalid duration: {e}"))
}

fn default_threads() -> usize {
    // Half the cores: the other half is the server's when both run on one machine.
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Parses `--room-options` as a JSON object.
fn parse_options(s: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str(s) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err("room options must be a JSON object".into()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// Load-test a tickroom server with bot clients (the arena workload of WORKLOAD.md by default).
///
/// arena: each bot walks randomly, 30 inputs/s, and measures input-to-ack latency.
/// cards: bots quick-match Crazy Eights rooms, the lowest seated player starts once 2 or more
/// are seated, each bot plays a legal card (or draws) on its turn, and they join again when a
/// game ends; reports command round trips and refusals.
/// shooter: the arena walk plus a random aim and trigger, 30 inputs/s; reports bytes per client
/// per second under spatial interest.
#[derive(Debug, Parser)]
#[command(
    name = "tickroom-bots",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: Args,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compare two JSON reports: what got better or worse from A to B.
    ///
    /// A and B are `tickroom-bots --json` reports or `tickroom-bench` results (runs paired by
    /// client count). For each key figure: A, B, the change and whether it got better or worse.
    /// Exit status: 0 when nothing got worse beyond the tolerance, 1 when something did, 2 when
    /// the files cannot be compared.
    Compare(CompareArgs),
}

#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// File A: the base (e.g. the previous commit's run).
    a: PathBuf,
    /// File B: the change.
    b: PathBuf,
    /// How far a figure may move, in percent of A, and still count as the same (latencies
    /// must also move by more than 1 ms).
    #[arg(long, default_value_t = 10.0, value_parser = parse_tolerance)]
    tolerance: f64,
}

/// Parses `--tolerance`: a percentage, 0 or more.
fn parse_tolerance(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t >= 0.0 && t.is_finite() => Ok(t),
        Ok(_) => Err("the tolerance is a percentage, 0 or more".into()),
        Err(e) => Err(format!("not a number: {e}")),
    }
}

/// A measured run's options.
#[derive(Debug, clap::Args)]
struct Args {
    /// Server WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Number of clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// The game to play: arena, cards, shooter.
    #[arg(long, default_value = "arena")]
    game: Game,
    /// Put the bots in rooms of this many (the first of each group creates the room, the others
    /// join it by id). Without it, and without --room, the bots quick-match.
    #[arg(long, conflicts_with = "room")]
    room_size: Option<u32>,
    /// Put every bot in this room.
    #[arg(long)]
    room: Option<u32>,
    /// Options (JSON) for the rooms created with --room-size, e.g. '{"capacity": 1000}' for a
    /// shooter room of a thousand.
    #[arg(long, requires = "room_size", value_parser = parse_options)]
    room_options: Option<serde_json::Value>,
    /// Connect without joining and count frames, still sending inputs unless --behavior idle
    /// (for `tickroom-raw-floor`).
    #[arg(long, conflicts_with_all = ["room", "room_size"])]
    listen: bool,
    /// Inputs per second per client (arena, shooter).
    #[arg(long, default_value_t = 30.0)]
    input_hz: f64,
    /// Measurement window, seconds.
    #[arg(long, default_value = "20", value_parser = parse_secs)]
    duration: Duration,
    /// Warm-up after every client joined, seconds.
    #[arg(long, default_value = "5", value_parser = parse_secs)]
    warmup: Duration,
    /// Joins per second while ramping up.
    #[arg(long, default_value_t = 500.0)]
    ramp: f64,
    /// What the bots do: play (the game's behaviour above; `arena` is accepted for it), idle
    /// (join and listen), chatty (play plus a chat line per second).
    #[arg(long, default_value = "play")]
    behavior: Behavior,
    /// How much of each snapshot and delta the bots decode: full (a replica per bot, every check)
    /// or acks (only the tick chain and the bot's own ack: a cheaper generator, same latency
    /// measurement; arena and shooter only, no --verify).
    #[arg(long, default_value = "full")]
    decode: Decode,
    /// Light load generator: only every Kth bot measures (decodes per --decode, input-to-ack
    /// latency, round trips, the chain); the others only count frames and bytes while sending the
    /// same inputs and pings. 1 = every bot measures. Arena and shooter only, no --verify.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    measure_every: u32,
    /// Seed of the bots' random walks.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Bot threads (default: half the cores).
    #[arg(long, default_value_t = default_threads())]
    threads: usize,
    /// Seconds one join may take before it counts as failed.
    #[arg(long, default_value = "10", value_parser = parse_secs)]
    join_timeout: Duration,
    /// After the window (arena only), stop the bots, let each ask for a keyframe and compare it
    /// with the replica it built from deltas.
    #[arg(long)]
    verify: bool,
    /// Write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the report as one self-contained HTML page to this file: the table, then charts
    /// of the run second by second.
    #[arg(long)]
    html: Option<PathBuf>,
}

/// Updates the bar every half second until `until`.
async fn wait_showing(swarm: &Swarm, bar: &ProgressBar, phase: &str, until: Instant) {
    let what = if swarm.config().game.has_inputs() {
        "ack"
    } else {
        "command"
    };
    let mut last = (Instant::now(), swarm.progress().messages);
    loop {
        let now = Instant::now();
        if now >= until {
            return;
        }
        tokio::time::sleep((until - now).min(Duration::from_millis(500))).await;
        let p = swarm.progress();
        let now = Instant::now();
        let rate = (p.messages - last.1) as f64 / (now - last.0).as_secs_f64().max(1e-3);
        last = (now, p.messages);
        bar.set_position(p.connected);
        let p99 = p
            .recent_p99_ms
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"));
        let left = until.saturating_duration_since(now).as_secs();
        bar.set_message(format!(
            "{phase} {left:>3}s | joined {} failed {} dropped {} errors {} | {rate:>8.0} msg/s | {what} p99 {p99}",
            p.joined, p.failed, p.dropped, p.errors
        ));
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Compare(args)) => Ok(compare(&args)),
        None => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the runtime")?
                .block_on(run(cli.run))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `tickroom-bots compare`: prints the comparison; the exit status says whether anything got
/// worse (1) or the files could not be compared (2).
fn compare(args: &CompareArgs) -> ExitCode {
    let read = |path: &Path| -> anyhow::Result<serde_json::Value> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
    };
    let result = (|| -> anyhow::Result<_> {
        let (a, b) = (read(&args.a)?, read(&args.b)?);
        tickroom_bots::compare::compare(&a, &b, args.tolerance).with_context(|| {
            format!(
                "cannot compare {} with {}",
                args.a.display(),
                args.b.display()
            )
        })
    })();
    match result {
        Ok(comparison) => {
            println!("A: {}\nB: {}", args.a.display(), args.b.display());
            print!("{}", comparison.table());
            if comparison.worse().is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A measured run: ramp, warm-up, window, optional replica check, the table and the files.
async fn run(args: Args) -> anyhow::Result<()> {
    let placement = match (args.listen, args.room, args.room_size) {
        (true, _, _) => Placement::Listen,
        (false, Some(id), _) => Placement::Room(RoomId(id)),
        (false, None, Some(size)) => Placement::Groups(size),
        (false, None, None) => Placement::Quick,
    };
    if args.verify && placement == Placement::Listen {
        bail!("--verify needs a tickroom server, not --listen");
    }
    if args.verify && args.game != Game::Arena {
        bail!("--verify needs a world that can stand still: only --game arena");
    }
    if args.verify && args.decode != Decode::Full {
        bail!("--verify compares replicas: it needs --decode full");
    }
    if args.verify && args.measure_every != 1 {
        bail!("--verify compares every bot's replica: it needs --measure-every 1");
    }
    let config = SwarmConfig {
        url: args.url.clone(),
        clients: args.clients,
        game: args.game,
        placement,
        behavior: args.behavior,
        decode: args.decode,
        measure_every: args.measure_every,
        input_hz: args.input_hz,
        ramp_per_s: args.ramp,
        threads: args.threads,
        seed: args.seed,
        join_timeout: args.join_timeout,
        warmup_s: args.warmup.as_secs_f64(),
        room_options: args
            .room_options
            .as_ref()
            .map(rmpv::ext::to_value)
            .transpose()
            .context("room options")?,
    };
    let mut swarm = Swarm::start(config).context("cannot start the bots")?;
    let bar = ProgressBar::new(args.clients as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos:>6}/{len:6} {msg}")
            // The template is a constant known to be valid.
            .expect("valid progress template"),
    );

    let ramp = Duration::from_secs_f64(args.clients as f64 / args.ramp);
    let ramp_deadline = Instant::now() + ramp + args.join_timeout + Duration::from_secs(5);
    let all = {
        let waiting = swarm.wait_joined(ramp_deadline - Instant::now());
        tokio::pin!(waiting);
        tokio::select! {
            all = &mut waiting => all,
            () = wait_showing(&swarm, &bar, "ramp", ramp_deadline) => false,
        }
    };
    if !all {
        bar.println("not every client joined in time; measuring those that did");
    }
    wait_showing(&swarm, &bar, "warm-up", Instant::now() + args.warmup).await;
    swarm.begin_window();
    wait_showing(&swarm, &bar, "window", Instant::now() + args.duration).await;
    swarm.end_window();
    if args.verify {
        bar.set_message("verifying replicas");
        swarm.verify().await;
    }
    bar.finish_and_clear();
    let report = swarm.finish().await;
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).context("cannot encode the report")?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.html {
        let page = tickroom_bots::html::render(&report).context("cannot draw the report")?;
        std::fs::write(path, page).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if report.clients.joined == 0 {
        bail!("no client joined");
    }
    if report.verify.as_ref().is_some_and(|v| v.mismatched > 0) {
        bail!("replicas differ from the server's world");
    }
    Ok(())
}
