//! The `Session` actor: one per WebSocket connection.
//!
//! This is the only module that touches `actix-web-actors` (deprecated upstream in favour of
//! `actix-ws`), so switching is a change to this one file.
//!
//! A session reassembles fragmented messages up to the size limit, answers pings, decodes each
//! binary message with the shared codec and forwards it to the lobby or its room. Everything the
//! room sends arrives as [`Frame`]s of already-encoded bytes and is written as is. Bad input
//! closes the connection with a precise code: 1003 for text, 1007 for a malformed message, 1009
//! for one too large, 1002 for a WebSocket protocol error.

use crate::lobby::{JoinRequest, Target};
use crate::room::{self, Connection, Frame, Origin, Room, SessionEvent};
use crate::{AppState, Game};
use actix::prelude::*;
use actix_http::ws::Item;
use actix_web::dev::Extensions;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use bytes::BytesMut;
use std::any::Any;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;
use tickroom_shared::protocol::{clean_name, MAX_CHAT_BYTES};
use tickroom_shared::{
    ClientMsg, CloseCode, CodecError, DecodeLimits, ErrorCode, PlayerId, ServerMsg,
    PROTOCOL_VERSION, SUBPROTOCOL,
};

/// Close reasons are limited to 123 bytes by RFC 6455 (125 minus the code).
const MAX_REASON_BYTES: usize = 123;

/// Shuts a connection's socket down from any thread.
///
/// A session whose client stopped reading is not polled by actix-web at all (its response stream
/// waits for the socket), so it cannot close itself. The room then calls [`Closer::close`], which
/// shuts the socket down under the dispatcher's feet. It holds a duplicate of the socket's file
/// descriptor, so the socket it shuts down is always this connection's, never a reused number.
#[derive(Clone, Default)]
pub struct Closer(Option<Arc<std::net::TcpStream>>);

