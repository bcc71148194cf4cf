//! Recordings (`--record`) of real rooms of every bundled game, played over sockets: each
//! replays to every recorded state hash, a changed input fails the check, and `/api/replays`
//! lists them and serves a spectator's playback that never holds a private card.

use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tickroom_games::arena::ArenaInput;
use tickroom_games::shooter::ShooterInput;
use tickroom_server::recording::{encode_header, Entry, Recording, Tail};
use tickroom_server::replay::ReplayError;
use tickroom_server::ServerHandle;
use tickroom_shared::{rmpv, ClientMsg, PlayerId, Replica, ServerMsg};
use tickroom_tests::{eventually, http_json, start, test_config, Client, Join};

/// A fresh folder under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "tickroom-{what}-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Only a leftover in the temporary directory if it fails.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server of every bundled game recording into `dir`, whose empty rooms close at once.
fn recording_server(dir: &Path) -> ServerHandle {
    let mut config = test_config();
    config.record = Some(dir.to_owned());
    config.record_hash_every = 5;
    config.empty_room_grace = Duration::from_millis(100);
    config.reconnect_grace = Duration::from_secs(5);
    start(config, tickroom_games::all())
}

/// Two arena players walking about for 60 ticks; one drops and comes back on its token.
async fn play_arena(server: &ServerHandle) {
    let mut a = Client::join(server, Join::quick("ann")).await;
    let mut b = Client::join(server, Join::room("bob", a.room())).await;
    for t in 0..60i8 {
        a.input(ArenaInput {
            dx: t % 3 - 1,
            dy: 1,
        })
        .await;
        b.input(ArenaInput {
            dx: 1,
            dy: (t / 7) % 3 - 1,
        })
        .await;
        a.ticks(1).await;
        b.ticks(1).await;
    }
    let token = b.welcomed().token.clone();
    drop(b);
    a.ticks(5).await;
    let mut b = Client::join(server, Join::resume(&token)).await;
    b.input(ArenaInput { dx: -1, dy: -1 }).await;
    b.ticks(10).await;
    a.leave().await;
    b.leave().await;
}

/// The cards table as a client sees it: whose turn, the top card and the suit to follow.
fn table(c: &Client) -> (PlayerId, i64, i64) {
    let (id, _) = c.replica.of_kind("table").next().expect("a table");
    let get = |f| c.replica.int(id, f).expect("a table field");
    (PlayerId(get("turn") as u32), get("top"), get("suit"))
}

/// A legal move: the first playable card (an eight names clubs), else a draw.
fn choose(c: &Client) -> serde_json::Value {
    let (_, top, suit) = table(c);
    let hand = c
        .replica
        .of_kind("card")
        .filter_map(|(id, _)| c.replica.int(id, "card"));
    let legal = |card: &i64| card % 13 == 7 || card % 13 == top % 13 || card / 13 == suit;
    match hand.filter(legal).min() {
        Some(card) if card % 13 == 7 => json!({"type": "play", "card": card, "suit": 0}),
        Some(card) => json!({"type": "play", "card": card}),
        None => json!({"type": "draw"}),
    }
}

/// Three cards players: a start and 15 turns of plays and draws (a refused command too).
async fn play_cards(server: &ServerHandle) {
    let mut players = Vec::new();
    let first = Client::join(server, Join::create("ann").game("cards")).await;
    let room = first.room();
    players.push(first);
    for name in ["bob", "cy"] {
        players.push(Client::join(server, Join::room(name, room).game("cards")).await);
    }
    players[0].apply(json!({"type": "start"})).await;
    for c in players.iter_mut() {
        c.until(|c| c.replica.of_kind("card").count() > 0).await;
    }
    for turn in 0..15 {
        let (whose, _, _) = table(&players[0]);
        let Some(i) = players.iter().position(|c| c.player() == whose) else {
            break;
        };
        if turn == 3 {
            // Someone out of turn: refused, and recorded all the same.
            let other = (i + 1) % players.len();
            let refused = players[other].call(json!({"type": "draw"})).await;
            assert!(refused.is_some());
        }
        let command = choose(&players[i]);
        let id = players[i].command(command).await;
        if players[i].result_of(id).await.is_some() {
            break;
        }
        let t = players[i].tick();
        for c in players.iter_mut() {
            c.until(|c| c.tick() > t).await;
        }
    }
    for c in players.iter_mut() {
        c.leave().await;
    }
}

