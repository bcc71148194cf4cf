//! Hostile and unlucky clients: each may close only its own connection and never cost the other
//! players their ticks; connection caps and origins; shutdown; metrics.

use std::time::Duration;
use tickroom_shared::Tick;
use tickroom_tests::{start_lab, test_config, upgrade_status, ws_url, Client, Join, Msg};
use tokio_tungstenite::tungstenite::Message;

/// A client sending far faster than the rate limit is closed with 1008 at the first frame over
/// the bucket; its room-mate keeps receiving consecutive Deltas.
#[tokio::test]
async fn flooding_client_is_closed_with_1008() {
    let server = start_lab(test_config());
    let mut good = Client::join(&server, Join::quick("good")).await;
    let mut flood = Client::join(&server, Join::quick("flood")).await;
    // 10,000 pings as fast as the socket takes them: far above 100/s with a burst of 200.
    let ping = tickroom_shared::encode(&Msg::Ping { echo: 1 }).expect("a ping encodes");
    for _ in 0..10_000u32 {
        if !flood
            .try_send_raw(Message::Binary(ping.clone().into()))
            .await
        {
            break; // closed by the server mid-flood
        }
    }
    let (code, reason) = flood.until_closed().await.expect("a close frame");
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("per second"), "{reason}");
    assert!(server.stats.rate_limited.get() >= 1);
    let tick = good.tick();
    good.until_tick(Tick(tick.0 + 10)).await;
    good.assert_clean();
}

/// A cross-site page is refused with 403 (also one on another port of localhost); the server's
/// own origin, localhost on its port and listed origins are accepted, and so are clients that
/// send no origin.
#[tokio::test]
async fn cross_site_upgrade_is_refused_unless_allowed() {
    let mut config = test_config();
    config.allowed_origins = vec!["https://friend.example".into()];
    let server = start_lab(config);
    let url = ws_url(&server);
    assert_eq!(
        upgrade_status(&url, Some("https://evil.example")).await,
        403
    );
    assert_eq!(
        upgrade_status(&url, Some("https://friend.example")).await,
        101
    );
    assert_eq!(
        upgrade_status(&url, Some("http://localhost:5173")).await,
        403,
        "another port of the same machine is another site"
    );
    let localhost = format!("http://localhost:{}", server.addr.port());
    assert_eq!(upgrade_status(&url, Some(&localhost)).await, 101);
    let own = format!("http://{}", server.addr);
    assert_eq!(upgrade_status(&url, Some(&own)).await, 101);
    assert_eq!(upgrade_status(&url, None).await, 101);
}

/// Connection caps refuse upgrades before they start: 429 per IP, 503 for the whole server;
/// a place comes back when a connection ends.
#[tokio::test]
async fn connection_caps_refuse_with_429_and_503() {
    let mut config = test_config();
    config.max_connections_per_ip = 2;
    let server = start_lab(config);
    let url = ws_url(&server);
    let a = Client::connect(&server).await;
    let b = Client::connect(&server).await;
    assert_eq!(upgrade_status(&url, None).await, 429);
    drop((a, b));

    let mut config = test_config();
    config.max_connections = 1;
    config.max_connections_per_ip = 0;
    let server = start_lab(config);
    let url = ws_url(&server);
    let mut a = Client::connect(&server).await;
    assert_eq!(upgrade_status(&url, None).await, 503);
    a.leave().await;
    a.until_closed().await;
    // The place comes back once the server has seen the connection end (poll, bounded).
    for _ in 0..200 {
        if upgrade_status(&url, None).await == 101 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the connection's place was never given back");
}

/// On shutdown every client, seated or not, gets 1001, and the server stops cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_1001_to_everyone() {
    let server = start_lab(test_config());
    let mut seated = Client::join(&server, Join::quick("seated")).await;
    let mut lobby_only = Client::connect(&server).await;
    let stopped = tokio::task::spawn_blocking(move || server.stop());
    assert_eq!(seated.until_closed().await.map(|c| c.0), Some(1001));
    assert_eq!(lobby_only.until_closed().await.map(|c| c.0), Some(1001));
    stopped
        .await
        .expect("the stopping task ran")
        .expect("the server stopped cleanly");
}

/// `/metrics` serves Prometheus text with the engine's series, including closes by code, and
/// `/api/stats` the same counters as JSON.
#[tokio::test]
async fn metrics_and_stats_report_sessions_ticks_and_closes() {
    let server = start_lab(test_config());
    let mut good = Client::join(&server, Join::quick("good")).await;
    let mut bad = Client::join(&server, Join::quick("bad")).await;
    bad.send_raw(Message::Text("hi".into())).await;
    assert_eq!(bad.until_closed().await.map(|c| c.0), Some(1003));
    good.ticks(3).await;
    let text = tickroom_tests::http_get(&server, "/metrics");
    for series in [
        "tickroom_sessions_open",
        "tickroom_rooms_open 1",
        "tickroom_ticks_total",
        "tickroom_tick_duration_seconds_bucket",
        "tickroom_bytes_out_total",
        "tickroom_messages_in_total",
        "tickroom_closes_total{code=\"1003\"} 1",
        "tickroom_skipped_deltas_total 0",
        "tickroom_rate_limited_total 0",
    ] {
        assert!(text.contains(series), "missing {series} in:\n{text}");
    }
    let stats = tickroom_tests::http_json(&server, "/api/stats");
    assert_eq!(stats["rooms_open"], 1);
    assert_eq!(stats["rooms"][0]["id"], 1);
    assert_eq!(
        stats["rooms"][0]["players"], 2,
        "the offender's seat is held"
    );
    assert_eq!(stats["rate_limited"], 0);
}
