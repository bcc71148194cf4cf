//! What operators and hostile pages see of the server: cached, operator-only statistics
//! (issue 9, problem 4), the origin check against DNS rebinding, the RFC 6455 handshake answers,
//! and metric families present from the start.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tickroom_server::ServerHandle;
use tickroom_shared::SUBPROTOCOL;
use tickroom_tests::{http_get, start_lab, test_config, PATIENCE};

/// Sends one raw HTTP request and returns the response head (status line and headers), so
/// tests control every header, `Host` and the HTTP version included.
fn raw_request(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("the test server accepts");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("a read timeout can be set");
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).expect("the server answers in time") {
            0 => break,
            _ => head.push(byte[0]),
        }
    }
    String::from_utf8(head).expect("an HTTP head is ASCII")
}

/// The status code of a response head.
fn status(head: &str) -> u16 {
    head.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}

/// An upgrade request for `/ws` with the given extra header lines (each ending in `\r\n`).
fn upgrade_request(version: &str, host: &str, extra: &str) -> String {
    format!(
        "GET /ws {version}\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n{extra}\r\n"
    )
}

const KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
const V13: &str = "Sec-WebSocket-Version: 13\r\n";

/// The status of an upgrade carrying `Origin: origin` and `Host: host`.
fn origin_status(server: &ServerHandle, origin: &str, host: &str) -> u16 {
    let extra = format!("{KEY}{V13}Origin: {origin}\r\n");
    status(&raw_request(
        server.addr,
        &upgrade_request("HTTP/1.1", host, &extra),
    ))
}

/// A GET with an optional `Authorization` header: (status, body).
fn get_with(server: &ServerHandle, path: &str, authorization: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(&format!("http://{}{path}", server.addr));
    if let Some(a) = authorization {
        request = request.header("Authorization", a);
    }
    let mut response = request.call().expect("the test server answers");
    let body = response.body_mut().read_to_string().expect("a text body");
    (response.status().as_u16(), body)
}

/// Issue 9, problem 4: however many requests arrive, `/api/stats`, `/metrics`, `/api/rooms`
/// and `/api/info` are rendered once per cache period (here an hour: exactly once).
#[tokio::test]
async fn operator_endpoints_are_rendered_once_per_cache_period() {
    let mut config = test_config();
    config.api_cache = Duration::from_secs(3600);
    let server = start_lab(config);
    let endpoints = [
        ("stats", "/api/stats"),
        ("metrics", "/metrics"),
        ("rooms", "/api/rooms"),
        ("info", "/api/info"),
    ];
    for (_, path) in endpoints {
        for _ in 0..200 {
            assert!(!http_get(&server, path).is_empty());
        }
    }
    for (label, path) in endpoints {
        let rebuilds = server
            .stats
            .api_rebuilds
            .get_or_create(&tickroom_server::stats::EndpointLabels { endpoint: label })
            .get();
        assert_eq!(
            rebuilds, 1,
            "{path} rendered {rebuilds} times for 200 requests"
        );
    }
}

/// Issue 9, problem 4: the operator views answer others than loopback only with the bearer
/// token (401 otherwise), or not at all without one (403); the public endpoints stay open.
/// Loopback is not trusted here (`--admin-loopback false`), as behind a reverse proxy.
#[tokio::test]
async fn operator_endpoints_need_loopback_or_the_token() {
    let mut config = test_config();
    config.admin_loopback = false;
    config.admin_token = Some("s3cret".parse().expect("a non-empty token"));
    let server = start_lab(config);
    for path in ["/api/stats", "/metrics"] {
        let (code, body) = get_with(&server, path, None);
        assert_eq!(code, 401, "{path}: {body}");
        assert!(body.contains("Authorization: Bearer"), "{body}");
        assert!(!body.contains("s3cret"), "the token never shows");
        assert_eq!(get_with(&server, path, Some("Bearer wrong")).0, 401);
        assert_eq!(get_with(&server, path, Some("s3cret")).0, 401);
        assert_eq!(get_with(&server, path, Some("Bearer s3cret")).0, 200);
    }
    for path in ["/api/rooms", "/api/info", "/healthz"] {
        assert_eq!(get_with(&server, path, None).0, 200, "{path} is public");
    }
    assert_eq!(server.stats.api_refused.get(), 6);

    let mut config = test_config();
    config.admin_loopback = false;
    let server = start_lab(config);
    let (code, body) = get_with(&server, "/api/stats", Some("Bearer s3cret"));
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("loopback"), "{body}");

    let server = start_lab(test_config());
    assert_eq!(get_with(&server, "/api/stats", None).0, 200, "loopback");
}

