//! The close handshake and UTF-8 rules of RFC 6455, as the Autobahn suite checks them, on a game
//! connection: invalid close frames get 1002 or 1007 with a precise reason, invalid UTF-8 text
//! gets 1007, and a client's close is echoed.

use tickroom_server::ServerHandle;
use tickroom_tests::{start_lab, test_config, Client, Join};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
use tokio_tungstenite::tungstenite::Message;

/// Seats a client, sends it one raw frame and returns the close it gets.
async fn close_after_frame(server: &ServerHandle, op: OpCode, payload: Vec<u8>) -> (u16, String) {
    let mut c = Client::join(server, Join::quick("c")).await;
    let header = FrameHeader {
        opcode: op,
        ..FrameHeader::default()
    };
    // tungstenite masks client frames as it writes them.
    let frame = Frame::from_payload(header, payload.into());
    c.send_raw(Message::Frame(frame)).await;
    c.until_closed().await.expect("a close frame")
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    payload
}

#[tokio::test]
async fn invalid_close_frames_and_text_get_1002_or_1007() {
    let server = start_lab(test_config());
    let close = OpCode::Control(Control::Close);
    for code in [0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000] {
        let (got, reason) = close_after_frame(&server, close, close_payload(code, b"")).await;
        assert_eq!(got, 1002, "close code {code}: {reason}");
        assert!(reason.contains(&code.to_string()), "{reason}");
    }
    let (got, reason) = close_after_frame(&server, close, vec![0x03]).await;
    assert_eq!(got, 1002, "{reason}");
    let bad_utf8 = close_payload(1000, &[0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xf4, 0x90]);
    let (got, reason) = close_after_frame(&server, close, bad_utf8).await;
    assert_eq!(
        (got, reason.as_str()),
        (1007, "close reason is not valid UTF-8")
    );
    let text = OpCode::Data(Data::Text);
    let (got, reason) = close_after_frame(&server, text, vec![0xce, 0xba, 0xff]).await;
    assert_eq!(
        (got, reason.as_str()),
        (1007, "text message is not valid UTF-8")
    );
    // Valid text is still refused, as unsupported.
    let (got, _) = close_after_frame(&server, text, b"hello".to_vec()).await;
    assert_eq!(got, 1003);
}

/// A client's close with a valid code is answered with the same code, and the server then
/// ends the connection (the stream ends after the close frame).
#[tokio::test]
async fn a_client_close_is_echoed_and_the_connection_ends() {
    let server = start_lab(test_config());
    for code in [1000, 1001, 3000, 4999] {
        let (got, _) = close_after_frame(
            &server,
            OpCode::Control(Control::Close),
            close_payload(code, b"bye"),
        )
        .await;
        assert_eq!(got, code);
    }
}
