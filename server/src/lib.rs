//! tickroom: an authoritative, actor-based realtime game and state-sync server.
//!
//! A game author implements [`Game`] (kinds, inputs, commands, join / leave / step) against
//! [`Ctx`], registers it in [`Games`] and calls [`run`]; the engine provides rooms, ticks,
//! entity ids, change tracking, visibility scopes, encode-once deltas, events, commands,
//! reconnection, limits and statistics. The engine names no game: the bundled ones live in the
//! `tickroom-games` crate, written against this API only.
//!
//! # Layout
//! - [`game`]: the [`Game`] trait, [`Ctx`], [`Scope`], [`GameInfo`]: what a game author writes
//!   against.
//! - [`replicate`]: declaring entity kinds ([`Replicate`], derived).
//! - [`world`]: the entities a game changes, plus its events, views and room control.
//! - [`replication`]: world to per-scope segments, encoded once, assembled per member.
//! - [`sim`]: one room's simulation without I/O or clocks (inputs, commands, step, replication).
//! - [`recording`]: a room's recording (`--record`): the file format, the journal a recorded
//!   simulation writes, the reader; [`replay`]: re-simulating a recording, to check its state
//!   hashes or to build a spectator's playback (pure, like [`sim`]).
//! - [`membership`]: the seat policy (snapshots, skips, slow kicks, held seats) as pure code.
//! - [`registry`]: [`Games`], type-erased room factories.
//! - [`inbox`]: a room's inputs and commands for its next tick, posted without waking it.
//! - [`messages`]: the contract between the actors; [`connection`]: a room's handle on a session.
//! - [`room`]: the `Room` actor: tick loop and fan-out.
//! - [`lobby`]: the `Lobby` actor: room registry, seats, quick match, idle rooms.
//! - [`cluster`]: the `ClusterNode` actor (cluster mode): this node's lease, rooms and seat
//!   placements in the shared directory.
//! - [`directory`]: the Redis room directory: keys and atomic scripts.
//! - [`session`]: the `Session` actor, one per WebSocket; the only user of `actix-web-actors`.
//! - [`watchdog`]: shuts down connections whose session stopped running (clients not reading).
//! - [`admission`]: who may upgrade: handshake, subprotocol, origin, connection caps (also as
//!   the file-descriptor limit allows).
//! - [`budget`]: what one client address may hold (rooms, room creations, seats), as pure code.
//! - [`archive`]: the `--record` folder over HTTP: the recordings listed, and each one's
//!   playback stream for the web client.
//! - [`api`]: the other HTTP endpoints, cached; the operator views and who may read them.
//! - [`monitor`]: the `Monitor` actor: the server sampled once a second, five minutes of
//!   history, the admin page's live updates; [`admin`]: the admin page's endpoints (stream,
//!   room detail, close, kick) and their access rules.
//! - [`config`]: every option as a flag and a `TICKROOM_*` variable.
//! - [`stats`]: counters served at `/api/stats` and `/metrics`.
//! - [`web_client`]: the web client at `/`: `--static-dir`, files a binary embeds
//!   ([`Assets`]), or a placeholder.
//! - [`agones`]: with `--agones`, Ready, Health, rooms and players reported to the Agones SDK
//!   sidecar, and Shutdown after the drain.
//!
//! # Message flow
//! ```text
//!  client ──ws──▶ Session ──JoinRequest──▶ Lobby ──Join──▶ Room (tick loop on a room thread)
//!  client ◀─ws── Session ◀──Outgoing(Bytes)── Room: one encode per scope per tick
//! ```

// The derives name `::tickroom_server`; this lets them work inside this crate too (its tests).
extern crate self as tickroom_server;

pub mod admin;
pub mod admission;
pub mod agones;
pub mod api;
pub mod archive;
pub mod budget;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod directory;
pub mod game;
pub mod inbox;
pub mod lobby;
pub mod membership;
pub mod messages;
pub mod monitor;
pub mod recording;
pub mod registry;
pub mod replay;
pub mod replicate;
pub mod replication;
pub mod room;
pub mod session;
pub mod sim;
pub mod stats;
pub mod watchdog;
pub mod web_client;
pub mod world;

pub use config::Config;
pub use game::{
    AckAudience, Ctx, Game, GameInfo, GameRng, Interest, Kinds, Refusal, Scope, SpectatorView,
    TickPolicy,
};
pub use registry::Games;
pub use replicate::{Replicate, ReplicateEnum};
pub use stats::Stats;
pub use tickroom_derive::{Replicate, ReplicateEnum};
pub use web_client::{Asset, Assets};

use actix::prelude::*;
use actix_web::{web, App, HttpServer};
use lobby::Lobby;
use messages::Shutdown;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

