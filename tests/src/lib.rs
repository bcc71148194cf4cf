//! What the integration tests share: a server on a free loopback port ([`start`]), a WebSocket
//! test client speaking protocol v2 ([`Client`]) that keeps a replica, the roster, and every
//! frame and message it received, and small test games ([`games`]).
//!
//! The client is deliberately independent of the bots crate: it follows `PROTOCOL.md` with the
//! shared codec and [`Replica`] only, so these tests check the server against the contract.

pub mod games;
pub mod redis;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use tickroom_server::{Config, Games, ServerHandle};
use tickroom_shared::{
    decode, encode, rmpv, ApplyError, ClientMsg, DecodeLimits, EntityId, ErrorCode, Event,
    InputSeq, KindSchema, PlayerId, Refusal, Replica, ReplicaEntity, RoomId, RosterEntry,
    ServerMsg, Tick, PROTOCOL_VERSION, SUBPROTOCOL,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one expected message before failing. Generous, because the
/// machine is shared; it only keeps a broken test from hanging, it is never a measurement.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How long [`Client::until`] reads before giving up: only a guard against a hung test.
pub const UNTIL_LIMIT: Duration = Duration::from_secs(60);

/// A client message whose game parts are MessagePack values.
pub type Msg = ClientMsg<rmpv::Value, rmpv::Value>;

/// The WebSocket a [`Client`] talks through.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A configuration for tests: a free port on 127.0.0.1, a fixed seed, no web client.
pub fn test_config() -> Config {
    Config {
        bind: "127.0.0.1:0"
            .parse()
            .expect("a literal socket address parses"),
        seed: Some(1),
        static_dir: None,
        room_threads: 2,
        workers: 2,
        // Tests read counters right after causing them; the cache has tests of its own.
        api_cache: Duration::ZERO,
        ..Config::default()
    }
}

/// Starts a server running `games`.
pub fn start(config: Config, games: Games) -> ServerHandle {
    tickroom_server::spawn(config, games).expect("a test server binds 127.0.0.1:0 and starts")
}

/// Starts a server running only the [`games::Lab`].
pub fn start_lab(config: Config) -> ServerHandle {
    start(config, Games::new().with::<games::Lab>())
}

/// The WebSocket URL of a running server.
pub fn ws_url(server: &ServerHandle) -> String {
    format!("ws://{}/ws", server.addr)
}

/// GETs a path and returns the body (panics on failure: the endpoints tested always answer).
pub fn http_get(server: &ServerHandle, path: &str) -> String {
    ureq::get(&format!("http://{}{path}", server.addr))
        .call()
        .expect("the test server answers GET")
        .body_mut()
        .read_to_string()
        .expect("the body is UTF-8 text")
}

/// GETs a JSON endpoint.
pub fn http_json(server: &ServerHandle, path: &str) -> serde_json::Value {
    serde_json::from_str(&http_get(server, path)).expect("the endpoint serves JSON")
}

/// Polls `check` until it holds, for state the server updates right after telling the client
/// (counters, the room list); panics after [`PATIENCE`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never became true: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A game value (command, options) from JSON: objects become MessagePack maps with `str` keys,
/// as `PROTOCOL.md` asks of commands, events, options and results.
pub fn value(json: serde_json::Value) -> rmpv::Value {
    rmpv::ext::to_value(json).expect("JSON values always convert to MessagePack values")
}

/// A game value read back into a Rust type (event payloads, results).
pub fn from_value<T: serde::de::DeserializeOwned>(value: &rmpv::Value) -> T {
    rmpv::ext::from_value(value.clone())
        .unwrap_or_else(|e| panic!("the game value {value} does not have the expected shape: {e}"))
}

/// Where and how to join; turns into [`ClientMsg::Join`].
#[derive(Clone, Debug)]
pub struct Join {
    /// Protocol version (tests of the version check change it).
    pub version: u16,
    /// Display name.
    pub name: String,
    /// Game name; `None` for the default game.
    pub game: Option<String>,
    /// Room id.
    pub room: Option<RoomId>,
    /// Open a new room.
    pub create: bool,
    /// Options for a new room.
    pub options: Option<rmpv::Value>,
    /// Quick match filter.
    pub filter: Option<BTreeMap<String, String>>,
    /// Reconnect token.
    pub token: Option<String>,
    /// Seat ticket from a redirect.
    pub ticket: Option<String>,
}

impl Join {
    /// Quick match into the default game.
    pub fn quick(name: &str) -> Join {
        Join {
            version: PROTOCOL_VERSION,
            name: name.into(),
            game: None,
            room: None,
            create: false,
            options: None,
            filter: None,
            token: None,
            ticket: None,
        }
    }

    /// A new room of the default game.
    pub fn create(name: &str) -> Join {
        Join {
            create: true,
            ..Join::quick(name)
        }
    }

    /// The room with this id.
    pub fn room(name: &str, room: RoomId) -> Join {
        Join {
            room: Some(room),
            ..Join::quick(name)
        }
    }

    /// Resumes the seat of a token.
    pub fn resume(token: &str) -> Join {
        Join {
            token: Some(token.into()),
            ..Join::quick("resumed")
        }
    }

    /// Plays `game`.
    pub fn game(self, game: &str) -> Join {
        Join {
            game: Some(game.into()),
            ..self
        }
    }

    /// With room options.
    pub fn options(self, options: serde_json::Value) -> Join {
        Join {
            options: Some(value(options)),
            ..self
        }
    }

    /// With a quick match filter.
    pub fn filter(self, pairs: &[(&str, &str)]) -> Join {
        let filter = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Join {
            filter: Some(filter),
            ..self
        }
    }

    /// The message.
    pub fn msg(&self) -> Msg {
        ClientMsg::Join {
            version: self.version,
            name: self.name.clone(),
            game: self.game.clone(),
            room: self.room,
            create: self.create,
            options: self.options.clone(),
            filter: self.filter.clone(),
            token: self.token.clone(),
            ticket: self.ticket.clone(),
        }
    }
}

/// What the welcome said.
#[derive(Clone, Debug, PartialEq)]
pub struct Welcome {
    /// This client's player.
    pub player: PlayerId,
    /// Its room.
    pub room: RoomId,
    /// The room's game.
    pub game: String,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Deltas only on change.
    pub on_change: bool,
    /// The room's tick when the join was accepted.
    pub tick: Tick,
    /// Resumes the seat.
    pub token: String,
    /// The game's entity kinds.
    pub kinds: Vec<KindSchema>,
}

/// An event as delivered: the tick of the Delta or Snapshot that carried it.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivered {
    /// Tick of the message.
    pub tick: Tick,
    /// True when a Snapshot carried it.
    pub in_snapshot: bool,
    /// The event.
    pub event: Event,
}

