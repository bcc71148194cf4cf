//! The HTTP endpoints besides `/ws`: the public `/api/rooms` and `/api/info` (the web lobby reads
//! them), and the operator views `/api/stats` and `/metrics`.
//!
//! They run on the same workers as the players' connections, so none may cost more per request
//! as rooms multiply: each body is rendered at most once per `--api-cache` seconds and served from
//! memory in between ([`Cached`]), whatever the request rate. The operator views carry per-room
//! detail and answer only loopback clients or a bearer of `--admin-token`
//! ([`operator_access`]).

use crate::config::AdminToken;
use crate::messages::{ListCluster, ListRooms, RoomSummary};
use crate::stats::{EndpointLabels, Stats};
use crate::{registry, AppState};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq as _;

/// One endpoint's rendered body, reused until it is older than the configured age.
///
/// At most one request rebuilds it at a time; requests that find it stale while another
/// rebuilds get the previous body (only the very first build can run twice at once). So
/// rebuilds happen at most about once per age, whatever the request rate.
pub struct Cached {
    endpoint: &'static str,
    body: Mutex<Option<(Instant, Bytes)>>,
    building: AtomicBool,
}

/// Clears the building flag when a rebuild ends, also when its request is dropped midway.
struct Building<'a>(&'a AtomicBool);

impl Drop for Building<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Cached {
    /// An empty cache for `endpoint` (its label in `tickroom_api_rebuilds_total`).
    pub fn new(endpoint: &'static str) -> Cached {
        Cached {
            endpoint,
            body: Mutex::new(None),
            building: AtomicBool::new(false),
        }
    }

    /// The body, rebuilt with `build` if it is older than `max_age` (and nobody else is on it).
    pub async fn get<E, Fut>(
        &self,
        max_age: Duration,
        stats: &Stats,
        build: impl FnOnce() -> Fut,
    ) -> Result<Bytes, E>
    where
        Fut: Future<Output = Result<Bytes, E>>,
    {
        // A poisoned lock only means a panic elsewhere mid-store; the Option is still whole.
        let stale = match &*self.body.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((at, body)) if at.elapsed() < max_age => return Ok(body.clone()),
            Some((_, body)) => Some(body.clone()),
            None => None,
        };
        let _building = if self.building.swap(true, Ordering::AcqRel) {
            match stale {
                Some(body) => return Ok(body),
                // Nothing to serve yet: build as well (only before the first body exists).
                None => None,
            }
        } else {
            Some(Building(&self.building))
        };
        stats
            .api_rebuilds
            .get_or_create(&EndpointLabels {
                endpoint: self.endpoint,
            })
            .inc();
        let body = build().await?;
        *self.body.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), body.clone()));
        Ok(body)
    }
}

/// The caches of every cached endpoint, part of the app state.
pub struct Caches {
    stats: Cached,
    metrics: Cached,
    rooms: Cached,
    info: Cached,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            stats: Cached::new("stats"),
            metrics: Cached::new("metrics"),
            rooms: Cached::new("rooms"),
            info: Cached::new("info"),
        }
    }
}

/// Why an operator request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// Not loopback (or loopback not trusted), and no token is configured (403).
    LoopbackOnly,
    /// A token is configured and the request did not carry it (401).
    Token,
    /// Let in for its loopback address, but its `Host` names another server: a page that
    /// rebound its own name to 127.0.0.1 (DNS rebinding), which must not read the operator views
    /// with the trust given to loopback (403).
    Host,
}

impl Denied {
    /// The HTTP answer, with a one-line reason.
    pub fn response(self) -> HttpResponse {
        let (mut builder, reason) = match self {
            Denied::LoopbackOnly => (
                HttpResponse::Forbidden(),
                "operator endpoint: loopback clients only (the server has no --admin-token)",
            ),
            Denied::Host => (
                HttpResponse::Forbidden(),
                "operator endpoint: the Host header does not name this server",
            ),
            Denied::Token => {
                let mut b = HttpResponse::Unauthorized();
                b.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
                (
                    b,
                    "operator endpoint: send Authorization: Bearer <the --admin-token>",
                )
            }
        };
        builder
            .content_type("text/plain; charset=utf-8")
            .body(format!("tickroom: {reason}\n"))
    }
}

