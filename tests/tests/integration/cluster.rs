//! Cluster mode: several nodes (servers in this process, each with its own port and actors)
//! sharing one real `redis-server`, started by the test on a free loopback port. What crosses
//! nodes is only what a client sees: redirects, tickets, and the room list.
//!
//! Each test uses its own key prefix, so tests sharing nothing but the machine cannot see each
//! other's rooms; the ones that restart Redis start their own.

use futures_util::future::join_all;
use std::time::{Duration, Instant};
use tickroom_server::{Config, Games, ServerHandle};
use tickroom_shared::{ErrorCode, RoomId};
use tickroom_tests::games::Lab;
use tickroom_tests::redis::RedisServer;
use tickroom_tests::{
    eventually, http_json, start, test_config, upgrade_status, ws_url, Client, Join,
};

/// Settings every node of a test shares: short lease and sweep, so that failures show quickly.
fn node_config(redis: &RedisServer, prefix: &str, id: &str) -> Config {
    Config {
        cluster_redis: Some(redis.url()),
        cluster_prefix: prefix.into(),
        node_id: Some(id.into()),
        cluster_lease: Duration::from_millis(1500),
        cluster_reap_interval: Duration::from_millis(300),
        ..test_config()
    }
}

/// Three nodes `a`, `b`, `c`, once all of them see all three in the directory.
async fn three_nodes(
    redis: &RedisServer,
    prefix: &str,
    games: impl Fn() -> Games,
    tweak: impl Fn(&mut Config),
) -> [ServerHandle; 3] {
    let nodes = ["a", "b", "c"].map(|id| {
        let mut config = node_config(redis, prefix, id);
        tweak(&mut config);
        start(config, games())
    });
    eventually("every node sees three live nodes", || {
        nodes.iter().all(|n| n.stats.cluster.nodes.get() == 3)
    })
    .await;
    nodes
}

fn lab() -> Games {
    Games::new().with::<Lab>()
}

/// The room list of a node, as `(room, node)` pairs (empty while the node answers 503 because
/// its directory is unavailable).
fn listed(node: &ServerHandle) -> Vec<(u64, String)> {
    let Ok(mut response) = ureq::get(&format!("http://{}/api/rooms", node.addr)).call() else {
        return Vec::new();
    };
    let body = response.body_mut().read_to_string().unwrap_or_default();
    let rooms: serde_json::Value = serde_json::from_str(&body).expect("/api/rooms is JSON");
    rooms
        .as_array()
        .expect("/api/rooms is an array")
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().expect("a room id"),
                r["node"].as_str().expect("a node id").to_owned(),
            )
        })
        .collect()
}

