//! Slow consumers: a client that stops reading costs only itself. Its Deltas are skipped while
//! its queue is full; when it reads again it gets `Roster` and a Snapshot carrying every event
//! it missed; if it stays stuck past the slow-client timeout, its seat is freed.

use serde_json::json;
use std::time::Duration;
use tickroom_server::{Games, ServerHandle};
use tickroom_shared::Tick;
use tickroom_tests::games::{Bulky, TickEvent};
use tickroom_tests::{eventually, from_value, start, test_config, ws_url, Client, Join};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Ticks the reading client may follow while waiting for the server to react to a stuck one:
/// a bound that only keeps a broken test from running forever (a minute at 30 Hz).
const MAX_TICKS: u64 = 1800;

/// A bulky room (a 4-message send queue) with one reading client, and one seated client whose
/// socket has a tiny receive buffer, so the server's buffers towards it fill within a few ticks
/// of bulky Deltas once it stops reading.
async fn bulky_room(slow_client_timeout: Duration) -> (ServerHandle, Client, Client) {
    let mut config = test_config();
    // About a second of ticks: the stuck client (which never reads) fills it all the same, and
    // the reading client, on a machine busy with other work, can fall this far behind without
    // being skipped itself (its every-tick assertions are about the stuck one's effect on it).
    config.send_queue = 32;
    config.slow_client_timeout = slow_client_timeout;
    let server = start(config, Games::new().with::<Bulky>());
    let mut good = Client::join(&server, Join::quick("good")).await;
    let mut stuck = Client::connect_url(&ws_url(&server), Some(4096)).await;
    stuck.record = false;
    stuck
        .try_join(Join::quick("stuck"))
        .await
        .expect("the stuck client joins");
    good.record = false;
    good.until(|c| c.roster.len() == 2).await;
    (server, good, stuck)
}

/// Reads `good` (bounded) until the room has skipped a Delta for a full queue.
async fn until_skipped(server: &ServerHandle, good: &mut Client) {
    let start = good.tick().0;
    loop {
        let rooms = server.stats.report().rooms;
        if rooms.iter().any(|r| r.skipped_sends > 0) {
            return;
        }
        good.ticks(1).await;
        assert!(
            good.tick().0 < start + MAX_TICKS,
            "the stuck client was never skipped"
        );
    }
}

/// Reads `good` on another task until the returned sender is used (or dropped), so that it
/// never falls behind while the test reads another client for a while.
fn keep_reading(mut good: Client) -> (oneshot::Sender<()>, JoinHandle<Client>) {
    let (stop, mut stopped) = oneshot::channel();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stopped => return good,
                // Reading a WebSocket is cancel-safe: a frame half read stays buffered.
                msg = good.recv() => if msg.is_none() { return good },
            }
        }
    });
    (stop, task)
}

/// A client that stops reading is skipped while its queue is full; when it reads again it gets
/// `Roster` then a Snapshot, never a gap, and every tick's event exactly once and in order (the
/// Snapshot replays those of the skipped ticks). The reading client misses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_client_is_resynced_with_every_event() {
    let (server, mut good, mut stuck) = bulky_room(Duration::from_secs(60)).await;
    until_skipped(&server, &mut good).await;
    // A command sent while stuck: its result is never dropped.
    let echo = stuck.command(json!({"type": "echo"})).await;

    // Read again: everything buffered, then the resync, then live ticks.
    let (stop, reading) = keep_reading(good);
    stuck
        .until(|c| c.snapshots.len() >= 2 && !c.results.is_empty())
        .await;
    stuck.ticks(10).await;
    let _ = stop.send(());
    let mut good = reading.await.expect("the reading task ends normally");
    stuck.assert_clean();
    assert_eq!(stuck.results, [(echo, None)], "the command's result, once");
    let at = stuck
        .trail
        .iter()
        .rposition(|(what, _)| *what == "Snapshot")
        .expect("a Snapshot");
    assert_eq!(
        stuck.trail[at - 1].0,
        "Roster",
        "Roster comes before the resync's Snapshot"
    );
    let skipped_to = stuck.trail[at].1.expect("a tick");
    let before = stuck.trail[..at]
        .iter()
        .rev()
        .find_map(|(_, t)| *t)
        .expect("a tick message before");
    assert!(
        skipped_to.0 > before.0 + 1,
        "at least one Delta was skipped"
    );

    let ticks: Vec<u64> = stuck
        .events_named("tick")
        .iter()
        .map(|d| from_value::<TickEvent>(&d.event.payload).tick)
        .collect();
    let expected: Vec<u64> = (stuck.snapshots[0].0..=stuck.tick().0).collect();
    assert_eq!(ticks, expected, "every tick's event, once, in order");
    let replayed = stuck
        .events
        .iter()
        .filter(|d| d.in_snapshot && d.tick == skipped_to)
        .count() as u64;
    assert_eq!(
        replayed,
        skipped_to.0 - before.0,
        "the Snapshot replays the missed events"
    );

    let room = &server.stats.report().rooms[0];
    assert!(room.resyncs >= 1);
    assert_eq!(room.slow_kicks, 0);
    good.ticks(3).await;
    good.assert_every_tick();
    assert_eq!(good.roster.len(), 2);
}