/// Why an operator request was let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// It came from a loopback address, which is trusted.
    Loopback,
    /// It carried the `--admin-token`.
    Token,
}

/// Whether a request may read an operator endpoint: from a loopback address when `loopback` is
/// trusted, or with `Authorization: Bearer <token>` when a token is configured. The token is
/// compared in constant time (only its length can show through timing).
pub fn operator_access(
    peer: Option<IpAddr>,
    authorization: Option<&[u8]>,
    token: Option<&AdminToken>,
    loopback: bool,
) -> Result<(), Denied> {
    operator_grant(peer, authorization, token, loopback).map(|_| ())
}

/// [`operator_access`], saying which rule let the request in (the admin page checks more of
/// a request trusted only for its address).
pub fn operator_grant(
    peer: Option<IpAddr>,
    authorization: Option<&[u8]>,
    token: Option<&AdminToken>,
    loopback: bool,
) -> Result<Grant, Denied> {
    if loopback && peer.is_some_and(|ip| ip.is_loopback()) {
        return Ok(Grant::Loopback);
    }
    let Some(token) = token else {
        return Err(Denied::LoopbackOnly);
    };
    // The scheme name is case-insensitive (RFC 9110 section 11.1).
    let given = authorization
        .and_then(|a| a.split_at_checked(7))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(b"bearer "))
        .map_or(&b""[..], |(_, token)| token);
    if bool::from(given.ct_eq(token.as_bytes())) {
        Ok(Grant::Token)
    } else {
        Err(Denied::Token)
    }
}

/// Checks [`operator_access`] for a request, counting refusals: the refusal to send, if any.
fn refuse_operator(req: &HttpRequest, state: &AppState) -> Option<HttpResponse> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    let config = &state.config;
    let granted = operator_grant(
        req.peer_addr().map(|a| a.ip()),
        authorization,
        config.admin_token.as_ref(),
        config.admin_loopback,
    );
    let denied = match granted {
        Ok(Grant::Loopback) if !names_this_server(req, state) => Denied::Host,
        Ok(_) => return None,
        Err(denied) => denied,
    };
    state.stats.api_refused.inc();
    tracing::debug!(peer = ?req.peer_addr(), ?denied, path = req.path(), "operator request refused");
    Some(denied.response())
}

/// Whether the request's `Host` (if it sends one) names this server: one of its own names or
/// addresses on its port, as the WebSocket origin check accepts them. A request trusted for
/// coming from loopback must pass it, or a DNS-rebinding page could read what loopback may.
pub(crate) fn names_this_server(req: &HttpRequest, state: &AppState) -> bool {
    let Some(host) = req.headers().get(header::HOST) else {
        return true;
    };
    let scheme = if state.config.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let host = host.to_str().unwrap_or("");
    state
        .admission
        .own_origin(&format!("{scheme}://{host}"), &[])
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<Bytes, actix_web::Error> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(actix_web::error::ErrorInternalServerError)
}

