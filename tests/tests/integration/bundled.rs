//! The bundled games over real sockets: replicas equal the server's state for every kind and
//! scope (arena: everyone; cards: private hands; shooter: spatial cells), hands stay private,
//! and spatial cells hide what is far.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;
use tickroom_games::arena::ArenaInput;
use tickroom_games::cards::CardsResult;
use tickroom_games::shooter::ShooterInput;
use tickroom_server::{Config, ServerHandle};
use tickroom_shared::{EntityId, ErrorCode, PlayerId, ServerMsg, Tick};
use tickroom_tests::{assert_same_state, from_value, start, test_config, Client, Join};

/// A server running every bundled game.
fn bundled(config: Config) -> ServerHandle {
    start(config, tickroom_games::all())
}

/// Reads every client one tick further, `rounds` times, each sending what `input` gives first.
async fn rounds<I: serde::Serialize>(
    clients: &mut [Client],
    rounds: usize,
    mut input: impl FnMut(usize) -> Option<I>,
) {
    for _ in 0..rounds {
        for (i, c) in clients.iter_mut().enumerate() {
            if let Some(value) = input(i) {
                c.input(value).await;
            }
            c.ticks(1).await;
        }
    }
}

/// Brings every client to the highest tick any of them has.
async fn align(clients: &mut [Client]) -> Tick {
    let t = clients.iter().map(Client::tick).max().expect("clients");
    for c in clients.iter_mut() {
        c.until_tick(t).await;
    }
    t
}

/// arena (everyone sees everything): under random motion, every client's replica equals the
/// Snapshot another gets after `Resync` at the same tick, also after resyncing itself.
#[tokio::test]
async fn arena_replicas_equal_snapshots_under_motion() {
    let server = bundled(test_config());
    let mut clients = Vec::new();
    for name in ["a", "b", "c"] {
        let mut c = Client::join(&server, Join::quick(name)).await;
        c.history = Some(BTreeMap::new());
        clients.push(c);
    }
    let w = clients[0].welcomed();
    assert_eq!(
        (w.game.as_str(), w.tick_rate, w.on_change),
        ("arena", 30, false)
    );
    assert!(clients.iter().all(|c| c.room() == clients[0].room()));
    let mut rng = StdRng::seed_from_u64(7);
    let mut walk = |_| {
        rng.random_bool(0.3).then(|| ArenaInput {
            dx: rng.random_range(-1..=1),
            dy: rng.random_range(-1..=1),
        })
    };
    align(&mut clients).await;
    for resyncing in [0, 1, 2] {
        rounds(&mut clients, 30, &mut walk).await;
        let c = &mut clients[resyncing];
        c.resync_and_wait().await;
        let t = c.tick();
        let snapshot = c.replica.clone();
        assert_eq!(snapshot.of_kind("player").count(), 3);
        assert_eq!(snapshot.of_kind("orb").count(), 12);
        for (i, other) in clients.iter_mut().enumerate() {
            if i == resyncing {
                continue;
            }
            other.until_tick(t).await;
            let at_t = &other.history.as_ref().expect("kept")[&t];
            assert_same_state(
                at_t,
                &snapshot,
                &format!("client {i} at client {resyncing}'s resync"),
            );
        }
    }
    // A Snapshot after Resync replaces that tick's Delta: still one message per tick.
    for c in &clients {
        c.assert_every_tick();
    }
}

/// The player whose turn it is in a cards replica, and its table's top card and suit to follow.
fn table(c: &Client) -> (PlayerId, i64, i64) {
    let (id, _) = c.replica.of_kind("table").next().expect("a table");
    let get = |f| c.replica.int(id, f).expect("a table field");
    (PlayerId(get("turn") as u32), get("top"), get("suit"))
}

/// The phase of a cards replica's table (0 waiting, 1 playing, 2 finished).
fn phase(c: &Client) -> i64 {
    let (id, _) = c.replica.of_kind("table").next().expect("a table");
    c.replica.int(id, "phase").expect("a phase")
}

/// Plays and draws a cards client has been told of.
fn moves(c: &Client) -> usize {
    c.events_named("played").len() + c.events_named("drew").len()
}

/// The command a simple player sends: the first legal card of its hand (an eight names the suit
/// it holds most of), else a draw.
fn choose(c: &Client) -> serde_json::Value {
    let (_, top, suit) = table(c);
    let mut hand: Vec<i64> = c
        .replica
        .of_kind("card")
        .filter_map(|(id, _)| c.replica.int(id, "card"))
        .collect();
    hand.sort_unstable();
    let legal = |card: i64| card % 13 == 7 || card % 13 == top % 13 || card / 13 == suit;
    match hand.iter().copied().find(|c| legal(*c)) {
        Some(card) if card % 13 == 7 => {
            let most = (0..4)
                .max_by_key(|s| hand.iter().filter(|c| *c / 13 == *s).count())
                .expect("four suits");
            json!({"type": "play", "card": card, "suit": most})
        }
        Some(card) => json!({"type": "play", "card": card}),
        None => json!({"type": "draw"}),
    }
}