/// A test client: one WebSocket speaking `tickroom.v2`, and everything it learned.
///
/// Gaps are answered with `Resync` (Deltas are then ignored until the next Snapshot), exactly
/// as `PROTOCOL.md` asks; tests assert there were none where none may happen.
pub struct Client {
    ws: Socket,
    /// The last welcome.
    pub welcome: Option<Welcome>,
    /// The replica, created from the welcome's kinds.
    pub replica: Replica,
    /// The last roster.
    pub roster: Vec<RosterEntry>,
    /// Keep raw frames and decoded messages (off for games with huge Deltas).
    pub record: bool,
    /// Every binary frame received, as sent, when [`Client::record`].
    pub frames: Vec<Vec<u8>>,
    /// Every message received, in order, when [`Client::record`].
    pub log: Vec<ServerMsg>,
    /// Every message received, in order, by name (and tick, for Deltas and Snapshots), kept
    /// even when [`Client::record`] is off.
    pub trail: Vec<(&'static str, Option<Tick>)>,
    /// Every event delivered, in order.
    pub events: Vec<Delivered>,
    /// Every command result, in order.
    pub results: Vec<(u32, Option<Refusal>)>,
    /// Every chat line: sender, name, text.
    pub chats: Vec<(PlayerId, String, String)>,
    /// Every error.
    pub errors: Vec<(ErrorCode, String)>,
    /// Every pong: echo and tick.
    pub pongs: Vec<(u64, Tick)>,
    /// Every redirect: URL and ticket.
    pub redirects: Vec<(String, Option<String>)>,
    /// The URLs this client was redirected from, in order, by [`Client::join_following`].
    pub hops: Vec<String>,
    /// The room and game of the last `Watching` (a spectator).
    pub watching: Option<(RoomId, String)>,
    /// The `Ended` result, once received.
    pub ended: Option<rmpv::Value>,
    /// Ticks of every Snapshot applied.
    pub snapshots: Vec<Tick>,
    /// Deltas applied.
    pub deltas: u64,
    /// Deltas that did not build on the replica's tick.
    pub gaps: u64,
    /// Other failures to apply (a corrupt replica).
    pub corrupt: Vec<ApplyError>,
    /// The replica as it was just before the last Snapshot was applied.
    pub before_snapshot: Option<Replica>,
    /// When set, the replica after every applied Delta or Snapshot, by tick.
    pub history: Option<BTreeMap<Tick, Replica>>,
    /// `Some` once the connection ended: the close code and reason, if a close frame came.
    pub closed: Option<Option<(u16, String)>>,
    /// Deltas are ignored until the next Snapshot (after a gap).
    resyncing: bool,
    /// A `Resync` must be sent (set by a gap, sent after the message is handled).
    resync_due: bool,
    next_seq: u32,
    next_command: u32,
}

impl Client {
    /// Connects to a server, offering the subprotocol.
    pub async fn connect(server: &ServerHandle) -> Client {
        Client::connect_url(&ws_url(server), None).await
    }

