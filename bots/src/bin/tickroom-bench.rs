//! `tickroom-bench`: the arena benchmark of WORKLOAD.md, behind `make bench`.
//!
//! For each client count it starts a fresh `tickroom-server` process (the games crate's binary,
//! which serves every bundled game; the bots play `arena`), runs the bots in this
//! process (quick match, 50-player rooms, 30 Hz), and samples the server exactly at the window's
//! edges: CPU (`utime + stime`), context switches (summed over its threads), RSS, and every
//! room's tick counters from `/api/stats`. Then it starts `tickroom-raw-floor` with a frame of
//! the measured delta size and drives it with the same number of bots, which send the same inputs
//! without joining (the duplex floor: one small read and one delta-sized write per client-tick),
//! so each CPU figure also appears as a ratio to the floor of the same run. It prints one table
//! and writes everything to `bench/results/<date>-<commit>.json`.

use anyhow::{bail, Context as _};
use clap::Parser;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tickroom_bots::cpu::{ContextSwitches, ProcessSample, SchedTimes};
use tickroom_bots::swarm::{Decode, Placement, Swarm, SwarmConfig};
use tickroom_bots::{Behavior, Game, Report};
use tokio::time::Instant;

/// Run the arena benchmark (WORKLOAD.md) and write a results file.
#[derive(Debug, Parser)]
#[command(name = "tickroom-bench", version)]
struct Args {
    /// The server binary (build it with --release).
    #[arg(long, default_value = "target/release/tickroom-server")]
    server: PathBuf,
    /// The raw-floor binary.
    #[arg(long, default_value = "target/release/tickroom-raw-floor")]
    floor: PathBuf,
    /// Client counts, in order.
    #[arg(long, value_delimiter = ',', default_value = "100,200,500,1000,2000")]
    clients: Vec<usize>,
    /// After the listed counts, keep adding this many clients while 30 Hz and p99 <= 50 ms hold
    /// (0 = stop after the list).
    #[arg(long, default_value_t = 1000)]
    step: usize,
    /// Never go beyond this many clients.
    #[arg(long, default_value_t = 6000)]
    max_clients: usize,
    /// Warm-up after all joined, seconds.
    #[arg(long, default_value_t = 5.0)]
    warmup: f64,
    /// Measurement window, seconds.
    #[arg(long, default_value_t = 20.0)]
    window: f64,
    /// Seats per room.
    #[arg(long, default_value_t = 50)]
    room_capacity: u32,
    /// Server tick rate and bot input rate.
    #[arg(long, default_value_t = 30)]
    tick_rate: u16,
    /// Bot threads.
    #[arg(long, default_value_t = 1)]
    bot_threads: usize,
    /// Joins per second.
    #[arg(long, default_value_t = 500.0)]
    ramp: f64,
    /// How much of each delta the bots decode: full (a replica per bot, as in every earlier
    /// result) or acks (only the chain and their own ack: a cheaper generator, same server work).
    #[arg(long, default_value = "full")]
    decode: Decode,
    /// Light load generator: only every Kth bot measures (decodes per --decode, latency, round
    /// trips, the chain); the others only count frames and bytes while sending the same inputs
    /// and pings (same server work, see bench/README.md). 1 = every bot measures.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    measure_every: u32,
    /// Skip the raw-floor runs.
    #[arg(long)]
    no_floor: bool,
    /// Extra server flags, e.g. "--workers 1 --room-threads 1" (split on spaces).
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    server_args: String,
    /// Folder for the results file.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

/// One client count's figures.
#[derive(Debug, Serialize)]
struct Row {
    clients: usize,
    rooms: usize,
    window_s: f64,
    /// Server CPU per client-tick, microseconds.
    server_us_per_client_tick: f64,
    server_cores: f64,
    /// The server's context switches per second in the window, all threads, voluntary plus
    /// involuntary (`/proc/PID/task/*/status`).
    server_switches_per_s: f64,
    /// Voluntary switches alone: each is a server thread going to sleep (and later woken).
    server_voluntary_switches_per_s: f64,
    /// `server_voluntary_switches_per_s / tick_rate`: sleeps and wake-ups of all the server's
    /// threads per tick period.
    server_wakeups_per_tick: f64,
    /// Seconds per second the server's threads were runnable but waited for a core (summed
    /// over threads, `/proc/PID/task/*/schedstat`; 0 where the kernel keeps no such figures).
    server_run_queue_wait: f64,
    /// Bot process CPU per client-tick of the server, microseconds.
    bot_us_per_client_tick: f64,
    /// `bot_us_per_client_tick / server_us_per_client_tick`.
    bot_to_server: f64,
    /// Why the load generator may have been the limit ([`Report::generator_limits`]: inputs
    /// under 99 % of nominal, bot cores near its threads; and the machine's cores all busy, so
    /// the bots waited for one); empty when it was not.
    generator_limits: Vec<String>,
    /// The rooms' own work (game step, diff, encode; the server's `work_us`) per client-tick,
    /// microseconds: the rest of the server's CPU is sessions, actors and the kernel.
    room_work_us_per_client_tick: f64,
    server_rss_mb: f64,
    ticks_per_s_min: f64,
    ticks_per_s_avg: f64,
    ticks_per_s_max: f64,
    /// Ticks that started more than a tenth of a period late, in the window, all rooms.
    late_ticks: u64,
    /// Ticks a whole period or more late, in the window, all rooms.
    overruns: u64,
    /// Worst tick lateness of any room since it opened (includes the ramp), ms.
    lateness_max_ms: f64,
    /// Worst room's p99 tick lateness since it opened, ms.
    lateness_p99_ms: f64,
    skipped_sends: u64,
    inputs_dropped: u64,
    /// Last delta size of the first room, bytes.
    delta_bytes: u64,
    /// Machine-wide busy cores in the window, and what neither the server nor the bots used.
    machine_busy_cores: f64,
    other_cores: f64,
    /// The bots' report (without its series over time).
    bots: Report,
    /// The raw floor at the same client count.
    floor: Option<Floor>,
    /// Whether 30 Hz held (every room >= 29.9 ticks/s), p99 <= 50 ms and the generator was sound.
    sustained: bool,
}

/// The raw duplex floor's figures at one client count.
#[derive(Debug, Serialize)]
struct Floor {
    frame_bytes: usize,
    us_per_client_tick: f64,
    cores: f64,
    /// Context switches per second, all threads (as for the server).
    switches_per_s: f64,
    voluntary_switches_per_s: f64,
    /// Voluntary switches per tick period.
    wakeups_per_tick: f64,
    /// Inputs the bots sent it per client per second (the frames it read; 30 nominal).
    inputs_per_client_per_s: f64,
    /// Bot CPU per frame the floor wrote, microseconds.
    bot_us_per_client_tick: f64,
    /// Why the load generator may have been the limit of the floor run; empty when it was not.
    generator_limits: Vec<String>,
    rss_mb: f64,
    frames_per_client_per_s: f64,
    bot_cores: f64,
    /// tickroom's CPU per client-tick divided by the floor's.
    ratio: f64,
}

/// The results file.
#[derive(Debug, Serialize)]
struct Results {
    date: String,
    commit: String,
    /// The game the bots played (always arena: the workload of WORKLOAD.md).
    game: Game,
    machine: Machine,
    settings: Settings,
    rows: Vec<Row>,
    largest_sustained: Option<usize>,
}

#[derive(Debug, Serialize)]
struct Machine {
    cores: usize,
    load_avg_at_start: String,
    kernel: String,
}

#[derive(Debug, Serialize)]
struct Settings {
    warmup_s: f64,
    window_s: f64,
    room_capacity: u32,
    tick_rate: u16,
    bot_threads: usize,
    ramp_per_s: f64,
    decode: Decode,
    measure_every: u32,
    server_args: String,
}

/// A child process stopped with SIGTERM (then SIGKILL) when dropped.
struct Process(Child);

impl Process {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn stop(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        let Ok(pid) = libc::pid_t::try_from(self.0.id()) else {
            // A pid that does not fit pid_t cannot exist; kill through std instead.
            let _ = self.0.kill();
            return;
        };
        // SAFETY: kill has no memory-safety preconditions; `pid` is our own child, not yet reaped
        // (try_wait above), so the number cannot have been reused.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Still running after a graceful stop: force it (errors mean it already ended).
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until `port` accepts connections.
async fn wait_listening(port: u16, process: &mut Process) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if let Ok(Some(status)) = process.0.try_wait() {
            bail!("the process exited before listening: {status}");
        }
        if Instant::now() >= deadline {
            bail!("nothing listens on port {port} after 15 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn get_stats(port: u16) -> anyhow::Result<Value> {
    let body = ureq::get(&format!("http://127.0.0.1:{port}/api/stats"))
        .call()
        .context("GET /api/stats")?
        .body_mut()
        .read_to_string()
        .context("reading /api/stats")?;
    serde_json::from_str(&body).context("/api/stats is not JSON")
}

fn u(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// Busy and total jiffies of the whole machine, from the first line of /proc/stat.
fn machine_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    // idle and iowait are the 4th and 5th values.
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle, total))
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// The game of the benchmark workload.
const BENCH_GAME: Game = Game::Arena;

fn swarm_config(url: String, clients: usize, args: &Args, listen: bool) -> SwarmConfig {
    SwarmConfig {
        url,
        clients,
        game: BENCH_GAME,
        placement: if listen {
            Placement::Listen
        } else {
            Placement::Quick
        },
        behavior: Behavior::Play,
        decode: args.decode,
        measure_every: args.measure_every,
        input_hz: f64::from(args.tick_rate),
        ramp_per_s: args.ramp,
        threads: args.bot_threads,
        seed: 1,
        join_timeout: Duration::from_secs(15),
        warmup_s: args.warmup,
        room_options: None,
    }
}

/// Ramps, warms up and returns the swarm at the window's start.
async fn ramp_and_warm(config: SwarmConfig, warmup: f64) -> anyhow::Result<Swarm> {
    let clients = config.clients;
    let ramp = clients as f64 / config.ramp_per_s;
    let swarm = Swarm::start(config).context("cannot start the bots")?;
    let all = swarm
        .wait_joined(Duration::from_secs_f64(ramp + 30.0))
        .await;
    let p = swarm.progress();
    if !all || p.failed > 0 {
        eprintln!(
            "  warning: {} of {clients} joined, {} failed",
            p.joined, p.failed
        );
    }
    tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
    Ok(swarm)
}

async fn run_point(args: &Args, clients: usize) -> anyhow::Result<Row> {
    let port = free_port()?;
    let mut command = Command::new(&args.server);
    command
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(["--room-capacity", &args.room_capacity.to_string()])
        .args(["--tick-rate", &args.tick_rate.to_string()])
        .args(["--seed", "1", "--static-dir", "/nonexistent"])
        // Every bot comes from 127.0.0.1: lift the per-address caps and budgets.
        .args(["--max-connections-per-ip", "0", "--max-seats-per-ip", "0"])
        .args(["--max-rooms-per-ip", "0", "--room-creates-per-minute", "0"])
        .args(["--max-rooms", "100000"])
        // The window's edges read /api/stats: fresh counters, not a cached body.
        .args(["--api-cache", "0"])
        .args(args.server_args.split_whitespace())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut server = Process(
        command
            .spawn()
            .with_context(|| format!("cannot start {}", args.server.display()))?,
    );
    wait_listening(port, &mut server).await?;
    let url = format!("ws://127.0.0.1:{port}/ws");
    let mut swarm = ramp_and_warm(swarm_config(url, clients, args, false), args.warmup).await?;

    let stats0 = get_stats(port)?;
    let cpu0 = ProcessSample::read(server.pid())?;
    let switches0 = ContextSwitches::read(server.pid())?;
    let sched0 = SchedTimes::read(server.pid()).unwrap_or_default();
    let machine0 = machine_jiffies();
    let t0 = Instant::now();
    swarm.begin_window();
    tokio::time::sleep(Duration::from_secs_f64(args.window)).await;
    swarm.end_window();
    let window_s = t0.elapsed().as_secs_f64();
    let cpu1 = ProcessSample::read(server.pid())?;
    let switches = ContextSwitches::read(server.pid())?.since(&switches0);
    let sched = SchedTimes::read(server.pid())
        .unwrap_or_default()
        .since(&sched0);
    let machine1 = machine_jiffies();
    let stats1 = get_stats(port)?;
    let mut bots = swarm.finish().await;
    server.stop();
    // The results file keeps the window's figures per client count; a series per row would
    // multiply its size for charts the bench does not draw (`tickroom-bots --json` keeps it).
    bots.series = None;

    let empty = Vec::new();
    let rooms0: BTreeMap<u64, &Value> = stats0["rooms"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|r| (u(r, "id"), r))
        .collect();
    let mut client_ticks = 0u64;
    let mut rates = Vec::new();
    let (mut late, mut overruns, mut skipped) = (0, 0, 0);
    let (mut lateness_max, mut lateness_p99) = (0u64, 0u64);
    let mut delta_bytes = 0;
    let mut work_us = 0;
    for r in stats1["rooms"].as_array().unwrap_or(&empty) {
        let Some(r0) = rooms0.get(&u(r, "id")) else {
            continue;
        };
        // Only the benchmark's rooms, should the server ever report other games' too.
        if r.get("game")
            .and_then(Value::as_str)
            .is_some_and(|g| g != BENCH_GAME.name())
        {
            continue;
        }
        let ticks = u(r, "ticks") - u(r0, "ticks");
        client_ticks += u(r, "players") * ticks;
        rates.push(ticks as f64 / window_s);
        late += u(r, "late_ticks") - u(r0, "late_ticks");
        overruns += u(r, "overruns") - u(r0, "overruns");
        skipped += u(r, "skipped_sends") - u(r0, "skipped_sends");
        work_us += u(r, "work_us") - u(r0, "work_us");
        lateness_max = lateness_max.max(u(r, "lateness_max_us"));
        lateness_p99 = lateness_p99.max(u(r, "lateness_p99_us"));
        if delta_bytes == 0 {
            delta_bytes = u(r, "last_delta_bytes");
        }
    }
    let server_cpu = cpu1.cpu.saturating_sub(cpu0.cpu).as_secs_f64();
    let (machine_busy_cores, other_cores) = match (machine0, machine1) {
        (Some((b0, _)), Some((b1, _))) => {
            let busy = (b1 - b0) as f64 / clock_ticks() / window_s;
            (
                busy,
                (busy - server_cpu / window_s - bots.bot_cpu.cores).max(0.0),
            )
        }
        _ => (0.0, 0.0),
    };
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rates.iter().copied().fold(0.0, f64::max);
    let avg = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let sustained = !rates.is_empty()
        && min >= 29.9 * f64::from(args.tick_rate) / 30.0
        && bots.latency_ms.p99 <= 50.0
        && bots.warnings.is_empty();
    let per_client_tick = |cpu_s: f64| {
        if client_ticks > 0 {
            cpu_s * 1e6 / client_ticks as f64
        } else {
            0.0
        }
    };
    let server_us = per_client_tick(server_cpu);
    let bot_us = per_client_tick(bots.bot_cpu.seconds);
    let voluntary = switches.voluntary as f64 / window_s;
    Ok(Row {
        clients,
        rooms: rates.len(),
        window_s,
        server_us_per_client_tick: server_us,
        server_cores: server_cpu / window_s,
        server_switches_per_s: switches.total() as f64 / window_s,
        server_voluntary_switches_per_s: voluntary,
        server_wakeups_per_tick: voluntary / f64::from(args.tick_rate.max(1)),
        server_run_queue_wait: sched.waiting.as_secs_f64() / window_s,
        bot_us_per_client_tick: bot_us,
        bot_to_server: if server_us > 0.0 {
            bot_us / server_us
        } else {
            0.0
        },
        generator_limits: {
            let mut why = bots.generator_limits();
            // A full machine starves the bots whatever their own CPU says (their thread waits
            // for a core, inputs fall behind).
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            if machine_busy_cores >= 0.95 * cores {
                why.push(format!(
                    "machine busy {machine_busy_cores:.2} of {cores:.0} cores"
                ));
            }
            why
        },
        room_work_us_per_client_tick: if client_ticks > 0 {
            work_us as f64 / client_ticks as f64
        } else {
            0.0
        },
        server_rss_mb: cpu1.rss_bytes as f64 / 1e6,
        ticks_per_s_min: if rates.is_empty() { 0.0 } else { min },
        ticks_per_s_avg: avg,
        ticks_per_s_max: max,
        late_ticks: late,
        overruns,
        lateness_max_ms: lateness_max as f64 / 1000.0,
        lateness_p99_ms: lateness_p99 as f64 / 1000.0,
        skipped_sends: skipped,
        inputs_dropped: u(&stats1, "inputs_dropped") - u(&stats0, "inputs_dropped"),
        delta_bytes,
        machine_busy_cores,
        other_cores,
        bots,
        floor: None,
        sustained,
    })
}

async fn run_floor(args: &Args, clients: usize, frame_bytes: usize) -> anyhow::Result<Floor> {
    let port = free_port()?;
    let mut floor = Process(
        Command::new(&args.floor)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(["--frame-bytes", &frame_bytes.to_string()])
            .args(["--tick-rate", &args.tick_rate.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", args.floor.display()))?,
    );
    wait_listening(port, &mut floor).await?;
    let url = format!("ws://127.0.0.1:{port}/ws");
    let mut swarm = ramp_and_warm(swarm_config(url, clients, args, true), args.warmup).await?;
    let cpu0 = ProcessSample::read(floor.pid())?;
    let switches0 = ContextSwitches::read(floor.pid())?;
    let t0 = Instant::now();
    swarm.begin_window();
    tokio::time::sleep(Duration::from_secs_f64(args.window)).await;
    swarm.end_window();
    let window_s = t0.elapsed().as_secs_f64();
    let cpu1 = ProcessSample::read(floor.pid())?;
    let switches = ContextSwitches::read(floor.pid())?.since(&switches0);
    let report = swarm.finish().await;
    floor.stop();
    let cpu = cpu1.cpu.saturating_sub(cpu0.cpu).as_secs_f64();
    let frames = report.deltas.received;
    let per_frame = |cpu_s: f64| {
        if frames > 0 {
            cpu_s * 1e6 / frames as f64
        } else {
            0.0
        }
    };
    let voluntary = switches.voluntary as f64 / window_s;
    let in_window = report.clients.in_window.max(1) as f64;
    Ok(Floor {
        frame_bytes,
        us_per_client_tick: per_frame(cpu),
        cores: cpu / window_s,
        switches_per_s: switches.total() as f64 / window_s,
        voluntary_switches_per_s: voluntary,
        wakeups_per_tick: voluntary / f64::from(args.tick_rate.max(1)),
        inputs_per_client_per_s: report.inputs.per_s / in_window,
        bot_us_per_client_tick: per_frame(report.bot_cpu.seconds),
        generator_limits: report.generator_limits(),
        rss_mb: cpu1.rss_bytes as f64 / 1e6,
        frames_per_client_per_s: report.deltas.per_client_per_s,
        bot_cores: report.bot_cpu.cores,
        ratio: 0.0,
    })
}

/// The generator-limit column: "no", or the reasons of the tickroom run and of the floor run.
fn limit_cell(row: &Row) -> String {
    let mut cell = row.generator_limits.join(", ");
    if let Some(f) = row
        .floor
        .as_ref()
        .filter(|f| !f.generator_limits.is_empty())
    {
        if !cell.is_empty() {
            cell.push_str("; ");
        }
        cell.push_str("floor: ");
        cell.push_str(&f.generator_limits.join(", "));
    }
    if cell.is_empty() {
        "no".into()
    } else {
        format!("**{cell}**")
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| clients | rooms | server µs/client-tick | duplex floor µs/client-tick | ratio to floor | ticks/s min / avg | late ticks | ack p50 / p99 / max ms | bytes/client/s payload / wire | server RSS MB | server cores | server switches/s | wake-ups/tick server / floor | bot cores | bot µs/client-tick (x server) | other cores | inputs sent / nominal | generator limit | delta bytes / moving player |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let b = &r.bots;
        let (floor, ratio, floor_wakeups) = match &r.floor {
            Some(f) => (
                format!("{:.2}", f.us_per_client_tick),
                format!("{:.2}", f.ratio),
                format!("{:.0}", f.wakeups_per_tick),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        out.push_str(&format!(
            "| {}{} | {} | {:.2} | {} | {} | {:.2} / {:.2} | {} | {:.1} / {:.1} / {:.1} | {:.0} / {:.0} | {:.1} | {:.2} | {:.0} | {:.0} / {} | {:.2} | {:.2} ({:.2}x) | {:.2} | {:.0} / {:.0} ({:.1} %) | {} | {} |\n",
            r.clients,
            if r.sustained { "" } else { " (not held)" },
            r.rooms,
            r.server_us_per_client_tick,
            floor,
            ratio,
            r.ticks_per_s_min,
            r.ticks_per_s_avg,
            r.late_ticks,
            b.latency_ms.p50,
            b.latency_ms.p99,
            b.latency_ms.max,
            b.bytes.payload_per_client_per_s,
            b.bytes.wire_per_client_per_s,
            r.server_rss_mb,
            r.server_cores,
            r.server_switches_per_s,
            r.server_wakeups_per_tick,
            floor_wakeups,
            b.bot_cpu.cores,
            r.bot_us_per_client_tick,
            r.bot_to_server,
            r.other_cores,
            b.inputs.per_s,
            b.inputs.nominal_per_s,
            b.inputs.ratio * 100.0,
            limit_cell(r),
            b.bytes
                .per_changed_entity
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}")),
        ));
    }
    out
}

/// Civil date (UTC) of a Unix time, as YYYY-MM-DD (Howard Hinnant's days-from-civil inverse).
fn utc_date(unix: u64) -> String {
    let days = (unix / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn commit() -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let hash = run(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    match run(&["status", "--porcelain"]) {
        Some(s) if !s.is_empty() => format!("{hash}-dirty"),
        _ => hash,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    for bin in [&args.server, &args.floor] {
        if !bin.is_file() {
            bail!(
                "{} not found: build with `cargo build --release -p tickroom-games -p tickroom-bots`",
                bin.display()
            );
        }
    }
    let mut counts = args.clients.clone();
    let mut rows: Vec<Row> = Vec::new();
    let mut i = 0;
    while i < counts.len() {
        let n = counts[i];
        eprintln!("== {n} clients");
        let mut row = run_point(&args, n).await?;
        eprintln!(
            "  server {:.2} µs/client-tick, {:.0} switches/s, wake-ups/tick {:.0}, ticks/s min {:.2}, ack p99 {:.1} ms, bot cores {:.2} ({:.2} µs/client-tick)",
            row.server_us_per_client_tick,
            row.server_switches_per_s,
            row.server_wakeups_per_tick,
            row.ticks_per_s_min,
            row.bots.latency_ms.p99,
            row.bots.bot_cpu.cores,
            row.bot_us_per_client_tick
        );
        if !args.no_floor {
            let b = &row.bots.bytes;
            let frame = if row.bots.deltas.received > 0 {
                (b.payload as f64 / row.bots.deltas.received as f64).round() as usize
            } else {
                row.delta_bytes as usize
            };
            let mut floor = run_floor(&args, n, frame.max(1)).await?;
            if floor.us_per_client_tick > 0.0 {
                floor.ratio = row.server_us_per_client_tick / floor.us_per_client_tick;
            }
            eprintln!(
                "  duplex floor {:.2} µs/client-tick ({} byte frames, {:.1} inputs read per client per s), ratio {:.2}, wake-ups/tick {:.0}",
                floor.us_per_client_tick,
                floor.frame_bytes,
                floor.inputs_per_client_per_s,
                floor.ratio,
                floor.wakeups_per_tick
            );
            row.floor = Some(floor);
        }
        let held = row.sustained;
        rows.push(row);
        i += 1;
        if i == counts.len() && held && args.step > 0 && n + args.step <= args.max_clients {
            counts.push(n + args.step);
        }
    }
    let largest = rows.iter().filter(|r| r.sustained).map(|r| r.clients).max();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let results = Results {
        date: utc_date(now),
        commit: commit(),
        game: BENCH_GAME,
        machine: Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_avg_at_start: std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
        },
        settings: Settings {
            warmup_s: args.warmup,
            window_s: args.window,
            room_capacity: args.room_capacity,
            tick_rate: args.tick_rate,
            bot_threads: args.bot_threads,
            ramp_per_s: args.ramp,
            decode: args.decode,
            measure_every: args.measure_every,
            server_args: args.server_args.clone(),
        },
        rows,
        largest_sustained: largest,
    };
    println!("{}", table(&results.rows));
    let limited: Vec<String> = results
        .rows
        .iter()
        .filter(|r| limit_cell(r) != "no")
        .map(|r| r.clients.to_string())
        .collect();
    if !limited.is_empty() {
        println!(
            "the load generator, not the server, may have been the limit at {} clients (see the generator limit column)",
            limited.join(", ")
        );
    }
    match largest {
        Some(n) => println!("largest client count holding 30 Hz with ack p99 <= 50 ms: {n}"),
        None => println!("no client count held 30 Hz with ack p99 <= 50 ms"),
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let path = args
        .out
        .join(format!("{}-{}.json", results.date, results.commit));
    let json = serde_json::to_string_pretty(&results).context("cannot encode the results")?;
    std::fs::write(&path, json + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("results: {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_795_392_000), "2026-11-23");
    }
}