/// Every `card` record added in any frame `c` received, as (id, owner).
fn cards_added(c: &Client) -> Vec<(EntityId, i64)> {
    let kinds = &c.welcomed().kinds;
    let card = kinds
        .iter()
        .position(|k| k.name == "card")
        .expect("a card kind") as u16;
    let owner = kinds[usize::from(card)]
        .field("owner")
        .expect("an owner field") as u8;
    let mut found = Vec::new();
    for bytes in &c.frames {
        let limits = tickroom_shared::DecodeLimits::default();
        let msg: ServerMsg = tickroom_shared::decode(bytes, &limits).expect("decoded once already");
        let (ServerMsg::Delta { segments, .. } | ServerMsg::Snapshot { segments, .. }) = msg else {
            continue;
        };
        for r in segments
            .iter()
            .flat_map(|s| s.added.iter())
            .filter(|r| r.kind == card)
        {
            let o = r
                .values
                .iter()
                .find(|(f, _)| *f == owner)
                .and_then(|(_, v)| v.as_int());
            // An owner of 0 would be left out as the default: no player has id 0.
            found.push((r.id, o.unwrap_or(0)));
        }
    }
    found
}

/// cards (private hands, on-change): quick match by metadata finds the room; once started it is
/// locked; through a whole game no client ever receives another player's card, each hand's
/// size seen by everyone matches its owner's cards, replicas equal Snapshots after `Resync`,
/// and the end reaches everyone with the winner.
#[tokio::test]
async fn cards_hands_stay_private_and_replicas_equal_snapshots() {
    let mut config = test_config();
    // Three times the game's 10 Hz, so the commands' ticks come sooner; the turn timer is in
    // seconds and stays 30 s.
    config.tick_rate = Some(30);
    let server = bundled(config);
    let quick = |name: &str| {
        Join::quick(name)
            .game("cards")
            .filter(&[("mode", "quick")])
            .options(json!({"mode": "quick"}))
    };
    let mut clients = Vec::new();
    for name in ["ann", "bob", "cy"] {
        clients.push(Client::join(&server, quick(name)).await);
    }
    let room = clients[0].room();
    assert!(
        clients.iter().all(|c| c.room() == room),
        "quick match by mode fills one room"
    );
    assert!(clients[0].welcomed().on_change);

    let started = clients[0].call(json!({"type": "start"})).await;
    assert_eq!(started, None);
    for c in clients.iter_mut() {
        c.until(|c| phase(c) == 1).await;
    }
    let mut late = Client::connect(&server).await;
    let code = late
        .refused_join(Join::room("dan", room).game("cards"))
        .await;
    assert_eq!(code, ErrorCode::RoomLocked);
    late.try_join(quick("dan")).await.expect("a new room");
    assert_ne!(late.room(), room, "quick match skips the locked room");

    let mut turns = 0;
    while phase(&clients[0]) == 1 {
        if turns == 4 {
            for c in clients.iter_mut() {
                c.check_still("mid-game").await;
            }
            // Everyone sees each hand's size; only its owner sees its cards.
            for c in &clients {
                for other in &clients {
                    let hand = other
                        .find_one("hand", "player", i64::from(c.player().0))
                        .expect("a hand per player");
                    let size = other.replica.int(hand, "cards").expect("cards");
                    assert_eq!(size as usize, c.replica.of_kind("card").count());
                }
            }
        }
        assert!(turns < 500, "the game should have ended");
        let (turn, _, _) = table(&clients[0]);
        let player = clients
            .iter_mut()
            .find(|c| c.player() == turn)
            .unwrap_or_else(|| panic!("turn {turn:?} is nobody's at turn {turns}"));
        let command = choose(player);
        let id = player.command(command.clone()).await;
        assert_eq!(player.result_of(id).await, None, "{command} was refused");
        turns += 1;
        // Every play or draw tells everyone (`played` or `drew`): wait until all saw this one.
        for c in clients.iter_mut() {
            c.until(|c| moves(c) == turns).await;
        }
    }

    assert!(turns > 4, "the replicas were checked mid-game");
    let winner = clients
        .iter()
        .find(|c| c.replica.of_kind("card").count() == 0)
        .map(|c| {
            (
                c.player().0,
                c.roster
                    .iter()
                    .find(|r| r.player == c.player())
                    .map(|r| r.name.clone()),
            )
        })
        .expect("someone emptied their hand");
    for c in clients.iter_mut() {
        let close = c.until_closed().await;
        assert_eq!(close.map(|c| c.0), Some(1000));
        let result: CardsResult = from_value(c.ended.as_ref().expect("Ended came"));
        assert_eq!((result.winner, Some(result.name)), winner);
        c.assert_clean();
        let me = i64::from(c.player().0);
        let added = cards_added(c);
        assert!(!added.is_empty(), "cards were dealt");
        for (id, owner) in added {
            assert_eq!(owner, me, "card {id} of player {owner} reached player {me}");
        }
    }
}

