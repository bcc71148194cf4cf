//! The `Session` actor: one per WebSocket connection.
//!
//! This is the only module that touches `actix-web-actors` (deprecated upstream in favour of
//! `actix-ws`), so switching is a change to this one file.
//!
//! A session reassembles fragmented messages up to the size limit, answers WebSocket pings,
//! decodes each binary message with the shared codec (the game's parts stay undecoded: the session
//! knows no game) and forwards it to the lobby or its room. Everything the room sends arrives as
//! [`Outgoing`] already-encoded bytes and is written as is. Bad input
//! closes the connection with a precise code: 1003 for text, 1007 for a malformed message, 1009
//! for one too large (as soon as a frame header claims too much: see `FrameGuard`), 1008 above
//! the rate limit, 4005 for a message out of order, 1002 for a WebSocket protocol error.

use crate::admission::Slot;
use crate::connection::{Closer, Connection};
use crate::messages::{
    FromPlayer, JoinRequest, Origin, Outgoing, PlayerMsg, RoomLink, SessionEvent, Target,
};
use crate::AppState;
use actix::prelude::*;
use actix_http::ws::Item;
use actix_web::dev::Extensions;
use actix_web::error::PayloadError;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use bytes::{Bytes, BytesMut};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::any::Any;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;
use tickroom_shared::protocol::{clean_name, clean_text, client_tag, MAX_CHAT_BYTES};
use tickroom_shared::{
    ClientMsg, CloseCode, CodecError, DecodeLimits, ErrorCode, PlayerId, ServerMsg,
    PROTOCOL_VERSION, SUBPROTOCOL,
};

/// A client message other than an input or a command (those go to the room undecoded); the
/// type parameters are never decoded.
type AnyClientMsg = ClientMsg<serde::de::IgnoredAny, serde::de::IgnoredAny>;

/// The tag of a message (`[tag, ...]`), read without decoding the rest.
fn peek_tag(bytes: &[u8]) -> Option<u8> {
    let mut rest = bytes;
    rmp::decode::read_array_len(&mut rest).ok()?;
    rmp::decode::read_int(&mut rest).ok()
}

/// Close reasons are limited to 123 bytes by RFC 6455 (125 minus the code).
const MAX_REASON_BYTES: usize = 123;