/// A join sent through node B for a room that lives on node A is redirected there, with a
/// ticket, and seated on A beside A's own player; every node lists the room as A's.
#[tokio::test]
async fn a_join_through_another_node_lands_on_the_rooms_node() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a, b, c] = three_nodes(&redis, "redirect", lab, |_| {}).await;
    // On an empty cluster a new room goes to the node with the fewest rooms, "a" first.
    let ann = Client::join_following(&ws_url(&a), Join::create("ann"))
        .await
        .expect("ann creates a room");
    assert!(
        ann.hops.is_empty(),
        "created where she asked: {:?}",
        ann.hops
    );
    let room = ann.room();

    let bo = Client::join_following(&ws_url(&b), Join::room("bo", room))
        .await
        .expect("bo joins through b");
    assert_eq!(bo.hops, [ws_url(&b)], "bo was sent away from b once");
    assert_eq!(bo.room(), room);
    let names: Vec<&str> = bo.roster.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["ann", "bo"], "bo sits beside ann, on a");
    assert_eq!(b.stats.cluster.redirects.get(), 1);
    assert_eq!(a.stats.cluster.tickets_redeemed.get(), 1);

    for node in [&a, &b, &c] {
        assert_eq!(listed(node), [(u64::from(room.0), "a".to_owned())]);
    }
    let info = http_json(&c, "/api/info");
    assert_eq!(info["node"], "c", "/api/info names the node");
    let rooms = http_json(&c, "/api/rooms");
    assert_eq!(
        rooms[0]["url"],
        ws_url(&a),
        "the listing says where the room runs"
    );
    assert_eq!(rooms[0]["players"], 2);

    // A spectator asking node c is redirected to a (without a ticket: it takes no seat) and
    // watches there; only a counts it.
    let mut asked = Client::connect_url(&ws_url(&c), None).await;
    asked
        .send(&tickroom_tests::Msg::Watch { version: 2, room })
        .await;
    let close = asked.until_closed().await.map(|c| c.0);
    assert_eq!(asked.redirects, [(ws_url(&a), None)]);
    assert_eq!(close, Some(4006));
    let mut spectator = Client::connect_url(&ws_url(&a), None).await;
    spectator.try_watch(room).await.expect("watching on a");
    assert_eq!(spectator.roster.len(), 2);
    tickroom_tests::eventually("a counts the spectator", || {
        http_json(&a, "/api/rooms")[0]["spectators"] == 1
    })
    .await;
    assert!(
        http_json(&c, "/api/rooms")[0]["spectators"].is_null(),
        "other nodes do not know it"
    );

    // A page served by node a, redirected to node b, may open its WebSocket there; a page on
    // another port of the machine still may not.
    let page_of_a = format!("http://{}", a.addr);
    assert_eq!(upgrade_status(&ws_url(&b), Some(&page_of_a)).await, 101);
    assert_eq!(
        upgrade_status(&ws_url(&b), Some("http://127.0.0.1:1")).await,
        403
    );
}

/// Fifty joins by id for a room of four, sent at once through two other nodes, seat exactly four
/// players; the rest are told the room is full.
#[tokio::test]
async fn fifty_concurrent_joins_for_a_room_of_four_seat_exactly_four() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a, b, c] = three_nodes(&redis, "overfill", lab, |config| {
        config.room_capacity = Some(4);
    })
    .await;
    let mut creator = Client::join_following(&ws_url(&a), Join::create("host"))
        .await
        .expect("the room is created");
    let room = creator.room();
    // The creator leaves: the room stays open (empty-room grace) with four free seats.
    creator.leave().await;
    eventually("the directory shows the room empty", || {
        http_json(&a, "/api/rooms")[0]["players"] == 0
    })
    .await;

    let joins = (0..50).map(|i| {
        let via = if i % 2 == 0 { ws_url(&b) } else { ws_url(&c) };
        async move { Client::join_following(&via, Join::room(&format!("p{i}"), room)).await }
    });
    let results = join_all(joins).await;
    let seated: Vec<&Client> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let refused: Vec<ErrorCode> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|(code, _)| *code))
        .collect();
    assert_eq!(
        seated.len(),
        4,
        "exactly the room's four seats; refusals: {refused:?}"
    );
    assert!(
        refused.iter().all(|c| *c == ErrorCode::RoomFull),
        "every other join is told the room is full: {refused:?}"
    );
    assert!(seated.iter().all(|c| c.room() == room));
    // The directory reserved exactly four seats: the other joins were refused where they came
    // in, not sent on to find the room full.
    let reserved = b.stats.cluster.reservations.get() + c.stats.cluster.reservations.get();
    assert_eq!(reserved, 4, "seats reserved through b and c");
    assert_eq!(a.stats.cluster.tickets_redeemed.get(), 4);
    assert_eq!(http_json(&a, "/api/rooms")[0]["players"], 4);
}

/// Twenty quick matches sent at once through three nodes of an empty cluster make one room.
#[tokio::test]
async fn concurrent_quick_matches_on_an_empty_cluster_make_one_room() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // The arena seats 50: room for all twenty in one room.
    let arena = || Games::new().with::<tickroom_games::arena::Arena>();
    let nodes = three_nodes(&redis, "twins", arena, |_| {}).await;
    let urls: Vec<String> = nodes.iter().map(ws_url).collect();
    let joins = (0..20).map(|i| {
        let via = urls[i % 3].clone();
        async move { Client::join_following(&via, Join::quick(&format!("q{i}"))).await }
    });
    let clients: Vec<Client> = join_all(joins)
        .await
        .into_iter()
        .map(|r| r.expect("a quick match succeeds"))
        .collect();
    let rooms: std::collections::BTreeSet<RoomId> = clients.iter().map(Client::room).collect();
    assert_eq!(rooms.len(), 1, "one room, no twins: {rooms:?}");
    assert_eq!(listed(&nodes[1]).len(), 1);
}

