//! Control traffic (chat, pings) never costs a player its deltas, and is never silently lost.

use tickroom_shared::ErrorCode;
use tickroom_tests::{start_lab, test_config, Client, Join};

/// Problem 5 of the robustness round: chat shared the bounded delta queue, so chatters (each
/// within its limits) made a quiet player miss deltas and resync. Chat now rides in the same
/// queue slot as the tick's message: with a one-message queue and five chatters bursting, the
/// quiet player still gets every tick, no resync, and every line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatters_never_cost_a_quiet_player_its_deltas() {
    let mut config = test_config();
    config.send_queue = 1;
    let server = start_lab(config.clone());
    let mut quiet = Client::join(&server, Join::create("quiet")).await;
    let room = quiet.room();
    let mut chatters = Vec::new();
    for i in 0..5 {
        chatters.push(Client::join(&server, Join::room(&format!("chatter{i}"), room)).await);
    }
    quiet.until(|c| c.roster.len() == 6).await;
    quiet.ticks(2).await;
    let lines = config.chat_burst as usize;
    for (i, chatter) in chatters.iter_mut().enumerate() {
        for n in 0..lines {
            chatter.chat(&format!("{i}:{n}")).await;
        }
    }
    let total = lines * chatters.len();
    quiet.until(|c| c.chats.len() == total).await;
    quiet.ticks(10).await;
    quiet.assert_every_tick();
    assert_eq!(quiet.snapshots.len(), 1, "no resync: {:?}", quiet.snapshots);
    let skipped: u64 = server
        .stats
        .report()
        .rooms
        .iter()
        .map(|r| r.skipped_sends)
        .sum();
    assert_eq!(skipped, 0, "no message was skipped for a member that reads");
    // Each chatter's lines arrive in the order it sent them.
    for i in 0..chatters.len() {
        let mine: Vec<&str> = quiet
            .chats
            .iter()
            .map(|(_, _, text)| text.as_str())
            .filter(|t| t.starts_with(&format!("{i}:")))
            .collect();
        let expected: Vec<String> = (0..lines).map(|n| format!("{i}:{n}")).collect();
        assert_eq!(mine, expected);
    }
}

/// Chat has its own rate: a line above the burst is refused with a BadRequest error naming the
/// limit, is not sent to anyone, and the connection stays open.
#[tokio::test]
async fn chat_over_its_rate_is_refused_with_an_error_and_the_connection_stays() {
    let mut config = test_config();
    config.chat_lines_per_sec = 1;
    config.chat_burst = 3;
    let server = start_lab(config);
    let mut talker = Client::join(&server, Join::create("talker")).await;
    let mut listener = Client::join(&server, Join::room("listener", talker.room())).await;
    for n in 0..4 {
        talker.chat(&format!("line {n}")).await;
    }
    talker.until(|c| !c.errors.is_empty()).await;
    let (code, message) = &talker.errors[0];
    assert_eq!(*code, ErrorCode::BadRequest);
    assert!(message.contains("chat lines per second"), "{message}");
    assert_eq!(server.stats.chat_limited.get(), 1);
    listener.until(|c| c.chats.len() == 3).await;
    listener.ticks(5).await;
    talker.until(|c| c.chats.len() == 3).await;
    talker.ticks(5).await;
    let texts: Vec<&str> = listener.chats.iter().map(|(_, _, t)| t.as_str()).collect();
    assert_eq!(texts, ["line 0", "line 1", "line 2"]);
    assert!(talker.closed.is_none() && listener.closed.is_none());
}

/// Problem 6: a burst of pings (within the message burst) gets every pong, in order, with the
/// room's tick, and never an unrequested resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pings_gets_every_pong() {
    let mut config = test_config();
    config.send_queue = 4;
    let server = start_lab(config.clone());
    let mut pinger = Client::join(&server, Join::quick("pinger")).await;
    pinger.ticks(2).await;
    let burst = (config.message_burst as u64) - 10;
    for echo in 0..burst {
        pinger.ping(echo).await;
    }
    pinger.until(|c| c.pongs.len() as u64 == burst).await;
    let echoes: Vec<u64> = pinger.pongs.iter().map(|(echo, _)| *echo).collect();
    assert_eq!(echoes, (0..burst).collect::<Vec<_>>());
    let first_tick = pinger.pongs[0].1;
    assert!(first_tick.0 >= 2, "a pong carries the room's tick");
    pinger.ticks(5).await;
    assert_eq!(pinger.snapshots.len(), 1, "no resync");
    // Before joining, pongs carry tick 0.
    let mut lobby = Client::connect(&server).await;
    lobby.ping(42).await;
    lobby.until(|c| !c.pongs.is_empty()).await;
    assert_eq!(lobby.pongs[0].0, 42);
    assert_eq!(lobby.pongs[0].1 .0, 0);
}
