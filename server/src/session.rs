//! The `Session` actor: one per WebSocket connection.
//!
//! This is the only module that touches `actix-web-actors` (deprecated upstream in favour of
//! `actix-ws`), so switching is a change to this one file.
//!
//! The transport half (frame-size guard, fragment reassembly, UTF-8 checks, the close
//! handshake, pings, rate limit, deadlines, socket buffers) is shared by game sessions and the
//! conformance-testing echo endpoint (`--echo-endpoint`), so the Autobahn suite judges the code
//! players use. The game half decodes each binary message's tag with the shared codec (the
//! game's parts stay undecoded: the session knows no game) and forwards it to the lobby or its
//! room. Everything the room sends arrives as [`Outgoing`] already-encoded bytes and is written
//! as is.
//!
//! Bad input closes the connection with a precise code: 1003 for text, 1007 for a malformed
//! message or invalid UTF-8, 1009 for one too large (as soon as a frame header claims too much:
//! see `FrameGuard`), 1008 above the rate limit, 4005 for a message out of order, 1002 for a
//! WebSocket protocol error (including an invalid close code). A close the server starts waits
//! up to [`CLOSE_WAIT`] for the client's answering close frame, then the server closes TCP first
//! (RFC 6455 §7.1.1).

use crate::admission::Slot;
use crate::connection::{Closer, Connection, Rtt};
use crate::inbox::{Inbox, Kind, Letter};
use crate::messages::{
    FromPlayer, FromSpectator, JoinRequest, Origin, Outgoing, PlayerMsg, RoomLink, SessionEvent,
    SpectatorMsg, Target, WatchLink, WatchRequest,
};
use crate::watchdog::Watch;
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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tickroom_shared::protocol::{clean_name, clean_text, client_tag, MAX_CHAT_BYTES};
use tickroom_shared::{
    ClientMsg, CloseCode, CodecError, DecodeLimits, ErrorCode, PlayerId, ServerMsg, Tick,
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

/// How long a close the server started waits for the client's answering close frame before the
/// server ends the connection anyway.
pub const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// A connection's socket descriptor, noted when it is accepted. Only an upgrade to a WebSocket
/// duplicates it (for its [`Closer`]), so plain HTTP requests cost no extra descriptor.
#[derive(Clone, Copy)]
struct SocketFd(#[cfg(unix)] std::os::fd::RawFd);

/// A closer for the connection of the request being handled, after giving its socket the
/// configured kernel buffer sizes (only WebSockets get them: page and asset downloads keep the
/// kernel's auto-tuning).
fn closer_for(req: &HttpRequest, send_buffer: usize, recv_buffer: usize) -> Closer {
    #[cfg(unix)]
    if let Some(SocketFd(raw)) = req.conn_data::<SocketFd>().copied() {
        // SAFETY: the descriptor belongs to the connection whose request is being handled,
        // and a connection's socket stays open at least until its request is answered.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) };
        if let Ok(owned) = fd.try_clone_to_owned() {
            let socket = std::net::TcpStream::from(owned);
            let sock = socket2::SockRef::from(&socket);
            // A refused size (the kernel clamps rather than refuses) only leaves the default.
            if send_buffer > 0 {
                let _ = sock.set_send_buffer_size(send_buffer);
            }
            if recv_buffer > 0 {
                let _ = sock.set_recv_buffer_size(recv_buffer);
            }
            return Closer(Some(Arc::new(socket)));
        }
    }
    #[cfg(not(unix))]
    let _ = (req, send_buffer, recv_buffer);
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

/// What a session does with complete messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A player: binary MessagePack messages of the tickroom protocol.
    Game,
    /// Conformance testing: every message is echoed back as it came (text as text).
    Echo,
}

/// `GET /ws`: admits the request (subprotocol, origin, connection caps) and upgrades it to a
/// game [`Session`].
pub async fn upgrade(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    start(req, stream, state, Mode::Game)
}

/// `GET /echo` (only with `--echo-endpoint`): the same admission and connection code as
/// [`upgrade`], echoing every message back, for the Autobahn conformance suite.
pub async fn echo(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    start(req, stream, state, Mode::Echo)
}

fn start(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
    mode: Mode,
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
    let config = &state.config;
    let closer = closer_for(&req, config.socket_send_buffer, config.socket_recv_buffer);
    let max = config.max_message_size;
    let guard = FrameGuard::new(stream, max);
    let seen = guard.seen.clone();
    let session = Session::new(state.into_inner(), mode, closer, slot, seen);
    ws::WsResponseBuilder::new(session, &req, guard)
        .protocols(&[SUBPROTOCOL])
        .frame_size(max)
        .start()
}

/// What is wrong with a close frame's payload (RFC 6455 §5.5.1, §7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CloseFault {
    /// A one-byte payload (a code needs two), or more than the 125 bytes of a control frame.
    Length(u64),
    /// A code that may not be sent (e.g. 1005, 1006, 999, 2000).
    Code(u16),
    /// The reason is not UTF-8.
    Utf8,
}

/// Whether a close code may appear in a close frame: the defined codes, the IANA-registered
/// 1012-1014, and the ranges for libraries (3000-3999) and applications (4000-4999).
fn sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Checks a close frame's unmasked payload.
fn check_close_payload(payload: &[u8]) -> Option<CloseFault> {
    match payload {
        [] => None,
        [_] => Some(CloseFault::Length(1)),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !sendable_close_code(code) {
                Some(CloseFault::Code(code))
            } else if std::str::from_utf8(reason).is_err() {
                Some(CloseFault::Utf8)
            } else {
                None
            }
        }
    }
}

