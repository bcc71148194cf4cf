//! Replica equality: applying the join snapshot and every delta gives exactly the server's state.
//!
//! The server's state at a tick is observed through another client's join snapshot, which the
//! room encodes from its own world at that tick; no test hook reads the room.

use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use tickroom_server::arena::Arena;
use tickroom_shared::{ClientMsg, ServerMsg, Tick, World};
use tickroom_tests::{start, test_config, Client, To};

/// Follows `client` (sending random inputs) until `tick`, recording its replica at every tick.
async fn record_until(
    client: &mut Client,
    tick: u64,
    history: &mut BTreeMap<Tick, World>,
    rng: &mut impl Rng,
) {
    while client.player.replica.tick().is_none_or(|t| t.0 < tick) {
        if rng.random_bool(0.3) {
            client
                .input(rng.random_range(-1..=1), rng.random_range(-1..=1))
                .await;
        }
        client.next().await.expect("open");
        if let Some(t) = client.player.replica.tick() {
            history.insert(t, client.player.replica.world().clone());
        }
    }
}

/// Joins a new observer and returns the tick and world of its join snapshot.
async fn observe(
    server: &tickroom_server::ServerHandle,
    room: tickroom_shared::RoomId,
) -> (Tick, World) {
    let observer = Client::join(server, "observer", To::Room(room)).await;
    let tick = observer.player.replica.tick().expect("snapshot applied");
    (tick, observer.player.replica.world().clone())
}

/// A client's replica equals the server's world at the same tick, before and after a resync.
#[tokio::test]
async fn replica_equals_server_state_before_and_after_resync() {
    let server = start::<Arena>(test_config());
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut a = Client::join(&server, "a", To::Quick).await;
    let room = a.player.seat.as_ref().expect("welcomed").room;
    // Others move too, so the world changes in every way (adds, moves, removes).
    let mut b = Client::join(&server, "b", To::Room(room)).await;
    let mut history = BTreeMap::new();
    let start_tick = a.player.replica.tick().expect("tick").0;
    for _ in 0..5 {
        b.input(rng.random_range(-1..=1), rng.random_range(-1..=1))
            .await;
    }
    record_until(&mut a, start_tick + 45, &mut history, &mut rng).await;

    let (t1, w1) = observe(&server, room).await;
    record_until(&mut a, t1.0, &mut history, &mut rng).await;
    assert_eq!(
        history.get(&t1),
        Some(&w1),
        "replica differs from server state at {t1:?}"
    );
    drop(b); // b's seat is held: the entity stays, the roster changes

    // Force a keyframe and keep following the chain from it.
    a.send(&ClientMsg::Resync).await;
    let snapshots = a.player.snapshots;
    while a.player.snapshots == snapshots {
        if let Ok(ServerMsg::Snapshot { .. }) = a.next_raw().await {
            break;
        }
    }
    let after = a.player.replica.tick().expect("tick").0;
    record_until(&mut a, after + 30, &mut history, &mut rng).await;
    let (t2, w2) = observe(&server, room).await;
    record_until(&mut a, t2.0, &mut history, &mut rng).await;
    assert_eq!(
        history.get(&t2),
        Some(&w2),
        "replica differs after resync at {t2:?}"
    );
    assert_eq!(a.player.gaps, 0, "the chain had no gaps");
}
