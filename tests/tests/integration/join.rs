//! Joining a room (quick match, create, by id, refusals) and the basic session traffic.

use serde_json::json;
use tickroom_server::Games;
use tickroom_shared::{ErrorCode, InputSeq, PlayerId, RoomId, RosterEntry, ServerMsg, Tick};
use tickroom_tests::games::{Bulky, Lab, LabInput};
use tickroom_tests::{http_json, start, start_lab, test_config, Client, Join};

/// A join gets `Welcome` at once, then at the next tick `Roster` and a `Snapshot` that already
/// holds the entities the game created for the joiner.
#[tokio::test]
async fn join_gets_welcome_then_roster_then_snapshot_with_its_own_entities() {
    let server = start_lab(test_config());
    let c = Client::join(&server, Join::quick("ann")).await;
    let w = c.welcomed().clone();
    assert_eq!((w.player, w.room), (PlayerId(1), RoomId(1)));
    assert_eq!(
        (w.game.as_str(), w.tick_rate, w.on_change),
        ("lab", 30, false)
    );
    assert!(
        w.token.starts_with("1.1."),
        "token names room and player: {}",
        w.token
    );
    let names: Vec<&str> = w.kinds.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["avatar", "secret", "marker", "badge"]);
    let info = http_json(&server, "/api/info");
    assert_eq!(
        serde_json::to_value(&w.kinds).expect("kinds serialize"),
        info["games"][0]["kinds"],
        "the welcome's kinds are the ones /api/info lists"
    );

    assert!(matches!(c.log[0], ServerMsg::Welcome { .. }), "{:?}", c.log);
    assert!(matches!(c.log[1], ServerMsg::Roster { .. }), "{:?}", c.log);
    let ServerMsg::Snapshot { tick, .. } = &c.log[2] else {
        panic!("the third message is the Snapshot: {:?}", c.log);
    };
    assert!(
        *tick > w.tick,
        "the Snapshot is at a later tick than the welcome"
    );
    assert_eq!(c.log.len(), 3);
    assert_eq!(
        c.roster,
        [RosterEntry {
            player: PlayerId(1),
            name: "ann".into(),
            connected: true
        }]
    );
    let avatar = c
        .find_one("avatar", "owner", 1)
        .expect("own avatar in the Snapshot");
    assert_eq!(c.replica.int(avatar, "x"), Some(10));
    assert!(
        c.find_one("secret", "owner", 1).is_some(),
        "own secret in the Snapshot"
    );
    assert!(c.replica.acks().is_empty());
}

/// Inputs move the avatar and the ack shows the last applied `seq`; a stale `seq` is dropped.
#[tokio::test]
async fn inputs_move_the_avatar_and_are_acked() {
    let server = start_lab(test_config());
    let mut c = Client::join(&server, Join::quick("bo")).await;
    let me = c.player();
    let avatar = c.find_one("avatar", "owner", 1).expect("own avatar");
    let x0 = c.replica.int(avatar, "x").expect("x");
    let mut last = InputSeq(0);
    for _ in 0..5 {
        last = c.input(LabInput { dx: 1, dy: 0 }).await;
    }
    c.until(|c| c.replica.ack(me) == last).await;
    let stop = c.input(LabInput::default()).await;
    c.until(|c| c.replica.ack(me) == stop).await;
    let x1 = c.replica.int(avatar, "x").expect("x");
    assert!(x1 > x0, "walked from {x0} to {x1}");
    // A stale sequence number (3 <= 6) is dropped silently: no walk, no ack.
    c.send(&tickroom_shared::ClientMsg::<LabInput, ()>::Input {
        seq: InputSeq(3),
        input: LabInput { dx: -1, dy: 0 },
    })
    .await;
    c.ticks(5).await;
    assert_eq!(c.replica.int(avatar, "x"), Some(x1), "standing still");
    assert_eq!(c.replica.ack(me), stop);
    c.assert_clean();
}

/// A ping gets a pong with its echo: the room's tick when seated, 0 before.
#[tokio::test]
async fn ping_gets_pong_with_the_rooms_tick() {
    let server = start_lab(test_config());
    let mut c = Client::connect(&server).await;
    c.ping(7).await;
    c.until(|c| !c.pongs.is_empty()).await;
    assert_eq!(c.pongs[0], (7, Tick(0)));
    c.try_join(Join::quick("cy")).await.expect("joins");
    let at = c.tick();
    c.ping(424_242).await;
    c.until(|c| c.pongs.len() == 2).await;
    assert_eq!(c.pongs[1].0, 424_242);
    assert!(
        c.pongs[1].1 >= at,
        "the pong's tick {:?} is the room's",
        c.pongs[1].1
    );
}

