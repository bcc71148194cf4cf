//! Hostile and unlucky clients: each may close only its own connection, never cost the other
//! players their ticks, and never grow the server without bound.

use std::io::{Read, Write};
use std::time::Duration;
use tickroom_bots::{Connection, Incoming};
use tickroom_server::arena::Arena;
use tickroom_shared::{ClientMsg, ErrorCode};
use tickroom_tests::fragile::Fragile;
use tickroom_tests::{start, test_config, ws_url, Client, To, PATIENCE};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::{HeaderValue, ORIGIN, SEC_WEBSOCKET_PROTOCOL};

/// A client sending far faster than the rate limit is closed with 1008; its room-mate keeps
/// receiving consecutive deltas.
#[tokio::test]
async fn flooding_client_is_closed_with_1008() {
    let server = start::<Arena>(test_config());
    let mut good = Client::join(&server, "good", To::Quick).await;
    let mut flood = Client::join(&server, "flood", To::Quick).await;
    // 10,000 pings as fast as the socket takes them: far above 100/s with a burst of 200.
    for echo in 0..10_000u64 {
        if flood
            .conn
            .send(&ClientMsg::<()>::Ping { echo })
            .await
            .is_err()
        {
            break; // closed by the server mid-flood
        }
    }
    let (code, reason) = flood.until_closed().await.expect("a close frame");
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("per second"), "{reason}");
    assert!(server.stats.rate_limited.get() >= 1);
    let tick = good.player.replica.tick().expect("tick").0;
    good.until_tick(tick + 10).await;
    assert_eq!(good.player.gaps, 0);
}