/// A room that ends while a member's queue is full still tells that member its result (`Ended`
/// is never dropped while the client is connected), then closes with 1000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_ending_while_a_client_is_stuck_still_sends_it_ended() {
    let (server, mut good, mut stuck) = bulky_room(Duration::from_secs(60)).await;
    until_skipped(&server, &mut good).await;
    good.command(json!({"type": "end"})).await;
    assert_eq!(good.until_closed().await.map(|c| c.0), Some(1000));
    let result: TickEvent = from_value(good.ended.as_ref().expect("Ended reached good"));
    // The stuck client reads again.
    let close = stuck.until_closed().await;
    let ended = stuck.ended.as_ref().map(from_value::<TickEvent>);
    assert_eq!(ended, Some(result), "Ended reached the stuck client");
    assert_eq!(close.map(|c| c.0), Some(1000));
}

/// A client that joins and never reads again is disconnected after the slow-client timeout
/// (its socket shut down without a close frame; its seat held for a reconnect like any dropped
/// connection's), while the other client receives every tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_reader_is_dropped_and_others_keep_every_tick() {
    let (server, mut good, mut stuck) = bulky_room(Duration::from_millis(500)).await;
    let start = good.tick().0;
    let stuck_player = stuck.player();
    let disconnected = |c: &Client| {
        c.roster
            .iter()
            .any(|p| p.player == stuck_player && !p.connected)
    };
    good.until(|c| disconnected(c) || c.tick().0 > start + MAX_TICKS)
        .await;
    assert!(disconnected(&good), "the stuck player was disconnected");
    good.assert_every_tick();
    // The room (full queue) or the watchdog (unsent backlog), whichever saw it first.
    let rooms = server.stats.report().rooms;
    assert_eq!(rooms[0].slow_kicks + server.stats.backlog_closes.get(), 1);

    // After what was buffered, the connection ends without a close frame.
    assert_eq!(
        stuck.until_closed().await,
        None,
        "no close frame could reach it"
    );
    eventually("the stuck session ended", || {
        server.stats.sessions_open.get() == 1
    })
    .await;
}

/// A stuck connection whose seat is resumed from another connection is shut down too, even
/// though it cannot act on the close it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_connection_replaced_by_its_token_is_shut_down() {
    // Long enough that only the resume, not the slow-client timeout, can end the connection.
    let (server, mut watcher, stuck) = bulky_room(Duration::from_secs(600)).await;
    let token = stuck.welcomed().token.clone();
    until_skipped(&server, &mut watcher).await;
    let resumed = Client::join(&server, Join::resume(&token)).await;
    assert_eq!(resumed.player(), stuck.player());
    // Without reading from the stuck socket (reading would let its session run again), the
    // server must end that session: the watcher and the resumed seat remain.
    let start = watcher.tick();
    while server.stats.sessions_open.get() > 2 {
        watcher.ticks(1).await;
        assert!(
            watcher.tick() < Tick(start.0 + MAX_TICKS),
            "the replaced stuck connection is still open"
        );
    }
    drop(stuck);
    watcher.assert_every_tick();
}

/// A spectator that stops reading is dropped like a stuck player (its socket shut down after
/// the slow-client timeout) and no longer counted; the player keeps every tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_spectator_is_dropped() {
    let mut config = test_config();
    config.send_queue = 32;
    config.slow_client_timeout = Duration::from_millis(500);
    let server = start(config, Games::new().with::<Bulky>());
    let mut good = Client::join(&server, Join::quick("good")).await;
    good.record = false;
    let room = good.room();
    let mut stuck = Client::connect_url(&ws_url(&server), Some(4096)).await;
    stuck.record = false;
    stuck.try_watch(room).await.expect("the spectator watches");
    let start = good.tick().0;
    let counted = |server: &ServerHandle| {
        tickroom_tests::http_json(server, "/api/rooms")[0]["spectators"].as_u64()
    };
    assert_eq!(counted(&server), Some(1));
    let (stop, reader) = keep_reading(good);
    eventually("the stuck spectator is dropped", || {
        counted(&server) == Some(0)
    })
    .await;
    let _ = stop.send(());
    let good = reader.await.expect("the reader task ends");
    assert!(good.tick().0 > start, "the player kept receiving");
    good.assert_every_tick();
    let rooms = server.stats.report().rooms;
    assert_eq!(rooms[0].slow_kicks + server.stats.backlog_closes.get(), 1);
    assert_eq!(
        stuck.until_closed().await,
        None,
        "no close frame could reach it"
    );
}