pub(crate) fn json_response(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// A room in `GET /api/rooms` in cluster mode: the single-node fields plus where it runs.
#[derive(serde::Serialize)]
struct ClusterRoom {
    #[serde(flatten)]
    room: RoomSummary,
    /// The id of the node that runs it.
    node: String,
    /// That node's WebSocket URL.
    url: String,
}

/// `GET /api/rooms`: public, cached. In cluster mode every room of the cluster, with its node
/// (503 while the directory is unavailable).
pub async fn rooms(state: web::Data<AppState>) -> actix_web::Result<HttpResponse> {
    let body = state
        .caches
        .rooms
        .get(state.config.api_cache, &state.stats, || async {
            let Some((_, cluster)) = &state.cluster else {
                let rooms = state
                    .lobby
                    .send(ListRooms)
                    .await
                    .map_err(actix_web::error::ErrorServiceUnavailable)?;
                return json(&rooms);
            };
            let listed = cluster
                .send(ListCluster)
                .await
                .ok()
                .and_then(Result::ok)
                .ok_or_else(|| {
                    actix_web::error::ErrorServiceUnavailable(
                        "the room directory is unavailable; try again",
                    )
                })?;
            // Spectators are counted by the rooms' own nodes only: this node's, from its lobby.
            let local: BTreeMap<tickroom_shared::RoomId, Option<u32>> = state
                .lobby
                .send(ListRooms)
                .await
                .map_err(actix_web::error::ErrorServiceUnavailable)?
                .into_iter()
                .map(|r| (r.id, r.spectators))
                .collect();
            let rooms: Vec<ClusterRoom> = listed
                .into_iter()
                .filter(|r| r.state == "open" && !r.closing)
                .filter_map(|r| {
                    // Rooms of games this node does not run are left out: it could not describe
                    // them.
                    let game = state.games.get(&r.game)?;
                    let info = state.config.apply(game.info());
                    Some(ClusterRoom {
                        room: RoomSummary {
                            id: r.id,
                            game: game.name(),
                            players: r.taken + r.reserved,
                            capacity: r.capacity,
                            spectators: local.get(&r.id).copied().flatten(),
                            tick_rate: info.tick.hz(),
                            on_change: info.tick.is_on_change(),
                            locked: r.locked,
                            metadata: r.metadata,
                        },
                        node: r.node,
                        url: r.url,
                    })
                })
                .collect();
            json(&rooms)
        })
        .await?;
    Ok(json_response(body))
}

/// `GET /api/stats`: the operator's JSON view with per-room detail, cached.
pub async fn stats(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(refused) = refuse_operator(&req, &state) {
        return refused;
    }
    let report = state
        .caches
        .stats
        .get(state.config.api_cache, &state.stats, || async {
            json(&state.stats.report())
        })
        .await;
    match report {
        Ok(body) => json_response(body),
        Err(e) => e.error_response(),
    }
}

/// `GET /metrics`: Prometheus text, an operator view, cached.
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(refused) = refuse_operator(&req, &state) {
        return refused;
    }
    let body = state
        .caches
        .metrics
        .get(state.config.api_cache, &state.stats, || async {
            Ok::<_, std::convert::Infallible>(Bytes::from(state.stats.prometheus()))
        })
        .await;
    let body = match body {
        Ok(body) => body,
        Err(never) => match never {},
    };
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(body)
}

/// `GET /api/info`: what a client needs to know about this server before joining.
#[derive(serde::Serialize)]
struct ServerInfo {
    protocol_version: u16,
    subprotocol: &'static str,
    /// The game a join without a game name plays.
    default_game: Option<&'static str>,
    games: Vec<registry::GameSummary>,
    /// Addresses other machines on the LAN can use, when listening on all interfaces.
    lan_urls: Vec<String>,
    /// Cluster mode: this node's id (absent on a single node).
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<String>,
}

/// `GET /api/info`: public, cached (it lists interfaces, which costs a system call or two).
pub async fn info(state: web::Data<AppState>, req: HttpRequest) -> actix_web::Result<HttpResponse> {
    let local = req.app_config().local_addr();
    let body = state
        .caches
        .info
        .get(state.config.api_cache, &state.stats, || async {
            json(&server_info(&state, local))
        })
        .await?;
    Ok(json_response(body))
}

fn server_info(state: &AppState, local: SocketAddr) -> ServerInfo {
    let lan_urls = if local.ip().is_unspecified() {
        // No interface list (an error) means no link to show, not a failed request.
        let interfaces: Vec<IpAddr> = if_addrs::get_if_addrs()
            .unwrap_or_default()
            .iter()
            .map(|i| i.ip())
            .collect();
        let scheme = if state.config.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        lan_urls(local, &interfaces, scheme)
    } else {
        Vec::new()
    };
    ServerInfo {
        protocol_version: tickroom_shared::PROTOCOL_VERSION,
        subprotocol: tickroom_shared::SUBPROTOCOL,
        default_game: state.games.iter().next().map(|g| g.name()),
        games: state.games.summaries(&state.config),
        lan_urls,
        node: state.cluster.as_ref().map(|(node, _)| node.clone()),
    }
}

