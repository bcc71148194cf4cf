//! Server configuration: every option is a command-line flag and a `TICKROOM_*` environment
//! variable. The README's configuration table mirrors this file.

use crate::game::GameInfo;
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Parses seconds, fractions allowed ("0.5"), into a duration.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|e| format!("not a number of seconds: {e}"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("invalid duration: {e}"))
}

/// How the server runs. `Config::default()` equals the defaults below.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "tickroom-server",
    version,
    about = "tickroom: realtime rooms with state sync"
)]
pub struct Config {
    /// Address to listen on. Use 0.0.0.0:8080 to play on a LAN.
    #[arg(long, env = "TICKROOM_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Ticks per second in every room of every game (1-240), overriding each game's own rate.
    /// Default: unset, each game's own rate.
    #[arg(long, env = "TICKROOM_TICK_RATE",
          value_parser = clap::value_parser!(u16).range(1..=240))]
    pub tick_rate: Option<u16>,

    /// Most seats per room, for every game (1-900); a game with fewer seats keeps its own.
    /// Default: unset, each game's own capacity.
    #[arg(long, env = "TICKROOM_ROOM_CAPACITY",
          value_parser = clap::value_parser!(u32).range(1..=900))]
    pub room_capacity: Option<u32>,

    /// Most spectators per room (0: nobody may watch); a game that takes fewer keeps its own.
    /// Spectators take no seat, so they are not counted in `--room-capacity`.
    #[arg(long, env = "TICKROOM_MAX_SPECTATORS", default_value_t = 32)]
    pub max_spectators: u32,

    /// Most rooms open at once; joins that need a new room beyond it are refused.
    #[arg(long, env = "TICKROOM_MAX_ROOMS", default_value_t = 1000)]
    pub max_rooms: usize,

    /// Seconds an empty room stays open before it closes, also when its creator left and nobody
    /// else ever joined (a friend may be following its link; the room still counts against the
    /// creator's `--max-rooms-per-ip`). A room nobody was ever seated in closes at once.
    #[arg(long, env = "TICKROOM_EMPTY_ROOM_GRACE", default_value = "30", value_parser = parse_secs)]
    pub empty_room_grace: Duration,

    /// Largest client message in bytes (also the largest WebSocket frame); bigger closes with 1009.
    #[arg(long, env = "TICKROOM_MAX_MESSAGE_SIZE", default_value_t = 64 * 1024)]
    pub max_message_size: usize,

    /// Seconds a connection may stay unable to take its deltas (its queue full, or its socket
    /// unable to send) before the server shuts it down; a seat is then held for a reconnect.
    #[arg(long, env = "TICKROOM_SLOW_CLIENT_TIMEOUT", default_value = "5", value_parser = parse_secs)]
    pub slow_client_timeout: Duration,

    /// Messages queued towards one connection before the room skips it (and later resyncs it
    /// with a full snapshot). At 30 Hz, 16 is about half a second.
    #[arg(long, env = "TICKROOM_SEND_QUEUE", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub send_queue: u16,

    /// Seconds a dropped player's seat is held for a reconnect with the token (0 frees it at once).
    #[arg(long, env = "TICKROOM_RECONNECT_GRACE", default_value = "15", value_parser = parse_secs)]
    pub reconnect_grace: Duration,

    /// Seconds a new connection has to be seated in a room (its join sent and accepted).
    #[arg(long, env = "TICKROOM_JOIN_TIMEOUT", default_value = "10", value_parser = parse_secs)]
    pub join_timeout: Duration,

    /// Seconds between server pings on every connection.
    #[arg(long, env = "TICKROOM_HEARTBEAT_INTERVAL", default_value = "5", value_parser = parse_secs)]
    pub heartbeat_interval: Duration,

    /// Seconds without any frame from a client before it is closed with 4003.
    #[arg(long, env = "TICKROOM_IDLE_TIMEOUT", default_value = "30", value_parser = parse_secs)]
    pub idle_timeout: Duration,

    /// Threads that run rooms (0 = one per CPU core).
    #[arg(long, env = "TICKROOM_ROOM_THREADS", default_value_t = 0)]
    pub room_threads: usize,

    /// HTTP worker threads that run connections (0 = one per CPU core).
    #[arg(long, env = "TICKROOM_WORKERS", default_value_t = 0)]
    pub workers: usize,

    /// Seed for room randomness; room N uses seed + N. Random when unset.
    #[arg(long, env = "TICKROOM_SEED")]
    pub seed: Option<u64>,

    /// Record every room into this folder (created if needed): one file per room with its seed,
    /// joins, leaves, inputs, commands and state hashes, which `tickroom-server replay FILE
    /// --verify` re-simulates and `/api/replays` serves for playback. Default: unset, no
    /// recording.
    #[arg(long, env = "TICKROOM_RECORD")]
    pub record: Option<PathBuf>,

    /// Ticks between the state hashes a recording carries (each hash covers the whole
    /// replicated state; `replay --verify` checks every one).
    #[arg(long, env = "TICKROOM_RECORD_HASH_EVERY", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub record_hash_every: u64,

    /// Folder with a built web client to serve at `/` instead of the one compiled into the
    /// binary, e.g. `client-web/dist` while working on the client (no rebuild of the server
    /// needed). Default: unset, the embedded client (or a placeholder page if there is none).
    #[arg(long, env = "TICKROOM_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Refuse upgrades that do not offer the `tickroom.v2` subprotocol (400).
    #[arg(long, env = "TICKROOM_REQUIRE_SUBPROTOCOL", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub require_subprotocol: bool,

    /// Messages per second one connection may send on average (token bucket); sustained excess
    /// closes the connection with 1008.
    #[arg(long, env = "TICKROOM_MAX_MESSAGES_PER_SEC", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_messages_per_sec: u32,

    /// Messages one connection may send in a burst above the average rate.
    #[arg(long, env = "TICKROOM_MESSAGE_BURST", default_value_t = 200,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub message_burst: u32,

    /// Chat lines per second one player may send on average; a line above it is refused with an
    /// `Error` (the connection stays open).
    #[arg(long, env = "TICKROOM_CHAT_LINES_PER_SEC", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub chat_lines_per_sec: u32,

    /// Chat lines one player may send in a burst above the average.
    #[arg(long, env = "TICKROOM_CHAT_BURST", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub chat_burst: u32,

    /// Kernel send buffer of each WebSocket in bytes (`SO_SNDBUF`; Linux reserves twice this).
    /// Small, so a client that stops reading fills it within a few ticks and is detected, and
    /// the kernel memory a client can pin stays bounded. 0 keeps the kernel's auto-tuning
    /// (up to 4 MiB per socket on Linux).
    #[arg(long, env = "TICKROOM_SOCKET_SEND_BUFFER", default_value_t = 64 * 1024)]
    pub socket_send_buffer: usize,

    /// Kernel receive buffer of each WebSocket in bytes (`SO_RCVBUF`; Linux reserves twice
    /// this). 0 keeps the kernel's auto-tuning (up to 6 MiB per socket on Linux).
    #[arg(long, env = "TICKROOM_SOCKET_RECV_BUFFER", default_value_t = 16 * 1024)]
    pub socket_recv_buffer: usize,

    /// Serve `/echo`, a WebSocket echo endpoint on the same connection code as game sessions,
    /// for conformance testing (`make autobahn`). Off by default: it is not part of the game
    /// protocol.
    #[arg(long, env = "TICKROOM_ECHO_ENDPOINT", default_value_t = false,
          action = clap::ArgAction::Set)]
    pub echo_endpoint: bool,

    /// Most WebSocket connections open at once; further upgrades get 503. Lowered at start if
    /// the open-file limit allows fewer (two descriptors per WebSocket, see the README).
    #[arg(long, env = "TICKROOM_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Most WebSocket connections from one IP address (0 = no limit); further upgrades get 429.
    /// Behind a reverse proxy every client shares the proxy's address: raise or disable it.
    #[arg(long, env = "TICKROOM_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,

    /// Most open rooms created by joins from one IP address (0 = no limit); further creates,
    /// and quick matches that would need a new room, get `Error` 10 (`IpLimit`). A room counts
    /// from its creation until it closes. Behind a reverse proxy every client shares the
    /// proxy's address: raise or disable it.
    #[arg(long, env = "TICKROOM_MAX_ROOMS_PER_IP", default_value_t = 16)]
    pub max_rooms_per_ip: u32,

    /// Rooms one IP address may create per minute on average (token bucket; 0 = no limit),
    /// counting quick matches that create a room and rooms whose join then failed. Closing a
    /// room does not give a creation back. Beyond it, `Error` 10 (`IpLimit`).
    #[arg(long, env = "TICKROOM_ROOM_CREATES_PER_MINUTE", default_value_t = 30)]
    pub room_creates_per_minute: u32,

    /// Room creations one IP address may make at once before `--room-creates-per-minute`
    /// applies.
    #[arg(long, env = "TICKROOM_ROOM_CREATE_BURST", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub room_create_burst: u32,

    /// Most seats one IP address holds at once, counting seats held for a reconnect and joins
    /// not yet answered (0 = no limit); further joins get `Error` 10 (`IpLimit`). Keep it at or
    /// below `--max-connections-per-ip`, so that dropped connections cannot multiply an
    /// address's share. Behind a reverse proxy every client shares the proxy's address.
    #[arg(long, env = "TICKROOM_MAX_SEATS_PER_IP", default_value_t = 256)]
    pub max_seats_per_ip: u32,

    /// Extra origins allowed to open WebSockets (comma-separated, e.g. `https://game.example`;
    /// `*` allows any). Always allowed: http(s) origins on the server's own port at its own
    /// names and addresses (localhost, loopback, the bound address or every interface's, the
    /// host name and `<hostname>.local`), and clients that send no Origin (not browsers).
    /// Others get 403.
    #[arg(long, env = "TICKROOM_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// PEM certificate chain: with `--tls-key`, serve https:// and wss:// instead of plain HTTP.
    #[arg(long, env = "TICKROOM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for `--tls-cert`.
    #[arg(long, env = "TICKROOM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Seconds to wait on shutdown for WebSocket connections to close before exiting anyway;
    /// until then new upgrades are answered 503.
    #[arg(long, env = "TICKROOM_SHUTDOWN_TIMEOUT", default_value = "5", value_parser = parse_secs)]
    pub shutdown_timeout: Duration,

    /// Token that lets clients other than loopback ones read the operator endpoints
    /// (`/api/stats`, `/metrics`), sent as `Authorization: Bearer TOKEN`. Unset: loopback only.
    #[arg(long, env = "TICKROOM_ADMIN_TOKEN", hide_env_values = true,
          value_parser = clap::builder::ValueParser::new(str::parse::<AdminToken>))]
    pub admin_token: Option<AdminToken>,

    /// Whether loopback clients may read the operator endpoints without the token. Turn it off
    /// behind a reverse proxy on the same machine, where every client looks like loopback.
    #[arg(long, env = "TICKROOM_ADMIN_LOOPBACK", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub admin_loopback: bool,

    /// Seconds a rendered `/api/stats`, `/metrics`, `/api/rooms` or `/api/info` body is served
    /// again before it is rebuilt, however many requests arrive (0 = rebuild on every request).
    #[arg(long, env = "TICKROOM_API_CACHE", default_value = "1", value_parser = parse_secs)]
    pub api_cache: Duration,

    /// Cluster mode: the Redis server holding the room directory shared by every node
    /// (`redis://HOST:PORT`, optionally `/DB`). Unset: a single node, no Redis.
    #[arg(long, env = "TICKROOM_CLUSTER_REDIS")]
    pub cluster_redis: Option<String>,

    /// Cluster mode: the WebSocket URL clients reach this node at (`ws://HOST:PORT` or
    /// `wss://HOST:PORT`; `/ws` is appended when there is no path). Other nodes redirect
    /// clients there. Default: the bound address, which only works when it is not 0.0.0.0.
    #[arg(long, env = "TICKROOM_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Cluster mode: this node's id in the directory (letters, digits, `-`, `_`, `.`). Default: a
    /// random `node-` id at each start.
    #[arg(long, env = "TICKROOM_NODE_ID",
          value_parser = clap::builder::ValueParser::new(parse_node_id))]
    pub node_id: Option<String>,

    /// Cluster mode: prefix of every Redis key, so several clusters can share one Redis.
    #[arg(long, env = "TICKROOM_CLUSTER_PREFIX", default_value = "tickroom")]
    pub cluster_prefix: String,

    /// Cluster mode: seconds a node's lease lives without renewal (renewed every third of it).
    /// A node that stops renewing loses its rooms from the directory within this plus
    /// `--cluster-reap-interval`.
    #[arg(long, env = "TICKROOM_CLUSTER_LEASE", default_value = "5", value_parser = parse_secs)]
    pub cluster_lease: Duration,

    /// Cluster mode: seconds between a node's sweeps for nodes whose lease lapsed (every node
    /// sweeps; the sweep is idempotent).
    #[arg(long, env = "TICKROOM_CLUSTER_REAP_INTERVAL", default_value = "1",
          value_parser = parse_secs)]
    pub cluster_reap_interval: Duration,

    /// Cluster mode: seconds a seat reserved for a redirected client (its ticket) stays valid.
    #[arg(long, env = "TICKROOM_SEAT_TICKET_TTL", default_value = "10", value_parser = parse_secs)]
    pub seat_ticket_ttl: Duration,

    /// Cluster mode: seconds to wait for one Redis reply before answering the join with
    /// `Error` 11 (`Unavailable`).
    #[arg(long, env = "TICKROOM_CLUSTER_TIMEOUT", default_value = "1", value_parser = parse_secs)]
    pub cluster_timeout: Duration,

    /// Run as an Agones game server: report Ready, Health, the `rooms` counter and the `players`
    /// list to the Agones SDK sidecar, and Shutdown after draining (see `deploy/README.md`).
    #[arg(long, env = "TICKROOM_AGONES", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub agones: bool,

    /// Port of the Agones SDK sidecar's REST API on 127.0.0.1. Read from the variable Agones
    /// itself sets in the game server's container, hence not a `TICKROOM_*` one.
    #[arg(long, env = "AGONES_SDK_HTTP_PORT", default_value_t = 9358)]
    pub agones_sdk_port: u16,

    /// Seconds between Health reports to Agones; keep it well under the GameServer's
    /// `health.periodSeconds` (Agones' default 5).
    #[arg(long, env = "TICKROOM_AGONES_HEALTH_INTERVAL", default_value = "2",
          value_parser = parse_secs)]
    pub agones_health_interval: Duration,

    /// Seconds an open room may go without ticking before Health reports stop (Agones then marks
    /// the GameServer Unhealthy): a room thread is stuck, for instance in a game's endless loop.
    #[arg(long, env = "TICKROOM_AGONES_STALL_LIMIT", default_value = "5",
          value_parser = parse_secs)]
    pub agones_stall_limit: Duration,
}