/// A connection's socket descriptor, noted when it is accepted. Only an upgrade to a WebSocket
/// duplicates it (for its [`Closer`]), so plain HTTP requests cost no extra descriptor.
#[derive(Clone, Copy)]
struct SocketFd(#[cfg(unix)] std::os::fd::RawFd);

/// A closer for the connection of the request being handled.
fn closer_for(req: &HttpRequest) -> Closer {
    #[cfg(unix)]
    if let Some(SocketFd(raw)) = req.conn_data::<SocketFd>().copied() {
        // SAFETY: the descriptor belongs to the connection whose request is being handled,
        // and a connection's socket stays open at least until its request is answered.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) };
        if let Ok(owned) = fd.try_clone_to_owned() {
            return Closer(Some(Arc::new(std::net::TcpStream::from(owned))));
        }
    }
    #[cfg(not(unix))]
    let _ = req;
    Closer::default()
}

/// `HttpServer::on_connect` hook: sets `TCP_NODELAY` and notes the socket for [`Closer`].
pub fn on_connect(conn: &dyn Any, data: &mut Extensions) {
    use actix_web::rt::net::TcpStream;
    let tcp = conn.downcast_ref::<TcpStream>().or_else(|| {
        conn.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>()
            .map(|tls| tls.get_ref().0)
    });
    let Some(tcp) = tcp else { return };
    // Deltas are small and latency-bound: without this, Nagle holds each delta until the
    // client's next packet acknowledges the previous one (measured: +16 ms median input-to-ack
    // at 100 clients). Failure only costs latency.
    let _ = tcp.set_nodelay(true);
    #[cfg(unix)]
    data.insert(SocketFd(std::os::fd::AsRawFd::as_raw_fd(tcp)));
    #[cfg(not(unix))]
    let _ = data;
}

/// `GET /ws`: admits the request (subprotocol, origin, connection caps) and upgrades it to a
/// [`Session`].
pub async fn upgrade(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    if *state.shutdown.borrow() {
        state.stats.refuse("shutting_down");
        return Ok(
            HttpResponse::ServiceUnavailable().body("tickroom: the server is shutting down\n")
        );
    }
    let slot = match state.admission.admit(&req, &state.config) {
        Ok(slot) => slot,
        Err(refusal) => {
            state.stats.refuse(refusal.label());
            tracing::debug!(peer = ?req.peer_addr(), reason = refusal.label(), "upgrade refused");
            return Ok(refusal.response());
        }
    };
    let closer = closer_for(&req);
    let max = state.config.max_message_size;
    let guard = FrameGuard::new(stream, max);
    let session = Session::new(state.into_inner(), closer, slot, guard.tripped.clone());
    ws::WsResponseBuilder::new(session, &req, guard)
        .protocols(&[SUBPROTOCOL])
        .frame_size(max)
        .start()
}

/// Stops a frame that claims more than the size limit as soon as its header arrives.
///
/// actix-web-actors buffers a frame's bytes until the whole claimed length is there and only then
/// compares it with the limit, so a client could stream an endless "frame" into server memory.
/// This adapter reads frame headers off the incoming bytes (it does not decode or copy
/// payloads) and ends the stream with an error the moment a header claims too much.
struct FrameGuard<S> {
    inner: S,
    max: usize,
    /// Header bytes of the frame being read (at most 2 + 8 + 4).
    header: [u8; 14],
    have: usize,
    /// Payload bytes of the current frame still to pass through.
    skip: u64,
    /// Set when a frame was refused, so the session closes with 1009 rather than 1002.
    tripped: Arc<AtomicBool>,
}

impl<S> FrameGuard<S> {
    fn new(inner: S, max: usize) -> Self {
        FrameGuard {
            inner,
            max,
            header: [0; 14],
            have: 0,
            skip: 0,
            tripped: Arc::default(),
        }
    }

    /// Header length and payload length once enough header bytes are known.
    fn parse(h: &[u8]) -> Option<(usize, u64)> {
        let (&b1, rest) = h.get(1).zip(h.get(2..))?;
        let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
        let (ext, len) = match b1 & 0x7f {
            126 => (
                2,
                u64::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?])),
            ),
            127 => (8, u64::from_be_bytes(rest.get(..8)?.try_into().ok()?)),
            n => (0, u64::from(n)),
        };
        Some((2 + ext + mask, len))
    }

    /// Follows frame boundaries through `chunk`; false when a frame is too large.
    fn scan(&mut self, mut chunk: &[u8]) -> bool {
        while !chunk.is_empty() {
            if self.skip > 0 {
                let n = (chunk.len() as u64).min(self.skip);
                self.skip -= n;
                chunk = &chunk[n as usize..];
                continue;
            }
            self.header[self.have] = chunk[0];
            self.have += 1;
            chunk = &chunk[1..];
            if let Some((header_len, payload_len)) = Self::parse(&self.header[..self.have]) {
                if payload_len > self.max as u64 {
                    return false;
                }
                if self.have == header_len {
                    self.have = 0;
                    self.skip = payload_len;
                }
            }
        }
        true
    }
}

impl<S> futures_util::Stream for FrameGuard<S>
where
    S: futures_util::Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if self.tripped.load(Relaxed) {
            return Poll::Ready(None);
        }
        match std::pin::Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if self.scan(&chunk) {
                    Poll::Ready(Some(Ok(chunk)))
                } else {
                    self.tripped.store(true, Relaxed);
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
                }
            }
            other => other,
        }
    }
}

enum Phase {
    /// Connected, not in a room.
    Lobby,
    /// A join is on its way to a room.
    Joining,
    /// Seated.
    InRoom { room: RoomLink, player: PlayerId },
}

/// One WebSocket connection.
pub struct Session {
    id: u64,
    state: Arc<AppState>,
    phase: Phase,
    closer: Closer,
    /// A fragmented message being reassembled.
    partial: Option<BytesMut>,
    /// Last frame of any kind from the client.
    last_seen: Instant,
    limits: DecodeLimits,
    /// Token bucket over every frame the client sends.
    rate: DefaultDirectRateLimiter,
    /// Holds this connection's place in the connection caps.
    _slot: Slot,
    /// Set by the [`FrameGuard`] when it refused an oversized frame.
    oversized: Arc<AtomicBool>,
}