async fn upgrade_status(url: &str, origin: Option<&str>) -> u16 {
    let mut request = url.into_client_request().expect("valid url");
    request.headers_mut().insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("tickroom.v1"),
    );
    if let Some(o) = origin {
        request
            .headers_mut()
            .insert(ORIGIN, HeaderValue::from_str(o).expect("valid header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// A cross-site page is refused with 403; the server's own origin, localhost and listed origins
/// are accepted.
#[tokio::test]
async fn cross_site_upgrade_is_refused_unless_allowed() {
    let mut config = test_config();
    config.allowed_origins = vec!["https://friend.example".into()];
    let server = start::<Arena>(config);
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
        101
    );
    let own = format!("http://{}", server.addr);
    assert_eq!(upgrade_status(&url, Some(&own)).await, 101);
    assert_eq!(upgrade_status(&url, None).await, 101);
}

/// Connection caps refuse upgrades before they start: 429 per IP, 503 for the whole server.
#[tokio::test]
async fn connection_caps_refuse_with_429_and_503() {
    let mut config = test_config();
    config.max_connections_per_ip = 2;
    let server = start::<Arena>(config);
    let url = ws_url(&server);
    let a = Connection::connect(&url).await.expect("first");
    let b = Connection::connect(&url).await.expect("second");
    assert_eq!(upgrade_status(&url, None).await, 429);
    drop((a, b));

    let mut config = test_config();
    config.max_connections = 1;
    config.max_connections_per_ip = 0;
    let server = start::<Arena>(config);
    let url = ws_url(&server);
    let mut a = Connection::connect(&url).await.expect("first");
    assert_eq!(upgrade_status(&url, None).await, 503);
    // The place comes back when the first connection ends (poll, bounded).
    a.close().await.expect("close");
    for _ in 0..200 {
        if upgrade_status(&url, None).await == 101 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the connection's place was never given back");
}

/// A panic in one room's game closes only that room (1011 to its members); another room keeps
/// ticking, and the server still seats new players.
#[tokio::test]
async fn game_panic_closes_only_its_room() {
    let server = start::<Fragile>(test_config());
    let mut doomed = Client::join(&server, "doomed", To::New).await;
    let room = doomed.player.seat.as_ref().expect("welcomed").room;
    let mut neighbour = Client::join(&server, "neighbour", To::Room(room)).await;
    let mut safe = Client::join(&server, "safe", To::New).await;
    assert_ne!(safe.player.seat.as_ref().expect("welcomed").room, room);

    doomed.send_input(666).await;
    let (code, reason) = doomed.until_closed().await.expect("a close frame");
    assert_eq!(code, 1011, "{reason}");
    let (code, _) = neighbour.until_closed().await.expect("a close frame");
    assert_eq!(code, 1011);

    let tick = safe.player.replica.tick().expect("tick").0;
    safe.until_tick(tick + 10).await;
    assert_eq!(safe.player.gaps, 0);
    // A panic inside the tick (step) is contained the same way.
    let mut second = Client::join(&server, "second", To::New).await;
    second.send_input(777).await;
    assert_eq!(second.until_closed().await.map(|c| c.0), Some(1011));
    let _fresh = Client::join(&server, "fresh", To::Quick).await;
    assert_eq!(server.stats.room_failures.get(), 2);
    let tick = safe.player.replica.tick().expect("tick").0;
    safe.until_tick(tick + 5).await;
}

/// A seat held past the reconnect grace is gone: its token is refused.
#[tokio::test]
async fn expired_reconnect_token_is_refused() {
    let mut config = test_config();
    config.reconnect_grace = Duration::from_millis(200);
    let server = start::<Arena>(config);
    let mut watcher = Client::join(&server, "watcher", To::Quick).await;
    let gone = Client::join(&server, "gone", To::Quick).await;
    let token = gone.player.seat.clone().expect("welcomed").token;
    watcher.until(|p| p.roster.len() == 2).await;
    drop(gone);
    watcher.until(|p| p.roster.len() == 1).await;
    let mut c = Client::connect(&server).await;
    let refused = c.refused_join("gone", To::Quick, Some(token)).await;
    assert_eq!(refused, ErrorCode::BadToken);
}

/// A deeply nested MessagePack value is refused with 1007 before it can exhaust the stack.
#[tokio::test]
async fn deeply_nested_message_closes_with_1007() {
    let server = start::<Arena>(test_config());
    let mut c = Client::join(&server, "deep", To::Quick).await;
    let mut bytes = vec![0x93, 0x01, 0x01];
    bytes.extend(std::iter::repeat_n(0x91, 50_000));
    bytes.push(0xc0);
    c.conn
        .send_raw(tokio_tungstenite::tungstenite::Message::Binary(
            bytes.into(),
        ))
        .await
        .expect("send");
    let (code, reason) = c.until_closed().await.expect("a close frame");
    assert_eq!(code, 1007, "{reason}");
}

/// A frame header claiming an enormous length is refused with 1009 without waiting for (or
/// allocating) the claimed bytes.
#[test]
fn frame_claiming_huge_length_closes_with_1009() {
    let server = start::<Arena>(test_config());
    let mut tcp = std::net::TcpStream::connect(server.addr).expect("connects");
    tcp.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: tickroom.v1\r\n\r\n",
        server.addr
    );
    tcp.write_all(handshake.as_bytes()).expect("write");
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).expect("response");
        response.push(byte[0]);
    }
    assert!(
        response.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    // FIN + binary, masked, 64-bit length 2^62, mask key, and no payload at all.
    let mut frame = vec![0x82, 0xff];
    frame.extend_from_slice(&(1u64 << 62).to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    tcp.write_all(&frame).expect("write");
    // Read server frames (small, unmasked), skipping heartbeat pings, until the close.
    loop {
        let mut header = [0u8; 2];
        tcp.read_exact(&mut header).expect("a frame");
        let len = usize::from(header[1] & 0x7f);
        assert!(len < 126, "only small control frames are expected");
        let mut payload = vec![0u8; len];
        tcp.read_exact(&mut payload).expect("a payload");
        match header[0] {
            0x89 => continue,
            0x88 => {
                assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1009);
                return;
            }
            other => panic!("unexpected frame 0x{other:02x}"),
        }
    }
}

/// On shutdown every client, seated or not, gets 1001, and the server stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_1001_to_everyone() {
    let server = start::<Arena>(test_config());
    let mut seated = Client::join(&server, "seated", To::Quick).await;
    let mut lobby_only = Connection::connect(&ws_url(&server))
        .await
        .expect("connects");
    let stopped = tokio::task::spawn_blocking(move || server.stop());
    assert_eq!(seated.until_closed().await.map(|c| c.0), Some(1001));
    let close = loop {
        match lobby_only
            .recv_timeout(PATIENCE)
            .await
            .expect("a close in time")
        {
            Incoming::Closed(close) => break close,
            Incoming::Msg(..) => continue,
        }
    };
    assert_eq!(close.map(|c| c.0), Some(1001));
    stopped
        .await
        .expect("joined")
        .expect("the server stopped cleanly");
}

/// /metrics serves Prometheus text with the engine's series, including closes by code.
#[tokio::test]
async fn metrics_endpoint_reports_sessions_ticks_and_closes() {
    let server = start::<Arena>(test_config());
    let mut good = Client::join(&server, "good", To::Quick).await;
    let mut bad = Client::join(&server, "bad", To::Quick).await;
    bad.conn
        .send_raw(tokio_tungstenite::tungstenite::Message::Text("hi".into()))
        .await
        .expect("send");
    assert_eq!(bad.until_closed().await.map(|c| c.0), Some(1003));
    let tick = good.player.replica.tick().expect("tick").0;
    good.until_tick(tick + 3).await;
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
}