/// Two shooter ships moving, aiming and firing for 60 ticks.
async fn play_shooter(server: &ServerHandle) {
    let mut a = Client::join(server, Join::quick("ann").game("shooter")).await;
    let mut b = Client::join(server, Join::room("bob", a.room()).game("shooter")).await;
    for t in 0..60u8 {
        a.input(ShooterInput {
            dx: 1,
            dy: 0,
            aim: t.wrapping_mul(4),
            fire: t % 2 == 0,
        })
        .await;
        b.input(ShooterInput {
            dx: -1,
            dy: (t % 3) as i8 - 1,
            aim: 128,
            fire: true,
        })
        .await;
        a.ticks(1).await;
        b.ticks(1).await;
    }
    a.leave().await;
    b.leave().await;
}

/// The recordings the server lists, by game, once every room closed.
async fn finished(server: &ServerHandle, games: usize) -> BTreeMap<String, serde_json::Value> {
    let mut listed = BTreeMap::new();
    eventually("every room's recording is finished", || {
        let list = http_json(server, "/api/replays");
        let all = list.as_array().expect("a list").clone();
        listed = all
            .iter()
            .map(|r| (r["game"].as_str().unwrap_or("").to_owned(), r.clone()))
            .collect();
        all.len() == games && all.iter().all(|r| r["complete"] == json!(true))
    })
    .await;
    listed
}

/// The file with one input of the recording changed: bob's last arena input, `[-1, -1]` (in
/// force for ten ticks before he leaves, so a hash sees it; an earlier input may be replaced by
/// the next one within the same tick), becomes `[1, -1]`.
fn with_one_input_changed(bytes: &[u8]) -> Vec<u8> {
    let rec = Recording::parse(bytes).expect("a recording");
    let mut out = encode_header(&rec.header);
    let mut entries = rec.entries();
    let mut changed = false;
    while let Some(entry) = entries.next_entry().expect("whole") {
        let mut message = None;
        if let (Entry::Input { message: m, .. }, false) = (entry, changed) {
            let msg: ClientMsg<rmpv::Value, rmpv::Value> =
                tickroom_shared::decode(m, &Default::default()).expect("an input");
            if let ClientMsg::Input { seq, input } = msg {
                // `ArenaInput` as `[dx, dy]`, the way serde writes a struct to MessagePack.
                let up_left = rmpv::Value::Array(vec![(-1).into(), (-1).into()]);
                if input == up_left {
                    let up_right = rmpv::Value::Array(vec![1.into(), (-1).into()]);
                    let msg: ClientMsg<_, ()> = ClientMsg::Input {
                        seq,
                        input: up_right,
                    };
                    message = Some(tickroom_shared::encode(&msg).expect("encodes"));
                    changed = true;
                }
            }
        }
        match (&message, entry) {
            (Some(m), Entry::Input { player, .. }) => {
                Entry::Input { player, message: m }.encode(&mut out)
            }
            _ => entry.encode(&mut out),
        }
    }
    assert!(changed, "bob's last input was recorded");
    out
}