/// A ticket is single use, expires, and is good only at the node it was issued for.
#[tokio::test]
async fn a_ticket_used_twice_late_or_elsewhere_is_refused() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a, b, c] = three_nodes(&redis, "tickets", lab, |config| {
        config.seat_ticket_ttl = Duration::from_secs(1);
    })
    .await;
    let ann = Client::join_following(&ws_url(&a), Join::create("ann"))
        .await
        .expect("ann creates a room on a");
    let room = ann.room();

    // A redirect, read by hand.
    let redirected = |name: &'static str| {
        let b = ws_url(&b);
        async move {
            let mut client = Client::connect_url(&b, None).await;
            client.send(&Join::room(name, room).msg()).await;
            client.until(|c| !c.redirects.is_empty()).await;
            let (url, ticket) = client.redirects[0].clone();
            let closed = client.until_closed().await;
            assert_eq!(
                closed.map(|(code, _)| code),
                Some(4006),
                "a redirect closes with 4006"
            );
            (url, ticket.expect("a new seat comes with a ticket"))
        }
    };
    let with_ticket = |ticket: &str| Join {
        ticket: Some(ticket.to_owned()),
        ..Join::room("bo", room)
    };

    let (url, ticket) = redirected("bo").await;
    assert_eq!(url, ws_url(&a));
    let mut elsewhere = Client::connect_url(&ws_url(&c), None).await;
    assert_eq!(
        elsewhere.refused_join(with_ticket(&ticket)).await,
        ErrorCode::BadToken,
        "a ticket for a is no good at c"
    );
    // Refused at c, the ticket is still good where it belongs.
    let mut at_a = Client::connect_url(&ws_url(&a), None).await;
    at_a.try_join(with_ticket(&ticket))
        .await
        .expect("the ticket c refused seats its holder at a");
    drop(at_a);

    let (_, ticket) = redirected("cy").await;
    let mut first = Client::connect_url(&ws_url(&a), None).await;
    first
        .try_join(with_ticket(&ticket))
        .await
        .expect("a fresh ticket seats its holder");
    let mut second = Client::connect_url(&ws_url(&a), None).await;
    assert_eq!(
        second.refused_join(with_ticket(&ticket)).await,
        ErrorCode::BadToken,
        "a ticket is single use"
    );

    let (_, ticket) = redirected("di").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut late = Client::connect_url(&ws_url(&a), None).await;
    assert_eq!(
        late.refused_join(with_ticket(&ticket)).await,
        ErrorCode::BadToken,
        "an expired ticket"
    );
    // The connection stays open after a refused ticket: a plain join still works on it.
    late.try_join(Join::room("di", room))
        .await
        .expect("the same connection joins by id afterwards");
}

/// A dropped player resumes its seat with its token through another node within the grace.
#[tokio::test]
async fn a_reconnect_through_another_node_resumes_the_seat() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a, b, _c] = three_nodes(&redis, "resume", lab, |_| {}).await;
    let ann = Client::join_following(&ws_url(&a), Join::create("ann"))
        .await
        .expect("ann joins on a");
    let (room, player, token) = (ann.room(), ann.player(), ann.welcomed().token.clone());
    drop(ann);
    let back = Client::join_following(&ws_url(&b), Join::resume(&token))
        .await
        .expect("the token works through b");
    assert_eq!(back.hops, [ws_url(&b)]);
    assert_eq!(
        (back.room(), back.player()),
        (room, player),
        "the same seat"
    );
}