    /// Connects to `url`; `recv_buffer` sets a small socket receive buffer (for clients that
    /// stop reading and must fill the server's buffers quickly).
    pub async fn connect_url(url: &str, recv_buffer: Option<u32>) -> Client {
        let request = request(url, Some(SUBPROTOCOL));
        let host = request
            .uri()
            .authority()
            .expect("the test URL has a host")
            .as_str();
        let addr: std::net::SocketAddr = host.parse().expect("the test URL is ip:port");
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        if let Some(size) = recv_buffer {
            socket
                .set_recv_buffer_size(size)
                .expect("the receive buffer size can be set before connecting");
        }
        let tcp = socket
            .connect(addr)
            .await
            .expect("the test server accepts TCP connections");
        let (ws, response) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp))
            .await
            .expect("the WebSocket upgrade succeeds");
        let echoed = response.headers().get(SEC_WEBSOCKET_PROTOCOL);
        assert_eq!(
            echoed.and_then(|v| v.to_str().ok()),
            Some(SUBPROTOCOL),
            "the server echoes the subprotocol"
        );
        Client::over(ws)
    }

    /// Connects from the local address `from`, to play a second client IP: any address of
    /// 127.0.0.0/8 is the loopback on Linux, e.g. 127.0.0.2.
    pub async fn connect_from(server: &ServerHandle, from: std::net::IpAddr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(std::net::SocketAddr::new(from, 0))
            .expect("a loopback address can be bound");
        let tcp = socket
            .connect(server.addr)
            .await
            .expect("the test server accepts TCP connections");
        let request = request(&ws_url(server), Some(SUBPROTOCOL));
        let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp))
            .await
            .expect("the WebSocket upgrade succeeds");
        Client::over(ws)
    }

    /// A client over an already open WebSocket (e.g. `wss://`).
    pub fn over(ws: Socket) -> Client {
        Client {
            ws,
            welcome: None,
            replica: Replica::default(),
            roster: Vec::new(),
            record: true,
            frames: Vec::new(),
            log: Vec::new(),
            trail: Vec::new(),
            events: Vec::new(),
            results: Vec::new(),
            chats: Vec::new(),
            errors: Vec::new(),
            pongs: Vec::new(),
            redirects: Vec::new(),
            hops: Vec::new(),
            watching: None,
            ended: None,
            snapshots: Vec::new(),
            deltas: 0,
            gaps: 0,
            corrupt: Vec::new(),
            before_snapshot: None,
            history: None,
            closed: None,
            resyncing: false,
            resync_due: false,
            next_seq: 1,
            next_command: 1,
        }
    }

    /// Connects and joins; returns once the welcome and the first Snapshot arrived.
    pub async fn join(server: &ServerHandle, join: Join) -> Client {
        let mut client = Client::connect(server).await;
        if let Err((code, message)) = client.try_join(join).await {
            panic!("join refused: {code:?} {message}");
        }
        client
    }

    /// Sends a join on this connection and waits for its first Snapshot, or its error.
    pub async fn try_join(&mut self, join: Join) -> Result<(), (ErrorCode, String)> {
        let errors = self.errors.len();
        let snapshots = self.snapshots.len();
        self.send(&join.msg()).await;
        loop {
            if let Some(error) = self.errors.get(errors) {
                return Err(error.clone());
            }
            if self.snapshots.len() > snapshots && self.welcome.is_some() {
                return Ok(());
            }
            if self.recv().await.is_none() {
                panic!("closed while joining: {:?}", self.closed);
            }
        }
    }

    /// Connects to `url` and joins, following redirects to other cluster nodes (with their
    /// tickets) as `PROTOCOL.md` asks; returns the seated client, whose [`Client::hops`] lists
    /// the nodes it was sent away from, or the error that refused the join.
    pub async fn join_following(url: &str, mut join: Join) -> Result<Client, (ErrorCode, String)> {
        let mut url = url.to_owned();
        let mut hops = Vec::new();
        for _ in 0..4 {
            let mut client = Client::connect_url(&url, None).await;
            client.send(&join.msg()).await;
            loop {
                if let Some(error) = client.errors.first() {
                    return Err(error.clone());
                }
                if let Some((to, ticket)) = client.redirects.first().cloned() {
                    hops.push(std::mem::replace(&mut url, to));
                    if ticket.is_some() {
                        join.ticket = ticket;
                    }
                    break;
                }
                if !client.snapshots.is_empty() && client.welcome.is_some() {
                    client.hops = hops;
                    return Ok(client);
                }
                if client.recv().await.is_none() {
                    panic!("closed while joining at {url}: {:?}", client.closed);
                }
            }
        }
        panic!("more than 3 redirects: {hops:?}");
    }

    /// Connects and watches `room` as a spectator; returns once `Watching` and the first
    /// Snapshot arrived.
    pub async fn watch(server: &ServerHandle, room: RoomId) -> Client {
        let mut client = Client::connect(server).await;
        if let Err((code, message)) = client.try_watch(room).await {
            panic!("watch refused: {code:?} {message}");
        }
        client
    }

    /// Sends a Watch on this connection and waits for its first Snapshot, or its error.
    pub async fn try_watch(&mut self, room: RoomId) -> Result<(), (ErrorCode, String)> {
        let errors = self.errors.len();
        let snapshots = self.snapshots.len();
        self.send(&Msg::Watch {
            version: tickroom_shared::PROTOCOL_VERSION,
            room,
        })
        .await;
        loop {
            if let Some(error) = self.errors.get(errors) {
                return Err(error.clone());
            }
            if self.snapshots.len() > snapshots && self.watching.is_some() {
                return Ok(());
            }
            if self.recv().await.is_none() {
                panic!("closed while asking to watch: {:?}", self.closed);
            }
        }
    }

    /// Sends a join that must be refused and returns the error code.
    pub async fn refused_join(&mut self, join: Join) -> ErrorCode {
        match self.try_join(join).await {
            Err((code, _)) => code,
            Ok(()) => panic!("the join was expected to be refused"),
        }
    }

    /// The welcome (panics before it: a test bug).
    pub fn welcomed(&self) -> &Welcome {
        self.welcome.as_ref().expect("the client was welcomed")
    }

    /// This client's player.
    pub fn player(&self) -> PlayerId {
        self.welcomed().player
    }

    /// This client's room.
    pub fn room(&self) -> RoomId {
        self.welcomed().room
    }

    /// The replica's tick (panics before the first Snapshot: a test bug).
    pub fn tick(&self) -> Tick {
        self.replica.tick().expect("the replica has a tick")
    }

    /// Sends a message.
    pub async fn send<I: Serialize, C: Serialize>(&mut self, msg: &ClientMsg<I, C>) {
        let bytes = encode(msg).expect("client messages always encode");
        self.send_raw(Message::Binary(bytes.into())).await;
    }

    /// Sends a raw WebSocket message (panics if the socket is already closed: a test bug).
    pub async fn send_raw(&mut self, msg: Message) {
        self.ws
            .send(msg)
            .await
            .expect("the socket is open for sending");
    }

    /// Sends a raw message, returning false if the socket was closed meanwhile.
    pub async fn try_send_raw(&mut self, msg: Message) -> bool {
        self.ws.send(msg).await.is_ok()
    }

    /// Sends the next input (any serializable value, e.g. a tuple for `[dx, dy]`) and returns
    /// its sequence number.
    pub async fn input<I: Serialize>(&mut self, input: I) -> InputSeq {
        let seq = InputSeq(self.next_seq);
        self.next_seq += 1;
        let msg: ClientMsg<I, ()> = ClientMsg::Input { seq, input };
        self.send(&msg).await;
        seq
    }

    /// Sends a command (JSON, sent as a map) and returns its id.
    pub async fn command(&mut self, command: serde_json::Value) -> u32 {
        let id = self.next_command;
        self.next_command += 1;
        self.send(&Msg::Command {
            id,
            command: value(command),
        })
        .await;
        id
    }

    /// Sends a command and waits for its result.
    pub async fn call(&mut self, command: serde_json::Value) -> Option<Refusal> {
        let id = self.command(command).await;
        self.result_of(id).await
    }

    /// Waits for the result of command `id`.
    pub async fn result_of(&mut self, id: u32) -> Option<Refusal> {
        loop {
            if let Some((_, refusal)) = self.results.iter().find(|(i, _)| *i == id) {
                return refusal.clone();
            }
            self.next_open().await;
        }
    }

    /// Sends a command that the game must accept, and waits for its tick to be applied.
    pub async fn apply(&mut self, command: serde_json::Value) {
        let id = self.command(command.clone()).await;
        if let Some(refusal) = self.result_of(id).await {
            panic!("command {command} refused: {refusal}");
        }
        // The result comes before the Delta of its tick: one more tick message applies it.
        let (snapshots, deltas) = (self.snapshots.len(), self.deltas);
        self.until(|c| c.snapshots.len() > snapshots || c.deltas > deltas)
            .await;
    }

    /// Sends a ping.
    pub async fn ping(&mut self, echo: u64) {
        self.send(&Msg::Ping { echo }).await;
    }

    /// Sends a chat line.
    pub async fn chat(&mut self, text: &str) {
        self.send(&Msg::Chat { text: text.into() }).await;
    }

    /// Sends `Resync`.
    pub async fn resync(&mut self) {
        self.send(&Msg::Resync).await;
    }

    /// Sends `Leave`.
    pub async fn leave(&mut self) {
        self.send(&Msg::Leave).await;
    }

    /// Receives one message and applies it; `None` once the connection ended. Panics if nothing
    /// arrives within [`PATIENCE`].
    pub async fn recv(&mut self) -> Option<ServerMsg> {
        if self.closed.is_some() {
            return None;
        }
        loop {
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no message from the server within {PATIENCE:?}"));
            match next {
                Some(Ok(Message::Binary(bytes))) => {
                    let msg = self.handle(&bytes);
                    if std::mem::take(&mut self.resync_due) {
                        // Asked once per gap; a closed socket shows up on the next read.
                        let _ = self.try_send_raw(resync_frame()).await;
                    }
                    return Some(msg);
                }
                Some(Ok(Message::Close(frame))) => {
                    let close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    self.closed = Some(close);
                    return None;
                }
                Some(Ok(Message::Text(text))) => panic!("the server sent a text message: {text}"),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    self.closed = Some(None);
                    return None;
                }
            }
        }
    }

    /// Receives one message; panics if the connection ended.
    pub async fn next_open(&mut self) -> ServerMsg {
        match self.recv().await {
            Some(msg) => msg,
            None => panic!("the connection ended: {:?}", self.closed),
        }
    }

    /// Reads until `pred` holds (checked before every read). Panics after [`UNTIL_LIMIT`], so a
    /// condition that never comes fails the test instead of hanging it.
    pub async fn until(&mut self, mut pred: impl FnMut(&Client) -> bool) {
        let deadline = tokio::time::Instant::now() + UNTIL_LIMIT;
        while !pred(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the awaited condition did not come within {UNTIL_LIMIT:?}"
            );
            self.next_open().await;
        }
    }

    /// Reads until the replica reaches `tick` or later.
    pub async fn until_tick(&mut self, tick: Tick) {
        self.until(|c| c.replica.tick().is_some_and(|t| t >= tick))
            .await;
    }

    /// Reads `n` more ticks.
    pub async fn ticks(&mut self, n: u64) {
        let target = Tick(self.tick().0 + n);
        self.until_tick(target).await;
    }

    /// Reads until the connection ends; returns the close code and reason if a close frame came.
    pub async fn until_closed(&mut self) -> Option<(u16, String)> {
        while self.recv().await.is_some() {}
        self.closed.clone().flatten()
    }

    /// Entities of kind `kind` whose field `field` equals `value`.
    pub fn find(&self, kind: &str, field: &str, value: i64) -> Vec<EntityId> {
        self.replica
            .of_kind(kind)
            .map(|(id, _)| id)
            .filter(|id| self.replica.int(*id, field) == Some(value))
            .collect()
    }

    /// The one entity of kind `kind` whose field `field` equals `value`, if any.
    pub fn find_one(&self, kind: &str, field: &str, value: i64) -> Option<EntityId> {
        let found = self.find(kind, field, value);
        assert!(found.len() <= 1, "several {kind} with {field} = {value}");
        found.first().copied()
    }

    /// Events named `name`, in delivery order.
    pub fn events_named(&self, name: &str) -> Vec<&Delivered> {
        self.events
            .iter()
            .filter(|d| d.event.name == name)
            .collect()
    }

    /// Asserts the Delta chain had no gap and the replica was never corrupt.
    pub fn assert_clean(&self) {
        assert_eq!(self.gaps, 0, "gaps in the Delta chain");
        assert!(
            self.corrupt.is_empty(),
            "corrupt replica: {:?}",
            self.corrupt
        );
    }

    /// Asserts a Delta or Snapshot came for every tick since the first Snapshot (rooms with a
    /// fixed tick send one every tick), each Delta building on the tick before.
    pub fn assert_every_tick(&self) {
        let ticks: Vec<Tick> = self.trail.iter().filter_map(|(_, t)| *t).collect();
        for pair in ticks.windows(2) {
            assert_eq!(pair[1].0, pair[0].0 + 1, "a tick was missed: {ticks:?}");
        }
        self.assert_clean();
    }

    /// Sends `Resync` and reads until the Snapshot it asks for; returns the replica as it was
    /// just before that Snapshot (Deltas that came meanwhile applied). The client's replica is
    /// then the Snapshot's content.
    pub async fn resync_and_wait(&mut self) -> Replica {
        let snapshots = self.snapshots.len();
        self.resync().await;
        self.until(|c| c.snapshots.len() > snapshots).await;
        self.before_snapshot
            .clone()
            .expect("the replica before the Snapshot was kept")
    }

    /// Decodes and applies one binary message.
    /// Asks for a Snapshot and checks the replica (advanced by every Delta before it) against
    /// it: `Roster` then the Snapshot, at a later tick, with the same entities and acks. Valid
    /// only while the game is still, so that nothing changed at the Snapshot's tick.
    pub async fn check_still(&mut self, what: &str) {
        let before = self.resync_and_wait().await;
        let n = self.trail.len();
        assert_eq!(
            self.trail[n - 2].0,
            "Roster",
            "{what}: Roster comes right before the Snapshot after a Resync"
        );
        assert!(
            before.tick() < self.replica.tick(),
            "{what}: the Snapshot is later"
        );
        assert_same_state(&before, &self.replica, what);
        self.assert_clean();
    }

    fn handle(&mut self, bytes: &[u8]) -> ServerMsg {
        let limits = DecodeLimits {
            max_bytes: usize::MAX,
            ..DecodeLimits::default()
        };
        let msg: ServerMsg = decode(bytes, &limits)
            .unwrap_or_else(|e| panic!("the server sent a malformed message ({e}): {bytes:02x?}"));
        if self.record {
            self.frames.push(bytes.to_vec());
            self.log.push(msg.clone());
        }
        self.trail.push(match &msg {
            ServerMsg::Welcome { .. } => ("Welcome", None),
            ServerMsg::Snapshot { tick, .. } => ("Snapshot", Some(*tick)),
            ServerMsg::Delta { tick, .. } => ("Delta", Some(*tick)),
            ServerMsg::Pong { .. } => ("Pong", None),
            ServerMsg::Chat { .. } => ("Chat", None),
            ServerMsg::Roster { .. } => ("Roster", None),
            ServerMsg::Error { .. } => ("Error", None),
            ServerMsg::CommandResult { .. } => ("CommandResult", None),
            ServerMsg::Ended { .. } => ("Ended", None),
            ServerMsg::Redirect { .. } => ("Redirect", None),
            ServerMsg::Watching { .. } => ("Watching", None),
        });
        match &msg {
            ServerMsg::Welcome {
                player,
                room,
                game,
                tick_rate,
                on_change,
                tick,
                token,
                kinds,
            } => {
                self.replica = Replica::new(kinds.clone());
                self.resyncing = false;
                self.next_seq = 1;
                self.welcome = Some(Welcome {
                    player: *player,
                    room: *room,
                    game: game.clone(),
                    tick_rate: *tick_rate,
                    on_change: *on_change,
                    tick: *tick,
                    token: token.clone(),
                    kinds: kinds.clone(),
                });
            }
            ServerMsg::Snapshot { tick, .. } => {
                self.before_snapshot = Some(self.replica.clone());
                self.resyncing = false;
                self.snapshots.push(*tick);
                self.apply_tick(&msg, *tick, true);
            }
            ServerMsg::Delta { tick, .. } => {
                if !self.resyncing {
                    self.deltas += 1;
                    self.apply_tick(&msg, *tick, false);
                }
            }
            ServerMsg::Roster { players } => self.roster = players.clone(),
            ServerMsg::Chat { player, name, text } => {
                self.chats.push((*player, name.clone(), text.clone()));
            }
            ServerMsg::Error { code, message } => self.errors.push((*code, message.clone())),
            ServerMsg::CommandResult { id, refusal } => self.results.push((*id, refusal.clone())),
            ServerMsg::Ended { result } => self.ended = Some(result.clone()),
            ServerMsg::Pong { echo, tick } => self.pongs.push((*echo, *tick)),
            ServerMsg::Redirect { url, ticket } => {
                self.redirects.push((url.clone(), ticket.clone()));
            }
            ServerMsg::Watching {
                room, game, kinds, ..
            } => {
                self.replica = Replica::new(kinds.clone());
                self.resyncing = false;
                self.watching = Some((*room, game.clone()));
            }
        }
        msg
    }

    fn apply_tick(&mut self, msg: &ServerMsg, tick: Tick, in_snapshot: bool) {
        match self.replica.apply(msg) {
            Ok(events) => {
                self.events
                    .extend(events.into_iter().map(|event| Delivered {
                        tick,
                        in_snapshot,
                        event,
                    }));
                if let Some(history) = &mut self.history {
                    history.insert(tick, self.replica.clone());
                }
            }
            Err(e) => {
                match e {
                    ApplyError::Gap { .. } => self.gaps += 1,
                    other => self.corrupt.push(other),
                }
                self.resyncing = true;
                self.resync_due = true;
            }
        }
    }
}

