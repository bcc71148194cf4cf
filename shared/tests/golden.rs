//! Golden vectors: the exact bytes of one example of every message (and of every field type),
//! plus replica cases (messages in, expected replica out). `shared/golden/messages.json` is
//! checked by this test and by the TypeScript client's tests, so both implementations agree
//! byte for byte. Regenerate with `UPDATE_GOLDEN=1 cargo test -p tickroom-shared --test golden`.

use std::collections::BTreeMap;
use tickroom_shared::rmpv::Value as Mp;
use tickroom_shared::{
    encode, Acks, ClientMsg, EntityId, ErrorCode, Event, FieldSchema, FieldType, InputSeq,
    KindSchema, PlayerId, Record, Refusal, Replica, RoomId, RosterEntry, Segment, ServerMsg, Tick,
    Value,
};

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A MessagePack value as JSON: nil → null, bin → {"bin": hex}, maps → objects.
fn json(v: &Mp) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Mp::Nil => J::Null,
        Mp::Boolean(b) => J::Bool(*b),
        Mp::Integer(i) => i
            .as_i64()
            .map(J::from)
            .or_else(|| i.as_u64().map(J::from))
            .unwrap_or(J::Null),
        Mp::F32(f) => J::from(f64::from(*f)),
        Mp::F64(f) => J::from(*f),
        Mp::String(s) => J::String(s.as_str().unwrap_or_default().to_owned()),
        Mp::Binary(b) => serde_json::json!({ "bin": hex(b) }),
        Mp::Array(a) => J::Array(a.iter().map(json).collect()),
        Mp::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), json(v)))
                .collect(),
        ),
        Mp::Ext(..) => J::Null,
    }
}

fn entry(name: &str, direction: &str, bytes: Vec<u8>) -> serde_json::Value {
    let value = tickroom_shared::rmpv::decode::read_value(&mut bytes.as_slice())
        .expect("our own encoding decodes");
    serde_json::json!({ "name": name, "direction": direction, "hex": hex(&bytes), "value": json(&value) })
}

fn kinds() -> Vec<KindSchema> {
    let f = |name: &str, ty| FieldSchema {
        name: name.into(),
        ty,
    };
    vec![
        KindSchema {
            name: "ship".into(),
            fields: vec![
                f("owner", FieldType::U32),
                f("x", FieldType::Float(0.5)),
                f("y", FieldType::Float(0.5)),
                f("aim", FieldType::U8),
                f("alive", FieldType::Bool),
                f("team", FieldType::Enum(vec!["red".into(), "blue".into()])),
                f("name", FieldType::Text(16)),
                f("vx", FieldType::I16),
            ],
        },
        KindSchema {
            name: "card".into(),
            fields: vec![f("owner", FieldType::U32), f("card", FieldType::U8)],
        },
    ]
}

type Client = ClientMsg<Mp, Mp>;

fn map(pairs: &[(&str, Mp)]) -> Mp {
    Mp::Map(
        pairs
            .iter()
            .map(|(k, v)| (Mp::from(*k), v.clone()))
            .collect(),
    )
}

fn rec(id: u32, kind: u16, values: &[(u8, Value)]) -> Record {
    Record {
        id: EntityId(id),
        kind,
        values: values.to_vec(),
    }
}

