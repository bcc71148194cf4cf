//! Who may open a WebSocket, decided before the upgrade: the handshake itself (RFC 6455), the
//! subprotocol, the page's origin, and connection caps (global and per IP). A refusal is a plain
//! HTTP error with a one-line reason, so a browser's devtools or `curl -i` shows exactly why.
//!
//! It also sizes the global cap to the process's file-descriptor table ([`FdBudget`]), so the
//! server refuses with 503 before `accept` could fail for lack of descriptors.

use crate::config::Config;
use actix_web::http::header;
use actix_web::http::{Uri, Version};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use tickroom_shared::SUBPROTOCOL;

/// Open WebSocket connections, in all and per client IP, and what the origin check knows of the
/// server itself.
pub struct Admission {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    /// The number of open connections, for whoever waits for them to drain (shutdown).
    drained: tokio::sync::watch::Sender<usize>,
    own: OwnOrigin,
    cluster: Arc<ClusterOrigins>,
}

/// A counted connection; dropping it gives its place back.
pub struct Slot {
    admission: Arc<Admission>,
    ip: Option<IpAddr>,
}

impl Slot {
    /// The client's address, when known: the per-address budgets count against it too.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .admission
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.0 = open.0.saturating_sub(1);
        if let Some(ip) = self.ip {
            if let Some(n) = open.1.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    open.1.remove(&ip);
                }
            }
        }
        self.admission.drained.send_replace(open.0);
    }
}

/// Why an upgrade was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// An HTTP/1.0 request: WebSocket needs HTTP/1.1 (400).
    HttpVersion,
    /// `Sec-WebSocket-Version` is not 13 (426, with `Sec-WebSocket-Version: 13`).
    WebSocketVersion,
    /// `Sec-WebSocket-Key` is not the base64 form of 16 bytes (400).
    Key,
    /// The client did not offer `tickroom.v2` (400).
    Subprotocol,
    /// A browser page whose origin is not this server's nor listed (403).
    Origin,
    /// The server is at `--max-connections`, or at what its file descriptors allow (503).
    ServerFull,
    /// This IP is at `--max-connections-per-ip` (429).
    IpLimit,
    /// The client offered only an older tickroom subprotocol (400).
    OldProtocol,
}

impl Refusal {
    /// Every refusal, for metrics that exist before the first one happens.
    pub const ALL: [Refusal; 8] = [
        Refusal::HttpVersion,
        Refusal::WebSocketVersion,
        Refusal::Key,
        Refusal::Subprotocol,
        Refusal::Origin,
        Refusal::ServerFull,
        Refusal::IpLimit,
        Refusal::OldProtocol,
    ];

    /// The label used in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::HttpVersion => "http_version",
            Refusal::WebSocketVersion => "websocket_version",
            Refusal::Key => "key",
            Refusal::Subprotocol => "subprotocol",
            Refusal::OldProtocol => "old_protocol",
            Refusal::Origin => "origin",
            Refusal::ServerFull => "server_full",
            Refusal::IpLimit => "ip_limit",
        }
    }

    /// The HTTP answer.
    pub fn response(self) -> HttpResponse {
        let (mut builder, reason) = match self {
            Refusal::HttpVersion => (
                HttpResponse::BadRequest(),
                "a WebSocket upgrade needs HTTP/1.1".to_owned(),
            ),
            Refusal::WebSocketVersion => {
                let mut b = HttpResponse::UpgradeRequired();
                b.insert_header((header::SEC_WEBSOCKET_VERSION, "13"));
                (b, "this server speaks WebSocket version 13 only".to_owned())
            }
            Refusal::Key => (
                HttpResponse::BadRequest(),
                "Sec-WebSocket-Key must be 16 bytes in base64".to_owned(),
            ),
            Refusal::Subprotocol => (
                HttpResponse::BadRequest(),
                format!(
                    "offer the WebSocket subprotocol \"{SUBPROTOCOL}\" (Sec-WebSocket-Protocol)"
                ),
            ),
            Refusal::OldProtocol => (
                HttpResponse::BadRequest(),
                format!(
                    "this server speaks {SUBPROTOCOL} (protocol version {}); upgrade your client",
                    tickroom_shared::PROTOCOL_VERSION
                ),
            ),
            Refusal::Origin => (
                HttpResponse::Forbidden(),
                "this page's origin may not connect (see --allowed-origins)".to_owned(),
            ),
            Refusal::ServerFull => (
                HttpResponse::ServiceUnavailable(),
                "the server is at its connection limit; try again later".to_owned(),
            ),
            Refusal::IpLimit => (
                HttpResponse::TooManyRequests(),
                "too many connections from your address".to_owned(),
            ),
        };
        builder
            .content_type("text/plain; charset=utf-8")
            .body(format!("tickroom: {reason}\n"))
    }
}

