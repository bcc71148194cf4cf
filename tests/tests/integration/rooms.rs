//! Rooms: seeing each other, leaving, quick match, the room list, reconnecting.

use serde_json::Value;
use tickroom_server::arena::Arena;
use tickroom_shared::{ClientMsg, ErrorCode, RoomId};
use tickroom_tests::{http_get, start, test_config, Client, To};

/// Two clients in one room see each other's entity; a leave removes it for the other.
#[tokio::test]
async fn two_clients_see_each_other_and_leave_removes() {
    let server = start::<Arena>(test_config());
    let mut a = Client::join(&server, "ann", To::Quick).await;
    let room = a.player.seat.as_ref().expect("welcomed").room;
    let mut b = Client::join(&server, "bob", To::Room(room)).await;
    let (ea, eb) = (
        a.player.seat.as_ref().unwrap().entity,
        b.player.seat.as_ref().unwrap().entity,
    );
    assert_ne!(ea, eb);
    a.until(|p| p.replica.world().get(eb).is_some() && p.roster.len() == 2)
        .await;
    b.until(|p| p.replica.world().get(ea).is_some()).await;
    b.send(&ClientMsg::Leave).await;
    assert_eq!(b.until_closed().await.map(|c| c.0), Some(1000));
    a.until(|p| p.replica.world().get(eb).is_none() && p.roster.len() == 1)
        .await;
}

/// Quick match fills a room to capacity, then opens a new one; /api/rooms lists both.
#[tokio::test]
async fn quick_match_fills_then_opens_a_new_room() {
    let mut config = test_config();
    config.room_capacity = 3;
    let server = start::<Arena>(config);
    let mut clients = Vec::new();
    for i in 0..4 {
        clients.push(Client::join(&server, &format!("p{i}"), To::Quick).await);
    }
    let rooms: Vec<RoomId> = clients
        .iter()
        .map(|c| c.player.seat.as_ref().expect("welcomed").room)
        .collect();
    assert_eq!(rooms, [RoomId(1), RoomId(1), RoomId(1), RoomId(2)]);
    let list: Value = serde_json::from_str(&http_get(&server, "/api/rooms")).expect("json");
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["players"], 3);
    assert_eq!(list[0]["capacity"], 3);
    assert_eq!(list[0]["game"], "arena");
    assert_eq!(list[0]["tick_rate"], 30);
    assert_eq!(list[1]["players"], 1);
}

/// Joining a full room by id, or a room that does not exist, is refused with a clear error.
#[tokio::test]
async fn full_and_missing_rooms_are_refused() {
    let mut config = test_config();
    config.room_capacity = 1;
    let server = start::<Arena>(config);
    let _a = Client::join(&server, "ann", To::Quick).await;
    for (room, expected) in [
        (RoomId(1), ErrorCode::RoomFull),
        (RoomId(99), ErrorCode::RoomNotFound),
    ] {
        let mut c = Client::connect(&server).await;
        assert_eq!(c.refused_join("x", To::Room(room), None).await, expected);
    }
}

/// An empty room closes after the grace period and leaves the room list.
#[tokio::test]
async fn empty_room_closes_after_grace() {
    let mut config = test_config();
    config.empty_room_grace = std::time::Duration::from_millis(200);
    config.reconnect_grace = std::time::Duration::ZERO;
    let server = start::<Arena>(config);
    let mut a = Client::join(&server, "ann", To::Quick).await;
    a.send(&ClientMsg::Leave).await;
    a.until_closed().await;
    // Poll the list (bounded): the room must go.
    for _ in 0..100 {
        if http_get(&server, "/api/rooms").trim() == "[]" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("room still listed: {}", http_get(&server, "/api/rooms"));
}

/// After a dropped connection the token resumes the same player; the used token is refused.
#[tokio::test]
async fn reconnect_token_resumes_the_seat_once() {
    let server = start::<Arena>(test_config());
    let a = Client::join(&server, "ann", To::Quick).await;
    let seat = a.player.seat.clone().expect("welcomed");
    drop(a); // abnormal disconnect: no leave
    let b = Client::join_with(&server, "ann", To::Quick, Some(seat.token.clone())).await;
    let resumed = b.player.seat.clone().expect("welcomed");
    assert_eq!(
        (resumed.player, resumed.entity, resumed.room),
        (seat.player, seat.entity, seat.room)
    );
    assert_ne!(resumed.token, seat.token, "tokens are single use");
    // The old token no longer works.
    let mut c = Client::connect(&server).await;
    let refused = c.refused_join("ann", To::Quick, Some(seat.token)).await;
    assert_eq!(refused, ErrorCode::BadToken);
}

/// /healthz answers, and the root serves a page even without a built client.
#[tokio::test]
async fn health_and_root_page() {
    let server = start::<Arena>(test_config());
    assert_eq!(http_get(&server, "/healthz").trim(), "ok");
    assert!(http_get(&server, "/").contains("tickroom"));
}
