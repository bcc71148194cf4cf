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

use anyhow::Context as _;
use clap::Parser;
use std::sync::Arc;
use tickroom_server::{Asset, Assets, Config};

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

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
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