/// What every HTTP handler and session shares.
pub struct AppState {
    /// The lobby.
    pub lobby: Addr<Lobby>,
    /// The games.
    pub games: Games,
    /// The configuration.
    pub config: Arc<Config>,
    /// The counters.
    pub stats: Arc<Stats>,
    /// Connection caps.
    pub admission: Arc<admission::Admission>,
    /// Turns true when the server starts shutting down; every session then closes with 1001.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Shuts down connections whose session stopped running.
    pub watchdog: Arc<watchdog::Watchdog>,
    /// Rendered bodies of the cached endpoints.
    pub caches: api::Caches,
    /// Cluster mode: this node's id and its member of the directory.
    pub cluster: Option<(String, Addr<cluster::ClusterNode>)>,
    /// Samples the server for the admin page.
    pub monitor: Addr<monitor::Monitor>,
    /// The `--record` folder as `/api/replays` serves it.
    pub archive: archive::Archive,
    next_connection: AtomicU64,
}

impl AppState {
    /// A fresh connection id.
    pub fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Relaxed)
    }
}

/// Runs the server on an already bound listener until `shutdown` resolves, then shuts down in
/// this order: new upgrades get 503, every room and session closes (clients get 1001), the
/// listener keeps accepting (so newcomers get that 503, not a refused connection) until no
/// connection is open (WebSockets, requests, idle keep-alive connections) or
/// `config.shutdown_timeout` has passed, and the server stops.
///
/// The WebSocket cap is lowered to what the process's file-descriptor soft limit allows
/// ([`admission::FdBudget`]; raise the limit first with [`admission::raise_fd_limit`]).
///
/// Must be called inside an actix system (e.g. `#[actix_web::main]`). Taking a bound listener lets
/// tests bind port 0 and run in parallel.
///
/// Serves no web client unless `config.static_dir` names one; see [`run_with`].
pub async fn run(
    listener: TcpListener,
    config: Config,
    games: Games,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    run_with(listener, config, games, None, shutdown).await
}

/// [`run`], serving `web_client` at `/` unless `config.static_dir` is given: a binary passes the
/// client it compiled into itself, so it serves the game from any working directory.
pub async fn run_with(
    listener: TcpListener,
    config: Config,
    games: Games,
    web_client: Option<Arc<dyn Assets>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve(
        listener,
        config,
        games,
        web_client,
        Arc::new(Stats::default()),
        shutdown,
    )
    .await
}