impl Admission {
    /// No connection open yet; `own` is what the origin check accepts as this server.
    pub fn new(own: OwnOrigin) -> Admission {
        Admission {
            open: Mutex::default(),
            drained: tokio::sync::watch::Sender::new(0),
            own,
            cluster: Arc::default(),
        }
    }

    /// The cluster's node origins this check also admits (empty outside cluster mode).
    pub fn cluster_origins(&self) -> Arc<ClusterOrigins> {
        self.cluster.clone()
    }

    /// Checks an upgrade request; on success the returned slot counts the connection until dropped.
    pub fn admit(self: &Arc<Self>, req: &HttpRequest, config: &Config) -> Result<Slot, Refusal> {
        handshake(req)?;
        let offers: Vec<&str> = req
            .headers()
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let offered = offers.contains(&SUBPROTOCOL);
        if !offered && config.require_subprotocol {
            // An older client gets told what it is missing rather than a generic refusal.
            if offers.iter().any(|p| p.starts_with("tickroom.v")) {
                return Err(Refusal::OldProtocol);
            }
            return Err(Refusal::Subprotocol);
        }
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            // A header that is not visible ASCII cannot name one of our origins.
            let origin = origin.to_str().unwrap_or("");
            if !origin_allowed(origin, &self.own, &config.allowed_origins)
                && !self.cluster.contains(origin)
            {
                return Err(Refusal::Origin);
            }
        }
        let ip = req.peer_addr().map(|a| a.ip());
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.0 >= config.max_connections {
            return Err(Refusal::ServerFull);
        }
        if let Some(ip) = ip {
            let n = open.1.entry(ip).or_insert(0);
            if config.max_connections_per_ip > 0 && *n >= config.max_connections_per_ip {
                return Err(Refusal::IpLimit);
            }
            *n += 1;
        }
        open.0 += 1;
        self.drained.send_replace(open.0);
        Ok(Slot {
            admission: self.clone(),
            ip,
        })
    }

    /// Whether `origin` (`scheme://host[:port]`) is this server itself (its names and addresses
    /// on its port, as for WebSockets) or one of `allowed`. The admin endpoints check a
    /// request's `Host` and an action's `Origin` with it.
    pub fn own_origin(&self, origin: &str, allowed: &[String]) -> bool {
        origin_allowed(origin, &self.own, allowed)
    }

    /// WebSocket connections open now.
    pub fn open(&self) -> usize {
        *self.drained.borrow()
    }

    /// Resolves once no WebSocket connection is open.
    pub async fn drained(&self) {
        let mut open = self.drained.subscribe();
        // The sender lives in `self`, so the channel cannot close while this borrows it.
        let _ = open.wait_for(|n| *n == 0).await;
    }
}

/// The parts of RFC 6455's opening handshake (section 4.2.1) that actix-web-actors does not check:
/// it accepts HTTP/1.0, versions 7 and 8, and any key. Missing upgrade headers are left to it
/// (400 as well).
fn handshake(req: &HttpRequest) -> Result<(), Refusal> {
    if req.version() < Version::HTTP_11 {
        return Err(Refusal::HttpVersion);
    }
    if let Some(version) = req.headers().get(header::SEC_WEBSOCKET_VERSION) {
        if version.as_bytes().trim_ascii() != b"13" {
            return Err(Refusal::WebSocketVersion);
        }
    }
    if let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY) {
        if !valid_key(key.as_bytes()) {
            return Err(Refusal::Key);
        }
    }
    Ok(())
}

/// A `Sec-WebSocket-Key` must decode from base64 to exactly 16 bytes.
fn valid_key(key: &[u8]) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(key.trim_ascii())
        .is_ok_and(|k| k.len() == 16)
}

/// Cluster mode: the web origins of every live node (`http://host:port` for a `ws://` public
/// URL, `https://` for `wss://`), kept current by the cluster node at each lease renewal. A page
/// one node served is redirected to another node for its seat, and must be let in there.
#[derive(Debug, Default)]
pub struct ClusterOrigins(std::sync::RwLock<Vec<String>>);

impl ClusterOrigins {
    /// Replaces the list with the origins of these WebSocket URLs.
    pub fn set<'a>(&self, urls: impl Iterator<Item = &'a str>) {
        let origins = urls.filter_map(web_origin).collect();
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = origins;
    }

    /// Whether `origin` is one of them.
    pub fn contains(&self, origin: &str) -> bool {
        let origin = origin.trim().trim_end_matches('/');
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    }
}

/// The page origin that goes with a WebSocket URL: `ws://h:p/ws` → `http://h:p`.
fn web_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = match scheme {
        "ws" => "http",
        "wss" => "https",
        _ => return None,
    };
    let authority = rest.split('/').next().filter(|a| !a.is_empty())?;
    Some(format!("{scheme}://{authority}"))
}

