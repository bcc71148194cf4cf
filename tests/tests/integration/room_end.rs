//! How rooms end: the game ends a room (everyone gets its result, then 1000), or the game fails
//! (its members get 1011, every other room carries on).

use serde_json::json;
use tickroom_server::ServerHandle;
use tickroom_shared::{RoomId, ServerMsg};
use tickroom_tests::games::{LabInput, LabResult, PANIC_DX};
use tickroom_tests::{eventually, from_value, http_json, start_lab, test_config, Client, Join};

/// Polls `/api/rooms` (bounded) until it lists exactly `ids`.
async fn rooms_become(server: &ServerHandle, ids: &[u32]) {
    let listed = || -> Vec<u64> {
        let rooms = http_json(server, "/api/rooms");
        let rooms = rooms.as_array().expect("a list").clone();
        rooms
            .iter()
            .map(|r| r["id"].as_u64().expect("an id"))
            .collect()
    };
    let want: Vec<u64> = ids.iter().map(|i| u64::from(*i)).collect();
    eventually(&format!("rooms {want:?} listed"), || listed() == want).await;
}

/// A room ended by the game sends `Ended` with the result to every member, after the last
/// Delta, then closes with 1000; the room leaves the list.
#[tokio::test]
async fn a_room_ended_by_the_game_tells_everyone_and_closes_with_1000() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let mut b = Client::join(&server, Join::quick("bob")).await;
    let end = a.command(json!({"type": "end"})).await;
    let expected = LabResult {
        winner: a.player().0,
        reason: "asked".into(),
    };
    for c in [&mut a, &mut b] {
        let (code, reason) = c.until_closed().await.expect("a close frame");
        assert_eq!((code, reason.as_str()), (1000, "room ended"));
        let result = c.ended.as_ref().expect("Ended came");
        assert_eq!(from_value::<LabResult>(result), expected);
        let n = c.log.len();
        assert!(
            matches!(c.log[n - 1], ServerMsg::Ended { .. }),
            "Ended is last"
        );
        assert!(
            matches!(c.log[n - 2], ServerMsg::Delta { .. }),
            "Ended follows the last Delta: {:?}",
            &c.log[n - 2]
        );
        c.assert_clean();
    }
    let result_at = a
        .log
        .iter()
        .position(|m| matches!(m, ServerMsg::CommandResult { id, refusal: None } if *id == end));
    assert_eq!(
        result_at,
        Some(a.log.len() - 3),
        "the command's result precedes that Delta"
    );
    rooms_become(&server, &[]).await;
    let c = Client::join(&server, Join::quick("cy")).await;
    assert_eq!(c.room(), RoomId(2), "a new room");
}

/// A game's panic closes only its room: its members get 1011, another room keeps ticking with
/// no gap, the failure is counted, and the server still seats players. Panics in a command, a
/// step and an input are contained alike.
#[tokio::test]
async fn a_game_panic_closes_only_its_room() {
    let server = start_lab(test_config());
    let mut doomed = Client::join(&server, Join::create("doomed")).await;
    let mut neighbour = Client::join(&server, Join::room("neighbour", doomed.room())).await;
    let mut safe = Client::join(&server, Join::create("safe")).await;
    assert_ne!(safe.room(), doomed.room());

    doomed.command(json!({"type": "panic"})).await;
    for c in [&mut doomed, &mut neighbour] {
        let (code, reason) = c.until_closed().await.expect("a close frame");
        assert_eq!(code, 1011, "{reason}");
    }
    safe.ticks(10).await;

    let mut second = Client::join(&server, Join::create("second")).await;
    second.command(json!({"type": "explode"})).await;
    assert_eq!(second.until_closed().await.map(|c| c.0), Some(1011));
    let mut third = Client::join(&server, Join::create("third")).await;
    third
        .input(LabInput {
            dx: PANIC_DX,
            dy: 0,
        })
        .await;
    assert_eq!(third.until_closed().await.map(|c| c.0), Some(1011));
    // The failure is counted right after the members are told.
    eventually("three failures counted", || {
        server.stats.room_failures.get() == 3
    })
    .await;
    rooms_become(&server, &[safe.room().0]).await;
    let fresh = Client::join(&server, Join::quick("fresh")).await;
    assert_eq!(
        fresh.room(),
        safe.room(),
        "quick match finds the surviving room"
    );

    safe.ticks(10).await;
    safe.assert_every_tick();
}