/// A chat line reaches everyone including its sender, cleaned of format characters; a line of
/// 256 bytes passes, a longer one gets `Error` 1 and the connection stays open.
#[tokio::test]
async fn chat_reaches_everyone_and_long_lines_are_refused() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let mut b = Client::join(&server, Join::quick("bob")).await;
    b.chat("hel\u{202e}lo").await;
    let line = (b.player(), "bob".to_owned(), "hello".to_owned());
    a.until(|c| !c.chats.is_empty()).await;
    b.until(|c| !c.chats.is_empty()).await;
    assert_eq!(a.chats, std::slice::from_ref(&line));
    assert_eq!(b.chats, [line]);

    // 256 bytes after cleaning are fine (the format characters do not count); 257 are not.
    b.chat(&format!("{}\u{200b}", "é".repeat(128))).await;
    a.until(|c| c.chats.len() == 2).await;
    assert_eq!(a.chats[1].2.len(), 256);
    b.chat(&"x".repeat(257)).await;
    b.until(|c| !c.errors.is_empty()).await;
    assert_eq!(b.errors[0].0, ErrorCode::BadRequest);
    b.chat("still here").await;
    a.until(|c| c.chats.len() == 3).await;
    assert_eq!(
        a.chats[2].2, "still here",
        "the refused line reached nobody"
    );
}

/// Names are trimmed, stripped of control and format characters and cut to 32 bytes at a
/// character boundary; an empty result becomes `player`.
#[tokio::test]
async fn names_are_cleaned() {
    let server = start_lab(test_config());
    let a = Client::join(&server, Join::quick(" a\u{7}n\u{200b}n\u{202e} ")).await;
    let b = Client::join(&server, Join::quick(&"é".repeat(40))).await;
    let mut c = Client::join(&server, Join::quick(" \u{200b} ")).await;
    let _ = (a, b);
    c.until(|c| c.roster.len() == 3).await;
    let names: Vec<&str> = c.roster.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["ann", "é".repeat(16).as_str(), "player"]);
}

/// `create` opens a new room even when another has a free seat; a room id joins that room;
/// quick match picks the fullest room.
#[tokio::test]
async fn create_by_id_and_quick_match_choose_the_right_room() {
    let server = start_lab(test_config());
    let a = Client::join(&server, Join::quick("a")).await;
    let b = Client::join(&server, Join::create("b")).await;
    let c = Client::join(&server, Join::room("c", RoomId(2))).await;
    let d = Client::join(&server, Join::quick("d")).await;
    let rooms: Vec<RoomId> = [&a, &b, &c, &d].iter().map(|c| c.room()).collect();
    assert_eq!(rooms, [RoomId(1), RoomId(2), RoomId(2), RoomId(2)]);
    assert_eq!((c.player(), d.player()), (PlayerId(2), PlayerId(3)));
}

/// An unknown game is refused with `UnknownGame`; the client may then join on the same
/// connection; a join by room id ignores the game name.
#[tokio::test]
async fn unknown_game_is_refused_and_the_client_may_retry() {
    let server = start_lab(test_config());
    let mut c = Client::connect(&server).await;
    assert_eq!(
        c.refused_join(Join::quick("x").game("chess")).await,
        ErrorCode::UnknownGame
    );
    assert_eq!(
        c.refused_join(Join::create("x").game("chess")).await,
        ErrorCode::UnknownGame
    );
    c.try_join(Join::quick("x").game("lab"))
        .await
        .expect("joins after refusals");
    assert_eq!(c.welcomed().game, "lab");
    // With a room id, the game name is ignored.
    let by_id = Client::join(&server, Join::room("y", c.room()).game("chess")).await;
    assert_eq!(by_id.welcomed().game, "lab");
}

/// Without a game name, joins play the first game registered, which `/api/info` names.
#[tokio::test]
async fn the_default_game_is_the_first_registered() {
    let server = start(test_config(), Games::new().with::<Lab>().with::<Bulky>());
    let info = http_json(&server, "/api/info");
    assert_eq!(info["default_game"], "lab");
    let games: Vec<&str> = info["games"]
        .as_array()
        .expect("games is an array")
        .iter()
        .map(|g| g["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(games, ["lab", "bulky"]);
    let c = Client::join(&server, Join::quick("x")).await;
    assert_eq!(c.welcomed().game, "lab");
}

/// The game may refuse a joiner (`Refused`, with the game's reason), and options the game
/// cannot read are a `BadRequest`.
#[tokio::test]
async fn game_refusals_and_bad_options_are_errors() {
    let server = start_lab(test_config());
    let mut c = Client::connect(&server).await;
    match c.try_join(Join::quick("banned bob")).await {
        Err((code, message)) => {
            assert_eq!(code, ErrorCode::Refused);
            assert!(message.contains("does not admit"), "{message}");
        }
        Ok(()) => panic!("a banned name was admitted"),
    }
    let bad = Join::create("x").options(json!({"mode": 5}));
    assert_eq!(c.refused_join(bad).await, ErrorCode::BadRequest);
    c.try_join(Join::quick("bob"))
        .await
        .expect("joins after refusals");
}
