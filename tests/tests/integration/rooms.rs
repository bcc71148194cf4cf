//! Rooms: seeing each other, leaving, capacity, the room list, metadata and locks, reconnecting.

use serde_json::json;
use std::time::Duration;
use tickroom_shared::{ErrorCode, InputSeq, PlayerId, RoomId, ServerMsg};
use tickroom_tests::games::LabInput;
use tickroom_tests::{eventually, http_get, http_json, start_lab, test_config, Client, Join};

/// Two clients in one room see each other's avatar; a `Leave` closes with 1000 and removes the
/// leaver's entities and roster entry for the other.
#[tokio::test]
async fn two_clients_see_each_other_and_leave_removes() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let mut b = Client::join(&server, Join::room("bob", a.room())).await;
    a.until(|c| c.find_one("avatar", "owner", 2).is_some() && c.roster.len() == 2)
        .await;
    assert!(
        b.find_one("avatar", "owner", 1).is_some(),
        "the joiner's Snapshot has ann"
    );
    b.leave().await;
    assert_eq!(b.until_closed().await.map(|c| c.0), Some(1000));
    a.until(|c| c.find_one("avatar", "owner", 2).is_none() && c.roster.len() == 1)
        .await;
    assert_eq!(a.roster[0].player, PlayerId(1));
    a.assert_clean();
}

/// Quick match fills a room to capacity, then opens a new one; `/api/rooms` lists both.
#[tokio::test]
async fn quick_match_fills_then_opens_a_new_room() {
    let mut config = test_config();
    config.room_capacity = Some(3);
    let server = start_lab(config);
    let mut clients = Vec::new();
    for i in 0..4 {
        clients.push(Client::join(&server, Join::quick(&format!("p{i}"))).await);
    }
    let rooms: Vec<RoomId> = clients.iter().map(Client::room).collect();
    assert_eq!(rooms, [RoomId(1), RoomId(1), RoomId(1), RoomId(2)]);
    let list = http_json(&server, "/api/rooms");
    assert_eq!(
        list,
        json!([
            {"id": 1, "game": "lab", "players": 3, "capacity": 3, "spectators": 0, "tick_rate": 30,
             "on_change": false, "locked": false, "metadata": {}},
            {"id": 2, "game": "lab", "players": 1, "capacity": 3, "spectators": 0, "tick_rate": 30,
             "on_change": false, "locked": false, "metadata": {}},
        ])
    );
}

/// Joining a full room by id, or a room that does not exist, is refused.
#[tokio::test]
async fn full_and_missing_rooms_are_refused() {
    let mut config = test_config();
    config.room_capacity = Some(1);
    let server = start_lab(config);
    let _a = Client::join(&server, Join::quick("ann")).await;
    let mut c = Client::connect(&server).await;
    assert_eq!(
        c.refused_join(Join::room("x", RoomId(1))).await,
        ErrorCode::RoomFull
    );
    assert_eq!(
        c.refused_join(Join::room("x", RoomId(99))).await,
        ErrorCode::RoomNotFound
    );
}

/// At the server's room limit, joins that need a new room get `ServerFull`; joins into an
/// existing room still work.
#[tokio::test]
async fn the_room_limit_refuses_new_rooms_with_server_full() {
    let mut config = test_config();
    config.max_rooms = 1;
    let server = start_lab(config);
    let a = Client::join(&server, Join::quick("ann")).await;
    let mut c = Client::connect(&server).await;
    assert_eq!(
        c.refused_join(Join::create("x")).await,
        ErrorCode::ServerFull
    );
    c.try_join(Join::quick("x"))
        .await
        .expect("joins the open room");
    assert_eq!(c.room(), a.room());
}

/// An empty room closes after the grace period and leaves the room list.
#[tokio::test]
async fn empty_room_closes_after_grace() {
    let mut config = test_config();
    config.empty_room_grace = Duration::from_millis(200);
    config.reconnect_grace = Duration::ZERO;
    let server = start_lab(config);
    let mut a = Client::join(&server, Join::quick("ann")).await;
    a.leave().await;
    a.until_closed().await;
    eventually("the room left the list", || {
        http_get(&server, "/api/rooms").trim() == "[]"
    })
    .await;
}

/// A dropped connection holds the seat (entities stay, roster says disconnected); the token
/// resumes the same player with a new welcome, a new token, the roster and a Snapshot whose ack
/// for the player is 0; the used token is refused.
#[tokio::test]
async fn reconnect_token_resumes_the_seat_once() {
    let server = start_lab(test_config());
    let mut watcher = Client::join(&server, Join::quick("watcher")).await;
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let (me, room, token) = (a.player(), a.room(), a.welcomed().token.clone());
    let avatar = a
        .find_one("avatar", "owner", i64::from(me.0))
        .expect("own avatar");
    for _ in 0..3 {
        a.input(LabInput { dx: 1, dy: 0 }).await;
    }
    a.until(|c| c.replica.ack(me) == InputSeq(3)).await;
    drop(a); // abnormal disconnect: no Leave

    watcher
        .until(|c| c.roster.iter().any(|r| r.player == me && !r.connected))
        .await;
    // The default input was applied: the avatar stops, and stays.
    watcher.ticks(2).await;
    let x = watcher.replica.int(avatar, "x");
    watcher.ticks(3).await;
    assert_eq!(
        watcher.replica.int(avatar, "x"),
        x,
        "a held seat's avatar stands still"
    );

    let mut b = Client::join(&server, Join::resume(&token)).await;
    let w = b.welcomed();
    assert_eq!((w.player, w.room), (me, room));
    assert_ne!(w.token, token, "tokens are single use");
    assert!(matches!(b.log[0], ServerMsg::Welcome { .. }), "{:?}", b.log);
    assert!(matches!(b.log[1], ServerMsg::Roster { .. }), "{:?}", b.log);
    assert!(
        matches!(b.log[2], ServerMsg::Snapshot { .. }),
        "{:?}",
        b.log
    );
    assert!(b.roster.iter().all(|r| r.connected), "{:?}", b.roster);
    assert_eq!(
        b.replica.ack(me),
        InputSeq(0),
        "the new connection's ack starts at 0"
    );
    assert!(b.replica.get(avatar).is_some(), "the same entity");
    let name = b
        .roster
        .iter()
        .find(|r| r.player == me)
        .map(|r| r.name.as_str());
    assert_eq!(name, Some("ann"), "a resuming join's name is ignored");
    // Input numbering starts again at 1 on the new connection.
    let first = b.input(LabInput::default()).await;
    assert_eq!(first, InputSeq(1));
    b.until(|c| c.replica.ack(me) == first).await;

    let mut c = Client::connect(&server).await;
    assert_eq!(
        c.refused_join(Join::resume(&token)).await,
        ErrorCode::BadToken
    );
    watcher
        .until(|c| c.roster.iter().all(|r| r.connected))
        .await;
    watcher.assert_clean();
}

