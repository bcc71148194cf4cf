//! "On change" rooms (cards): a Delta only on ticks where something changed, plus keep-alives;
//! one member's Resync or a roster change costs the others no Delta.

use tickroom_server::ServerHandle;
use tickroom_shared::ServerMsg;
use tickroom_tests::{start, test_config, Client, Join};

fn cards() -> ServerHandle {
    let mut config = test_config();
    // 30 Hz instead of cards' 10: the keep-alive (5 s) is then 150 ticks, and arrives as soon.
    config.tick_rate = Some(30);
    start(config, tickroom_games::all())
}

/// The next Delta a client receives, skipping everything else.
async fn next_delta(c: &mut Client) -> ServerMsg {
    loop {
        let msg = c.next_open().await;
        if matches!(msg, ServerMsg::Delta { .. }) {
            return msg;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_rooms_send_keep_alives_and_resyncs_cost_others_nothing() {
    let server = cards();
    let mut ann = Client::join(&server, Join::create("ann").game("cards")).await;
    ann.record = true;
    let room = ann.room();
    let mut bob = Client::join(&server, Join::room("bob", room)).await;
    bob.until(|c| !c.snapshots.is_empty()).await;
    // Bob's arrival added his hand: Ann gets that Delta.
    ann.until(|c| c.replica.of_kind("hand").count() == 2).await;
    let settled = ann.tick();
    // Bob asks for a keyframe and gets it, while nothing changes in the game.
    let resynced = bob.snapshots.len();
    bob.resync().await;
    bob.until(|c| c.snapshots.len() > resynced).await;
    let snapshot_tick = *bob.snapshots.last().expect("a snapshot");
    assert!(snapshot_tick > settled);
    // Ann's next Delta is the keep-alive: nothing between, and it spans every quiet tick
    // (including the tick of Bob's Snapshot), empty.
    let ServerMsg::Delta {
        tick,
        base,
        segments,
        events,
        ..
    } = next_delta(&mut ann).await
    else {
        unreachable!("next_delta returns Deltas");
    };
    assert!(
        base <= settled,
        "base {base} after the quiet ticks began ({settled})"
    );
    assert!(
        tick.0 - base.0 >= 150,
        "a keep-alive after 5 s of 30 ticks: {base}..{tick}"
    );
    assert!(tick > snapshot_tick);
    assert!(
        segments.is_empty() && events.is_empty(),
        "{segments:?} {events:?}"
    );
    ann.assert_clean();
    // Bob, resynced at a tick Ann never got, follows the same chain without a gap.
    bob.until_tick(tick).await;
    bob.assert_clean();
    assert_eq!(bob.gaps, 0);
}
