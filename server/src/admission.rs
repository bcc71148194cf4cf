//! Who may open a WebSocket, decided before the upgrade: the subprotocol, the page's origin, and
//! connection caps (global and per IP). A refusal is a plain HTTP error with a one-line reason,
//! so a browser's devtools or `curl -i` shows exactly why.

use crate::config::Config;
use actix_web::http::header;
use actix_web::http::Uri;
use actix_web::{HttpRequest, HttpResponse};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use tickroom_shared::SUBPROTOCOL;

/// Open WebSocket connections, in all and per client IP.
#[derive(Default)]
pub struct Admission {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
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
    }
}

/// Why an upgrade was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client did not offer `tickroom.v2` (400).
    Subprotocol,
    /// A cross-site page that is not allowed (403).
    Origin,
    /// The server is at `--max-connections` (503).
    ServerFull,
    /// This IP is at `--max-connections-per-ip` (429).
    IpLimit,
    /// The client offered only an older tickroom subprotocol.
    OldProtocol,
}

impl Refusal {
    /// The label used in metrics.
    pub fn label(self) -> &'static str {
        match self {
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
    /// Checks an upgrade request; on success the returned slot counts the connection until dropped.
    pub fn admit(self: &Arc<Self>, req: &HttpRequest, config: &Config) -> Result<Slot, Refusal> {
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
        if !origin_allowed(req, config) {
            return Err(Refusal::Origin);
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
        Ok(Slot {
            admission: self.clone(),
            ip,
        })
    }
}

/// Browsers send `Origin` on every WebSocket upgrade; other clients usually do not. A page may
/// connect if it is served by this server (same host and port), from localhost, or is listed.
fn origin_allowed(req: &HttpRequest, config: &Config) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    if config
        .allowed_origins
        .iter()
        .any(|o| o == "*" || o.trim_end_matches('/') == origin)
    {
        return true;
    }
    let Ok(uri) = origin.parse::<Uri>() else {
        return false;
    };
    let Some(authority) = uri.authority() else {
        return false;
    };
    if matches!(authority.host(), "localhost" | "127.0.0.1" | "[::1]") {
        return true;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    host.is_some_and(|h| h.eq_ignore_ascii_case(authority.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn config(allowed: &[&str]) -> Config {
        Config {
            allowed_origins: allowed.iter().map(|s| (*s).to_owned()).collect(),
            ..Config::default()
        }
    }

    fn req(origin: Option<&str>, host: &str) -> HttpRequest {
        let mut r = TestRequest::get()
            .uri("/ws")
            .insert_header((header::HOST, host));
        if let Some(o) = origin {
            r = r.insert_header((header::ORIGIN, o));
        }
        r.to_http_request()
    }

    #[test]
    fn origins() {
        let c = config(&[]);
        assert!(
            origin_allowed(&req(None, "game.example:8080"), &c),
            "no origin: not a browser"
        );
        assert!(origin_allowed(
            &req(Some("http://game.example:8080"), "game.example:8080"),
            &c
        ));
        assert!(origin_allowed(
            &req(Some("http://localhost:5173"), "game.example:8080"),
            &c
        ));
        assert!(origin_allowed(
            &req(Some("http://127.0.0.1:3000"), "10.0.0.2:8080"),
            &c
        ));
        assert!(!origin_allowed(
            &req(Some("https://evil.example"), "game.example:8080"),
            &c
        ));
        assert!(!origin_allowed(&req(Some("null"), "game.example:8080"), &c));
        let c = config(&["https://evil.example"]);
        assert!(origin_allowed(
            &req(Some("https://evil.example"), "game.example:8080"),
            &c
        ));
        assert!(origin_allowed(
            &req(Some("https://x.example"), "h"),
            &config(&["*"])
        ));
    }
}