/// What the origin check accepts as this server: its port and the names and addresses a page
/// served by it can have. Built once at start from the bound address (never from a request's
/// `Host`, which a DNS-rebinding page controls).
#[derive(Clone, Debug, Default)]
pub struct OwnOrigin {
    /// The port the server listens on; an origin must carry it (or its scheme's default).
    pub port: u16,
    /// Host names, lower case, without a trailing dot: `localhost`, the machine's host name and
    /// `<hostname>.local`.
    pub names: Vec<String>,
    /// The bound address, or every interface's address when bound to 0.0.0.0 or `::`. Loopback
    /// addresses are always accepted and need not be listed.
    pub addrs: Vec<IpAddr>,
}

impl OwnOrigin {
    /// This machine's names and the addresses a server bound to `bind` answers on.
    pub fn for_bind(bind: std::net::SocketAddr) -> OwnOrigin {
        let mut names = vec!["localhost".to_owned()];
        if let Some(host) = gethostname::gethostname().to_str() {
            let host = host.trim_end_matches('.').to_ascii_lowercase();
            if !host.is_empty() && host != "localhost" {
                names.push(format!("{host}.local"));
                names.push(host);
            }
        }
        let addrs = if bind.ip().is_unspecified() {
            // Without the interface list only loopback and the names are accepted, which is
            // the safe side; the failure is logged because LAN pages would then be refused.
            if_addrs::get_if_addrs()
                .inspect_err(|e| tracing::warn!(error = %e, "cannot list network interfaces"))
                .unwrap_or_default()
                .into_iter()
                .map(|i| i.ip())
                .collect()
        } else {
            vec![bind.ip()]
        };
        OwnOrigin {
            port: bind.port(),
            names,
            addrs,
        }
    }
}

/// Whether a page with this `Origin` may open a WebSocket: it is listed in `allowed` (`*` allows
/// any), or it is `http` or `https` on `own.port` at one of the server's own names or addresses
/// (any loopback address counts). A page on another port of the same machine is another site.
pub fn origin_allowed(origin: &str, own: &OwnOrigin, allowed: &[String]) -> bool {
    let origin = origin.trim();
    if allowed
        .iter()
        .any(|o| o == "*" || o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Ok(uri) = origin.parse::<Uri>() else {
        return false;
    };
    let default_port = match uri.scheme_str() {
        Some("http") => 80,
        Some("https") => 443,
        _ => return false,
    };
    let Some(authority) = uri.authority() else {
        return false;
    };
    if authority.port_u16().unwrap_or(default_port) != own.port {
        return false;
    }
    let host = authority.host();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return ip.is_loopback() || own.addrs.contains(&ip);
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    own.names.contains(&host)
}

/// File descriptors one WebSocket costs: its socket, and the duplicate its
/// [`Closer`](crate::connection::Closer) keeps.
pub const FDS_PER_WEBSOCKET: u64 = 2;

/// Descriptors kept for the process itself whatever its size: stdio, the listener, the accept
/// loop's poller, the actix system, logs.
pub const FD_RESERVE_BASE: u64 = 32;

/// Descriptors kept per thread that runs an event loop (HTTP workers and room threads: each has
/// a poller and wakers).
pub const FD_RESERVE_PER_THREAD: u64 = 4;

/// How many connections fit in the descriptor table, with the formula the README documents:
///
/// - `reserve = 32 + 4 × (workers + room threads)`, `budget = soft limit − reserve`;
/// - `http = max(16, budget / 8)`: plain HTTP connections (pages, API calls, and upgrades being
///   refused) kept beyond the WebSockets, so a newcomer can still be told 503;
/// - `websockets = (budget − http) / 2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdBudget {
    /// WebSocket connections that fit.
    pub websockets: u64,
    /// Connections of any kind the HTTP server may hold (`websockets + http`).
    pub connections: u64,
}

impl FdBudget {
    /// The budget under a soft limit of `soft` descriptors with `threads` event-loop threads.
    pub fn for_limit(soft: u64, threads: usize) -> FdBudget {
        let reserve = FD_RESERVE_BASE + FD_RESERVE_PER_THREAD * threads as u64;
        let budget = soft.saturating_sub(reserve);
        let http = (budget / 8).max(16).min(budget);
        let websockets = (budget - http) / FDS_PER_WEBSOCKET;
        FdBudget {
            websockets,
            connections: websockets + http,
        }
    }
}

