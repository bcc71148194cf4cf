//! Bad input closes only the offending connection, with the right code and a reason; upgrades
//! without the right subprotocol are refused before they start.

use std::io::{Read, Write};
use std::time::Duration;
use tickroom_server::ServerHandle;
use tickroom_shared::{encode, ClientMsg, ErrorCode, InputSeq, Tick};
use tickroom_tests::{request, start_lab, test_config, ws_url, Client, Join, Msg, PATIENCE};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

/// Seats a client, sends it `msg` and returns the close code and reason it gets (a reason is
/// at most 123 bytes).
async fn close_for(server: &ServerHandle, msg: Message) -> (u16, String) {
    let mut bad = Client::join(server, Join::quick("bad")).await;
    bad.send_raw(msg).await;
    let (code, reason) = bad.until_closed().await.expect("a close frame");
    assert!(reason.len() <= 123, "{reason}");
    (code, reason)
}

/// A malformed binary message gets 1007 (with what was wrong), a text message 1003; the room
/// keeps ticking for the others and the offender's seat is held.
#[tokio::test]
async fn malformed_and_text_messages_close_with_codes_and_the_room_keeps_ticking() {
    let server = start_lab(test_config());
    let mut good = Client::join(&server, Join::quick("good")).await;

    let (code, reason) = close_for(&server, Message::Binary(vec![0xc1, 0xff, 0x00].into())).await;
    assert_eq!(code, 1007, "{reason}");
    assert!(reason.contains("malformed"), "{reason}");
    let (code, reason) = close_for(&server, Message::Binary(vec![0x91, 0x63].into())).await;
    assert_eq!(code, 1007, "unknown tag: {reason}");
    // A Ping with a missing field, and a Chat whose text is a bin instead of a str.
    let (code, reason) = close_for(&server, Message::Binary(vec![0x91, 0x02].into())).await;
    assert_eq!(code, 1007, "missing field: {reason}");
    let chat_bin = vec![0x92, 0x03, 0xc4, 0x01, b'x'];
    let (code, reason) = close_for(&server, Message::Binary(chat_bin.into())).await;
    assert_eq!(code, 1007, "bin for str: {reason}");
    let (code, reason) = close_for(&server, Message::Text("hello".into())).await;
    assert_eq!(code, 1003, "{reason}");
    assert!(reason.contains("binary"), "{reason}");

    // The offenders' seats are held (bad input is not a Leave).
    good.until(|c| c.roster.len() == 6 && c.roster.iter().filter(|r| !r.connected).count() == 5)
        .await;
    assert!(good.roster[0].connected);
    let tick = good.tick();
    good.until_tick(Tick(tick.0 + 10)).await;
    good.assert_clean();
}

/// An input or command the game cannot decode closes with 1007.
#[tokio::test]
async fn undecodable_input_or_command_closes_with_1007() {
    let server = start_lab(test_config());
    let mut c = Client::join(&server, Join::quick("x")).await;
    c.input("not an input").await;
    let (code, reason) = c.until_closed().await.expect("a close frame");
    assert_eq!(code, 1007, "{reason}");

    let mut c = Client::join(&server, Join::quick("y")).await;
    c.command(serde_json::json!({"type": "no such command"}))
        .await;
    let (code, reason) = c.until_closed().await.expect("a close frame");
    assert_eq!(code, 1007, "{reason}");
}

/// A message above the size limit gets 1009.
#[tokio::test]
async fn oversized_message_closes_with_1009() {
    let mut config = test_config();
    config.max_message_size = 1024;
    let server = start_lab(config);
    let (code, reason) = close_for(&server, Message::Binary(vec![0x90; 4096].into())).await;
    assert_eq!(code, 1009, "{reason}");
}

/// A fragmented join is reassembled; fragments adding up beyond the limit get 1009.
#[tokio::test]
async fn fragmented_messages_are_reassembled_up_to_the_limit() {
    let mut config = test_config();
    config.max_message_size = 1024;
    let server = start_lab(config);
    let bytes = encode(&Join::quick("frag").msg()).expect("a join encodes");
    let (first, rest) = bytes.split_at(3);
    let (middle, last) = rest.split_at(2);
    let mut c = Client::connect(&server).await;
    for (data, op, fin) in [
        (first, Data::Binary, false),
        (middle, Data::Continue, false),
        (last, Data::Continue, true),
    ] {
        let frame = Frame::message(data.to_vec(), OpCode::Data(op), fin);
        c.send_raw(Message::Frame(frame)).await;
    }
    c.until(|c| c.welcome.is_some() && c.replica.tick().is_some())
        .await;

    let mut big = Client::connect(&server).await;
    for (op, fin) in [
        (Data::Binary, false),
        (Data::Continue, false),
        (Data::Continue, true),
    ] {
        let frame = Frame::message(vec![0x90; 600], OpCode::Data(op), fin);
        if !big.try_send_raw(Message::Frame(frame)).await {
            break; // the server may already have closed
        }
    }
    let (code, reason) = big.until_closed().await.expect("a close frame");
    assert_eq!(code, 1009, "{reason}");
}