/// Redis killed and restarted empty: rooms on every node keep ticking without a gap, joins in
/// the meantime are answered `Unavailable` on a connection that stays open, and the directory
/// is whole again within seconds of Redis coming back.
#[tokio::test]
async fn rooms_survive_a_redis_restart_and_the_directory_is_rebuilt() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let a = start(node_config(&redis, "restart", "a"), lab());
    let b = start(node_config(&redis, "restart", "b"), lab());
    eventually("both nodes registered", || {
        a.stats.cluster.nodes.get() == 2 && b.stats.cluster.nodes.get() == 2
    })
    .await;
    let ann = Client::join_following(&ws_url(&a), Join::create("ann"))
        .await
        .expect("a room on a");
    // With one room on a, the next new room goes to b.
    let bo = Client::join_following(&ws_url(&a), Join::create("bo"))
        .await
        .expect("a room on b");
    assert_eq!(bo.hops, [ws_url(&a)], "bo's room was placed on b");
    let room_on_b = bo.room();
    let mut before: Vec<(u64, String)> = listed(&a);
    before.sort();
    assert_eq!(before.len(), 2);

    // Both players keep reading throughout, so every tick's Delta is taken.
    let readers = [ann, bo].map(|mut c| {
        tokio::spawn(async move {
            let start = c.tick();
            c.ticks(150).await;
            (c, start)
        })
    });

    redis.kill();
    let mut joiner = Client::connect_url(&ws_url(&b), None).await;
    let mut refusal = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while refusal.is_none() && Instant::now() < deadline {
        match joiner.try_join(Join::quick("cy")).await {
            Err((ErrorCode::Unavailable, _)) => refusal = Some(ErrorCode::Unavailable),
            Err(other) => panic!("expected Unavailable, got {other:?}"),
            Ok(()) => panic!("a join was placed without a directory"),
        }
    }
    assert_eq!(refusal, Some(ErrorCode::Unavailable));
    tokio::time::sleep(Duration::from_secs(1)).await;

    redis.restart_empty();
    let back = Instant::now();
    eventually("the directory lists both rooms again", || {
        let mut now = listed(&b);
        now.sort();
        now == before
    })
    .await;
    eprintln!(
        "directory rebuilt {:?} after Redis came back",
        back.elapsed()
    );
    // The refused connection stays open and joins once the directory is back (into the room
    // on b, the node it is connected to, so no redirect is involved).
    let mut placed = false;
    for _ in 0..50 {
        match joiner.try_join(Join::room("cy", room_on_b)).await {
            Ok(()) => {
                placed = true;
                break;
            }
            Err((ErrorCode::Unavailable, _)) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }
    assert!(placed, "the join was never placed after Redis came back");

    for reader in readers {
        let (client, start) = reader.await.expect("the reader finished");
        assert_eq!(
            client.snapshots.len(),
            1,
            "no resync: {:?}",
            client.snapshots
        );
        assert!(client.tick().0 >= start.0 + 150);
        client.assert_every_tick();
    }
}

/// A node whose Redis cannot be reached at all still starts and serves; joins get
/// `Unavailable` on a connection that stays open, and the cluster's room list answers 503.
#[tokio::test]
async fn a_node_without_its_redis_answers_joins_with_unavailable() {
    let nowhere = tickroom_tests::redis::free_port();
    let node = start(
        Config {
            cluster_redis: Some(format!("redis://127.0.0.1:{nowhere}")),
            node_id: Some("lonely".into()),
            ..test_config()
        },
        lab(),
    );
    let mut client = Client::connect_url(&ws_url(&node), None).await;
    for join in [
        Join::quick("ann"),
        Join::create("ann"),
        Join::room("ann", RoomId(7)),
    ] {
        let (code, message) = client
            .try_join(join)
            .await
            .expect_err("no directory, no seat");
        assert_eq!(code, ErrorCode::Unavailable, "{message}");
    }
    let status = ureq::get(&format!("http://{}/api/rooms", node.addr))
        .call()
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| match e {
            ureq::Error::StatusCode(code) => code,
            other => panic!("{other}"),
        });
    assert_eq!(status, 503);
    assert!(node.stats.cluster.redis_errors.get() >= 1);
    assert_eq!(http_json(&node, "/api/info")["node"], "lonely");
}