/// The cell of a shooter position's wire value (steps of 0.5 units, cells of 500 units), with
/// both neighbours a rounding to the step could reach.
fn cells(q: i64) -> [i64; 2] {
    [(q - 1).div_euclid(1000), (q + 1).div_euclid(1000)]
}

/// True when an entity at wire position `(x, y)` is within a cell of a view at `(vx, vy)`.
fn near(view: (i64, i64), at: (i64, i64)) -> bool {
    let close = |a: i64, b: i64| {
        cells(a)
            .iter()
            .any(|ca| cells(b).iter().any(|cb| (ca - cb).abs() <= 1))
    };
    close(view.0, at.0) && close(view.1, at.1)
}

/// Checks a shooter client's replica at every recorded tick: every ship and bullet is within a
/// cell of its own ship (where its view is), and entities seen by two clients agree.
fn check_cells(clients: &[Client]) {
    for c in clients {
        let me = i64::from(c.player().0);
        for (t, r) in c.history.as_ref().expect("kept") {
            let ship = r
                .of_kind("ship")
                .find(|(id, _)| r.int(*id, "owner") == Some(me));
            let (ship, _) = ship.expect("its own ship is always seen");
            let pos = |id| (r.int(id, "x").expect("x"), r.int(id, "y").expect("y"));
            let view = pos(ship);
            for kind in ["ship", "bullet"] {
                for (id, _) in r.of_kind(kind) {
                    assert!(
                        near(view, pos(id)),
                        "{kind} {id} far from player {me} at {t:?}"
                    );
                }
            }
        }
    }
    for (i, a) in clients.iter().enumerate() {
        for b in &clients[i + 1..] {
            let (ha, hb) = (
                a.history.as_ref().expect("kept"),
                b.history.as_ref().expect("kept"),
            );
            for (t, ra) in ha {
                let Some(rb) = hb.get(t) else { continue };
                for (id, e) in ra.entities() {
                    if let Some(other) = rb.get(*id) {
                        assert_eq!(e, other, "entity {id} at {t:?} differs between two clients");
                    }
                }
            }
        }
    }
}

/// Stops every ship and, once every client saw every stop, checks each replica against the
/// Snapshot after `Resync` (with no bullet left and every ship still, nothing changes).
async fn stop_and_check(clients: &mut [Client], what: &str) {
    for c in clients.iter_mut() {
        let stop = c.input(ShooterInput::default()).await;
        let player = c.player();
        // The shooter sends each client only its own ack; once every client saw its stop
        // applied, the common tick after all of them has every ship still.
        c.until(|c| c.replica.acks().get(&player) == Some(&stop))
            .await;
        let others = c.replica.acks().keys().filter(|p| **p != player).count();
        assert_eq!(others, 0, "{what}: a client got others' acks");
    }
    align(clients).await;
    let seated = clients.len();
    for c in clients.iter_mut() {
        assert_eq!(
            c.replica.of_kind("bullet").count(),
            0,
            "{what}: bullets expired"
        );
        c.check_still(what).await;
        let scores = c.replica.of_kind("score").count();
        // Fewer players than the scoreboard holds: everyone's score is on it.
        assert_eq!(scores, seated, "{what}: scores are seen by everyone");
    }
}

/// shooter (spatial cells): while ships fly and fire across cells, no client ever holds a ship
/// or bullet outside the cells around its own ship, entities two clients both see agree, and
/// once everything is still each replica equals the Snapshot after `Resync`.
#[tokio::test]
async fn shooter_cells_hide_what_is_far_and_replicas_equal_snapshots() {
    let server = bundled(test_config());
    // A 2000-unit map: 4 x 4 cells of 500, each client sees 3 x 3 of them.
    let first = Join::create("a")
        .game("shooter")
        .options(json!({"size": 2000}));
    let mut clients = vec![Client::join(&server, first).await];
    let room = clients[0].room();
    for name in ["b", "c", "d"] {
        clients.push(Client::join(&server, Join::room(name, room)).await);
    }
    for c in clients.iter_mut() {
        c.history = Some(BTreeMap::new());
    }
    align(&mut clients).await;
    let mut rng = StdRng::seed_from_u64(11);
    let mut inputs = |fire: bool| {
        let mut rng = StdRng::seed_from_u64(rng.random());
        move |_: usize| {
            rng.random_bool(0.2).then(|| ShooterInput {
                dx: rng.random_range(-1..=1),
                dy: rng.random_range(-1..=1),
                aim: rng.random(),
                fire,
            })
        }
    };
    // Fly and fire, then fly without firing until every bullet expired and every ship destroyed
    // meanwhile respawned (1.2 s and 2 s of ticks at 30 Hz), then stop.
    rounds(&mut clients, 45, inputs(true)).await;
    rounds(&mut clients, 110, inputs(false)).await;
    check_cells(&clients);
    stop_and_check(&mut clients, "after flying").await;
    // After the resync, fly again across cells (without firing: nothing dies), then check the
    // chain of Deltas that followed the Snapshots.
    rounds(&mut clients, 40, inputs(false)).await;
    stop_and_check(&mut clients, "after flying on from a resync").await;
    check_cells(&clients);
}
