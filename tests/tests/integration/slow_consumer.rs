//! Slow consumers: a client that stops reading costs only itself.

use std::time::Duration;
use tickroom_bots::{Connection, Player};
use tickroom_server::ServerHandle;
use tickroom_tests::bulky::Bulky;
use tickroom_tests::{join_msg, start, test_config, ws_url, Client, To};

/// A bulky room (a 4-message send queue) with one reading client and one client whose join was
/// sent over a socket with a tiny receive window, so it fills within a few ticks of bulky deltas.
async fn bulky_room(slow_client_timeout: Duration) -> (ServerHandle, Client, Client) {
    let mut config = test_config();
    config.send_queue = 4;
    config.slow_client_timeout = slow_client_timeout;
    let server = start::<Bulky>(config);
    let good = Client::join(&server, "good", To::Quick).await;
    let conn = Connection::connect_with(&ws_url(&server), Some(4096))
        .await
        .expect("connects");
    let mut stuck = Client {
        conn,
        player: Player::new(),
        next_seq: 1,
    };
    stuck.send(&join_msg("stuck", To::Quick, None)).await;
    (server, good, stuck)
}

/// A client that joins and never reads again loses its seat and its connection after the slow
/// timeout, while the other client receives every tick without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_reader_is_dropped_and_others_keep_every_tick() {
    let (server, mut good, mut stuck) = bulky_room(Duration::from_millis(500)).await;
    // Read nothing from now on.
    good.until(|p| p.roster.len() == 2).await;
    let start_tick = good.player.replica.tick().expect("tick").0;
    // The stuck player disappears from the roster (bounded: at most a minute of ticks).
    good.until(|p| {
        p.roster.len() == 1 || p.replica.tick().is_some_and(|t| t.0 > start_tick + 1800)
    })
    .await;
    assert_eq!(
        good.player.roster.len(),
        1,
        "the stuck player's seat was freed"
    );
    assert_eq!(good.player.gaps, 0, "the good client missed no tick");
    let rooms = server.stats.report().rooms;
    assert_eq!(rooms[0].slow_kicks, 1);
    assert!(rooms[0].skipped_sends >= 1);

    // The server closed the stuck connection: after draining what was buffered, reading ends.
    let mut drained = 0usize;
    loop {
        match stuck.conn.recv_timeout(tickroom_tests::PATIENCE).await {
            Ok(tickroom_bots::Incoming::Msg(..)) => drained += 1,
            Ok(tickroom_bots::Incoming::Closed(_))
            | Err(tickroom_bots::ConnectionError::WebSocket(_)) => break,
            Err(e) => {
                panic!("the stuck connection was not closed (drained {drained} messages): {e}")
            }
        }
    }
    assert!(server.stats.sessions_open.get() <= 1);
}

/// A stuck connection whose seat is resumed from another connection is shut down too, even
/// though it can no longer act on the close request it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_connection_replaced_by_token_is_shut_down() {
    // Long enough that only the resume, not the slow-client timeout, can end the connection.
    let (server, mut watcher, mut stuck) = bulky_room(Duration::from_secs(600)).await;
    let token = loop {
        if let Ok(tickroom_shared::ServerMsg::Welcome { token, .. }) = stuck.next_raw().await {
            break token;
        }
    };
    // Stop reading; wait until the room has had to skip it.
    watcher.until(|p| p.roster.len() == 2).await;
    let start_tick = watcher.player.replica.tick().expect("tick").0;
    loop {
        let skipped = server
            .stats
            .report()
            .rooms
            .iter()
            .map(|r| r.skipped_sends)
            .sum::<u64>();
        if skipped > 0 {
            break;
        }
        watcher.next().await.expect("open");
        let tick = watcher.player.replica.tick().expect("tick").0;
        assert!(
            tick < start_tick + 1800,
            "the stuck connection was never skipped"
        );
    }
    let _resumed = Client::join_with(&server, "stuck", To::Quick, Some(token)).await;
    // Without reading from the stuck socket (reading would let its session run again), the
    // server must end that session: watcher and resumed seat remain.
    let deadline = std::time::Instant::now() + tickroom_tests::PATIENCE;
    while server.stats.sessions_open.get() > 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the replaced stuck connection is still open"
        );
        watcher.next().await.expect("open");
    }
    drop(stuck);
    assert_eq!(watcher.player.gaps, 0);
}