/// The links (`http://ADDR:PORT/`) other machines on the LAN can open, for a server listening
/// on `local`: none unless it listens on every interface (`0.0.0.0` or `[::]`). Private IPv4
/// addresses come first, since that is what a home or office network hands out and what the
/// lobby turns into a QR code; then other IPv4 addresses; then, when listening on `[::]`,
/// unique-local and global IPv6 ones. On `[::]` the IPv4 addresses are listed too: the socket
/// is dual-stack where IPv6 sockets accept IPv4 by default (Linux, macOS). Loopback, link-local
/// (unusable in a URL without a zone) and multicast addresses are left out, as are repeats.
pub fn lan_urls(local: SocketAddr, interfaces: &[IpAddr], scheme: &str) -> Vec<String> {
    if !local.ip().is_unspecified() {
        return Vec::new();
    }
    let rank = |ip: &IpAddr| -> Option<u8> {
        match ip {
            IpAddr::V4(v4) if v4.is_loopback() || v4.is_link_local() || v4.is_multicast() => None,
            IpAddr::V4(v4) if v4.is_unspecified() || v4.is_broadcast() => None,
            IpAddr::V4(v4) if v4.is_private() => Some(0),
            IpAddr::V4(_) => Some(1),
            IpAddr::V6(_) if local.is_ipv4() => None,
            IpAddr::V6(v6) if v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() => None,
            // fe80::/10: link-local.
            IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => None,
            // fc00::/7: unique local, the IPv6 counterpart of a private address.
            IpAddr::V6(v6) if v6.segments()[0] & 0xfe00 == 0xfc00 => Some(2),
            IpAddr::V6(_) => Some(3),
        }
    };
    let mut ranked: Vec<(u8, IpAddr)> = Vec::new();
    for ip in interfaces {
        if let Some(r) = rank(ip) {
            if !ranked.iter().any(|(_, seen)| seen == ip) {
                ranked.push((r, *ip));
            }
        }
    }
    // Stable: within a rank, the system's interface order.
    ranked.sort_by_key(|(r, _)| *r);
    ranked
        .into_iter()
        .map(|(_, ip)| format!("{scheme}://{}/", SocketAddr::new(ip, local.port())))
        .collect()
}

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(t: &str) -> AdminToken {
        t.parse().expect("a non-empty token")
    }

    /// Loopback is trusted unless turned off; others need the exact bearer token; without a
    /// token configured they get 403, with one 401.
    #[test]
    fn operator_access_decision() {
        let lo: Option<IpAddr> = Some("127.0.0.1".parse().expect("ip"));
        let lo6: Option<IpAddr> = Some("::1".parse().expect("ip"));
        let lan: Option<IpAddr> = Some("192.168.1.7".parse().expect("ip"));
        let t = token("s3cret");
        assert_eq!(operator_access(lo, None, None, true), Ok(()));
        assert_eq!(operator_access(lo6, None, None, true), Ok(()));
        assert_eq!(
            operator_access(lan, None, None, true),
            Err(Denied::LoopbackOnly)
        );
        assert_eq!(
            operator_access(lan, Some(b"Bearer s3cret"), None, true),
            Err(Denied::LoopbackOnly),
            "a token the server does not have opens nothing"
        );
        assert_eq!(
            operator_access(lan, Some(b"Bearer s3cret"), Some(&t), true),
            Ok(())
        );
        assert_eq!(
            operator_access(lan, Some(b"bearer s3cret"), Some(&t), true),
            Ok(())
        );
        for wrong in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret2",
            b"s3cret",
            b"Bearer ",
            b"",
        ] {
            assert_eq!(
                operator_access(lan, Some(wrong), Some(&t), true),
                Err(Denied::Token)
            );
        }
        assert_eq!(
            operator_access(lan, None, Some(&t), true),
            Err(Denied::Token)
        );
        assert_eq!(
            operator_access(lo, None, Some(&t), false),
            Err(Denied::Token),
            "loopback not trusted (behind a proxy)"
        );
        assert_eq!(
            operator_access(lo, None, None, false),
            Err(Denied::LoopbackOnly)
        );
        assert!("".parse::<AdminToken>().is_err());
        assert_eq!(format!("{t:?}"), "AdminToken(<redacted>)");
    }

    /// Only a server on every interface has LAN links: private IPv4 first, then other IPv4,
    /// then (on `[::]`) unique-local and global IPv6; never loopback, link-local or repeats.
    #[test]
    fn lan_urls_order_and_filter() {
        let ips: Vec<IpAddr> = [
            "127.0.0.1",
            "::1",
            "100.64.3.4",
            "169.254.1.1",
            "fe80::1",
            "2001:db8::7",
            "192.168.1.20",
            "fd12:3456::9",
            "10.0.0.5",
            "192.168.1.20",
        ]
        .iter()
        .map(|s| s.parse().expect("ip"))
        .collect();
        let any4: SocketAddr = "0.0.0.0:8080".parse().expect("addr");
        assert_eq!(
            lan_urls(any4, &ips, "http"),
            [
                "http://192.168.1.20:8080/",
                "http://10.0.0.5:8080/",
                "http://100.64.3.4:8080/"
            ]
        );
        let any6: SocketAddr = "[::]:9000".parse().expect("addr");
        assert_eq!(
            lan_urls(any6, &ips, "https"),
            [
                "https://192.168.1.20:9000/",
                "https://10.0.0.5:9000/",
                "https://100.64.3.4:9000/",
                "https://[fd12:3456::9]:9000/",
                "https://[2001:db8::7]:9000/"
            ]
        );
        for bound in ["127.0.0.1:8080", "192.168.1.20:8080", "[::1]:8080"] {
            let bound: SocketAddr = bound.parse().expect("addr");
            assert!(lan_urls(bound, &ips, "http").is_empty(), "{bound}");
        }
    }

    /// However many requests arrive within the age, the body is built once.
    #[actix_web::test]
    async fn cached_body_is_built_once_per_age() {
        let stats = Stats::default();
        let cache = Cached::new("stats");
        let mut builds = 0u32;
        for _ in 0..100 {
            let body = cache
                .get(Duration::from_secs(3600), &stats, || {
                    builds += 1;
                    async { Ok::<_, ()>(Bytes::from_static(b"x")) }
                })
                .await;
            assert_eq!(body, Ok(Bytes::from_static(b"x")));
        }
        assert_eq!(builds, 1);
        // Age 0: every request rebuilds.
        let cache = Cached::new("stats");
        for _ in 0..3 {
            let body = cache
                .get(Duration::ZERO, &stats, || {
                    builds += 1;
                    async { Ok::<_, ()>(Bytes::from_static(b"y")) }
                })
                .await;
            assert_eq!(body, Ok(Bytes::from_static(b"y")));
        }
        assert_eq!(builds, 4);
        // While one request rebuilds, the others get the previous body instead of rebuilding.
        let builds = std::cell::Cell::new(0u32);
        let many = (0..50).map(|_| {
            cache.get(Duration::ZERO, &stats, || {
                builds.set(builds.get() + 1);
                async {
                    tokio::task::yield_now().await;
                    Ok::<_, ()>(Bytes::from_static(b"z"))
                }
            })
        });
        let bodies = futures_util::future::join_all(many).await;
        assert_eq!(builds.get(), 1, "one rebuild for 50 concurrent requests");
        assert!(bodies.iter().all(|b| b.is_ok()));
        let text = stats.prometheus();
        assert!(
            text.contains("tickroom_api_rebuilds_total{endpoint=\"stats\"} 5"),
            "{text}"
        );
    }
}
