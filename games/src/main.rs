//! `tickroom-server`: every bundled game on the tickroom engine, with the web client compiled in.
//!
//! Parses the configuration (flags or `TICKROOM_*` variables), sets up logging (`RUST_LOG`,
//! default `info`), raises the open-file soft limit to the hard limit (each WebSocket takes two
//! descriptors), and runs until Ctrl-C or SIGTERM.
//!
//! The built web client (`client-web/dist`, every bundled game's front-end) is embedded at
//! compile time, in debug builds too, so the binary serves the game from any working directory
//! and `cargo install --path games` installs a complete server. `--static-dir` serves a folder
//! instead. `build.rs` rebuilds the binary when the client changes.
//!
//! `tickroom-server replay FILE [--verify]` reads a recording made with `--record` instead of
//! serving: its summary, or (with `--verify`) a re-simulation checked against every recorded
//! state hash. Exit status: 0 all match, 1 a hash differs (the first such tick is named), 2 the
//! file is unreadable, damaged, of an unknown game, or ends mid-record (what is there is
//! verified first).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tickroom_server::recording::{Recording, Tail};
use tickroom_server::replay::ReplayError;
use tickroom_server::{Asset, Assets, Config};

/// The command line: the server's flags, or a subcommand.
#[derive(Parser)]
#[command(
    name = "tickroom-server",
    version,
    about = "tickroom: realtime rooms with state sync"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Reads a room's recording (made with --record): prints its summary, or re-simulates it
    /// with --verify. Exit status: 0 every hash matches, 1 a hash differs, 2 the file is
    /// unreadable, damaged, of an unknown game, or ends mid-record.
    Replay {
        /// The recording (a .trec file).
        file: PathBuf,
        /// Re-simulate the room and check every recorded state hash.
        #[arg(long)]
        verify: bool,
    },
}

/// The built web client. Empty when it was not built before the binary (`make run` builds it
/// first): the server then serves a placeholder page that says so.
#[derive(rust_embed::Embed)]
#[folder = "../client-web/dist"]
#[allow_missing = true]
struct WebClient;

impl Assets for WebClient {
    fn get(&self, path: &str) -> Option<Asset> {
        let file = <WebClient as rust_embed::RustEmbed>::get(path)?;
        // The content's SHA-256 (computed at compile time), 128 bits of it in hex, as its ETag.
        let version = file.metadata.sha256_hash()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Some(Asset {
            data: file.data,
            version,
        })
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Replay { file, verify }) => Ok(replay(&file, verify)),
        None => serve(cli.config).map(|()| ExitCode::SUCCESS),
    }
}

/// `tickroom-server replay`: one line on stdout when the file is whole and matches, else the
/// problem on stderr; the exit status says which.
fn replay(file: &std::path::Path, verify: bool) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let unreadable = |why: String| {
        eprintln!("{}: {why}", file.display());
        ExitCode::from(2)
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return unreadable(format!("cannot read: {e}")),
    };
    let recording = match Recording::parse(&bytes) {
        Ok(r) => r,
        Err(e) => return unreadable(e.to_string()),
    };
    let h = &recording.header;
    let room = format!("{} room {}", h.game, h.room);
    if !verify {
        let s = match recording.summary() {
            Ok(s) => s,
            Err(e) => return unreadable(e.to_string()),
        };
        let ending = match s.tail {
            Tail::Ended => "closed".to_owned(),
            Tail::Open => "no end record (still running, or the server stopped first)".to_owned(),
            Tail::Cut(at) => format!("the file ends mid-record at byte {at}"),
        };
        println!(
            "{room}: {} ticks ({:.1} s at {} Hz), {} joins, {} inputs and commands, {} state hashes, started {}; {ending}",
            s.ticks,
            s.ticks as f64 / f64::from(h.hz()),
            h.hz(),
            s.joins,
            s.actions,
            s.hashes,
            h.started_utc(),
        );
        return match s.tail {
            Tail::Cut(_) => ExitCode::from(2),
            _ => ExitCode::SUCCESS,
        };
    }
    let games = tickroom_games::all();
    let Some(game) = games.get(&h.game) else {
        return unreadable(ReplayError::UnknownGame(h.game.clone()).to_string());
    };
    match game.verify(&recording) {
        Ok(v) => match v.tail {
            Tail::Cut(at) => {
                eprintln!(
                    "{}: {room}: verified up to tick {} ({} state hashes match), the file ends mid-record at byte {at}",
                    file.display(),
                    v.ticks,
                    v.hashes
                );
                ExitCode::from(2)
            }
            tail => {
                let ending = if tail == Tail::Ended {
                    ""
                } else {
                    " (no end record: the room was still running or the server stopped first)"
                };
                println!(
                    "verified: {room}, {} ticks, {} state hashes match{ending}",
                    v.ticks, v.hashes
                );
                ExitCode::SUCCESS
            }
        },
        Err(e @ ReplayError::Diverged { .. }) => {
            eprintln!("{}: {room}: {e}", file.display());
            ExitCode::from(1)
        }
        Err(e) => unreadable(format!("{room}: {e}")),
    }
}

#[actix_web::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // Where the system allows it: the server then caps its connections at what fits (and says
    // so), so a failure here costs capacity, not correctness.
    match tickroom_server::admission::raise_fd_limit() {
        Ok(soft) => tracing::info!(fd_limit = soft, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
    let listener = std::net::TcpListener::bind(config.bind)
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    if listener.local_addr()?.ip().is_unspecified() {
        tracing::info!(
            "listening on all interfaces: players on the LAN can join with this machine's address"
        );
    }
    let web_client: Arc<dyn Assets> = Arc::new(WebClient);
    tickroom_server::run_with(
        listener,
        config,
        tickroom_games::all(),
        Some(web_client),
        shutdown_signal(),
    )
    .await
    .context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the server");
                // If even Ctrl-C cannot be watched, the server runs until it is killed.
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        // If Ctrl-C cannot be watched, the server runs until it is killed.
        let _ = tokio::signal::ctrl_c().await;
    }
}
