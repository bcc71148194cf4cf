//! Golden byte vectors: one per message variant, in `shared/golden/messages.json`.
//!
//! The Rust codec must produce exactly these bytes and decode them back; the TypeScript client's
//! tests decode the same file, so the two implementations cannot drift. `make bindings` rewrites
//! the file after a deliberate protocol change.

use serde_json::{json, Value};
use tickroom_shared::arena::ArenaInput;
use tickroom_shared::{
    ClientMsg, DecodeLimits, Delta, Entity, EntityId, ErrorCode, Fields, InputSeq, PlayerId,
    RoomId, RosterEntry, ServerMsg, Tick,
};

fn client_samples() -> Vec<(&'static str, ClientMsg<ArenaInput>)> {
    vec![
        (
            "Join quick match",
            ClientMsg::Join {
                version: 1,
                name: "ann".into(),
                room: None,
                create: false,
                token: None,
            },
        ),
        (
            "Join room 7",
            ClientMsg::Join {
                version: 1,
                name: "bo".into(),
                room: Some(RoomId(7)),
                create: false,
                token: None,
            },
        ),
        (
            "Join new room",
            ClientMsg::Join {
                version: 1,
                name: "cy".into(),
                room: None,
                create: true,
                token: None,
            },
        ),
        (
            "Join with reconnect token",
            ClientMsg::Join {
                version: 1,
                name: "ann".into(),
                room: None,
                create: false,
                token: Some("1.2.00ff".into()),
            },
        ),
        (
            "Input",
            ClientMsg::Input {
                seq: InputSeq(300),
                input: ArenaInput { dx: 1, dy: -1 },
            },
        ),
        ("Ping", ClientMsg::Ping { echo: 123_456 }),
        ("Chat", ClientMsg::Chat { text: "hi".into() }),
        ("Leave", ClientMsg::Leave),
        ("Resync", ClientMsg::Resync),
    ]
}

fn server_samples() -> Vec<(&'static str, ServerMsg)> {
    let player = |id: u32, x: i32, y: i32| Entity {
        id: EntityId(id),
        fields: Fields([0, 1, x, y, 0, 0, 100, 0]),
    };
    vec![
        (
            "Welcome",
            ServerMsg::Welcome {
                player: PlayerId(2),
                entity: EntityId(2),
                room: RoomId(1),
                tick_rate: 30,
                tick: Tick(900),
                token: "1.2.00ff".into(),
                game: "arena".into(),
                fields: ["ack", "kind", "x", "y", "vx", "vy", "hp", "score"]
                    .map(String::from)
                    .to_vec(),
            },
        ),
        (
            "Snapshot with two players",
            ServerMsg::Snapshot {
                tick: Tick(900),
                entities: vec![player(1, 2000, 400), player(2, 40, 3996)],
            },
        ),
        (
            "Delta: one moved (ack +1, x +27, y -27), one added, one removed",
            ServerMsg::Delta(Delta {
                tick: Tick(1000),
                base: Tick(999),
                added: vec![player(5, 100, 200)],
                changed: vec![Entity {
                    id: EntityId(3),
                    fields: Fields([1, 0, 27, -27, 0, 0, 0, 0]),
                }],
                removed: vec![EntityId(4)],
            }),
        ),
        (
            "Delta with no change",
            ServerMsg::Delta(Delta {
                tick: Tick(1001),
                base: Tick(1000),
                ..Delta::default()
            }),
        ),
        (
            "Pong",
            ServerMsg::Pong {
                echo: 123_456,
                tick: Tick(1000),
            },
        ),
        (
            "Chat",
            ServerMsg::Chat {
                player: PlayerId(2),
                name: "bo".into(),
                text: "hi".into(),
            },
        ),
        (
            "Roster",
            ServerMsg::Roster {
                players: vec![
                    RosterEntry {
                        player: PlayerId(1),
                        entity: EntityId(1),
                        name: "ann".into(),
                        connected: true,
                    },
                    RosterEntry {
                        player: PlayerId(2),
                        entity: EntityId(2),
                        name: "bo".into(),
                        connected: false,
                    },
                ],
            },
        ),
        (
            "Error",
            ServerMsg::Error {
                code: ErrorCode::RoomFull,
                message: "the room is full".into(),
            },
        ),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn vector(direction: &str, name: &str, bytes: Vec<u8>) -> Value {
    // The generic MessagePack value, as JSON, so other languages can compare structure too.
    let value: Value = rmp_serde::from_slice(&bytes).expect("golden bytes are valid MessagePack");
    json!({ "direction": direction, "name": name, "hex": hex(&bytes), "value": value })
}

fn generate() -> Value {
    let mut vectors = Vec::new();
    for (name, msg) in client_samples() {
        vectors.push(vector(
            "client",
            name,
            tickroom_shared::encode(&msg).expect("encodes"),
        ));
    }
    for (name, msg) in server_samples() {
        vectors.push(vector(
            "server",
            name,
            tickroom_shared::encode(&msg).expect("encodes"),
        ));
    }
    Value::Array(vectors)
}

/// Every message encodes to its golden bytes, and the golden bytes decode to the same message.
#[test]
fn golden_vectors_match_the_codec() {
    let expected = serde_json::to_string_pretty(&generate()).expect("serializes") + "\n";
    tickroom_tests::assert_generated("shared/golden/messages.json", &expected);

    let limits = DecodeLimits::default();
    for (name, msg) in client_samples() {
        let bytes = tickroom_shared::encode(&msg).expect("encodes");
        let back: ClientMsg<ArenaInput> = tickroom_shared::decode(&bytes, &limits).expect(name);
        assert_eq!(back, msg, "{name}");
    }
    for (name, msg) in server_samples() {
        let bytes = tickroom_shared::encode(&msg).expect("encodes");
        let back: ServerMsg = tickroom_shared::decode(&bytes, &limits).expect(name);
        assert_eq!(back, msg, "{name}");
    }
}