/// A join with another protocol version gets `Error` 2 and close 4004.
#[tokio::test]
async fn wrong_protocol_version_is_refused_with_4004() {
    let server = start_lab(test_config());
    let mut c = Client::connect(&server).await;
    let join = Join {
        version: 1,
        ..Join::quick("old")
    };
    c.send(&join.msg()).await;
    let (code, reason) = c.until_closed().await.expect("a close frame");
    assert_eq!(code, 4004, "{reason}");
    assert_eq!(c.errors.len(), 1);
    assert_eq!(c.errors[0].0, ErrorCode::VersionMismatch);
}

/// `Input`, `Command`, `Chat` and `Resync` before the welcome, and a second `Join`, close with
/// 4005.
#[tokio::test]
async fn messages_before_the_welcome_or_a_second_join_close_with_4005() {
    let server = start_lab(test_config());
    let early: [Msg; 4] = [
        ClientMsg::Input {
            seq: InputSeq(1),
            input: tickroom_tests::value(serde_json::json!([1, 0])),
        },
        ClientMsg::Command {
            id: 1,
            command: tickroom_tests::value(serde_json::json!({"type": "refuse"})),
        },
        ClientMsg::Chat { text: "hi".into() },
        ClientMsg::Resync,
    ];
    for msg in early {
        let mut c = Client::connect(&server).await;
        c.send(&msg).await;
        let (code, reason) = c.until_closed().await.expect("a close frame");
        assert_eq!(code, 4005, "{msg:?}: {reason}");
    }
    let mut twice = Client::join(&server, Join::quick("twice")).await;
    twice.send(&Join::quick("twice").msg()).await;
    let (code, reason) = twice.until_closed().await.expect("a close frame");
    assert_eq!(code, 4005, "{reason}");
}

/// `Leave` before joining closes with 1000.
#[tokio::test]
async fn leave_before_joining_closes_with_1000() {
    let server = start_lab(test_config());
    let mut c = Client::connect(&server).await;
    c.leave().await;
    assert_eq!(c.until_closed().await.map(|c| c.0), Some(1000));
}

/// A connection not seated within the join timeout is closed with 4000.
#[tokio::test]
async fn no_join_within_the_timeout_closes_with_4000() {
    let mut config = test_config();
    config.join_timeout = Duration::from_millis(200);
    let server = start_lab(config);
    let mut c = Client::connect(&server).await;
    let (code, reason) = c.until_closed().await.expect("a close frame");
    assert_eq!(code, 4000, "{reason}");
}

/// Upgrade refusals: no subprotocol gets 400 naming `tickroom.v2`; a client offering only
/// `tickroom.v1` gets 400 with the upgrade reason.
#[tokio::test]
async fn upgrades_without_the_v2_subprotocol_are_refused_with_400() {
    let server = start_lab(test_config());
    for (offer, expected) in [
        (None, "tickroom.v2"),
        (
            Some("tickroom.v1"),
            "tickroom: this server speaks tickroom.v2 (protocol version 2); upgrade your client",
        ),
    ] {
        let err = tokio_tungstenite::connect_async(request(&ws_url(&server), offer))
            .await
            .expect_err("refused");
        let tokio_tungstenite::tungstenite::Error::Http(resp) = err else {
            panic!("expected an HTTP refusal, got {err}");
        };
        assert_eq!(resp.status(), 400);
        let body = String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).to_string();
        assert!(body.contains(expected), "{offer:?}: {body}");
        assert_eq!(body.lines().count(), 1, "a one-line reason: {body}");
    }
    // Offering v2 among others is fine.
    let ok = tokio_tungstenite::connect_async(request(
        &ws_url(&server),
        Some("tickroom.v1, tickroom.v2"),
    ))
    .await;
    assert!(ok.is_ok(), "{ok:?}");
}

/// A deeply nested MessagePack value is refused with 1007 before it can exhaust the stack.
#[tokio::test]
async fn deeply_nested_message_closes_with_1007() {
    let server = start_lab(test_config());
    let mut bytes = vec![0x93, 0x01, 0x01];
    bytes.extend(std::iter::repeat_n(0x91, 50_000));
    bytes.push(0xc0);
    let (code, reason) = close_for(&server, Message::Binary(bytes.into())).await;
    assert_eq!(code, 1007, "{reason}");
}

/// A frame header claiming an enormous length is refused with 1009 without waiting for (or
/// allocating) the claimed bytes.
#[test]
fn frame_claiming_a_huge_length_closes_with_1009() {
    let server = start_lab(test_config());
    let mut tcp = std::net::TcpStream::connect(server.addr).expect("connects");
    tcp.set_read_timeout(Some(PATIENCE))
        .expect("a read timeout can be set");
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: tickroom.v2\r\n\r\n",
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