fn golden() -> serde_json::Value {
    let join =
        |name: &str, game: Option<&str>, room, create, options, filter, token: Option<&str>| {
            Client::Join {
                version: 2,
                name: name.into(),
                game: game.map(Into::into),
                room,
                create,
                options,
                filter,
                token: token.map(Into::into),
                ticket: None,
            }
        };
    let mut filter = BTreeMap::new();
    filter.insert("mode".to_owned(), "quick".to_owned());
    let clients: Vec<(&str, Client)> = vec![
        (
            "Join, quick match, default game",
            join("ann", None, None, false, None, None, None),
        ),
        (
            "Join, quick match cards with a filter",
            join(
                "bo",
                Some("cards"),
                None,
                false,
                Some(map(&[("mode", Mp::from("quick"))])),
                Some(filter),
                None,
            ),
        ),
        (
            "Join room 7",
            join("cy", None, Some(RoomId(7)), false, None, None, None),
        ),
        (
            "Join, new room",
            join(
                "di",
                Some("shooter"),
                None,
                true,
                Some(map(&[])),
                None,
                None,
            ),
        ),
        (
            "Join with token",
            join("ann", None, None, false, None, None, Some("1.2.00ff")),
        ),
        (
            "Join with a seat ticket (after a Redirect)",
            Client::Join {
                version: 2,
                name: "ann".into(),
                game: None,
                room: None,
                create: false,
                options: None,
                filter: None,
                token: None,
                ticket: Some("9f86d081884c7d659a2feaa0c55ad015".into()),
            },
        ),
        (
            "Input (arena)",
            Client::Input {
                seq: InputSeq(300),
                input: Mp::Array(vec![Mp::from(1), Mp::from(-1)]),
            },
        ),
        (
            "Input (shooter)",
            Client::Input {
                seq: InputSeq(7),
                input: Mp::Array(vec![
                    Mp::from(0),
                    Mp::from(1),
                    Mp::from(200),
                    Mp::from(true),
                ]),
            },
        ),
        ("Ping", Client::Ping { echo: 123_456 }),
        ("Chat", Client::Chat { text: "hi".into() }),
        ("Leave", Client::Leave),
        ("Resync", Client::Resync),
        (
            "Command (cards play)",
            Client::Command {
                id: 3,
                command: map(&[
                    ("type", Mp::from("play")),
                    ("card", Mp::from(7)),
                    ("suit", Mp::from(2)),
                ]),
            },
        ),
        (
            "Watch",
            Client::Watch {
                version: 2,
                room: RoomId(70000),
            },
        ),
    ];
    let seg_keyframe = Segment {
        removed: vec![],
        changed: vec![],
        added: vec![
            rec(
                1,
                0,
                &[
                    (0, Value::Int(1)),
                    (1, Value::Int(4000)),
                    (2, Value::Int(-7)),
                    (4, Value::Int(1)),
                    (5, Value::Int(1)),
                    (6, Value::Text("ann".into())),
                ],
            ),
            rec(2, 1, &[(0, Value::Int(1)), (1, Value::Int(51))]),
        ],
    };
    let seg_move = Segment {
        removed: vec![],
        changed: vec![rec(
            1,
            0,
            &[
                (1, Value::Int(27)),
                (2, Value::Int(-27)),
                (6, Value::Text("bo".into())),
            ],
        )],
        added: vec![],
    };
    let seg_leave = Segment {
        removed: vec![EntityId(2)],
        changed: vec![],
        added: vec![],
    };
    let seg_enter = Segment {
        removed: vec![],
        changed: vec![],
        added: vec![rec(9, 0, &[(0, Value::Int(2)), (3, Value::Int(64))])],
    };
    let event = |name: &str, payload| Event {
        name: name.into(),
        payload,
    };
    let snapshot = ServerMsg::Snapshot {
        tick: Tick(900),
        segments: vec![seg_keyframe.clone()],
        events: vec![event("your_turn", map(&[("deadline", Mp::from(1200))]))],
        acks: Acks {
            stepped: vec![],
            set: vec![(PlayerId(1), InputSeq(41))],
        },
    };
    let delta = ServerMsg::Delta {
        tick: Tick(901),
        base: Tick(900),
        segments: vec![seg_move.clone(), seg_leave.clone(), seg_enter.clone()],
        events: vec![event(
            "hit",
            map(&[
                ("target", Mp::from(2)),
                ("by", Mp::from(1)),
                ("hp", Mp::from(75)),
            ]),
        )],
        acks: Acks {
            stepped: vec![PlayerId(1)],
            set: vec![(PlayerId(2), InputSeq(0))],
        },
    };
    let empty_delta = ServerMsg::Delta {
        tick: Tick(1000),
        base: Tick(995),
        segments: vec![],
        events: vec![],
        acks: Acks::default(),
    };
    let servers: Vec<(&str, ServerMsg)> = vec![
        (
            "Welcome",
            ServerMsg::Welcome {
                player: PlayerId(2),
                room: RoomId(1),
                game: "shooter".into(),
                tick_rate: 30,
                on_change: false,
                tick: Tick(900),
                token: "1.2.00ff".into(),
                kinds: kinds(),
            },
        ),
        (
            "Watching",
            ServerMsg::Watching {
                room: RoomId(70000),
                game: "cards".into(),
                tick_rate: 10,
                on_change: true,
                tick: Tick(42),
                kinds: kinds(),
            },
        ),
        ("Snapshot", snapshot.clone()),
        ("Delta", delta.clone()),
        ("Delta, keep-alive after 5 quiet ticks", empty_delta),
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
                        name: "ann".into(),
                        connected: true,
                    },
                    RosterEntry {
                        player: PlayerId(2),
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
        (
            "CommandResult, accepted",
            ServerMsg::CommandResult {
                id: 3,
                refusal: None,
            },
        ),
        (
            "CommandResult, refused",
            ServerMsg::CommandResult {
                id: 4,
                refusal: Some(Refusal::new("not_your_turn", "wait for your turn")),
            },
        ),
        (
            "Ended",
            ServerMsg::Ended {
                result: map(&[("winner", Mp::from(2)), ("name", Mp::from("bo"))]),
            },
        ),
        (
            "Redirect with a seat ticket",
            ServerMsg::Redirect {
                url: "ws://10.0.0.2:8080/ws".into(),
                ticket: Some("9f86d081884c7d659a2feaa0c55ad015".into()),
            },
        ),
        (
            "Redirect for a reconnect",
            ServerMsg::Redirect {
                url: "ws://10.0.0.2:8080/ws".into(),
                ticket: None,
            },
        ),
    ];
    let mut messages: Vec<serde_json::Value> = clients
        .into_iter()
        .map(|(n, m)| entry(n, "client", encode(&m).expect("encodes")))
        .collect();
    messages.extend(
        servers
            .into_iter()
            .map(|(n, m)| entry(n, "server", encode(&m).expect("encodes"))),
    );
    // A replica case: keyframe, then a delta that moves, removes and adds (an entity entering
    // from another scope), checked against the Rust replica.
    let mut replica = Replica::new(kinds());
    let msgs = [snapshot, delta];
    for m in &msgs {
        replica.apply(m).expect("the golden messages apply");
    }
    let entities: Vec<serde_json::Value> = replica
        .entities()
        .iter()
        .map(|(id, e)| {
            let values: Vec<serde_json::Value> = e
                .values
                .iter()
                .map(|v| match v {
                    Value::Int(i) => serde_json::Value::from(*i),
                    Value::Text(t) => serde_json::Value::from(t.clone()),
                })
                .collect();
            serde_json::json!({ "id": id.0, "kind": e.kind, "values": values })
        })
        .collect();
    let acks: Vec<serde_json::Value> = replica
        .acks()
        .iter()
        .map(|(p, s)| serde_json::json!([p.0, s.0]))
        .collect();
    let kinds_bytes = encode(&kinds()).expect("encodes");
    let kinds_value =
        tickroom_shared::rmpv::decode::read_value(&mut kinds_bytes.as_slice()).expect("decodes");
    serde_json::json!({
        "protocol_version": tickroom_shared::PROTOCOL_VERSION,
        "messages": messages,
        "replica": [{
            "name": "keyframe, then a delta that moves, renames, removes and adds across scopes",
            "kinds": json(&kinds_value),
            "messages": msgs.iter().map(|m| hex(&encode(m).expect("encodes"))).collect::<Vec<_>>(),
            "expected": { "tick": replica.tick().map(|t| t.0), "entities": entities, "acks": acks },
        }],
    })
}

