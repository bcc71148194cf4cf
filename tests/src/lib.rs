//! Helpers shared by the integration tests: start a server on a free loopback port, join rooms,
//! and follow the delta chain.

use std::path::PathBuf;
use std::time::Duration;
use tickroom_bots::{Connection, Incoming, Player, PlayerEvent};
use tickroom_server::{Config, Game, ServerHandle};
use tickroom_shared::arena::ArenaInput;
use tickroom_shared::{ClientMsg, ErrorCode, RoomId, ServerMsg, PROTOCOL_VERSION};

/// How long a test waits for any one expected message before failing (generous: CI is shared).
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A configuration for tests: a free port on 127.0.0.1, a fixed seed, no web client.
pub fn test_config() -> Config {
    Config {
        bind: "127.0.0.1:0".parse().expect("valid address"),
        seed: Some(1),
        static_dir: PathBuf::from("/nonexistent"),
        room_threads: 2,
        workers: 2,
        ..Config::default()
    }
}

/// Starts a server running game `G`.
pub fn start<G: Game>(config: Config) -> ServerHandle {
    tickroom_server::spawn::<G>(config).expect("server starts")
}

/// The WebSocket URL of a running server.
pub fn ws_url(server: &ServerHandle) -> String {
    format!("ws://{}/ws", server.addr)
}

/// GETs a path and returns the body (panics on failure: tests only).
pub fn http_get(server: &ServerHandle, path: &str) -> String {
    ureq::get(&format!("http://{}{path}", server.addr))
        .call()
        .expect("GET succeeds")
        .body_mut()
        .read_to_string()
        .expect("body is text")
}

/// The join message for `to`, resuming a seat when `token` is given.
pub fn join_msg<I>(name: &str, to: To, token: Option<String>) -> ClientMsg<I> {
    let (room, create) = match to {
        To::Quick => (None, false),
        To::Room(id) => (Some(id), false),
        To::New => (None, true),
    };
    ClientMsg::Join {
        version: PROTOCOL_VERSION,
        name: name.into(),
        room,
        create,
        token,
    }
}

/// Writes `expected` to the repository file `path` when `UPDATE_BINDINGS` is set, then checks
/// that the committed file equals it (generated files must never go stale).
pub fn assert_generated(path: &str, expected: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dir");
        std::fs::write(&path, expected).expect("write the generated file");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is stale: run `make bindings` and commit the result",
        path.display()
    );
}

/// A connected client with its view of the room.
pub struct Client {
    /// The socket.
    pub conn: Connection,
    /// What it knows.
    pub player: Player,
    /// Next input sequence number.
    pub next_seq: u32,
}

/// Where to join.
#[derive(Clone, Copy, Debug)]
pub enum To {
    /// Quick match.
    Quick,
    /// A room by id.
    Room(RoomId),
    /// A new room.
    New,
}

impl Client {
    /// Connects and joins, returning once the welcome and the first snapshot arrived.
    pub async fn join(server: &ServerHandle, name: &str, to: To) -> Client {
        Self::join_with(server, name, to, None).await
    }

    /// Like [`Client::join`], resuming a seat with `token`.
    pub async fn join_with(
        server: &ServerHandle,
        name: &str,
        to: To,
        token: Option<String>,
    ) -> Client {
        let mut client = Client::connect(server).await;
        client.send(&join_msg(name, to, token)).await;
        loop {
            match client.next().await {
                Some(PlayerEvent::Snapshot(_)) => break,
                Some(PlayerEvent::Error(code, msg)) => panic!("join refused: {code:?} {msg}"),
                Some(_) => {}
                None => panic!("closed while joining"),
            }
        }
        assert!(
            client.player.seat.is_some(),
            "welcome came before the snapshot"
        );
        client
    }

    /// Connects without joining.
    pub async fn connect(server: &ServerHandle) -> Client {
        let conn = Connection::connect(&ws_url(server))
            .await
            .expect("connects");
        Client {
            conn,
            player: Player::new(),
            next_seq: 1,
        }
    }

    /// Sends a join that must be refused and returns the error code.
    pub async fn refused_join(&mut self, name: &str, to: To, token: Option<String>) -> ErrorCode {
        self.send(&join_msg(name, to, token)).await;
        loop {
            match self.next().await {
                Some(PlayerEvent::Error(code, _)) => return code,
                Some(PlayerEvent::None) => continue,
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
    }

    /// Sends a message.
    pub async fn send(&mut self, msg: &ClientMsg<ArenaInput>) {
        self.conn.send(msg).await.expect("send succeeds");
    }

    /// Sends the next input and returns its sequence number.
    pub async fn input(&mut self, dx: i8, dy: i8) -> u32 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.send(&ClientMsg::Input {
            seq: tickroom_shared::InputSeq(seq),
            input: ArenaInput { dx, dy },
        })
        .await;
        seq
    }

    /// Sends an input of any game (for test games whose input is not the arena's).
    pub async fn send_input<I: serde::Serialize>(&mut self, input: I) -> u32 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let msg = ClientMsg::Input {
            seq: tickroom_shared::InputSeq(seq),
            input,
        };
        self.conn.send(&msg).await.expect("send succeeds");
        seq
    }

