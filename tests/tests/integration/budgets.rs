//! Per-address budgets (issue 9, problems 3 and 8): open rooms created from one IP, the room
//! creation rate, seats held by one IP (held seats included), and rooms whose creating join
//! failed. Every test client comes from 127.0.0.1 unless it says otherwise; a refused join
//! leaves the connection open, so the same client tries again.

use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use tickroom_server::Config;
use tickroom_shared::ErrorCode;
use tickroom_tests::games::BANNED_PREFIX;
use tickroom_tests::{eventually, http_get, http_json, start_lab, test_config, Client, Join};

/// Open rooms in `/api/rooms`.
fn room_ids(server: &tickroom_server::ServerHandle) -> Vec<u64> {
    http_json(server, "/api/rooms")
        .as_array()
        .expect("/api/rooms is a JSON array")
        .iter()
        .map(|r| r["id"].as_u64().expect("a room has a numeric id"))
        .collect()
}

/// Players (seats taken, held or promised) of room `id` in `/api/rooms`.
fn players(server: &tickroom_server::ServerHandle, id: u64) -> Option<u64> {
    http_json(server, "/api/rooms")
        .as_array()
        .expect("/api/rooms is a JSON array")
        .iter()
        .find(|r| r["id"].as_u64() == Some(id))
        .and_then(|r| r["players"].as_u64())
}

