//! Joining a room and playing in it.

use tickroom_server::arena::{Arena, ORB_COUNT};
use tickroom_shared::arena::field;
use tickroom_shared::{ClientMsg, RoomId, ServerMsg};
use tickroom_tests::{start, test_config, Client, To};

/// A join gets a welcome (ids, tick rate, token, field names) and then a full snapshot.
#[tokio::test]
async fn join_receives_welcome_then_snapshot() {
    let server = start::<Arena>(test_config());
    let mut c = Client::join(&server, "ann", To::Quick).await;
    let seat = c.player.seat.clone().expect("welcomed");
    assert_eq!(seat.room, RoomId(1));
    assert_eq!(seat.tick_rate, 30);
    assert_eq!(seat.fields[0], "ack");
    assert!(
        seat.token.starts_with("1."),
        "token names its room: {}",
        seat.token
    );
    // The join snapshot predates our entity (it appears in the next delta) and holds the orbs.
    assert_eq!(c.player.replica.world().len(), ORB_COUNT as usize);
    c.until(|p| p.replica.world().get(seat.entity).is_some())
        .await;
    assert_eq!(c.player.roster.len(), 1);
    assert_eq!(c.player.roster[0].name, "ann");
}

/// Inputs move the player, and deltas carry the player's input ack.
#[tokio::test]
async fn inputs_move_the_player_and_are_acked() {
    let server = start::<Arena>(test_config());
    let mut c = Client::join(&server, "bo", To::Quick).await;
    let entity = c.player.seat.as_ref().expect("welcomed").entity;
    c.until(|p| p.replica.world().get(entity).is_some()).await;
    let x0 = c
        .player
        .replica
        .world()
        .get(entity)
        .expect("present")
        .fields
        .0[field::X];
    // Walk left or right, away from the nearer wall, for 10 inputs.
    let dx = if x0 > 2000 { -1 } else { 1 };
    let mut last = 0;
    for _ in 0..10 {
        last = c.input(dx, 0).await;
    }
    c.until(|p| p.acked() == Some(last)).await;
    // Keep walking a few more ticks so the movement is visible whatever the tick phase.
    let tick = c.player.replica.tick().expect("has a tick").0;
    c.until_tick(tick + 3).await;
    let e = c
        .player
        .replica
        .world()
        .get(entity)
        .expect("present")
        .fields;
    assert_eq!(e.0[field::VX], i32::from(dx) * 200);
    assert!(
        (e.0[field::X] - x0) * i32::from(dx) > 0,
        "moved from {x0} to {}",
        e.0[field::X]
    );
}

/// A ping is answered with the same echo value.
#[tokio::test]
async fn ping_gets_pong() {
    let server = start::<Arena>(test_config());
    let mut c = Client::join(&server, "cy", To::Quick).await;
    c.send(&ClientMsg::Ping { echo: 424242 }).await;
    loop {
        if let Ok(ServerMsg::Pong { echo, .. }) = c.next_raw().await {
            assert_eq!(echo, 424242);
            break;
        }
    }
}

/// A chat line reaches everyone in the room with the sender's name.
#[tokio::test]
async fn chat_reaches_the_room() {
    let server = start::<Arena>(test_config());
    let mut a = Client::join(&server, "ann", To::Quick).await;
    let mut b = Client::join(&server, "bob", To::Quick).await;
    b.send(&ClientMsg::Chat {
        text: "hello".into(),
    })
    .await;
    let bob = b.player.seat.as_ref().expect("welcomed").player;
    a.until(|p| {
        p.chats
            .iter()
            .any(|(who, text)| *who == bob && text == "hello")
    })
    .await;
}