fn resync_frame() -> Message {
    let bytes = encode(&Msg::Resync).expect("Resync encodes");
    Message::Binary(bytes.into())
}

/// An upgrade request for `url` offering `subprotocol`.
pub fn request(
    url: &str,
    subprotocol: Option<&str>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = url
        .into_client_request()
        .expect("the test URL is a valid WebSocket URL");
    if let Some(p) = subprotocol {
        let value = HeaderValue::from_str(p).expect("subprotocol names are valid header values");
        request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, value);
    }
    request
}

/// The HTTP status of an upgrade offering the subprotocol, with an optional `Origin`.
pub async fn upgrade_status(url: &str, origin: Option<&str>) -> u16 {
    let mut request = request(url, Some(SUBPROTOCOL));
    if let Some(o) = origin {
        let value = HeaderValue::from_str(o).expect("a valid header");
        request
            .headers_mut()
            .insert(tokio_tungstenite::tungstenite::http::header::ORIGIN, value);
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// The state a replica holds that the server determines: entities and non-zero acks. A Delta
/// may set an ack to 0 (a player left) where a Snapshot simply leaves it out; both mean 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// Entities by id.
    pub entities: BTreeMap<EntityId, ReplicaEntity>,
    /// Acks above 0.
    pub acks: BTreeMap<PlayerId, InputSeq>,
}

impl State {
    /// The state of a replica.
    pub fn of(replica: &Replica) -> State {
        State {
            entities: replica.entities().clone(),
            acks: replica
                .acks()
                .iter()
                .filter(|(_, seq)| seq.0 != 0)
                .map(|(p, s)| (*p, *s))
                .collect(),
        }
    }
}

/// Asserts two replicas hold the same state, listing the differing entities otherwise.
#[track_caller]
pub fn assert_same_state(actual: &Replica, expected: &Replica, what: &str) {
    let (a, e) = (State::of(actual), State::of(expected));
    if a == e {
        return;
    }
    let mut diff = Vec::new();
    let ids: std::collections::BTreeSet<_> = a.entities.keys().chain(e.entities.keys()).collect();
    for id in ids {
        let (x, y) = (a.entities.get(id), e.entities.get(id));
        if x != y {
            diff.push(format!("  entity {id}: replica {x:?}, expected {y:?}"));
        }
    }
    if a.acks != e.acks {
        diff.push(format!(
            "  acks: replica {:?}, expected {:?}",
            a.acks, e.acks
        ));
    }
    panic!(
        "{what}: the replica (tick {:?}) differs from the expected state (tick {:?}):\n{}",
        actual.tick(),
        expected.tick(),
        diff.join("\n")
    );
}