/// What the [`FrameGuard`] saw in the raw stream, for choosing the right close code when
/// actix-web-actors reports a protocol error (it reports an invalid close code and an invalid
/// close reason alike as "bad opcode", and invalid UTF-8 in a text frame as an I/O error).
#[derive(Default)]
struct Seen {
    /// A frame was refused for its size.
    oversized: AtomicBool,
    /// The last data frame that started a message was text.
    text: AtomicBool,
    /// A frame had reserved bits set (no extension is negotiated, so none may be).
    reserved: AtomicBool,
    /// What was wrong with the last close frame.
    close: Mutex<Option<CloseFault>>,
}

impl Seen {
    fn close_fault(&self) -> Option<CloseFault> {
        // Set and read whole; a panic elsewhere cannot leave it half-written.
        *self.close.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Stops a frame that claims more than the size limit as soon as its header arrives, and notes
/// what actix-web-actors does not tell (see [`Seen`]).
///
/// actix-web-actors buffers a frame's bytes until the whole claimed length is there and only then
/// compares it with the limit, so a client could stream an endless "frame" into server memory.
/// This adapter reads frame headers off the incoming bytes (it does not decode or copy
/// payloads, except the at most 125 bytes of a close frame) and ends the stream with an error
/// the moment a header claims too much.
struct FrameGuard<S> {
    inner: S,
    max: usize,
    /// Header bytes of the frame being read (at most 2 + 8 + 4).
    header: [u8; 14],
    have: usize,
    /// Payload bytes of the current frame still to pass through.
    skip: u64,
    /// The mask and unmasked bytes so far of a close frame's payload being read.
    close: Option<([u8; 4], Vec<u8>)>,
    seen: Arc<Seen>,
}

impl<S> FrameGuard<S> {
    fn new(inner: S, max: usize) -> Self {
        FrameGuard {
            inner,
            max,
            header: [0; 14],
            have: 0,
            skip: 0,
            close: None,
            seen: Arc::default(),
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

    /// A whole header was read: note what the frame is.
    fn on_header(&mut self, header_len: usize, payload_len: u64) {
        let opcode = self.header[0] & 0x0f;
        match opcode {
            0x1 => self.seen.text.store(true, Relaxed),
            0x2 => self.seen.text.store(false, Relaxed),
            0x8 if payload_len > 125 => {
                *self
                    .seen
                    .close
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) =
                    Some(CloseFault::Length(payload_len));
            }
            0x8 => {
                let mut mask = [0; 4];
                if self.header[1] & 0x80 != 0 {
                    mask.copy_from_slice(&self.header[header_len - 4..header_len]);
                }
                self.close = Some((mask, Vec::with_capacity(payload_len.min(125) as usize)));
            }
            _ => {}
        }
        if payload_len == 0 {
            self.close_done();
        }
    }

    /// Payload bytes passing through.
    fn on_payload(&mut self, bytes: &[u8]) {
        if let Some((mask, payload)) = &mut self.close {
            for &b in bytes {
                if payload.len() < 125 {
                    payload.push(b ^ mask[payload.len() % 4]);
                }
            }
        }
        if self.skip == 0 {
            self.close_done();
        }
    }

    fn close_done(&mut self) {
        if let Some((_, payload)) = self.close.take() {
            *self
                .seen
                .close
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = check_close_payload(&payload);
        }
    }

    /// Follows frame boundaries through `chunk`; false when a frame is too large.
    fn scan(&mut self, mut chunk: &[u8]) -> bool {
        while !chunk.is_empty() {
            if self.skip > 0 {
                let n = (chunk.len() as u64).min(self.skip);
                self.skip -= n;
                let (payload, rest) = chunk.split_at(n as usize);
                self.on_payload(payload);
                chunk = rest;
                continue;
            }
            self.header[self.have] = chunk[0];
            self.have += 1;
            chunk = &chunk[1..];
            // Noted at the first byte: actix-web-actors refuses the frame as soon as it has two.
            if self.have == 1 && self.header[0] & 0x70 != 0 {
                self.seen.reserved.store(true, Relaxed);
            }
            if let Some((header_len, payload_len)) = Self::parse(&self.header[..self.have]) {
                if payload_len > self.max as u64 {
                    return false;
                }
                if self.have == header_len {
                    self.have = 0;
                    self.skip = payload_len;
                    self.on_header(header_len, payload_len);
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
        if self.seen.oversized.load(Relaxed) {
            return Poll::Ready(None);
        }
        match std::pin::Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if self.scan(&chunk) {
                    Poll::Ready(Some(Ok(chunk)))
                } else {
                    self.seen.oversized.store(true, Relaxed);
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
    /// A join (or a watch) is on its way to a room.
    Joining,
    /// Watching a room as a spectator.
    Watching {
        room: WatchLink,
        /// The room's current tick, for pongs.
        clock: Arc<AtomicU64>,
    },
    /// Seated.
    InRoom {
        room: RoomLink,
        player: PlayerId,
        /// The room's current tick, for pongs.
        clock: Arc<AtomicU64>,
        /// Where inputs and commands go.
        inbox: Arc<Inbox>,
    },
}

/// A fragmented message being reassembled.
struct Partial {
    bytes: BytesMut,
    text: bool,
    /// Bytes of a text message already known to be valid UTF-8 (so each fragment is checked
    /// once, and invalid text fails as soon as it arrives).
    valid: usize,
}

/// One WebSocket connection.
pub struct Session {
    id: u64,
    state: Arc<AppState>,
    mode: Mode,
    phase: Phase,
    closer: Closer,
    partial: Option<Partial>,
    /// Last frame of any kind from the client.
    last_seen: Instant,
    limits: DecodeLimits,
    /// Token bucket over every frame the client sends.
    rate: DefaultDirectRateLimiter,
    /// Token bucket over chat lines.
    chat_rate: DefaultDirectRateLimiter,
    /// Holds this connection's place in the connection caps.
    slot: Slot,
    /// What the frame guard saw.
    seen: Arc<Seen>,
    /// This session's beat for the watchdog; dropped (unregistered) with the session.
    watch: Watch,
    /// A close frame was sent: nothing more is written, and the client's answering close ends
    /// the session.
    closing: bool,
    /// The last ping sent: its payload (a counter, so a late or unsolicited pong is not taken
    /// for its answer) and when it left.
    ping: (u64, Instant),
    /// The round trip of the last answered ping, shared with the room (the admin page shows it).
    rtt: Rtt,
}

/// A token bucket of `per_sec` with a `burst`; both at least 1 (the config parser enforces it;
/// 1 is the fallback anyway).
fn bucket(per_sec: u32, burst: u32) -> DefaultDirectRateLimiter {
    let per_sec = NonZeroU32::new(per_sec).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(per_sec).allow_burst(burst))
}

impl Session {
    fn new(state: Arc<AppState>, mode: Mode, closer: Closer, slot: Slot, seen: Arc<Seen>) -> Self {
        let config = &state.config;
        let limits = DecodeLimits {
            max_bytes: config.max_message_size,
            ..DecodeLimits::default()
        };
        let rate = bucket(config.max_messages_per_sec, config.message_burst);
        let chat_rate = bucket(config.chat_lines_per_sec, config.chat_burst);
        let id = state.next_connection_id();
        let watch = state.watchdog.watch(id, closer.clone());
        Session {
            id,
            state,
            mode,
            phase: Phase::Lobby,
            closer,
            partial: None,
            last_seen: Instant::now(),
            limits,
            rate,
            chat_rate,
            slot,
            seen,
            watch,
            closing: false,
            ping: (0, Instant::now()),
            rtt: Rtt::default(),
        }
    }

    /// The room and this seat. The session keeps one recipient and sends through it (never a
    /// clone): actix lets each sender exceed a full mailbox by one message before refusing, so
    /// only a long-lived sender makes the room's mailbox limit hold.
    fn seat(&self) -> Option<(&RoomLink, Origin)> {
        match &self.phase {
            Phase::InRoom { room, player, .. } => Some((
                room,
                Origin {
                    player: *player,
                    conn: self.id,
                },
            )),
            _ => None,
        }
    }

    /// This session as rooms and the lobby address it.
    fn connection(&self, ctx: &mut ws::WebsocketContext<Self>) -> Connection {
        Connection {
            id: self.id,
            outgoing: ctx.address().recipient(),
            events: ctx.address().recipient(),
            closer: self.closer.clone(),
            rtt: self.rtt.clone(),
        }
    }

    /// Writes one already-encoded message, unless the session is closing.
    fn write(&self, bytes: Bytes, ctx: &mut ws::WebsocketContext<Self>) {
        if self.closing {
            return;
        }
        self.state.stats.messages_out.inc();
        self.state.stats.bytes_out.inc_by(bytes.len() as u64);
        ctx.binary(bytes);
    }

    fn send(&self, msg: &ServerMsg, ctx: &mut ws::WebsocketContext<Self>) {
        match tickroom_shared::encode(msg) {
            Ok(bytes) => self.write(Bytes::from(bytes), ctx),
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

    /// Tells the room this connection is gone (it holds the seat for a reconnect, or forgets
    /// the spectator).
    fn leave_room(&mut self) {
        if let Some((room, from)) = self.seat() {
            room.do_send(FromPlayer {
                from,
                msg: PlayerMsg::Disconnected,
            });
        }
        self.spectate(SpectatorMsg::Gone);
        self.phase = Phase::Lobby;
    }

    /// Sends a spectator's message to the room it watches; false if it watches none.
    fn spectate(&self, msg: SpectatorMsg) -> bool {
        let Phase::Watching { room, .. } = &self.phase else {
            return false;
        };
        room.do_send(FromSpectator { conn: self.id, msg });
        true
    }

    /// Starts the close handshake with a code and reason: the room is told at once, nothing
    /// more is written, and the session ends when the client answers (or after
    /// [`CLOSE_WAIT`]).
    fn close(&mut self, code: CloseCode, reason: &str, ctx: &mut ws::WebsocketContext<Self>) {
        if self.closing {
            return;
        }
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
        self.leave_room();
        self.partial = None;
        let mut end = reason.len().min(MAX_REASON_BYTES);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let reason = ws::CloseReason {
            code: ws::CloseCode::from(code as u16),
            description: Some(reason[..end].to_owned()),
        };
        ctx.close(Some(reason));
        self.closing = true;
        ctx.run_later(CLOSE_WAIT, |_, ctx| ctx.stop());
    }

    /// One complete message from the client.
    fn on_complete(&mut self, bytes: Bytes, text: bool, ctx: &mut ws::WebsocketContext<Self>) {
        match (self.mode, text) {
            (Mode::Echo, true) => match bytestring::ByteString::try_from(bytes) {
                Ok(text) => ctx.text(text),
                Err(_) => self.close(CloseCode::InvalidPayload, "text is not UTF-8", ctx),
            },
            (Mode::Echo, false) => ctx.binary(bytes),
            (Mode::Game, true) => self.close(
                CloseCode::Unsupported,
                "text messages are not supported; send binary MessagePack",
                ctx,
            ),
            (Mode::Game, false) => self.on_message(bytes, ctx),
        }
    }

    /// One complete binary message from a player.
    fn on_message(&mut self, bytes: Bytes, ctx: &mut ws::WebsocketContext<Self>) {
        let stats = &self.state.stats;
        stats.messages_in.inc();
        stats.bytes_in.inc_by(bytes.len() as u64);
        // Inputs and commands carry the game's types, which only the room knows: they go there
        // undecoded (the room decodes each once, and closes with 1007 what it cannot read). The
        // size limit was enforced as the frame came in.
        if let Some(tag @ (client_tag::INPUT | client_tag::COMMAND)) = peek_tag(&bytes) {
            let Phase::InRoom { player, inbox, .. } = &self.phase else {
                let what = if tag == client_tag::INPUT {
                    "input"
                } else {
                    "command"
                };
                let reason = if matches!(self.phase, Phase::Watching { .. }) {
                    format!("a spectator sends no {what}s")
                } else {
                    format!("{what} before the welcome: join a room first")
                };
                return self.close(CloseCode::NotAllowed, &reason, ctx);
            };
            let kind = if tag == client_tag::INPUT {
                Kind::Input
            } else {
                Kind::Command
            };
            let letter = Letter {
                player: *player,
                conn: self.id,
                kind,
                bytes,
            };
            // Taken at the room's next tick; posting does not wake the room.
            if !inbox.post(letter) {
                stats.inputs_dropped.inc();
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
                ticket,
            } => {
                if !self.may_enter(version, ctx) {
                    return;
                }
                let target = match (room, create) {
                    (Some(id), _) => Target::Room(id),
                    (None, true) => Target::Create,
                    (None, false) => Target::QuickMatch {
                        filter: filter.unwrap_or_default(),
                    },
                };
                let conn = self.connection(ctx);
                self.phase = Phase::Joining;
                self.state.lobby.do_send(JoinRequest {
                    target,
                    game,
                    options,
                    name: clean_name(&name),
                    token,
                    ticket,
                    conn,
                    bounces: 0,
                    ip: self.slot.ip(),
                });
            }
            ClientMsg::Input { .. } | ClientMsg::Command { .. } => {
                // Handled above, by tag; a message decodes to these only with that tag.
                unreachable!("inputs and commands are forwarded undecoded")
            }
            ClientMsg::Ping { echo } => {
                // Answered here, never queued behind deltas or dropped: the room's tick is
                // readable without asking the room.
                let tick = match &self.phase {
                    Phase::InRoom { clock, .. } | Phase::Watching { clock, .. } => {
                        Tick(clock.load(Relaxed))
                    }
                    _ => Tick(0),
                };
                self.send(&ServerMsg::Pong { echo, tick }, ctx);
            }
            ClientMsg::Chat { text } => {
                if self.seat().is_none() {
                    let reason = if matches!(self.phase, Phase::Watching { .. }) {
                        "a spectator sends no chat"
                    } else {
                        "chat before the welcome: join a room first"
                    };
                    return self.close(CloseCode::NotAllowed, reason, ctx);
                }
                let text = clean_text(&text);
                if text.len() > MAX_CHAT_BYTES {
                    let message = format!("chat line over {MAX_CHAT_BYTES} bytes; not sent");
                    return self.error(ErrorCode::BadRequest, &message, ctx);
                }
                if self.chat_rate.check().is_err() {
                    self.state.stats.chat_limited.inc();
                    let config = &self.state.config;
                    let message = format!(
                        "more than {} chat lines per second (burst {}); not sent",
                        config.chat_lines_per_sec, config.chat_burst
                    );
                    return self.error(ErrorCode::BadRequest, &message, ctx);
                }
                if let Some((room, from)) = self.seat() {
                    room.do_send(FromPlayer {
                        from,
                        msg: PlayerMsg::Chat { text },
                    });
                }
            }
            ClientMsg::Resync => match self.seat() {
                Some((room, from)) => room.do_send(FromPlayer {
                    from,
                    msg: PlayerMsg::Resync,
                }),
                None if self.spectate(SpectatorMsg::Resync) => {}
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
                self.spectate(SpectatorMsg::Gone);
                self.phase = Phase::Lobby;
                self.close(CloseCode::Normal, "left", ctx);
            }
            ClientMsg::Watch { version, room } => {
                if !self.may_enter(version, ctx) {
                    return;
                }
                self.phase = Phase::Joining;
                let conn = self.connection(ctx);
                self.state.lobby.do_send(WatchRequest { room, conn });
            }
        }
    }

    /// Whether a Join or Watch of protocol `version` may go on: the version is this server's
    /// (else `Error` and close 4004) and the connection is in no room, watching none, and has no
    /// join or watch on its way (else close 4005).
    fn may_enter(&mut self, version: u16, ctx: &mut ws::WebsocketContext<Self>) -> bool {
        if version != PROTOCOL_VERSION {
            let reason = format!(
                "protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}"
            );
            self.error(ErrorCode::VersionMismatch, &reason, ctx);
            self.close(CloseCode::VersionMismatch, &reason, ctx);
            return false;
        }
        if !matches!(self.phase, Phase::Lobby) {
            let reason = "already in a room, watching, or joining";
            self.close(CloseCode::NotAllowed, reason, ctx);
            return false;
        }
        true
    }

    /// Appends a continuation fragment, enforcing the message limit on the reassembled size
    /// and, for text, UTF-8 as each fragment arrives.
    fn on_fragment(&mut self, item: Item, ctx: &mut ws::WebsocketContext<Self>) {
        let max = self.state.config.max_message_size;
        let (data, last) = match item {
            Item::FirstText(_) if self.mode == Mode::Game => {
                let reason = "text messages are not supported; send binary MessagePack";
                return self.close(CloseCode::Unsupported, reason, ctx);
            }
            first @ (Item::FirstText(_) | Item::FirstBinary(_)) => {
                let (data, text) = match first {
                    Item::FirstText(data) => (data, true),
                    Item::FirstBinary(data) | Item::Continue(data) | Item::Last(data) => {
                        (data, false)
                    }
                };
                if self.partial.is_some() {
                    let reason = "new message inside a fragmented one";
                    return self.close(CloseCode::ProtocolError, reason, ctx);
                }
                self.partial = Some(Partial {
                    bytes: BytesMut::new(),
                    text,
                    valid: 0,
                });
                (data, false)
            }
            Item::Continue(data) => (data, false),
            Item::Last(data) => (data, true),
        };
        let Some(partial) = self.partial.as_mut() else {
            let reason = "continuation without a first fragment";
            return self.close(CloseCode::ProtocolError, reason, ctx);
        };
        partial.bytes.extend_from_slice(&data);
        if partial.bytes.len() > max {
            let reason = format!("message exceeds {max} bytes");
            return self.close(CloseCode::TooBig, &reason, ctx);
        }
        if partial.text {
            match std::str::from_utf8(&partial.bytes[partial.valid..]) {
                Ok(_) => partial.valid = partial.bytes.len(),
                // Invalid bytes, or a character cut at the end of the finished message.
                Err(e) if e.error_len().is_some() || last => {
                    let reason = "text message is not valid UTF-8";
                    return self.close(CloseCode::InvalidPayload, reason, ctx);
                }
                // A character continues in the next fragment.
                Err(e) => partial.valid += e.valid_up_to(),
            }
        }
        if last {
            if let Some(partial) = self.partial.take() {
                self.on_complete(partial.bytes.freeze(), partial.text, ctx);
            }
        }
    }

    /// The close code and reason for a protocol error reported by actix-web-actors.
    fn protocol_error(&self, e: &ws::ProtocolError) -> (CloseCode, String) {
        let max = self.state.config.max_message_size;
        if self.seen.oversized.load(Relaxed) || matches!(e, ws::ProtocolError::Overflow) {
            return (CloseCode::TooBig, format!("frame exceeds {max} bytes"));
        }
        if self.seen.reserved.load(Relaxed) {
            let reason = "reserved bits set; no extension was negotiated".to_owned();
            return (CloseCode::ProtocolError, reason);
        }
        match (e, self.seen.close_fault()) {
            (ws::ProtocolError::BadOpCode, Some(CloseFault::Code(code))) => (
                CloseCode::ProtocolError,
                format!("close code {code} may not be sent"),
            ),
            (ws::ProtocolError::BadOpCode, Some(CloseFault::Utf8)) => (
                CloseCode::InvalidPayload,
                "close reason is not valid UTF-8".to_owned(),
            ),
            (ws::ProtocolError::InvalidLength(_), Some(CloseFault::Length(n))) => (
                CloseCode::ProtocolError,
                format!("a close frame payload of {n} bytes"),
            ),
            // actix-web-actors reports invalid UTF-8 in a text frame as an I/O error.
            (ws::ProtocolError::Io(_), _) if self.seen.text.load(Relaxed) => (
                CloseCode::InvalidPayload,
                "text message is not valid UTF-8".to_owned(),
            ),
            (e, _) => (CloseCode::ProtocolError, e.to_string()),
        }
    }

    /// Closes the session if the client has been silent for the idle timeout; otherwise
    /// checks again when it would be.
    fn arm_idle(&self, after: Duration, ctx: &mut ws::WebsocketContext<Self>) {
        ctx.run_later(after, |session, ctx| {
            let timeout = session.state.config.idle_timeout;
            let silent = session.last_seen.elapsed();
            if silent >= timeout {
                let reason = "no frame from the client within the idle timeout";
                session.close(CloseCode::IdleTimeout, reason, ctx);
            } else {
                session.arm_idle(timeout - silent, ctx);
            }
        });
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
        if self.mode == Mode::Game {
            ctx.run_later(config.join_timeout, |session, ctx| {
                // Still not seated (or watching): never joined, or a join that was lost with a
                // closing room.
                if !matches!(session.phase, Phase::InRoom { .. } | Phase::Watching { .. }) {
                    let reason = "no join within the join timeout";
                    session.close(CloseCode::JoinTimeout, reason, ctx);
                }
            });
        }
        self.arm_idle(config.idle_timeout, ctx);
        let mut shutdown = self.state.shutdown.clone();
        let closing = async move {
            // An error means the sender is gone, which also means the server is stopping.
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        };
        ctx.spawn(closing.into_actor(self).map(|(), session, ctx| {
            session.phase = Phase::Lobby; // the rooms are closing too: no disconnect to report
            session.close(CloseCode::GoingAway, "server shutting down", ctx);
        }));
        ctx.run_interval(config.ping_period(), |session, ctx| {
            // Running: the watchdog leaves this connection alone for another period.
            session.watch.beat();
            if !session.closing {
                let next = session.ping.0.wrapping_add(1);
                session.ping = (next, Instant::now());
                ctx.ping(&next.to_be_bytes());
            }
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.state.stats.sessions_open.dec();
        self.leave_room();
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for Session {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_seen = Instant::now();
        if self.closing {
            // Only the client's answering close matters now; it completes the handshake.
            if matches!(item, Ok(ws::Message::Close(_)) | Err(_)) {
                ctx.stop();
            }
            return;
        }
        if self.rate.check().is_err() {
            self.state.stats.rate_limited.inc();
            let limit = self.state.config.max_messages_per_sec;
            let reason = format!("more than {limit} messages per second");
            return self.close(CloseCode::Policy, &reason, ctx);
        }
        let msg = match item {
            Ok(msg) => msg,
            Err(e) => {
                let (code, reason) = self.protocol_error(&e);
                self.close(code, &reason, ctx);
                if self.seen.close_fault().is_some() {
                    // The faulty frame was the client's close: both sides have now sent one,
                    // so the server ends the connection without waiting.
                    ctx.stop();
                }
                return;
            }
        };
        match msg {
            ws::Message::Binary(bytes) => {
                if self.partial.is_some() {
                    let reason = "new message inside a fragmented one";
                    return self.close(CloseCode::ProtocolError, reason, ctx);
                }
                self.on_complete(bytes, false, ctx);
            }
            ws::Message::Text(text) => {
                if self.partial.is_some() {
                    let reason = "new message inside a fragmented one";
                    return self.close(CloseCode::ProtocolError, reason, ctx);
                }
                self.on_complete(text.into_bytes(), true, ctx);
            }
            ws::Message::Continuation(item) => self.on_fragment(item, ctx),
            ws::Message::Ping(payload) => ctx.pong(&payload),
            ws::Message::Pong(payload) => {
                // The answer to the last ping: its round trip, queueing on both sides included
                // (what a player feels). Older answers and unsolicited pongs are ignored.
                let (sent, at) = self.ping;
                if sent != 0 && payload.as_ref() == sent.to_be_bytes() {
                    self.rtt.set(at.elapsed());
                }
            }
            ws::Message::Nop => {}
            ws::Message::Close(reason) => {
                // Echo the client's close, as RFC 6455 asks, and end: the server then closes
                // TCP at once (the HTTP server's client-disconnect timeout is 0).
                self.leave_room();
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

    /// Writes already-encoded messages from the room.
    fn handle(&mut self, Outgoing(frames): Outgoing, ctx: &mut Self::Context) {
        for bytes in frames {
            self.write(bytes, ctx);
        }
    }
}

impl Handler<SessionEvent> for Session {
    type Result = ();

    /// Follows the join's outcome or a close request.
    fn handle(&mut self, event: SessionEvent, ctx: &mut Self::Context) {
        match event {
            SessionEvent::Joined {
                room,
                player,
                clock,
                inbox,
            } => {
                self.phase = Phase::InRoom {
                    room,
                    player,
                    clock,
                    inbox,
                };
                if self.closing {
                    // Seated after the close began: give the seat back to be held.
                    self.leave_room();
                }
            }
            SessionEvent::Watching { room, clock } => {
                self.phase = Phase::Watching { room, clock };
                if self.closing {
                    self.leave_room();
                }
            }
            SessionEvent::JoinFailed { code, message } => {
                self.phase = Phase::Lobby;
                self.error(code, &message, ctx);
            }
            SessionEvent::Close { code, reason, last } => {
                // The room already let the seat go (or holds it); do not report a disconnect.
                self.phase = Phase::Lobby;
                for bytes in last {
                    self.write(bytes, ctx);
                }
                self.close(code, &reason, ctx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{check_close_payload, CloseFault, FrameGuard};
    use std::sync::atomic::Ordering::Relaxed;

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

    /// A masked close frame with `payload`, split in two chunks inside the payload.
    fn masked_close(payload: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mask = [0x11, 0x22, 0x33, 0x44];
        let mut frame = vec![0x88, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let cut = frame.len() - payload.len() / 2;
        let rest = frame.split_off(cut);
        (frame, rest)
    }

    fn close_fault_of(payload: &[u8]) -> Option<CloseFault> {
        let mut g = guard();
        let (a, b) = masked_close(payload);
        assert!(g.scan(&a) && g.scan(&b));
        g.seen.close_fault()
    }

    #[test]
    fn frame_guard_checks_close_frames() {
        assert_eq!(close_fault_of(&[0x03, 0xe8, b'o', b'k']), None);
        assert_eq!(close_fault_of(&[]), None);
        assert_eq!(close_fault_of(&[0x03]), Some(CloseFault::Length(1)));
        assert_eq!(close_fault_of(&[0x03, 0xed]), Some(CloseFault::Code(1005)));
        assert_eq!(
            close_fault_of(&[0x03, 0xe8, 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xf4, 0x90]),
            Some(CloseFault::Utf8)
        );
        assert_eq!(
            check_close_payload(&[0x0f, 0xa0]),
            None,
            "4000 is an application code"
        );
        assert_eq!(
            check_close_payload(&[0x03, 0xe7]),
            Some(CloseFault::Code(999))
        );
    }

    #[test]
    fn frame_guard_notes_whether_a_message_is_text() {
        let mut g = guard();
        assert!(g.scan(&[0x81, 0x81, 0, 0, 0, 0, b'a']));
        assert!(g.seen.text.load(Relaxed));
        assert!(g.scan(&[0x82, 0x80, 0, 0, 0, 0]));
        assert!(!g.seen.text.load(Relaxed));
    }
}