/// Raises the soft limit on open files to the hard limit, where the system allows it. Returns the
/// soft limit in force afterwards.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The soft limit on open files now, if the platform has one.
pub fn fd_soft_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _)| soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn own(port: u16) -> OwnOrigin {
        OwnOrigin {
            port,
            names: vec!["localhost".into(), "gamebox".into(), "gamebox.local".into()],
            addrs: vec!["192.168.1.20".parse().expect("an address")],
        }
    }

    /// The origin decision: own names and addresses on the server's port only; listed origins and
    /// `*` on top; the `Host` header plays no part.
    #[test]
    fn cluster_origins_are_the_nodes_web_origins() {
        assert_eq!(
            web_origin("ws://10.0.0.2:8080/ws").as_deref(),
            Some("http://10.0.0.2:8080")
        );
        assert_eq!(
            web_origin("wss://b.example/ws").as_deref(),
            Some("https://b.example")
        );
        assert_eq!(web_origin("http://x/ws"), None);
        assert_eq!(web_origin("ws:///ws"), None);
        let origins = ClusterOrigins::default();
        origins.set(["ws://10.0.0.2:8080/ws", "wss://b.example/ws"].into_iter());
        assert!(origins.contains("http://10.0.0.2:8080"));
        assert!(origins.contains("https://B.example/"));
        assert!(!origins.contains("http://10.0.0.2:8081"));
        assert!(!origins.contains("https://10.0.0.2:8080"));
    }

    #[test]
    fn origins() {
        let own = own(8080);
        let none: &[String] = &[];
        for ok in [
            "http://localhost:8080",
            "https://LOCALHOST:8080",
            "http://127.0.0.1:8080",
            "http://127.0.0.2:8080",
            "http://[::1]:8080",
            "http://192.168.1.20:8080",
            "http://gamebox:8080",
            "http://gamebox.local.:8080",
        ] {
            assert!(origin_allowed(ok, &own, none), "{ok}");
        }
        for refused in [
            // Another port of the same machine is another site (a dev server, a printer page).
            "http://localhost:5173",
            "http://127.0.0.1:3000",
            "http://localhost",
            // DNS rebinding: the attacker's name resolving to us, with a matching Host.
            "http://attacker.example:8080",
            "http://192.168.1.21:8080",
            "ftp://localhost:8080",
            "null",
            "",
            "http://localhost:8080.evil.example",
        ] {
            assert!(!origin_allowed(refused, &own, none), "{refused}");
        }
        let listed = ["https://friend.example/".to_owned()];
        assert!(origin_allowed("https://friend.example", &own, &listed));
        assert!(!origin_allowed("https://other.example", &own, &listed));
        assert!(origin_allowed("https://x.example", &own, &["*".to_owned()]));
        // Default ports count as the scheme's.
        assert!(origin_allowed("https://localhost", &self::own(443), none));
        assert!(!origin_allowed("http://localhost", &self::own(443), none));
    }

    fn upgrade(version: &str, key: &str) -> HttpRequest {
        TestRequest::get()
            .uri("/ws")
            .insert_header((header::SEC_WEBSOCKET_VERSION, version))
            .insert_header((header::SEC_WEBSOCKET_KEY, key))
            .to_http_request()
    }

    /// RFC 6455 4.2.1: version 13 only (426), a key of 16 bytes in base64 (400), HTTP/1.1 (400).
    #[test]
    fn handshake_follows_rfc_6455() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        assert_eq!(handshake(&upgrade("13", key)), Ok(()));
        assert_eq!(
            handshake(&upgrade("8", key)),
            Err(Refusal::WebSocketVersion)
        );
        assert_eq!(handshake(&upgrade("13", "not base64!")), Err(Refusal::Key));
        // Valid base64, but of 15 bytes.
        assert_eq!(
            handshake(&upgrade("13", "dGhlIHNhbXBsZSBub25j")),
            Err(Refusal::Key)
        );
        let old = TestRequest::get()
            .uri("/ws")
            .version(Version::HTTP_10)
            .to_http_request();
        assert_eq!(handshake(&old), Err(Refusal::HttpVersion));
        let response = Refusal::WebSocketVersion.response();
        assert_eq!(response.status().as_u16(), 426);
        assert_eq!(
            response.headers().get(header::SEC_WEBSOCKET_VERSION),
            Some(&header::HeaderValue::from_static("13"))
        );
    }

    /// The documented formula, at the common 1,024 and the 256 the process test uses.
    #[test]
    fn fd_budget_formula() {
        // 1,024 with 2 workers and 2 room threads: reserve 48, budget 976, http 122.
        assert_eq!(
            FdBudget::for_limit(1024, 4),
            FdBudget {
                websockets: 427,
                connections: 549
            }
        );
        // 256 with 1 + 1 threads: reserve 40, budget 216, http 27.
        assert_eq!(FdBudget::for_limit(256, 2).websockets, 94);
        // Tiny limits give no WebSocket rather than underflowing.
        assert_eq!(FdBudget::for_limit(20, 8).websockets, 0);
        assert_eq!(FdBudget::for_limit(60, 2).websockets, 2);
    }
}