impl Session {
    fn new(state: Arc<AppState>, closer: Closer, slot: Slot, oversized: Arc<AtomicBool>) -> Self {
        let limits = DecodeLimits {
            max_bytes: state.config.max_message_size,
            ..DecodeLimits::default()
        };
        let config = &state.config;
        // Both values are at least 1 (enforced by the config parser); 1 is the fallback anyway.
        let per_sec = NonZeroU32::new(config.max_messages_per_sec).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.message_burst).unwrap_or(NonZeroU32::MIN);
        let rate = RateLimiter::direct(Quota::per_second(per_sec).allow_burst(burst));
        Session {
            id: state.next_connection_id(),
            state,
            phase: Phase::Lobby,
            closer,
            partial: None,
            last_seen: Instant::now(),
            limits,
            rate,
            _slot: slot,
            oversized,
        }
    }

    /// The room and this seat. The session keeps one recipient and sends through it (never a
    /// clone): actix lets each sender exceed a full mailbox by one message before refusing, so
    /// only a long-lived sender makes the room's mailbox limit hold.
    fn seat(&self) -> Option<(&RoomLink, Origin)> {
        match &self.phase {
            Phase::InRoom { room, player } => Some((
                room,
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
                self.state.stats.messages_out.inc();
                self.state.stats.bytes_out.inc_by(bytes.len() as u64);
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
        self.state.stats.closed(code as u16);
        if matches!(
            code,
            CloseCode::Unsupported
                | CloseCode::InvalidPayload
                | CloseCode::Policy
                | CloseCode::TooBig
                | CloseCode::ProtocolError
                | CloseCode::NotAllowed
        ) {
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
    fn on_message(&mut self, bytes: Bytes, ctx: &mut ws::WebsocketContext<Self>) {
        let stats = &self.state.stats;
        stats.messages_in.inc();
        stats.bytes_in.inc_by(bytes.len() as u64);
        // Inputs and commands carry the game's types, which only the room knows: they go there
        // undecoded (the room decodes each once, and closes with 1007 what it cannot read). The
        // size limit was enforced as the frame came in.
        if let Some(tag @ (client_tag::INPUT | client_tag::COMMAND)) = peek_tag(&bytes) {
            let Some((room, from)) = self.seat() else {
                let what = if tag == client_tag::INPUT {
                    "input"
                } else {
                    "command"
                };
                let reason = format!("{what} before the welcome: join a room first");
                return self.close(CloseCode::NotAllowed, &reason, ctx);
            };
            if tag == client_tag::INPUT {
                let msg = PlayerMsg::Input(bytes);
                if room.try_send(FromPlayer { from, msg }).is_err() {
                    stats.inputs_dropped.inc();
                }
            } else {
                room.do_send(FromPlayer {
                    from,
                    msg: PlayerMsg::Command(bytes),
                });
            }
            return;
        }
        let msg = match tickroom_shared::decode::<AnyClientMsg>(&bytes, &self.limits) {
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
                game,
                room,
                create,
                options,
                filter,
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
                    return self.close(CloseCode::NotAllowed, "already in a room or joining", ctx);
                }
                let target = match (room, create) {
                    (Some(id), _) => Target::Room(id),
                    (None, true) => Target::Create,
                    (None, false) => Target::QuickMatch {
                        filter: filter.unwrap_or_default(),
                    },
                };
                let conn = Connection {
                    id: self.id,
                    outgoing: ctx.address().recipient(),
                    events: ctx.address().recipient(),
                    closer: self.closer.clone(),
                };
                self.phase = Phase::Joining;
                self.state.lobby.do_send(JoinRequest {
                    target,
                    game,
                    options,
                    name: clean_name(&name),
                    token,
                    conn,
                    bounces: 0,
                    ip: self._slot.ip(),
                });
            }
            ClientMsg::Input { .. } | ClientMsg::Command { .. } => {
                // Handled above, by tag; a message decodes to these only with that tag.
                unreachable!("inputs and commands are forwarded undecoded")
            }
            ClientMsg::Ping { echo } => match self.seat() {
                Some((room, from)) => {
                    // If the room's queue is full the ping is lost, like an input: the client
                    // simply sees no pong for it.
                    let _ = room.try_send(FromPlayer {
                        from,
                        msg: PlayerMsg::Ping { echo },
                    });
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
                let text = clean_text(&text);
                if text.len() > MAX_CHAT_BYTES {
                    return self.error(ErrorCode::BadRequest, "chat line too long", ctx);
                }
                match self.seat() {
                    Some((room, from)) => room.do_send(FromPlayer {
                        from,
                        msg: PlayerMsg::Chat { text },
                    }),
                    None => self.close(
                        CloseCode::NotAllowed,
                        "chat before the welcome: join a room first",
                        ctx,
                    ),
                }
            }
            ClientMsg::Resync => match self.seat() {
                Some((room, from)) => room.do_send(FromPlayer {
                    from,
                    msg: PlayerMsg::Resync,
                }),
                None => self.close(
                    CloseCode::NotAllowed,
                    "resync before the welcome: join a room first",
                    ctx,
                ),
            },
            ClientMsg::Leave => {
                if let Some((room, from)) = self.seat() {
                    room.do_send(FromPlayer {
                        from,
                        msg: PlayerMsg::Leave,
                    });
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
                self.on_message(buf.freeze(), ctx);
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

impl Actor for Session {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let config = &self.state.config;
        // The mailbox is the outbound queue the room's try_send sees as full.
        ctx.set_mailbox_capacity(usize::from(config.send_queue));
        self.state.stats.sessions_open.inc();
        self.state.stats.sessions_total.inc();
        let (join_timeout, idle_timeout) = (config.join_timeout, config.idle_timeout);
        ctx.run_later(join_timeout, |session, ctx| {
            // Still not seated: never joined, or a join that was lost with a closing room.
            if !matches!(session.phase, Phase::InRoom { .. }) {
                session.close(
                    CloseCode::JoinTimeout,
                    "no join within the join timeout",
                    ctx,
                );
            }
        });
        let mut shutdown = self.state.shutdown.clone();
        let closing = async move {
            // An error means the sender is gone, which also means the server is stopping.
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        };
        ctx.spawn(closing.into_actor(self).map(|(), session, ctx| {
            session.phase = Phase::Lobby; // the rooms are closing too: no disconnect to report
            session.close(CloseCode::GoingAway, "server shutting down", ctx);
        }));
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
        self.state.stats.sessions_open.dec();
        if let Some((room, from)) = self.seat() {
            room.do_send(FromPlayer {
                from,
                msg: PlayerMsg::Disconnected,
            });
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for Session {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_seen = Instant::now();
        if self.rate.check().is_err() {
            self.state.stats.rate_limited.inc();
            let limit = self.state.config.max_messages_per_sec;
            let reason = format!("more than {limit} messages per second");
            return self.close(CloseCode::Policy, &reason, ctx);
        }
        let msg = match item {
            Ok(msg) => msg,
            Err(_) if self.oversized.load(Relaxed) => {
                let max = self.state.config.max_message_size;
                return self.close(
                    CloseCode::TooBig,
                    &format!("frame exceeds {max} bytes"),
                    ctx,
                );
            }
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
                self.on_message(bytes, ctx);
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

impl Handler<Outgoing> for Session {
    type Result = ();

    /// Writes already-encoded bytes from the room.
    fn handle(&mut self, frame: Outgoing, ctx: &mut Self::Context) {
        self.state.stats.messages_out.inc();
        self.state.stats.bytes_out.inc_by(frame.0.len() as u64);
        ctx.binary(frame.0);
    }
}

impl Handler<SessionEvent> for Session {
    type Result = ();

    /// Follows the join's outcome or a close request.
    fn handle(&mut self, event: SessionEvent, ctx: &mut Self::Context) {
        match event {
            SessionEvent::Joined { room, player } => self.phase = Phase::InRoom { room, player },
            SessionEvent::JoinFailed { code, message } => {
                self.phase = Phase::Lobby;
                self.error(code, &message, ctx);
            }
            SessionEvent::Close { code, reason, last } => {
                // The room already let the seat go (or holds it); do not report a disconnect.
                self.phase = Phase::Lobby;
                for bytes in last {
                    self.state.stats.messages_out.inc();
                    self.state.stats.bytes_out.inc_by(bytes.len() as u64);
                    ctx.binary(bytes);
                }
                self.close(code, &reason, ctx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FrameGuard;

    fn guard() -> FrameGuard<()> {
        FrameGuard::new((), 1000)
    }

    #[test]
    fn frame_guard_follows_frames_across_chunks() {
        let mut g = guard();
        // Masked binary frame of 3 bytes, split across chunks, then a masked 200-byte frame.
        assert!(g.scan(&[0x82, 0x83, 1, 2]));
        assert!(g.scan(&[3, 4, 9, 9]));
        assert!(g.scan(&[9, 0x82, 0xfe, 0x00]));
        assert!(g.scan(&[200, 1, 2, 3, 4]));
        assert!(g.scan(&[0u8; 200]));
        assert_eq!((g.have, g.skip), (0, 0));
    }

    #[test]
    fn frame_guard_refuses_oversized_headers() {
        let mut g = guard();
        let mut frame = vec![0x82, 0xff];
        frame.extend_from_slice(&(1u64 << 62).to_be_bytes());
        assert!(!g.scan(&frame));
        let mut g = guard();
        assert!(!g.scan(&[0x82, 0xfe, 0x03, 0xe9])); // 1001 bytes
        let mut g = guard();
        assert!(g.scan(&[0x82, 0xfe, 0x03, 0xe8])); // exactly 1000
    }
}