    /// Receives one message, applies it, answers gaps with a resync; `None` once closed.
    pub async fn next(&mut self) -> Option<PlayerEvent> {
        match self
            .conn
            .recv_timeout(PATIENCE)
            .await
            .expect("a message in time")
        {
            Incoming::Msg(msg, _) => Some(self.apply(&msg).await),
            Incoming::Closed(_) => None,
        }
    }

    /// Receives one raw message (for tests that inspect them); `Err` carries the close.
    pub async fn next_raw(&mut self) -> Result<ServerMsg, Option<(u16, String)>> {
        match self
            .conn
            .recv_timeout(PATIENCE)
            .await
            .expect("a message in time")
        {
            Incoming::Msg(msg, _) => {
                self.apply(&msg).await;
                Ok(msg)
            }
            Incoming::Closed(close) => Err(close),
        }
    }

    async fn apply(&mut self, msg: &ServerMsg) -> PlayerEvent {
        let event = self.player.handle(msg);
        if let PlayerEvent::Gap(_) = event {
            let resync = self.player.resync_request();
            self.send(&resync).await;
        }
        event
    }

    /// Reads until the replica reaches `tick` or later.
    pub async fn until_tick(&mut self, tick: u64) {
        while self.player.replica.tick().is_none_or(|t| t.0 < tick) {
            self.next().await.expect("open until the tick");
        }
    }

    /// Reads until `pred` holds on the player.
    pub async fn until(&mut self, mut pred: impl FnMut(&Player) -> bool) {
        while !pred(&self.player) {
            self.next().await.expect("open until the condition holds");
        }
    }

    /// Reads until the connection closes; returns the close code and reason if there was a frame.
    pub async fn until_closed(&mut self) -> Option<(u16, String)> {
        loop {
            match self.conn.recv_timeout(PATIENCE).await {
                Ok(Incoming::Closed(close)) => return close,
                Ok(Incoming::Msg(..)) => continue,
                // A reset without a close frame also ends the connection.
                Err(tickroom_bots::ConnectionError::WebSocket(_)) => return None,
                Err(e) => panic!("waiting for close: {e}"),
            }
        }
    }
}

/// A test game whose every entity changes every tick: a large delta on purpose, to fill socket
/// buffers quickly in slow-consumer tests.
pub mod bulky {
    use tickroom_server::{Game, GameRng};
    use tickroom_shared::arena::ArenaInput;
    use tickroom_shared::{Entity, EntityId, Fields, PlayerId, FIELD_COUNT};

    /// Entities in the world.
    pub const ENTITIES: u32 = 4000;

    /// The game: a counter per entity.
    pub struct Bulky {
        tick: i32,
    }

    impl Game for Bulky {
        type Input = ArenaInput;
        const NAME: &'static str = "bulky";
        const FIELDS: [&'static str; FIELD_COUNT] = ["ack", "a", "b", "c", "d", "e", "f", "g"];

        fn new(_: &mut GameRng) -> Self {
            Bulky { tick: 0 }
        }

        fn join(&mut self, player: PlayerId, _: &mut GameRng) -> EntityId {
            EntityId(100_000 + player.0)
        }

        fn leave(&mut self, _: PlayerId) {}

        fn input(&mut self, _: PlayerId, _: &ArenaInput) {}

        fn step(&mut self, _: f32, _: &mut GameRng) {
            self.tick += 1;
        }

        fn view(&self, out: &mut Vec<Entity>) {
            for id in 0..ENTITIES {
                // Large, changing values: several bytes per field per tick.
                let v = self
                    .tick
                    .wrapping_mul(7919)
                    .wrapping_add(id as i32 * 104_729);
                out.push(Entity {
                    id: EntityId(id),
                    fields: Fields([0, v, v ^ 0x5555, -v, 1, 2, 3, 4]),
                });
            }
        }
    }
}

/// A test game that panics on demand: an input of 666 panics inside `Game::input`, one of 777
/// inside `Game::step` (through a flag), to prove a game failure closes only its own room.
pub mod fragile {
    use tickroom_server::{Game, GameRng};
    use tickroom_shared::{Entity, EntityId, Fields, PlayerId, FIELD_COUNT};

    /// The game: one entity per player, counting ticks.
    #[derive(Default)]
    pub struct Fragile {
        players: Vec<PlayerId>,
        tick: i32,
        explode: bool,
    }

    impl Game for Fragile {
        type Input = i32;
        const NAME: &'static str = "fragile";
        const FIELDS: [&'static str; FIELD_COUNT] = ["ack", "tick", "", "", "", "", "", ""];

        fn new(_: &mut GameRng) -> Self {
            Fragile::default()
        }

        fn join(&mut self, player: PlayerId, _: &mut GameRng) -> EntityId {
            self.players.push(player);
            EntityId(player.0)
        }

        fn leave(&mut self, player: PlayerId) {
            self.players.retain(|p| *p != player);
        }

        fn input(&mut self, _: PlayerId, input: &i32) {
            match *input {
                666 => panic!("fragile: asked to panic in input"),
                777 => self.explode = true,
                _ => {}
            }
        }

        fn step(&mut self, _: f32, _: &mut GameRng) {
            assert!(!self.explode, "fragile: asked to panic in step");
            self.tick += 1;
        }

        fn view(&self, out: &mut Vec<Entity>) {
            for p in &self.players {
                out.push(Entity {
                    id: EntityId(p.0),
                    fields: Fields([0, self.tick, 0, 0, 0, 0, 0, 0]),
                });
            }
        }
    }
}