async fn serve(
    listener: TcpListener,
    config: Config,
    games: Games,
    web_client: Option<Arc<dyn Assets>>,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut config = config;
    let connection_cap = fd_cap(&mut config);
    stats.max_connections.set(config.max_connections as i64);
    let config = Arc::new(config);
    let arbiters: Vec<Arbiter> = (0..config.room_threads()).map(|_| Arbiter::new()).collect();
    if games.iter().next().is_none() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no game registered: add at least one with Games::with",
        ));
    }
    let addr = listener.local_addr()?;
    let admission = Arc::new(admission::Admission::new(admission::OwnOrigin::for_bind(
        addr,
    )));
    let cluster = match &config.cluster_redis {
        Some(redis_url) => {
            let membership = membership(&config, redis_url, addr)?;
            let node = membership.settings.node.clone();
            tracing::info!(%node, url = %membership.public_url, redis = %redis_url, "cluster mode");
            let origins = admission.cluster_origins();
            let actor = cluster::ClusterNode::new(membership, stats.clone(), origins);
            Some((node, actor.start()))
        }
        None => None,
    };
    let lobby = Lobby::new(
        config.clone(),
        stats.clone(),
        games.clone(),
        arbiters.iter().map(Arbiter::handle).collect(),
        cluster.as_ref().map(|(_, addr)| addr.clone()),
    )
    .start();
    let monitor = monitor::Monitor::new(stats.clone(), lobby.clone().recipient()).start();
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let limits = watchdog::Limits {
        stall: config.stall_limit(),
        backlog: config.slow_client_timeout,
    };
    let watchdog = watchdog::Watchdog::new(limits, stats.clone());
    // A fifth of the slow-client timeout between sweeps (at most a second): a stuck connection is
    // shut down at most that late, and one sweep costs a lock and an ioctl per connection.
    let sweep = (config.slow_client_timeout / 5).clamp(
        std::time::Duration::from_millis(50),
        std::time::Duration::from_secs(1),
    );
    watchdog.start(sweep);
    let state = web::Data::new(AppState {
        lobby: lobby.clone(),
        games: games.clone(),
        config: config.clone(),
        stats: stats.clone(),
        admission: admission.clone(),
        shutdown: shutdown_rx,
        watchdog,
        caches: api::Caches::default(),
        cluster,
        monitor,
        archive: archive::Archive::new(config.record.clone()),
        next_connection: AtomicU64::new(1),
    });
    // Every TCP connection, WebSocket or not: shutdown keeps listening until they are gone.
    let connections = Arc::new(tokio::sync::watch::Sender::new(0usize));
    let echo = config.echo_endpoint;
    let site = web_client::WebClient::choose(config.static_dir.clone(), web_client);
    tracing::info!(web_client = ?site, "web client at /");
    let mut server = HttpServer::new(move || {
        let app = App::new()
            .app_data(state.clone())
            .route("/ws", web::get().to(session::upgrade))
            .route("/api/rooms", web::get().to(api::rooms))
            .route("/api/stats", web::get().to(api::stats))
            .route("/api/info", web::get().to(api::info))
            .route("/api/replays", web::get().to(archive::index))
            .route("/api/replays/{name}", web::get().to(archive::playback))
            .route("/metrics", web::get().to(api::metrics))
            .route("/api/admin/stream", web::get().to(admin::stream))
            .route("/api/admin/rooms/{id}", web::get().to(admin::room))
            .service(admin::action("/api/admin/rooms/{id}/close", admin::close))
            .service(admin::action(
                "/api/admin/rooms/{id}/kick/{player}",
                admin::kick,
            ))
            .route("/healthz", web::get().to(api::healthz));
        let app = if echo {
            app.route("/echo", web::get().to(session::echo))
        } else {
            app
        };
        // Last: it answers every path the routes above leave.
        app.configure(|cfg| site.mount(cfg))
    })
    .on_connect({
        let connections = connections.clone();
        move |conn, data| {
            session::on_connect(conn, data);
            // Lives in the connection's data, so it is dropped when the connection closes.
            data.insert(OpenConnection::new(&connections));
        }
    })
    .disable_signals()
    // After a WebSocket's close handshake (or any response that ends the connection) the
    // server closes TCP at once, as RFC 6455 §7.1.1 asks, instead of waiting up to a second
    // for the client to do it.
    .client_disconnect_timeout(std::time::Duration::ZERO)
    .shutdown_timeout(config.shutdown_timeout.as_secs().max(1));
    if config.workers > 0 {
        server = server.workers(config.workers);
    }
    if let Some(connections) = connection_cap {
        // A per-worker cap: together the workers hold at most about `connections`, so plain
        // HTTP cannot empty the descriptor table either. Beyond it actix-web pauses accepting.
        let workers = config.http_workers().max(1);
        server = server.max_connections(connections.div_ceil(workers).max(1));
    }
    let server = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => server.listen_rustls_0_23(listener, tls_config(cert, key)?)?,
        _ => server.listen(listener)?,
    };
    let server = server.run();
    let handle = server.handle();
    let tls = config.tls_cert.is_some();
    let names: Vec<&str> = games.iter().map(|g| g.name()).collect();
    tracing::info!(%addr, tls, games = ?names, "tickroom listening");
    let mut server = actix_web::rt::spawn(server);
    // Ready only now that the listener serves; dropped (and silent) if the server ends alone.
    let agones = config
        .agones
        .then(|| agones::Agones::start(&config, stats.clone()));
    let result = tokio::select! {
        res = &mut server => res.unwrap_or_else(|e| Err(std::io::Error::other(e))),
        () = shutdown => {
            let deadline = Instant::now() + config.shutdown_timeout;
            tracing::info!(open = admission.open(), "shutting down: closing rooms and connections");
            // From here on upgrades answer 503. Receivers live in the app state, which outlives
            // this send.
            let _ = shutdown_tx.send(true);
            // The lobby only fails to answer if it already stopped, which leaves nothing to close.
            let _ = lobby.send(Shutdown).await;
            // Keep listening (newcomers get 503) while the sessions finish their close
            // handshakes and the other connections their requests.
            let mut open = connections.subscribe();
            let drained = async {
                admission.drained().await;
                // The sender lives in this function, so the channel cannot close meanwhile.
                let _ = open.wait_for(|n| *n == 0).await;
            };
            if tokio::time::timeout_at(deadline.into(), drained).await.is_err() {
                tracing::warn!(
                    websockets = admission.open(),
                    connections = *connections.borrow(),
                    "shutdown timeout: stopping with connections still open"
                );
            }
            let stop = handle.stop(true);
            let left = deadline.saturating_duration_since(Instant::now());
            // Whatever plain HTTP is still in flight gets the time that is left, at least a
            // moment; a timeout here only means the process ends under it.
            let _ = tokio::time::timeout(left.max(std::time::Duration::from_millis(100)), stop).await;
            // Drained: now Agones may delete the pod.
            if let Some(agones) = agones {
                agones.shutdown().await;
            }
            Ok(())
        }
    };
    for arbiter in arbiters {
        arbiter.stop();
    }
    result
}

