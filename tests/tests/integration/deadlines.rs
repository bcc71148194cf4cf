//! Every connection is closed within its documented deadline, reading or not, seated or not,
//! and what a client that stops reading makes the server hold stays bounded.

use serde_json::json;
use std::time::Duration;
use tickroom_server::Games;
use tickroom_tests::games::Bulky;
use tickroom_tests::{eventually, start, start_lab, test_config, ws_url, Client, Join, PATIENCE};
use tokio_tungstenite::tungstenite::Message;

/// Sends WebSocket pings with the largest payload (each answered by a pong the client never
/// reads) until the socket stops taking them: the server's buffers towards the client are full.
async fn ping_until_blocked(client: &mut Client) -> usize {
    for sent in 0..50_000 {
        let ping = Message::Ping(vec![7; 125].into());
        match tokio::time::timeout(Duration::from_secs(1), client.try_send_raw(ping)).await {
            Ok(true) => {}
            // Blocked (the server stopped reading) or closed: either way, stop.
            Ok(false) | Err(_) => return sent,
        }
    }
    panic!("the server kept reading 50,000 pings whose pongs were never read");
}

/// Problem 1 of the robustness round: a client that upgrades, never joins and never reads,
/// while pinging within the rate limit, freezes its session (actix-web stops polling it), so
/// the session's own join and idle timers never fire. The watchdog shuts its socket down
/// (for its unsent backlog, or failing that, its frozen session), which gives its slot back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unseated_client_that_stops_reading_is_shut_down() {
    let mut config = test_config();
    // Only the watchdog can close it: the session's own deadlines are far away.
    config.join_timeout = Duration::from_secs(600);
    config.idle_timeout = Duration::from_secs(600);
    config.heartbeat_interval = Duration::from_millis(200);
    config.slow_client_timeout = Duration::from_millis(500);
    config.max_messages_per_sec = 1_000_000;
    config.message_burst = 1_000_000;
    let server = start_lab(config);
    let mut stuck = Client::connect_url(&ws_url(&server), Some(4096)).await;
    let sent = ping_until_blocked(&mut stuck).await;
    eventually("the watchdog shut the stuck connection down", || {
        let stats = &server.stats;
        stats.stalled_closes.get() + stats.backlog_closes.get() == 1
            && stats.sessions_open.get() == 0
    })
    .await;
    eprintln!("pings sent before the server stopped reading: {sent}");
    // The slot is free again: a newcomer joins and plays.
    let mut newcomer = Client::join(&server, Join::quick("newcomer")).await;
    newcomer.ticks(2).await;
}

/// Problem 2: a seated client that stops reading is detected (by its unsent backlog or its full
/// queue) and loses its connection, and what the server wrote towards it before then (what sits in the server's and the
/// kernel's buffers for it) stays within the documented bound rather than the ~4 MiB a socket
/// buffer auto-tunes to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seated_client_that_stops_reading_is_dropped_before_its_buffers_grow() {
    let mut config = test_config();
    config.send_queue = 4;
    config.slow_client_timeout = Duration::from_millis(500);
    let server = start(config.clone(), Games::new().with::<Bulky>());
    let mut stuck = Client::connect_url(&ws_url(&server), Some(4096)).await;
    stuck.record = false;
    // About 9 KB per Delta, 270 KB a second at 30 Hz.
    let join = Join::create("stuck").options(json!({ "entities": 1000 }));
    stuck.try_join(join).await.expect("the stuck client joins");
    // From here on the client reads nothing.
    let deadline = tokio::time::Instant::now() + PATIENCE * 3;
    let dropped = || {
        let stats = &server.stats;
        stats.slow_kicks.get() + stats.backlog_closes.get() + stats.stalled_closes.get()
    };
    // The room (full queue) or the watchdog (unsent backlog), whichever sees it first.
    while dropped() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stuck client was never dropped; {} bytes written towards it",
            server.stats.bytes_out.get()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let written = server.stats.bytes_out.get();
    // Kernel: the send buffer (Linux reserves twice the configured size) plus the client's
    // small receive window; user space: actix-web's write buffer; and slack for the Deltas
    // written in the tick the queue filled. Measured: about 330 KB.
    let bound = 2 * config.socket_send_buffer + 512 * 1024;
    eprintln!("bytes written towards the stuck client before it was dropped: {written}");
    assert!(
        written <= bound as u64,
        "{written} bytes written towards a client that reads nothing (bound {bound})"
    );
}

/// The idle timeout is enforced at its own deadline, even when it is shorter than the
/// heartbeat; and a client that only answers the server's pings is never idle (the server pings
/// at least twice per idle timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_deadline_holds_with_a_long_heartbeat_and_pong_answers_count() {
    let mut config = test_config();
    config.heartbeat_interval = Duration::from_secs(3600);
    config.idle_timeout = Duration::from_millis(600);
    config.join_timeout = Duration::from_secs(600);
    let server = start_lab(config);
    // tungstenite answers pings by itself while the client reads: that client stays.
    let mut answering = Client::join(&server, Join::quick("answering")).await;
    // This one sends nothing and reads nothing after the welcome.
    let silent = Client::join(&server, Join::quick("silent")).await;
    let idle_closes = || {
        server
            .stats
            .closes
            .get_or_create(&tickroom_server::stats::CloseLabels { code: 4003 })
            .get()
    };
    // Read the answering client (which answers pings as it reads) until the silent one is
    // closed, bounded by 300 ticks (ten seconds).
    for _ in 0..300 {
        if idle_closes() == 1 {
            break;
        }
        answering.ticks(1).await;
    }
    assert_eq!(idle_closes(), 1, "the silent client was closed as idle");
    // Sixty more ticks (two seconds, several idle timeouts) pass only if pongs keep it alive.
    answering.ticks(60).await;
    assert!(answering.closed.is_none());
    assert_eq!(idle_closes(), 1);
    drop(silent);
}

/// Problem 2 in a quiet room: a seated client that stops reading where little is sent (its
/// room's Deltas are a few bytes) would take minutes to fill the server's buffers and queue.
/// Its socket's unsent backlog gives it away: it is shut down once the backlog has lasted the
/// slow-client timeout, with the server's kernel send queue towards it still small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seated_client_that_stops_reading_in_a_quiet_room_is_dropped() {
    let mut config = test_config();
    config.slow_client_timeout = Duration::from_millis(500);
    let server = start_lab(config);
    let mut stuck = Client::connect_url(&ws_url(&server), Some(4096)).await;
    stuck
        .try_join(Join::quick("stuck"))
        .await
        .expect("the stuck client joins");
    // From here on the client reads nothing; it stays in its room, which sends it ~1 KB/s.
    let deadline = tokio::time::Instant::now() + PATIENCE * 3;
    while server.stats.backlog_closes.get() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stuck client was never dropped; {} bytes written towards it",
            server.stats.bytes_out.get()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "quiet room: bytes written towards the stuck client before it was dropped: {}",
        server.stats.bytes_out.get()
    );
    // Its seat is held for a reconnect, as for any dropped connection, and the room goes on.
    let mut other = Client::join(&server, Join::quick("other")).await;
    other.until(|c| c.roster.iter().any(|p| !p.connected)).await;
    other.ticks(2).await;
}
