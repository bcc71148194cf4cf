//! Replica equality: applying the first Snapshot and every Delta gives exactly the server's
//! state, which a Snapshot after `Resync` shows. No test hook reads the room: the server's state
//! is what it sends.

use serde_json::json;
use std::collections::BTreeMap;
use tickroom_server::Games;
use tickroom_shared::{InputSeq, Tick};
use tickroom_tests::games::{Bulky, LabInput};
use tickroom_tests::{assert_same_state, start, start_lab, test_config, Client, Join};

/// Under change at every tick, one client's replica equals the Snapshot another receives after
/// `Resync` at the same tick; after the resync, that client's chain of Deltas again equals the
/// other's Snapshot.
#[tokio::test]
async fn replicas_equal_snapshots_under_constant_change_and_after_resyncs() {
    let server = start(test_config(), Games::new().with::<Bulky>());
    let mut a = Client::join(&server, Join::quick("a").options(json!({"entities": 60}))).await;
    let mut b = Client::join(&server, Join::room("b", a.room())).await;
    a.history = Some(BTreeMap::new());
    b.history = Some(BTreeMap::new());
    let start = a.tick().max(b.tick());
    for c in [&mut a, &mut b] {
        c.until_tick(Tick(start.0 + 30)).await;
    }
    // a resyncs: its Snapshot at T is the server's state; b followed Deltas to T.
    a.resync_and_wait().await;
    let t = a.tick();
    b.until_tick(t).await;
    let at_t = &b.history.as_ref().expect("kept")[&t];
    assert_same_state(at_t, &a.replica, "b's replica at a's resync");
    assert_eq!(a.replica.entities().len(), 60);

    // a follows Deltas again from its Snapshot; b's Snapshot checks a's replica.
    a.ticks(30).await;
    b.resync_and_wait().await;
    let t = b.tick();
    a.until_tick(t).await;
    let at_t = &a.history.as_ref().expect("kept")[&t];
    assert_same_state(at_t, &b.replica, "a's replica after its resync");
    a.assert_clean();
    b.assert_clean();
}

/// Through walks, spatial cells entered and left, entities moving between two seen cells in one
/// tick, groups joined and left and removals, each client's replica equals the Snapshot the
/// server sends after `Resync`.
#[tokio::test]
async fn replicas_equal_snapshots_through_scope_changes() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::quick("ann")).await;
    let mut b = Client::join(&server, Join::quick("bob")).await;
    a.check_still("after joining").await;

    for _ in 0..3 {
        a.input(LabInput { dx: 1, dy: 1 }).await;
    }
    let stop = a.input(LabInput::default()).await;
    let me = a.player();
    a.until(|c| c.replica.ack(me) == stop).await;
    b.until(|c| c.replica.ack(me) == stop).await;
    assert_eq!(stop, InputSeq(4));
    a.check_still("after walking").await;
    b.check_still("after a walk").await;

    for (label, x, y) in [(1, 50, 50), (2, 150, 150), (3, 550, 550)] {
        b.apply(json!({"type": "mark", "label": label, "x": x, "y": y}))
            .await;
    }
    a.apply(json!({"type": "view", "x": 50, "y": 50})).await;
    assert_eq!(a.replica.of_kind("marker").count(), 2);
    a.check_still("after looking at two markers").await;

    // From cell (0, 0) to cell (1, 0), both seen: removed by one segment, added by another.
    b.apply(json!({"type": "move", "label": 1, "x": 120, "y": 60}))
        .await;
    a.until(|c| {
        c.find_one("marker", "label", 1)
            .is_some_and(|m| c.replica.int(m, "x") == Some(120))
    })
    .await;
    a.check_still("after a marker changed cells").await;

    a.apply(json!({"type": "view", "x": 550, "y": 550})).await;
    let labels: Vec<i64> = a
        .replica
        .of_kind("marker")
        .filter_map(|(id, _)| a.replica.int(id, "label"))
        .collect();
    assert_eq!(labels, [3]);
    a.check_still("after moving the view").await;

    a.apply(json!({"type": "group", "group": 2, "member": true}))
        .await;
    b.apply(json!({"type": "badge", "group": 2, "value": 1, "note": "x"}))
        .await;
    a.until(|c| c.replica.of_kind("badge").count() == 1).await;
    a.check_still("in a group").await;
    b.apply(json!({"type": "group", "group": 2, "member": true}))
        .await;
    a.apply(json!({"type": "group", "group": 2, "member": false}))
        .await;
    a.check_still("after leaving a group").await;
    b.check_still("after joining a group").await;

    b.apply(json!({"type": "unmark", "label": 3})).await;
    a.until(|c| c.replica.of_kind("marker").count() == 0).await;
    a.check_still("after a removal").await;
    b.check_still("at the end").await;
}