impl Closer {
    /// Shuts both directions down; the connection ends at once. A no-op without a socket.
    pub fn close(&self) {
        if let Some(socket) = &self.0 {
            // Fails only if the socket is already shut down or closed: nothing left to do.
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// `HttpServer::on_connect` hook: keeps a duplicate of each TCP socket in the connection's data so
/// a [`Session`] can build its [`Closer`].
pub fn on_connect(conn: &dyn Any, data: &mut Extensions) {
    #[cfg(unix)]
    if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
        use std::os::fd::AsFd;
        if let Ok(fd) = tcp.as_fd().try_clone_to_owned() {
            data.insert(Closer(Some(Arc::new(std::net::TcpStream::from(fd)))));
        }
    }
    #[cfg(not(unix))]
    let _ = (conn, data);
}

/// `GET /ws`: checks the subprotocol and upgrades to a [`Session`].
pub async fn upgrade<G: Game>(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState<G>>,
) -> Result<HttpResponse, actix_web::Error> {
    let offered = req
        .headers()
        .get_all(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    if !offered && state.config.require_subprotocol {
        return Ok(HttpResponse::BadRequest().body(format!(
            "tickroom: offer the WebSocket subprotocol \"{SUBPROTOCOL}\" (Sec-WebSocket-Protocol)\n"
        )));
    }
    let closer = req.conn_data::<Closer>().cloned().unwrap_or_default();
    let session = Session::<G>::new(state.into_inner(), closer);
    let max = session.state.config.max_message_size;
    ws::WsResponseBuilder::new(session, &req, stream)
        .protocols(&[SUBPROTOCOL])
        .frame_size(max)
        .start()
}

enum Phase<G: Game> {
    /// Connected, not in a room.
    Lobby,
    /// A join is on its way to a room.
    Joining,
    /// Seated.
    InRoom {
        room: Addr<Room<G>>,
        player: PlayerId,
    },
}

/// One WebSocket connection.
pub struct Session<G: Game> {
    id: u64,
    state: Arc<AppState<G>>,
    phase: Phase<G>,
    closer: Closer,
    /// A fragmented message being reassembled.
    partial: Option<BytesMut>,
    /// Last frame of any kind from the client.
    last_seen: Instant,
    limits: DecodeLimits,
}

impl<G: Game> Session<G> {
    fn new(state: Arc<AppState<G>>, closer: Closer) -> Self {
        let limits = DecodeLimits {
            max_bytes: state.config.max_message_size,
            ..DecodeLimits::default()
        };
        Session {
            id: state.next_connection_id(),
            state,
            phase: Phase::Lobby,
            closer,
            partial: None,
            last_seen: Instant::now(),
            limits,
        }
    }

    fn origin(&self) -> Option<(Addr<Room<G>>, Origin)> {
        match &self.phase {
            Phase::InRoom { room, player } => Some((
                room.clone(),
                Origin {
                    player: *player,
                    conn: self.id,
                },
            )),
            _ => None,
        }
    }

    fn send(&self, msg: &ServerMsg, ctx: &mut ws::WebsocketContext<Self>) {
        match tickroom_shared::encode(msg) {
            Ok(bytes) => {
                self.state.stats.messages_out.fetch_add(1, Relaxed);
                self.state
                    .stats
                    .bytes_out
                    .fetch_add(bytes.len() as u64, Relaxed);
                ctx.binary(bytes);
            }
            Err(e) => tracing::error!(error = %e, "cannot encode a server message"),
        }
    }

    fn error(&self, code: ErrorCode, message: &str, ctx: &mut ws::WebsocketContext<Self>) {
        self.send(
            &ServerMsg::Error {
                code,
                message: message.to_owned(),
            },
            ctx,
        );
    }

    /// Closes with a code and reason and stops the actor.
    fn close(&mut self, code: CloseCode, reason: &str, ctx: &mut ws::WebsocketContext<Self>) {
        if matches!(
            code,
            CloseCode::Unsupported
                | CloseCode::InvalidPayload
                | CloseCode::Policy
                | CloseCode::TooBig
                | CloseCode::ProtocolError
        ) {
            self.state.stats.protocol_closes.fetch_add(1, Relaxed);
            tracing::debug!(
                conn = self.id,
                code = code as u16,
                reason,
                "closing a misbehaving connection"
            );
        }
        let mut end = reason.len().min(MAX_REASON_BYTES);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let reason = ws::CloseReason {
            code: ws::CloseCode::from(code as u16),
            description: Some(reason[..end].to_owned()),
        };
        ctx.close(Some(reason));
        ctx.stop();
    }

    /// One complete binary message from the client.
    fn on_message(&mut self, bytes: &[u8], ctx: &mut ws::WebsocketContext<Self>) {
        let stats = &self.state.stats;
        stats.messages_in.fetch_add(1, Relaxed);
        stats.bytes_in.fetch_add(bytes.len() as u64, Relaxed);
        let msg = match tickroom_shared::decode::<ClientMsg<G::Input>>(bytes, &self.limits) {
            Ok(msg) => msg,
            Err(e @ CodecError::TooLarge { .. }) => {
                return self.close(CloseCode::TooBig, &e.to_string(), ctx)
            }
            Err(e) => return self.close(CloseCode::InvalidPayload, &e.to_string(), ctx),
        };
        match msg {
            ClientMsg::Join {
                version,
                name,
                room,
                create,
                token,
            } => {
                if version != PROTOCOL_VERSION {
                    let reason = format!(
                        "protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}"
                    );
                    self.error(ErrorCode::VersionMismatch, &reason, ctx);
                    return self.close(CloseCode::VersionMismatch, &reason, ctx);
                }
                if !matches!(self.phase, Phase::Lobby) {
                    return self.error(ErrorCode::BadRequest, "already in a room or joining", ctx);
                }
                let target = match (create, room) {
                    (true, _) => Target::Create,
                    (false, Some(id)) => Target::Room(id),
                    (false, None) => Target::QuickMatch,
                };
                let conn = Connection {
                    id: self.id,
                    frames: ctx.address().recipient(),
                    events: ctx.address().recipient(),
                    closer: self.closer.clone(),
                };
                self.phase = Phase::Joining;
                self.state.lobby.do_send(JoinRequest {
                    target,
                    name: clean_name(&name),
                    token,
                    conn,
                });
            }
            ClientMsg::Input { seq, input } => match self.origin() {
                Some((room, from)) => {
                    if room.try_send(room::Input { from, seq, input }).is_err() {
                        stats.inputs_dropped.fetch_add(1, Relaxed);
                    }
                }
                None => self.error(ErrorCode::BadRequest, "input before joining a room", ctx),
            },
            ClientMsg::Ping { echo } => match self.origin() {
                Some((room, from)) => {
                    // If the room's queue is full the ping is lost, like an input: the client
                    // simply sees no pong for it.
                    let _ = room.try_send(room::Ping { from, echo });
                }
                None => self.send(
                    &ServerMsg::Pong {
                        echo,
                        tick: tickroom_shared::Tick(0),
                    },
                    ctx,
                ),
            },
            ClientMsg::Chat { text } => {
                if text.len() > MAX_CHAT_BYTES {
                    return self.error(ErrorCode::BadRequest, "chat line too long", ctx);
                }
                match self.origin() {
                    Some((room, from)) => room.do_send(room::Chat { from, text }),
                    None => self.error(ErrorCode::BadRequest, "chat before joining a room", ctx),
                }
            }
            ClientMsg::Resync => match self.origin() {
                Some((room, from)) => room.do_send(room::Resync { from }),
                None => self.error(ErrorCode::BadRequest, "resync before joining a room", ctx),
            },
            ClientMsg::Leave => {
                if let Some((room, from)) = self.origin() {
                    room.do_send(room::Leave { from });
                }
                self.phase = Phase::Lobby;
                self.close(CloseCode::Normal, "left", ctx);
            }
        }
    }

    /// Appends a continuation fragment, enforcing the message limit on the reassembled size.
    fn on_fragment(&mut self, item: Item, ctx: &mut ws::WebsocketContext<Self>) {
        let max = self.state.config.max_message_size;
        let (data, last) = match item {
            Item::FirstText(_) => {
                let reason = "text messages are not supported; send binary MessagePack";
                return self.close(CloseCode::Unsupported, reason, ctx);
            }
            Item::FirstBinary(data) => {
                if self.partial.is_some() {
                    let reason = "new message inside a fragmented one";
                    return self.close(CloseCode::ProtocolError, reason, ctx);
                }
                self.partial = Some(BytesMut::from(&data[..]));
                self.check_partial(max, ctx);
                return;
            }
            Item::Continue(data) => (data, false),
            Item::Last(data) => (data, true),
        };
        let Some(buf) = self.partial.as_mut() else {
            let reason = "continuation without a first fragment";
            return self.close(CloseCode::ProtocolError, reason, ctx);
        };
        buf.extend_from_slice(&data);
        if self.check_partial(max, ctx) && last {
            if let Some(buf) = self.partial.take() {
                self.on_message(&buf, ctx);
            }
        }
    }

    fn check_partial(&mut self, max: usize, ctx: &mut ws::WebsocketContext<Self>) -> bool {
        let len = self.partial.as_ref().map_or(0, |b| b.len());
        if len > max {
            self.partial = None;
            self.close(
                CloseCode::TooBig,
                &format!("message exceeds {max} bytes"),
                ctx,
            );
            return false;
        }
        true
    }
}

impl<G: Game> Actor for Session<G> {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let config = &self.state.config;
        // The mailbox is the outbound queue the room's try_send sees as full.
        ctx.set_mailbox_capacity(config.send_queue);
        self.state.stats.sessions_open.fetch_add(1, Relaxed);
        self.state.stats.sessions_total.fetch_add(1, Relaxed);
        let (join_timeout, idle_timeout) = (config.join_timeout, config.idle_timeout);
        ctx.run_later(join_timeout, |session, ctx| {
            if matches!(session.phase, Phase::Lobby) {
                session.close(
                    CloseCode::JoinTimeout,
                    "no join within the join timeout",
                    ctx,
                );
            }
        });
        ctx.run_interval(config.heartbeat_interval, move |session, ctx| {
            if session.last_seen.elapsed() > idle_timeout {
                session.close(
                    CloseCode::IdleTimeout,
                    "no frame from the client within the idle timeout",
                    ctx,
                );
            } else {
                ctx.ping(b"");
            }
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.state.stats.sessions_open.fetch_sub(1, Relaxed);
        if let Some((room, from)) = self.origin() {
            room.do_send(room::Disconnected { from });
        }
    }
}

impl<G: Game> StreamHandler<Result<ws::Message, ws::ProtocolError>> for Session<G> {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_seen = Instant::now();
        let msg = match item {
            Ok(msg) => msg,
            Err(ws::ProtocolError::Overflow) => {
                let max = self.state.config.max_message_size;
                return self.close(
                    CloseCode::TooBig,
                    &format!("frame exceeds {max} bytes"),
                    ctx,
                );
            }
            Err(e) => return self.close(CloseCode::ProtocolError, &e.to_string(), ctx),
        };
        match msg {
            ws::Message::Binary(bytes) => {
                if self.partial.is_some() {
                    return self.close(
                        CloseCode::ProtocolError,
                        "new message inside a fragmented one",
                        ctx,
                    );
                }
                self.on_message(&bytes, ctx);
            }
            ws::Message::Text(_) => self.close(
                CloseCode::Unsupported,
                "text messages are not supported; send binary MessagePack",
                ctx,
            ),
            ws::Message::Continuation(item) => self.on_fragment(item, ctx),
            ws::Message::Ping(payload) => ctx.pong(&payload),
            ws::Message::Pong(_) | ws::Message::Nop => {}
            ws::Message::Close(reason) => {
                // Echo the client's close, as RFC 6455 asks, and end.
                ctx.close(reason);
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl<G: Game> Handler<Frame> for Session<G> {
    type Result = ();

    /// Writes already-encoded bytes from the room.
    fn handle(&mut self, frame: Frame, ctx: &mut Self::Context) {
        self.state.stats.messages_out.fetch_add(1, Relaxed);
        self.state
            .stats
            .bytes_out
            .fetch_add(frame.0.len() as u64, Relaxed);
        ctx.binary(frame.0);
    }
}

impl<G: Game> Handler<SessionEvent<G>> for Session<G> {
    type Result = ();

    /// Follows the join's outcome or a close request.
    fn handle(&mut self, event: SessionEvent<G>, ctx: &mut Self::Context) {
        match event {
            SessionEvent::Joined { room, player } => self.phase = Phase::InRoom { room, player },
            SessionEvent::JoinFailed { code, message } => {
                self.phase = Phase::Lobby;
                self.error(code, &message, ctx);
            }
            SessionEvent::Close { code, reason } => {
                // The room already let the seat go (or holds it); do not report a disconnect.
                self.phase = Phase::Lobby;
                self.close(code, &reason, ctx);
            }
        }
    }
}
