//! Spectators (PROTOCOL.md, "Spectators"): no seat, what the game shows them and nothing
//! private, the same tick stream as a player otherwise, their own limit, and what they may send.

use serde_json::json;
use std::time::Duration;
use tickroom_server::Config;
use tickroom_shared::{ErrorCode, Replica, RoomId, ServerMsg};
use tickroom_tests::{eventually, http_json, start_lab, test_config, Client, Join, Msg};

/// The room's entry in `/api/rooms`.
fn listed(server: &tickroom_server::ServerHandle, room: RoomId) -> serde_json::Value {
    http_json(server, "/api/rooms")
        .as_array()
        .expect("a list")
        .iter()
        .find(|r| r["id"] == room.0)
        .cloned()
        .expect("the room is listed")
}

/// Owners of every `secret` in a replica (each player's private scope).
fn secrets(replica: &Replica) -> Vec<i64> {
    replica
        .of_kind("secret")
        .map(|(id, _)| replica.int(id, "owner").expect("an owner"))
        .collect()
}

/// A spectator takes no seat and is not in the roster, sees everyone's scope and every occupied
/// cell by default, never a player's own scope or a group, and follows the room tick by tick
/// with the players' acks; a fresh spectator's Snapshot equals what the first one holds.
#[tokio::test]
async fn a_spectator_sees_the_public_state_without_a_seat() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let room = a.room();
    let mut b = Client::join(&server, Join::room("bob", room)).await;
    a.apply(json!({"type": "secret", "value": 41})).await;
    a.apply(json!({"type": "group", "group": 3, "member": true}))
        .await;
    a.apply(json!({"type": "badge", "group": 3, "value": 1, "note": "team"}))
        .await;
    // Two markers in cells far apart: a spectator sees both (no player sees both).
    a.apply(json!({"type": "mark", "label": 1, "x": 50, "y": 50}))
        .await;
    a.apply(json!({"type": "mark", "label": 2, "x": 5050, "y": 5050}))
        .await;

    let mut s = Client::watch(&server, room).await;
    assert_eq!(s.watching, Some((room, "lab".to_owned())));
    assert_eq!(s.trail[0].0, "Watching", "Watching comes first");
    let first_tick = s.trail.iter().position(|(name, _)| *name == "Snapshot");
    let roster = s.trail.iter().position(|(name, _)| *name == "Roster");
    assert!(
        roster < first_tick,
        "the roster precedes the first Snapshot"
    );
    let names: Vec<&str> = s.roster.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["ann", "bob"], "spectators are not in the roster");
    assert_eq!(s.replica.of_kind("avatar").count(), 2);
    assert_eq!(
        s.replica.of_kind("marker").count(),
        2,
        "every occupied cell"
    );
    assert!(secrets(&s.replica).is_empty(), "no player's own scope");
    assert_eq!(s.replica.of_kind("badge").count(), 0, "no group by default");

    let entry = listed(&server, room);
    assert_eq!(
        (entry["players"].as_u64(), entry["spectators"].as_u64()),
        (Some(2), Some(1))
    );

    // Inputs move avatars; the spectator follows every tick, acks included.
    let seq = b.input(json!({"dx": 1, "dy": 0})).await;
    let bob = b.player();
    s.until(|c| c.replica.ack(bob) == seq).await;
    s.ticks(5).await;
    b.ticks(5).await;
    let bob_avatar = s
        .find_one("avatar", "owner", i64::from(bob.0))
        .expect("bob's avatar");
    s.until_tick(b.tick()).await;
    assert!(s.replica.int(bob_avatar, "x").expect("x") > 0, "bob walked");

    // While bob walks, a second spectator's first Snapshot is exactly the state the first
    // spectator held at that tick (entities and acks).
    s.history = Some(std::collections::BTreeMap::new());
    let mut t = Client::watch(&server, room).await;
    let at = t.tick();
    s.until_tick(at).await;
    let then = &s.history.as_ref().expect("kept")[&at];
    assert_eq!(then.entities(), t.replica.entities());
    assert_eq!(then.acks(), t.replica.acks());
    b.input(json!({"dx": 0, "dy": 0})).await;
    t.ticks(2).await;
    assert!(secrets(&t.replica).is_empty());
    eventually("two spectators listed", || {
        listed(&server, room)["spectators"] == 2
    })
    .await;

    // Nothing private was ever sent to a spectator, in any frame.
    let secret = a
        .welcomed()
        .kinds
        .iter()
        .position(|k| k.name == "secret")
        .expect("the lab declares secrets") as u16;
    for spectator in [&s, &t] {
        for msg in &spectator.log {
            if let ServerMsg::Delta { segments, .. } | ServerMsg::Snapshot { segments, .. } = msg {
                for record in segments.iter().flat_map(|seg| &seg.added) {
                    assert_ne!(record.kind, secret, "a secret reached a spectator");
                }
            }
        }
        spectator.assert_clean();
    }
    a.assert_clean();
    b.assert_clean();
    t.leave().await;
    assert_eq!(t.until_closed().await.map(|c| c.0), Some(1000));
    eventually("the leaver is uncounted", || {
        listed(&server, room)["spectators"] == 1
    })
    .await;
}

