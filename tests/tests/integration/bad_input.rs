//! Bad input closes only the offending connection, with the right code and a reason.

use tickroom_server::arena::Arena;
use tickroom_shared::ClientMsg;
use tickroom_tests::{join_msg, start, test_config, ws_url, Client, To};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

/// Sends `msg` from a seated client and returns the close code and reason it gets.
async fn close_for(server: &tickroom_server::ServerHandle, msg: Message) -> (u16, String) {
    let mut bad = Client::join(server, "bad", To::Quick).await;
    bad.conn.send_raw(msg).await.expect("send");
    bad.until_closed().await.expect("a close frame")
}

/// A malformed binary frame gets 1007, a text frame 1003; the room keeps ticking for the others.
#[tokio::test]
async fn malformed_and_text_frames_close_with_codes_and_room_keeps_ticking() {
    let server = start::<Arena>(test_config());
    let mut good = Client::join(&server, "good", To::Quick).await;

    let (code, reason) = close_for(&server, Message::Binary(vec![0xc1, 0xff, 0x00].into())).await;
    assert_eq!(code, 1007, "{reason}");
    assert!(reason.contains("malformed"), "{reason}");

    let (code, reason) = close_for(&server, Message::Binary(vec![0x91, 0x63].into())).await;
    assert_eq!(code, 1007, "unknown tag: {reason}");

    let (code, reason) = close_for(&server, Message::Text("hello".into())).await;
    assert_eq!(code, 1003, "{reason}");
    assert!(reason.contains("binary"), "{reason}");

    // The good client still receives consecutive deltas.
    let tick = good.player.replica.tick().expect("tick").0;
    good.until_tick(tick + 15).await;
    assert_eq!(good.player.gaps, 0);
}

/// A message above the size limit gets 1009.
#[tokio::test]
async fn oversized_message_closes_with_1009() {
    let mut config = test_config();
    config.max_message_size = 1024;
    let server = start::<Arena>(config);
    let (code, reason) = close_for(&server, Message::Binary(vec![0x90; 4096].into())).await;
    assert_eq!(code, 1009, "{reason}");
}

/// A fragmented join is reassembled; fragments beyond the limit get 1009.
#[tokio::test]
async fn fragmented_messages_are_reassembled_up_to_the_limit() {
    let mut config = test_config();
    config.max_message_size = 1024;
    let server = start::<Arena>(config);
    let join: ClientMsg<()> = join_msg("frag", To::Quick, None);
    let bytes = tickroom_shared::encode(&join).expect("encodes");
    let (first, rest) = bytes.split_at(3);
    let (middle, last) = rest.split_at(2);
    let mut c = Client::connect(&server).await;
    c.conn
        .send_raw(Message::Frame(Frame::message(
            first.to_vec(),
            OpCode::Data(Data::Binary),
            false,
        )))
        .await
        .unwrap();
    c.conn
        .send_raw(Message::Frame(Frame::message(
            middle.to_vec(),
            OpCode::Data(Data::Continue),
            false,
        )))
        .await
        .unwrap();
    c.conn
        .send_raw(Message::Frame(Frame::message(
            last.to_vec(),
            OpCode::Data(Data::Continue),
            true,
        )))
        .await
        .unwrap();
    c.until(|p| p.seat.is_some() && p.replica.tick().is_some())
        .await;

    let mut big = Client::connect(&server).await;
    for fin in [false, false, true] {
        let op = if fin || big.next_seq > 1 {
            Data::Continue
        } else {
            Data::Binary
        };
        big.next_seq += 1;
        let frame = Frame::message(vec![0x90; 600], OpCode::Data(op), fin);
        if big.conn.send_raw(Message::Frame(frame)).await.is_err() {
            break; // the server may already have closed
        }
    }
    let (code, reason) = big.until_closed().await.expect("a close frame");
    assert_eq!(code, 1009, "{reason}");
}

/// A join with another protocol version is refused with an error and close 4004.
#[tokio::test]
async fn wrong_protocol_version_is_refused() {
    let server = start::<Arena>(test_config());
    let mut c = Client::connect(&server).await;
    let mut join = join_msg("old", To::Quick, None);
    if let ClientMsg::Join { version, .. } = &mut join {
        *version = 999;
    }
    c.send(&join).await;
    let (code, reason) = c.until_closed().await.expect("a close frame");
    assert_eq!(code, 4004, "{reason}");
}

/// An upgrade that does not offer the subprotocol is refused with 400 and a reason.
#[tokio::test]
async fn upgrade_without_subprotocol_is_refused() {
    let server = start::<Arena>(test_config());
    let err = tokio_tungstenite::connect_async(ws_url(&server))
        .await
        .expect_err("refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => {
            assert_eq!(resp.status(), 400);
            let body =
                String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).to_string();
            assert!(body.contains("tickroom.v1"), "{body}");
        }
        other => panic!("expected an HTTP error, got {other}"),
    }
}

/// An input before the welcome, or a second join, is a protocol misuse: close 4005.
#[tokio::test]
async fn messages_out_of_order_close_with_4005() {
    let server = start::<Arena>(test_config());
    let mut early = Client::connect(&server).await;
    early.input(1, 0).await;
    let (code, reason) = early.until_closed().await.expect("a close frame");
    assert_eq!(code, 4005, "{reason}");

    let mut twice = Client::join(&server, "twice", To::Quick).await;
    twice.send(&join_msg("twice", To::Quick, None)).await;
    let (code, reason) = twice.until_closed().await.expect("a close frame");
    assert_eq!(code, 4005, "{reason}");
}
