//! Commands and events: every command gets its result before the Delta of the tick that applied
//! it; events arrive once, in emission order, to the scopes they were sent to, and a Snapshot
//! carries the events of its tick.

use serde_json::json;
use std::collections::BTreeMap;
use tickroom_server::Games;
use tickroom_shared::{Refusal, ServerMsg, Tick};
use tickroom_tests::games::{Bulky, Emitted, TickEvent};
use tickroom_tests::{from_value, start, start_lab, test_config, Client, Join};

/// A refused command gets its `CommandResult` with the game's refusal; an accepted one gets a
/// nil refusal, sent right before the Delta of the tick that applied it.
#[tokio::test]
async fn command_results_come_before_the_delta_of_their_tick() {
    let server = start_lab(test_config());
    let mut c = Client::join(&server, Join::quick("ann")).await;
    c.history = Some(BTreeMap::new());
    c.ticks(2).await;
    let secret = c.find_one("secret", "owner", 1).expect("own secret");
    let ok = c.command(json!({"type": "secret", "value": 42})).await;
    let refused = c.command(json!({"type": "refuse"})).await;
    let missing = c
        .command(json!({"type": "move", "label": 9, "x": 0, "y": 0}))
        .await;
    c.until(|c| c.results.len() == 3 && c.replica.int(secret, "value") == Some(42))
        .await;

    let ids: Vec<u32> = c.results.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [ok, refused, missing], "results in arrival order");
    assert_eq!(c.results[0].1, None);
    assert_eq!(
        c.results[1].1,
        Some(Refusal::new("refused", "asked to refuse"))
    );
    let no_marker = c.results[2].1.as_ref().expect("refused");
    assert_eq!(no_marker.code, "no_marker");

    // Around the accepted command's result: the tick message before it does not show the
    // change, the first one after it does.
    let at = c
        .log
        .iter()
        .position(|m| matches!(m, ServerMsg::CommandResult { id, .. } if *id == ok))
        .expect("the result is in the log");
    let tick_of = |m: &ServerMsg| match m {
        ServerMsg::Delta { tick, .. } | ServerMsg::Snapshot { tick, .. } => Some(*tick),
        _ => None,
    };
    let before = c.log[..at]
        .iter()
        .rev()
        .find_map(tick_of)
        .expect("a tick before");
    let after = c.log[at..].iter().find_map(tick_of).expect("a tick after");
    let history = c.history.as_ref().expect("kept");
    let value = |t: Tick| history[&t].int(secret, "value");
    assert_eq!(value(before), Some(0), "not applied before its result");
    assert_eq!(
        value(after),
        Some(42),
        "the Delta right after the result applies it"
    );
    assert_eq!(after.0, before.0 + 1, "a Delta every tick");
    c.assert_clean();
}

/// Events arrive exactly once, in the order the game emitted them, each to its scope only, in
/// the Delta of the tick that emitted them.
#[tokio::test]
async fn events_arrive_once_in_emission_order_to_their_scopes() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let mut b = Client::join(&server, Join::quick("bob")).await;
    a.apply(json!({"type": "emit", "names": ["one", "me:two", "three", "me:four", "five"]}))
        .await;
    a.apply(json!({"type": "emit", "names": ["six", "me:seven"]}))
        .await;
    let tick = a.tick();
    b.until_tick(tick).await;
    a.ticks(5).await;
    b.ticks(5).await;

    let names =
        |c: &Client| -> Vec<String> { c.events.iter().map(|d| d.event.name.clone()).collect() };
    assert_eq!(
        names(&a),
        ["one", "me:two", "three", "me:four", "five", "six", "me:seven"]
    );
    assert_eq!(names(&b), ["one", "three", "five", "six"]);
    for c in [&a, &b] {
        for d in &c.events {
            let payload: Emitted = from_value(&d.event.payload);
            assert_eq!(
                Tick(payload.tick),
                d.tick,
                "delivered in the Delta of its tick"
            );
            assert!(!d.in_snapshot);
        }
    }
    let indexes: Vec<u32> = a
        .events
        .iter()
        .map(|d| from_value::<Emitted>(&d.event.payload).index)
        .collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4, 0, 1]);
    a.assert_clean();
    b.assert_clean();
}

/// In a room whose game emits an event every tick, a client gets every tick's event exactly
/// once and in order, from its first Snapshot on; every Snapshot (the join's, and those after
/// `Resync`) carries the event of its own tick, and no Delta repeats it.
#[tokio::test]
async fn every_tick_event_arrives_once_and_snapshots_carry_their_ticks_events() {
    let server = start(test_config(), Games::new().with::<Bulky>());
    let join = Join::quick("ann").options(json!({"entities": 20}));
    let mut c = Client::join(&server, join).await;
    for _ in 0..3 {
        c.ticks(4).await;
        c.resync_and_wait().await;
    }
    c.ticks(4).await;
    assert_eq!(
        c.snapshots.len(),
        4,
        "the join's Snapshot and one per Resync"
    );

    let ticks: Vec<u64> = c
        .events_named("tick")
        .iter()
        .map(|d| from_value::<TickEvent>(&d.event.payload).tick)
        .collect();
    let first = c.snapshots[0].0;
    let expected: Vec<u64> = (first..=c.tick().0).collect();
    assert_eq!(ticks, expected, "every tick's event, once, in order");
    for snapshot in &c.snapshots {
        let carried: Vec<u64> = c
            .events
            .iter()
            .filter(|d| d.in_snapshot && d.tick == *snapshot)
            .map(|d| from_value::<TickEvent>(&d.event.payload).tick)
            .collect();
        assert_eq!(
            carried,
            [snapshot.0],
            "the Snapshot at {snapshot:?} carries its tick's event"
        );
    }
    c.assert_clean();
}

/// Events emitted while a player's connection was down are not replayed: the Snapshot of a
/// resumed seat carries only the events of its own tick.
#[tokio::test]
async fn a_resumed_seat_gets_no_replay_of_events_missed_while_away() {
    let server = start(test_config(), Games::new().with::<Bulky>());
    let join = Join::quick("ann").options(json!({"entities": 5}));
    let mut watcher = Client::join(&server, join).await;
    let away = Client::join(&server, Join::room("bob", watcher.room())).await;
    let token = away.welcomed().token.clone();
    drop(away);
    watcher
        .until(|c| c.roster.iter().any(|r| !r.connected))
        .await;
    watcher.ticks(10).await;
    let back = Client::join(&server, Join::resume(&token)).await;
    let snapshot = back.snapshots[0];
    let carried: Vec<u64> = back
        .events
        .iter()
        .map(|d| from_value::<TickEvent>(&d.event.payload).tick)
        .collect();
    assert_eq!(carried, [snapshot.0], "only the Snapshot's own tick");
}