/// DNS rebinding (the attacker's name in both `Origin` and `Host`) and pages from another port
/// of the same machine are refused with 403; the server's own origin is accepted.
#[tokio::test]
async fn dns_rebinding_and_other_local_ports_are_refused() {
    let server = start_lab(test_config());
    let port = server.addr.port();
    let other = port.wrapping_add(1).max(1);
    let attacker = format!("attacker.example:{port}");
    assert_eq!(
        origin_status(&server, &format!("http://{attacker}"), &attacker),
        403,
        "DNS rebinding"
    );
    let own = format!("127.0.0.1:{port}");
    assert_eq!(
        origin_status(&server, &format!("http://localhost:{other}"), &own),
        403,
        "another port on localhost"
    );
    assert_eq!(
        origin_status(&server, &format!("http://localhost:{port}"), &own),
        101
    );
    assert_eq!(origin_status(&server, &format!("http://{own}"), &own), 101);
    assert_eq!(
        server
            .stats
            .refused
            .get_or_create(&tickroom_server::stats::RefusedLabels { reason: "origin" })
            .get(),
        2
    );
}

/// RFC 6455: a version other than 13 gets 426 with `Sec-WebSocket-Version: 13`; a key that is
/// not 16 bytes of base64 gets 400, and so does an HTTP/1.0 upgrade.
#[tokio::test]
async fn handshake_answers_follow_rfc_6455() {
    let server = start_lab(test_config());
    let host = server.addr.to_string();
    let head = raw_request(
        server.addr,
        &upgrade_request(
            "HTTP/1.1",
            &host,
            &format!("{KEY}Sec-WebSocket-Version: 8\r\n"),
        ),
    );
    assert_eq!(status(&head), 426, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13\r\n"),
        "{head}"
    );
    let head = raw_request(
        server.addr,
        &upgrade_request(
            "HTTP/1.1",
            &host,
            &format!("Sec-WebSocket-Key: c2hvcnQ=\r\n{V13}"),
        ),
    );
    assert_eq!(status(&head), 400, "{head}");
    let head = raw_request(
        server.addr,
        &upgrade_request("HTTP/1.0", &host, &format!("{KEY}{V13}")),
    );
    assert_eq!(status(&head), 400, "{head}");
    let head = raw_request(
        server.addr,
        &upgrade_request("HTTP/1.1", &host, &format!("{KEY}{V13}")),
    );
    assert_eq!(status(&head), 101, "{head}");
}

/// A fresh server's `/metrics` already has every labelled family: closes for every close code,
/// refusals for every reason, rebuilds for every cached endpoint (all 0).
#[tokio::test]
async fn metric_families_exist_from_the_start() {
    let server = start_lab(test_config());
    let text = http_get(&server, "/metrics");
    for series in [
        "tickroom_closes_total{code=\"1000\"} 0",
        "tickroom_closes_total{code=\"1001\"} 0",
        "tickroom_closes_total{code=\"1008\"} 0",
        "tickroom_closes_total{code=\"4005\"} 0",
        "tickroom_upgrades_refused_total{reason=\"origin\"} 0",
        "tickroom_upgrades_refused_total{reason=\"server_full\"} 0",
        "tickroom_upgrades_refused_total{reason=\"shutting_down\"} 0",
        "tickroom_upgrades_refused_total{reason=\"websocket_version\"} 0",
        "tickroom_api_refused_total 0",
    ] {
        assert!(text.contains(series), "missing {series} in:\n{text}");
    }
    // The request being answered counted its own rebuild before rendering.
    for series in [
        "tickroom_api_rebuilds_total{endpoint=\"metrics\"} 1",
        "tickroom_api_rebuilds_total{endpoint=\"stats\"} 0",
    ] {
        assert!(text.contains(series), "missing {series} in:\n{text}");
    }
}