/// Resuming a seat whose connection is still open closes the old connection with 4002.
#[tokio::test]
async fn resuming_an_open_seat_replaces_the_old_connection() {
    let server = start_lab(test_config());
    let mut old = Client::join(&server, Join::quick("ann")).await;
    let token = old.welcomed().token.clone();
    let new = Client::join(&server, Join::resume(&token)).await;
    assert_eq!(new.player(), old.player());
    let (code, reason) = old.until_closed().await.expect("a close frame");
    assert_eq!(code, 4002, "{reason}");
}

/// A seat held past the reconnect grace is freed and its token refused.
#[tokio::test]
async fn expired_reconnect_token_is_refused() {
    let mut config = test_config();
    config.reconnect_grace = Duration::from_millis(200);
    let server = start_lab(config);
    let mut watcher = Client::join(&server, Join::quick("watcher")).await;
    let gone = Client::join(&server, Join::quick("gone")).await;
    let token = gone.welcomed().token.clone();
    watcher.until(|c| c.roster.len() == 2).await;
    drop(gone);
    // The seat is freed: it leaves the roster, and its entities the world.
    watcher
        .until(|c| c.roster.len() == 1 && c.find_one("avatar", "owner", 2).is_none())
        .await;
    let mut c = Client::connect(&server).await;
    assert_eq!(
        c.refused_join(Join::resume(&token)).await,
        ErrorCode::BadToken
    );
}

/// Quick match honours metadata filters (creating a room with the joiner's options when none
/// matches) and skips locked rooms; a locked room refuses joins by id with `RoomLocked` until
/// the game unlocks it; `/api/rooms` shows `locked` and `metadata`.
#[tokio::test]
async fn quick_match_filters_by_metadata_and_locked_rooms_refuse_joins() {
    let server = start_lab(test_config());
    let casual = Client::join(
        &server,
        Join::create("a").options(json!({"mode": "casual"})),
    )
    .await;
    let mut ranked = Client::join(
        &server,
        Join::create("b").options(json!({"mode": "ranked"})),
    )
    .await;
    assert_eq!((casual.room(), ranked.room()), (RoomId(1), RoomId(2)));

    let ranked_join = || {
        Join::quick("c")
            .filter(&[("mode", "ranked")])
            .options(json!({"mode": "ranked"}))
    };
    let c = Client::join(&server, ranked_join()).await;
    assert_eq!(c.room(), RoomId(2), "the ranked room matches the filter");
    let pro = Join::quick("d")
        .filter(&[("mode", "pro")])
        .options(json!({"mode": "pro"}));
    let d = Client::join(&server, pro).await;
    assert_eq!(
        d.room(),
        RoomId(3),
        "no match: a new room with the joiner's options"
    );

    ranked.apply(json!({"type": "lock"})).await;
    let mut e = Client::connect(&server).await;
    assert_eq!(
        e.refused_join(Join::room("e", RoomId(2))).await,
        ErrorCode::RoomLocked
    );
    e.try_join(ranked_join()).await.expect("joins another room");
    assert_eq!(e.room(), RoomId(4), "quick match skips the locked room");
    let rooms = http_json(&server, "/api/rooms");
    let room2 = &rooms[1];
    assert_eq!(room2["id"], 2);
    assert_eq!(room2["locked"], true);
    assert_eq!(room2["metadata"], json!({"mode": "ranked"}));
    assert_eq!(rooms[2]["metadata"], json!({"mode": "pro"}));

    ranked.apply(json!({"type": "unlock"})).await;
    let f = Client::join(&server, Join::room("f", RoomId(2))).await;
    assert_eq!(f.room(), RoomId(2));
}

/// `/healthz` answers, the root serves a page without a built client, and `/api/info` says
/// what a client needs before joining.
#[tokio::test]
async fn health_root_page_and_info() {
    let server = start_lab(test_config());
    assert_eq!(http_get(&server, "/healthz").trim(), "ok");
    assert!(http_get(&server, "/").contains("tickroom"));
    let info = http_json(&server, "/api/info");
    assert_eq!(info["protocol_version"], 2);
    assert_eq!(info["subprotocol"], "tickroom.v2");
    assert_eq!(info["default_game"], "lab");
    let lab = &info["games"][0];
    assert_eq!(lab["name"], "lab");
    assert_eq!(lab["tick_rate"], 30);
    assert_eq!(lab["on_change"], false);
    assert_eq!(lab["capacity"], 8);
    assert_eq!(lab["kinds"][0][0], "avatar");
    assert_eq!(
        info["lan_urls"],
        json!([]),
        "bound to loopback: no LAN address"
    );
}