#[test]
fn golden_vectors_match_the_file() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/messages.json");
    let text = serde_json::to_string_pretty(&golden()).expect("serializes") + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).expect("golden file is writable");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "{} is stale: run `UPDATE_GOLDEN=1 cargo test -p tickroom-shared --test golden` and review the diff",
        path.display()
    );
}

#[test]
fn every_golden_server_message_decodes_back() {
    let g = golden();
    for m in g["messages"].as_array().expect("array") {
        let bytes: Vec<u8> = m["hex"]
            .as_str()
            .expect("hex")
            .split(' ')
            .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
            .collect();
        if m["direction"] == "server" {
            let msg: ServerMsg =
                tickroom_shared::decode(&bytes, &Default::default()).expect("decodes");
            assert_eq!(encode(&msg).expect("encodes"), bytes, "{}", m["name"]);
        } else {
            let msg: Client =
                tickroom_shared::decode(&bytes, &Default::default()).expect("decodes");
            assert_eq!(encode(&msg).expect("encodes"), bytes, "{}", m["name"]);
        }
    }
}

#[test]
fn protocol_md_shows_every_golden_message() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../PROTOCOL.md"),
    )
    .expect("PROTOCOL.md is readable");
    let g = golden();
    for m in g["messages"].as_array().expect("array") {
        let hex = m["hex"].as_str().expect("hex");
        assert!(
            doc.contains(hex),
            "PROTOCOL.md lacks the example of {} ({hex}); regenerate its tables from the golden file",
            m["name"]
        );
    }
}