/// A node id: 1-64 characters of letters, digits, `-`, `_` and `.`, so it can sit in Redis keys
/// and metric labels as it is.
fn parse_node_id(id: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(id.to_owned())
    } else {
        Err("a node id is 1-64 letters, digits, '-', '_' or '.'".into())
    }
}

/// The operator token: compared in constant time, never printed (its `Debug` is redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl AdminToken {
    /// The token's bytes, for the comparison.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::str::FromStr for AdminToken {
    type Err = String;

    /// Any non-empty string: an empty token would let `Authorization: Bearer ` in.
    fn from_str(token: &str) -> Result<Self, String> {
        if token.is_empty() {
            return Err("the admin token must not be empty".into());
        }
        Ok(AdminToken(token.to_owned()))
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl Default for Config {
    fn default() -> Self {
        // Parsing no arguments yields the documented defaults (overridden by any TICKROOM_*
        // variables, as for the binary); it cannot fail because every argument has a default.
        Config::try_parse_from(["tickroom-server"]).expect("defaults parse")
    }
}

impl Config {
    /// A game's info as this server runs it: `--tick-rate` replaces the game's rate and
    /// `--room-capacity` caps its seats. Every place that needs a game's rate or capacity reads
    /// it from here, so the overrides are applied in one place.
    pub fn apply(&self, info: GameInfo) -> GameInfo {
        GameInfo {
            tick: self.tick_rate.map_or(info.tick, |hz| info.tick.with_hz(hz)),
            capacity: self
                .room_capacity
                .map_or(info.capacity, |c| c.min(info.capacity)),
            spectators: info.spectators.min(self.max_spectators),
            ..info
        }
    }

    /// How often a session pings its client: the heartbeat interval, but at least twice per idle
    /// timeout, so a client that only answers pings is never idle.
    pub fn ping_period(&self) -> Duration {
        self.heartbeat_interval
            .min(self.idle_timeout / 2)
            .max(Duration::from_millis(10))
    }

    /// How long a session may go without running (its client not reading, so actix-web stops
    /// polling it) before the watchdog shuts its socket down: one ping period, when it would have
    /// run anyway, plus the slow-client timeout.
    pub fn stall_limit(&self) -> Duration {
        self.ping_period() + self.slow_client_timeout
    }

    /// The per-address budgets of rooms, room creations and seats.
    pub fn budget_limits(&self) -> crate::budget::Limits {
        crate::budget::Limits {
            rooms: self.max_rooms_per_ip,
            seats: self.max_seats_per_ip,
            creates_per_minute: self.room_creates_per_minute,
            create_burst: self.room_create_burst,
        }
    }

    /// HTTP workers after resolving 0 to the core count (actix-web's own default).
    pub fn http_workers(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// Room threads after resolving 0 to the core count.
    pub fn room_threads(&self) -> usize {
        match self.room_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}