/// Cluster mode's settings from the configuration; the public URL defaults to the bound
/// address, which clients elsewhere can only reach if it is a specific one.
fn membership(
    config: &Config,
    redis_url: &str,
    bound: SocketAddr,
) -> std::io::Result<cluster::Membership> {
    let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, message);
    let public_url = match &config.public_url {
        Some(url) => {
            if !(url.starts_with("ws://") || url.starts_with("wss://")) {
                return Err(invalid(format!(
                    "--public-url {url}: must start with ws:// or wss://"
                )));
            }
            let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
            match after_scheme.split_once('/') {
                None => format!("{url}/ws"),
                Some((_, "")) => format!("{url}ws"),
                Some(_) => url.clone(),
            }
        }
        None if bound.ip().is_unspecified() => {
            return Err(invalid(
                "cluster mode on all interfaces needs --public-url: the address other nodes \
                 send clients to"
                    .into(),
            ))
        }
        None => {
            let scheme = if config.tls_cert.is_some() {
                "wss"
            } else {
                "ws"
            };
            format!("{scheme}://{bound}/ws")
        }
    };
    let node = config
        .node_id
        .clone()
        .unwrap_or_else(|| format!("node-{:08x}", rand::random::<u32>()));
    Ok(cluster::Membership {
        redis_url: redis_url.to_owned(),
        settings: directory::Settings {
            prefix: format!("{}:", config.cluster_prefix),
            node,
            lease: config.cluster_lease,
            ticket_ttl: config.seat_ticket_ttl,
            timeout: config.cluster_timeout,
        },
        public_url,
        reap_interval: config.cluster_reap_interval,
        max_rooms: config.max_rooms,
    })
}

/// Counts one open TCP connection while it lives (in the connection's data).
struct OpenConnection(Arc<tokio::sync::watch::Sender<usize>>);

impl OpenConnection {
    fn new(count: &Arc<tokio::sync::watch::Sender<usize>>) -> OpenConnection {
        count.send_modify(|n| *n += 1);
        OpenConnection(count.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Lowers `config.max_connections` to the WebSockets the descriptor soft limit allows, saying so,
/// and returns the connections (of any kind) the HTTP server may hold, if there is a limit.
fn fd_cap(config: &mut Config) -> Option<usize> {
    let soft = admission::fd_soft_limit()?;
    let threads = config.http_workers() + config.room_threads();
    let budget = admission::FdBudget::for_limit(soft, threads);
    let fit = usize::try_from(budget.websockets).unwrap_or(usize::MAX);
    if fit < config.max_connections {
        tracing::warn!(
            fd_limit = soft,
            configured = config.max_connections,
            websockets = fit,
            "the open-file limit allows fewer WebSockets than --max-connections: capping at {fit} \
             (each takes {} descriptors; raise `ulimit -n` for more)",
            admission::FDS_PER_WEBSOCKET,
        );
        config.max_connections = fit;
    } else {
        tracing::info!(
            fd_limit = soft,
            websockets = config.max_connections,
            "the open-file limit fits --max-connections"
        );
    }
    let http = budget.connections.saturating_sub(budget.websockets);
    let connections = (config.max_connections as u64).saturating_add(http);
    Some(usize::try_from(connections).unwrap_or(usize::MAX))
}

/// Loads a PEM certificate chain and private key into a rustls configuration (ring provider).
fn tls_config(cert: &Path, key: &Path) -> std::io::Result<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what} {}: {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid("cannot read the certificate chain", cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| invalid("cannot read the private key", key, &e))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| invalid("invalid TLS certificate or key", cert, &e))
}

/// A server running on its own thread and actix system; stops when dropped.
pub struct ServerHandle {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its counters.
    pub stats: Arc<Stats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    /// Stops the server and waits for its thread.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            // The server may already have ended; then there is nobody to tell.
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("server thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // Errors at teardown have nowhere to go; the thread is joined either way.
        let _ = self.shutdown();
    }
}

/// Binds `config.bind` (port 0 picks a free port) and runs `games` on a new thread, for tests,
/// benchmarks and embedding.
pub fn spawn(config: Config, games: Games) -> std::io::Result<ServerHandle> {
    spawn_with(config, games, None)
}

/// [`spawn`], serving `web_client` at `/` as [`run_with`] does.
pub fn spawn_with(
    config: Config,
    games: Games,
    web_client: Option<Arc<dyn Assets>>,
) -> std::io::Result<ServerHandle> {
    let listener = TcpListener::bind(config.bind)?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(Stats::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread_stats = stats.clone();
    let thread = std::thread::Builder::new()
        .name("tickroom-server".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(serve(
                listener,
                config,
                games,
                web_client,
                thread_stats,
                async {
                    // A dropped sender means the handle is gone: shut down as well.
                    let _ = rx.await;
                },
            ))
        })?;
    Ok(ServerHandle {
        addr,
        stats,
        stop: Some(tx),
        thread: Some(thread),
    })
}