/// The game chooses what spectators see: cells around one point, no cell, every cell again, and
/// groups it shows them; events go to them by scope like to players.
#[tokio::test]
async fn the_game_chooses_what_spectators_see() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let room = a.room();
    a.apply(json!({"type": "mark", "label": 1, "x": 50, "y": 50}))
        .await;
    a.apply(json!({"type": "mark", "label": 2, "x": 5050, "y": 5050}))
        .await;
    a.apply(json!({"type": "badge", "group": 3, "value": 1, "note": "hidden"}))
        .await;
    let mut s = Client::watch(&server, room).await;
    let labels = |c: &Client| -> Vec<i64> {
        let mut l: Vec<i64> = c
            .replica
            .of_kind("marker")
            .map(|(id, _)| c.replica.int(id, "label").expect("a label"))
            .collect();
        l.sort_unstable();
        l
    };
    assert_eq!(labels(&s), [1, 2]);

    a.apply(json!({"type": "spectator_view", "at": [5000, 5000]}))
        .await;
    s.until(|c| labels(c) == [2]).await;
    a.apply(json!({"type": "spectator_view", "at": null, "blind": true}))
        .await;
    s.until(|c| labels(c).is_empty()).await;
    a.apply(json!({"type": "spectator_view", "at": null})).await;
    s.until(|c| labels(c) == [1, 2]).await;

    a.apply(json!({"type": "show_group", "group": 3, "shown": true}))
        .await;
    s.until(|c| c.replica.of_kind("badge").count() == 1).await;
    a.apply(json!({"type": "show_group", "group": 3, "shown": false}))
        .await;
    s.until(|c| c.replica.of_kind("badge").count() == 0).await;

    a.apply(json!({"type": "emit", "names": ["me:private", "public"]}))
        .await;
    s.until(|c| !c.events_named("public").is_empty()).await;
    s.ticks(3).await;
    assert!(
        s.events_named("me:private").is_empty(),
        "a player's event stays its own"
    );
    s.assert_clean();
    a.assert_clean();
}