/// The value of `tickroom_joins_refused_total{reason="<reason>"}` in `/metrics`.
fn refused(server: &tickroom_server::ServerHandle, reason: &str) -> u64 {
    let series = format!("tickroom_joins_refused_total{{reason=\"{reason}\"}} ");
    let text = http_get(server, "/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

/// No budget but the one under test.
fn unlimited() -> Config {
    Config {
        max_rooms_per_ip: 0,
        room_creates_per_minute: 0,
        max_seats_per_ip: 0,
        ..test_config()
    }
}

/// Problem 3: one IP may have at most `--max-rooms-per-ip` open rooms it created. Creates and
/// quick matches that need a new room get `IpLimit` (the connection stays open), joining an
/// existing room still works, and a room that closes gives its place back.
#[tokio::test]
async fn issue_9_open_rooms_per_ip_are_capped_and_a_closed_room_frees_budget() {
    let server = start_lab(Config {
        max_rooms_per_ip: 2,
        empty_room_grace: Duration::from_millis(200),
        reconnect_grace: Duration::ZERO,
        ..unlimited()
    });
    let a = Client::join(&server, Join::create("ann")).await;
    let mut b = Client::join(&server, Join::create("bob")).await;
    let mut c = Client::connect(&server).await;
    assert_eq!(c.refused_join(Join::create("cy")).await, ErrorCode::IpLimit);
    let nowhere = Join::quick("cy").filter(&[("mode", "nowhere")]);
    assert_eq!(c.refused_join(nowhere).await, ErrorCode::IpLimit);
    assert_eq!(room_ids(&server).len(), 2, "no third room was created");
    c.try_join(Join::quick("cy"))
        .await
        .expect("a quick match into an open room needs no new room");
    assert_eq!(c.room(), a.room());
    assert_eq!(refused(&server, "ip_rooms"), 2);

    // Bob's room empties and closes after the grace: the address may create one again.
    let closing = u64::from(b.room().0);
    b.leave().await;
    b.until_closed().await;
    eventually("bob's room closed", || {
        !room_ids(&server).contains(&closing)
    })
    .await;
    let mut d = Client::connect(&server).await;
    d.try_join(Join::create("di"))
        .await
        .expect("a closed room gave its place back");
}

/// Problem 3: room creations from one IP follow `--room-creates-per-minute` with a burst of
/// `--room-create-burst`, quick matches that create a room included; closing rooms gives no
/// creation back, and joining an existing room needs none.
#[tokio::test]
async fn issue_9_room_creations_per_ip_follow_the_rate() {
    let server = start_lab(Config {
        room_creates_per_minute: 1,
        room_create_burst: 2,
        empty_room_grace: Duration::from_millis(200),
        reconnect_grace: Duration::ZERO,
        ..unlimited()
    });
    let mut a = Client::join(&server, Join::create("ann")).await;
    let quick_new = Join::quick("bob")
        .filter(&[("mode", "new")])
        .options(json!({"mode": "new"}));
    let b = Client::join(&server, quick_new).await;
    assert_ne!(a.room(), b.room(), "the quick match created a room");
    let mut c = Client::connect(&server).await;
    assert_eq!(c.refused_join(Join::create("cy")).await, ErrorCode::IpLimit);

    let closing = u64::from(a.room().0);
    a.leave().await;
    a.until_closed().await;
    eventually("ann's room closed", || {
        !room_ids(&server).contains(&closing)
    })
    .await;
    assert_eq!(
        c.refused_join(Join::create("cy")).await,
        ErrorCode::IpLimit,
        "a closed room gives no creation back"
    );
    let nowhere = Join::quick("cy").filter(&[("mode", "nowhere")]);
    assert_eq!(c.refused_join(nowhere).await, ErrorCode::IpLimit);
    c.try_join(Join::quick("cy").filter(&[("mode", "new")]))
        .await
        .expect("joining an open room creates nothing");
    assert_eq!(c.room(), b.room());
    assert_eq!(refused(&server, "ip_creates"), 3);
    assert_eq!(room_ids(&server).len(), 1);
}

/// Problem 8: seats held for a reconnect count against the IP that took them. After three
/// connections drop right after their welcome, a further join from that IP is refused while
/// the held seats last; resuming one with its token needs no budget, another IP still gets in,
/// and a seat given up gives its place back.
#[tokio::test]
async fn issue_9_held_seats_count_against_the_ip() {
    let server = start_lab(Config {
        max_seats_per_ip: 3,
        reconnect_grace: Duration::from_secs(600),
        ..unlimited()
    });
    let mut tokens = Vec::new();
    let mut room = None;
    for name in ["a1", "a2", "a3"] {
        let client = Client::join(&server, Join::quick(name)).await;
        tokens.push(client.welcomed().token.clone());
        room = Some(client.room());
        drop(client); // no Leave: the seat is held for 600 s
    }
    let room = room.expect("three joins");
    let id = u64::from(room.0);
    eventually("three held seats in the room", || {
        players(&server, id) == Some(3)
    })
    .await;

    let mut d = Client::connect(&server).await;
    assert_eq!(d.refused_join(Join::quick("d")).await, ErrorCode::IpLimit);
    assert_eq!(
        d.refused_join(Join::room("d", room)).await,
        ErrorCode::IpLimit
    );
    assert_eq!(d.refused_join(Join::create("d")).await, ErrorCode::IpLimit);
    assert_eq!(refused(&server, "ip_seats"), 3);

    // The room has 8 seats: someone from another address takes one.
    let friend_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut friend = Client::connect_from(&server, friend_ip).await;
    friend
        .try_join(Join::room("friend", room))
        .await
        .expect("another address has its own seats");

    // A resume takes no new seat, so it needs no budget.
    d.try_join(Join::resume(&tokens[0]))
        .await
        .expect("a held seat is resumed at the limit");
    let mut e = Client::connect(&server).await;
    assert_eq!(e.refused_join(Join::quick("e")).await, ErrorCode::IpLimit);

    // Giving the resumed seat up frees one.
    d.leave().await;
    d.until_closed().await;
    eventually("the seat was freed", || players(&server, id) == Some(3)).await;
    e.try_join(Join::quick("e"))
        .await
        .expect("a freed seat gives its place back");
}

/// A room created by a join that then failed (nobody was ever seated in it) closes at once,
/// not after `--empty-room-grace`; a room someone was seated in keeps the grace.
#[tokio::test]
async fn issue_9_a_room_whose_creating_join_failed_closes_at_once() {
    let server = start_lab(Config {
        empty_room_grace: Duration::from_secs(600),
        reconnect_grace: Duration::ZERO,
        ..unlimited()
    });
    let mut a = Client::join(&server, Join::create("ann")).await;
    let kept = u64::from(a.room().0);
    a.leave().await;
    a.until_closed().await;

    let banned = format!("{BANNED_PREFIX}-cy");
    let mut c = Client::connect(&server).await;
    assert_eq!(
        c.refused_join(Join::create(&banned)).await,
        ErrorCode::Refused
    );
    let nowhere = Join::quick(&banned).filter(&[("mode", "nowhere")]);
    assert_eq!(c.refused_join(nowhere).await, ErrorCode::Refused);
    eventually("only the room someone was seated in is left", || {
        room_ids(&server) == vec![kept]
    })
    .await;
    c.try_join(Join::create("cy"))
        .await
        .expect("the connection stays usable");
}
