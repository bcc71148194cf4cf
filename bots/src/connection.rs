//! One WebSocket connection to a tickroom server.

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::time::Duration;
use thiserror::Error;
use tickroom_shared::{ClientMsg, CodecError, DecodeLimits, ServerMsg, SUBPROTOCOL};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The underlying stream type.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection failed.
#[derive(Debug, Error)]
pub enum ConnectionError {
    /// The URL or request is invalid.
    #[error("invalid request: {0}")]
    Request(String),
    /// The WebSocket layer failed (connect, handshake, I/O).
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server did not accept the tickroom subprotocol.
    #[error("the server did not accept subprotocol {SUBPROTOCOL}")]
    Subprotocol,
    /// A server message could not be decoded.
    #[error("bad server message: {0}")]
    Codec(#[from] CodecError),
    /// Nothing arrived in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The server sent a text frame (it never should).
    #[error("unexpected text frame")]
    Text,
}

/// What [`Connection::recv`] yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A server message, with its payload size in bytes.
    Msg(ServerMsg, usize),
    /// The connection closed: with a close frame (code and reason) or without one.
    Closed(Option<(u16, String)>),
}

/// Socket and WebSocket buffer sizes for [`Connection::connect_opts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The TCP receive buffer (`SO_RCVBUF`) in bytes; `None` keeps the system default.
    pub recv_buffer: Option<u32>,
    /// The WebSocket read buffer in bytes; `None` keeps tungstenite's default (128 KiB, allocated
    /// up front). Thousands of bots want a few KiB: a tick's delta is well under that, and the
    /// buffer grows for a larger message anyway.
    pub read_buffer: Option<usize>,
}

/// A connected client socket.
pub struct Connection {
    ws: WsStream,
    limits: DecodeLimits,
}

impl Connection {
    /// Connects to `url` (e.g. `ws://127.0.0.1:8080/ws`) offering the tickroom subprotocol.
    pub async fn connect(url: &str) -> Result<Connection, ConnectionError> {
        Self::connect_with(url, None).await
    }

    /// Like [`Connection::connect`], with the socket's receive buffer set to `recv_buffer` bytes
    /// (to make a slow reader in tests, or to save memory with thousands of bots).
    pub async fn connect_with(
        url: &str,
        recv_buffer: Option<u32>,
    ) -> Result<Connection, ConnectionError> {
        Self::connect_opts(
            url,
            ConnectOptions {
                recv_buffer,
                ..ConnectOptions::default()
            },
        )
        .await
    }

    /// Like [`Connection::connect`], with explicit buffer sizes.
    pub async fn connect_opts(
        url: &str,
        options: ConnectOptions,
    ) -> Result<Connection, ConnectionError> {
        let recv_buffer = options.recv_buffer;
        let mut request = url
            .into_client_request()
            .map_err(|e| ConnectionError::Request(e.to_string()))?;
        request.headers_mut().insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
        let uri = request.uri();
        let host = uri
            .host()
            .ok_or_else(|| ConnectionError::Request("no host".into()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| ConnectionError::Request(format!("cannot resolve {host}: {e}")))?
            .next()
            .ok_or_else(|| ConnectionError::Request(format!("no address for {host}")))?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(tokio_tungstenite::tungstenite::Error::Io)?;
        if let Some(size) = recv_buffer {
            socket
                .set_recv_buffer_size(size)
                .map_err(tokio_tungstenite::tungstenite::Error::Io)?;
        }
        let stream = socket
            .connect(addr)
            .await
            .map_err(tokio_tungstenite::tungstenite::Error::Io)?;
        // Inputs are tiny and latency matters more than packet count.
        stream
            .set_nodelay(true)
            .map_err(tokio_tungstenite::tungstenite::Error::Io)?;
        // Each message goes out at once: inputs are latency-sensitive and never batched here.
        let mut config = WebSocketConfig::default().write_buffer_size(0);
        if let Some(size) = options.read_buffer {
            config = config.read_buffer_size(size);
        }
        let (ws, response) = tokio_tungstenite::client_async_with_config(
            request,
            MaybeTlsStream::Plain(stream),
            Some(config),
        )
        .await?;
        let accepted = response
            .headers()
            .get(SEC_WEBSOCKET_PROTOCOL)
            .is_some_and(|v| v.as_bytes() == SUBPROTOCOL.as_bytes());
        if !accepted {
            return Err(ConnectionError::Subprotocol);
        }
        // Server messages can be large (a snapshot of a big room); allow 16 MiB.
        let limits = DecodeLimits {
            max_bytes: 16 << 20,
            ..DecodeLimits::default()
        };
        Ok(Connection { ws, limits })
    }

    /// Sends one message (`I` is the game's input type, `C` its command type).
    pub async fn send<I: Serialize, C: Serialize>(
        &mut self,
        msg: &ClientMsg<I, C>,
    ) -> Result<(), ConnectionError> {
        let bytes = tickroom_shared::encode(msg)?;
        self.ws.send(Message::Binary(bytes.into())).await?;
        Ok(())
    }

    /// Sends raw WebSocket message (for tests of bad input).
    pub async fn send_raw(&mut self, msg: Message) -> Result<(), ConnectionError> {
        self.ws.send(msg).await?;
        Ok(())
    }

    /// The next server message or the close. Pings are answered by the WebSocket layer.
    pub async fn recv(&mut self) -> Result<Incoming, ConnectionError> {
        loop {
            let Some(item) = self.ws.next().await else {
                return Ok(Incoming::Closed(None));
            };
            match item {
                Ok(Message::Binary(bytes)) => {
                    let msg = tickroom_shared::decode(&bytes, &self.limits)?;
                    return Ok(Incoming::Msg(msg, bytes.len()));
                }
                Ok(Message::Close(frame)) => {
                    return Ok(Incoming::Closed(
                        frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())),
                    ))
                }
                Ok(Message::Text(_)) => return Err(ConnectionError::Text),
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
                Err(
                    tokio_tungstenite::tungstenite::Error::ConnectionClosed
                    | tokio_tungstenite::tungstenite::Error::AlreadyClosed,
                ) => return Ok(Incoming::Closed(None)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// [`Connection::recv`] with a time limit.
    pub async fn recv_timeout(&mut self, limit: Duration) -> Result<Incoming, ConnectionError> {
        tokio::time::timeout(limit, self.recv())
            .await
            .map_err(|_| ConnectionError::Timeout(limit))?
    }

    /// Starts a clean close with code 1000.
    pub async fn close(&mut self) -> Result<(), ConnectionError> {
        self.ws.close(None).await?;
        Ok(())
    }

    /// The raw stream, for callers that split it.
    pub fn into_inner(self) -> WsStream {
        self.ws
    }

    /// The decode limits this connection applies to server messages.
    pub fn limits(&self) -> DecodeLimits {
        self.limits
    }
}