/// Every bundled game: a recorded room replays to every recorded hash; the arena one with one
/// input changed does not; the playbacks are spectators' views (cards: no hand's card in any
/// frame) that a replica applies from end to end.
#[tokio::test]
async fn every_bundled_game_replays_to_its_recorded_hashes() {
    let dir = TempDir::new("replays");
    let server = recording_server(&dir.0);
    assert_eq!(http_json(&server, "/api/replays"), json!([]));
    play_arena(&server).await;
    play_cards(&server).await;
    play_shooter(&server).await;
    let listed = finished(&server, 3).await;
    let games = tickroom_games::all();
    for (game, listing) in &listed {
        let name = listing["name"].as_str().expect("a name");
        let bytes = std::fs::read(dir.0.join(name)).expect("the file is in the folder");
        let rec = Recording::parse(&bytes).expect("a recording");
        let verified = games
            .get(game)
            .expect("a bundled game")
            .verify(&rec)
            .unwrap_or_else(|e| panic!("{game}: {e}"));
        assert_eq!(verified.tail, Tail::Ended, "{game}");
        assert!(verified.hashes >= 3, "{game}: {verified:?}");
        assert_eq!(listing["ticks"], json!(verified.ticks), "{game}");

        // The playback: applied from its first keyframe on, tick after tick, without a gap.
        let url = format!("http://{}/api/replays/{name}", server.addr);
        let body = ureq::get(&url)
            .call()
            .expect("served")
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .expect("a body");
        let stream = rmpv::decode::read_value(&mut body.as_slice()).expect("MessagePack");
        let field = |k: &str| {
            stream
                .as_map()
                .and_then(|m| m.iter().find(|(key, _)| key.as_str() == Some(k)))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{game}: no {k}"))
        };
        let msg = |v: &rmpv::Value| -> ServerMsg {
            tickroom_shared::decode(v.as_slice().expect("binary"), &Default::default())
                .expect("a server message")
        };
        let ServerMsg::Watching { kinds, .. } = msg(&field("watching")) else {
            panic!("{game}: a watching first")
        };
        let card = kinds.iter().position(|k| k.name == "card");
        let mut replica = Replica::new(kinds.clone());
        let first = field("keyframes").as_array().expect("keyframes")[0].clone();
        replica
            .apply(&msg(&first.as_array().expect("a keyframe")[2]))
            .expect("the first keyframe applies");
        let ticks = field("ticks");
        let ticks = ticks.as_array().expect("ticks");
        let mut most_hands = 0;
        assert_eq!(ticks.len() as u64, verified.ticks, "{game}");
        for (i, frames) in ticks.iter().enumerate() {
            for f in frames.as_array().expect("frames") {
                let m = msg(f);
                if let (ServerMsg::Delta { segments, .. }, Some(card)) = (&m, card) {
                    let cards = segments.iter().flat_map(|s| &s.added);
                    assert!(
                        cards.filter(|r| usize::from(r.kind) == card).count() == 0,
                        "a hand's card in the playback at tick {}",
                        i + 1
                    );
                }
                if i > 0 {
                    replica
                        .apply(&m)
                        .unwrap_or_else(|e| panic!("{game} tick {}: {e:?}", i + 1));
                }
            }
            most_hands = most_hands.max(replica.of_kind("hand").count());
        }
        assert_eq!(replica.tick().map(|t| t.0), Some(verified.ticks), "{game}");
        if game == "cards" {
            assert_eq!(replica.of_kind("card").count(), 0);
            assert_eq!(most_hands, 3, "every hand's size is public");
        }

        if game == "arena" {
            let tampered = with_one_input_changed(&bytes);
            let rec = Recording::parse(&tampered).expect("still a recording");
            let result = games.get(game).expect("arena").verify(&rec);
            assert!(
                matches!(result, Err(ReplayError::Diverged { .. })),
                "a changed input must fail the check: {result:?}"
            );
        }
    }
}

/// Names that are not a recording's are refused before the disk is touched; unknown ones are
/// 404; without `--record` the list is empty.
#[tokio::test]
async fn replay_names_are_checked() {
    let dir = TempDir::new("replay-names");
    let server = recording_server(&dir.0);
    let status = |path: &str| match ureq::get(&format!("http://{}{path}", server.addr)).call() {
        Ok(r) => r.status().as_u16(),
        Err(ureq::Error::StatusCode(code)) => code,
        Err(e) => panic!("{path}: {e}"),
    };
    assert_eq!(status("/api/replays/nothing-here.trec"), 404);
    assert_eq!(status("/api/replays/..%2Fsecret.trec"), 400);
    assert_eq!(status("/api/replays/passwd"), 400);
    std::fs::create_dir_all(&dir.0).expect("a folder");
    std::fs::write(dir.0.join("junk.trec"), b"not msgpack").expect("written");
    assert_eq!(status("/api/replays/junk.trec"), 422);
    assert_eq!(
        http_json(&server, "/api/replays"),
        json!([]),
        "junk is not listed"
    );
    let plain = start(test_config(), tickroom_games::all());
    assert_eq!(http_json(&plain, "/api/replays"), json!([]));
}