/// A spectator sends no input, command or chat (4005 each), may ping, resync and leave, and may
/// not join while watching; a full room still takes spectators.
#[tokio::test]
async fn what_a_spectator_may_send() {
    let server = start_lab(Config {
        room_capacity: Some(1),
        ..test_config()
    });
    let a = Client::join(&server, Join::quick("ann")).await;
    let room = a.room();
    let mut full = Client::connect(&server).await;
    assert_eq!(
        full.refused_join(Join::room("bo", room)).await,
        ErrorCode::RoomFull
    );

    let mut s = Client::watch(&server, room).await;
    s.ping(77).await;
    s.until(|c| !c.pongs.is_empty()).await;
    assert_eq!(s.pongs[0].0, 77);
    assert!(s.pongs[0].1 .0 > 0, "the pong carries the room's tick");
    let snapshots = s.snapshots.len();
    s.resync().await;
    s.until(|c| c.snapshots.len() > snapshots).await;

    let closes = [
        Msg::Input {
            seq: tickroom_shared::InputSeq(1),
            input: tickroom_shared::rmpv::Value::Nil,
        },
        Msg::Command {
            id: 1,
            command: tickroom_shared::rmpv::Value::Nil,
        },
        Msg::Chat { text: "hi".into() },
        Join::quick("again").msg(),
        Msg::Watch { version: 2, room },
    ];
    for msg in closes {
        let mut s = Client::watch(&server, room).await;
        s.send(&msg).await;
        let (code, reason) = s.until_closed().await.expect("a close frame");
        assert_eq!(code, 4005, "{msg:?}: {reason}");
    }

    s.leave().await;
    assert_eq!(s.until_closed().await, Some((1000, "left".to_owned())));
}

/// The per-room limit: `--max-spectators` (0: nobody may watch) answers `SpectatorsFull` with
/// the connection left open, which may then join; unknown rooms are `RoomNotFound`.
#[tokio::test]
async fn spectators_have_their_own_limit() {
    let server = start_lab(Config {
        max_spectators: 2,
        ..test_config()
    });
    let a = Client::join(&server, Join::quick("ann")).await;
    let room = a.room();
    let _s1 = Client::watch(&server, room).await;
    let _s2 = Client::watch(&server, room).await;
    let mut third = Client::connect(&server).await;
    let (code, message) = third.try_watch(room).await.expect_err("over the limit");
    assert_eq!(code, ErrorCode::SpectatorsFull, "{message}");
    assert_eq!(
        third
            .try_watch(RoomId(999))
            .await
            .expect_err("no such room")
            .0,
        ErrorCode::RoomNotFound
    );
    // Still open: it takes a seat instead.
    third
        .try_join(Join::room("bob", room))
        .await
        .expect("a seat");
    let detail = http_json(&server, &format!("/api/admin/rooms/{}", room.0));
    assert_eq!(
        (
            detail["spectators"].as_u64(),
            detail["max_spectators"].as_u64()
        ),
        (Some(2), Some(2))
    );

    let closed = start_lab(Config {
        max_spectators: 0,
        ..test_config()
    });
    let b = Client::join(&closed, Join::quick("ann")).await;
    let mut s = Client::connect(&closed).await;
    let (code, message) = s.try_watch(b.room()).await.expect_err("nobody may watch");
    assert_eq!(code, ErrorCode::SpectatorsFull);
    assert!(message.contains("no spectators"), "{message}");
}

/// Spectators get `Ended` then 1000 when the game ends the room, and the room's close when its
/// last player leaves: they do not keep a room open.
#[tokio::test]
async fn spectators_follow_the_rooms_end() {
    let server = start_lab(Config {
        empty_room_grace: Duration::ZERO,
        ..test_config()
    });
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let mut s = Client::watch(&server, a.room()).await;
    a.command(json!({"type": "end"})).await;
    let close = s.until_closed().await;
    assert!(s.ended.is_some(), "Ended reached the spectator");
    assert_eq!(close.map(|c| c.0), Some(1000));

    let mut b = Client::join(&server, Join::quick("bob")).await;
    let room = b.room();
    let mut s = Client::watch(&server, room).await;
    b.leave().await;
    let close = s.until_closed().await;
    assert_eq!(
        close.map(|c| c.0),
        Some(1000),
        "the room closed without players"
    );
    let mut late = Client::connect(&server).await;
    assert_eq!(
        late.try_watch(room).await.expect_err("closed").0,
        ErrorCode::RoomNotFound
    );
}
