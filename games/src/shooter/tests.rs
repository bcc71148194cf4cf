//! Tests of the shooter: what each client sees, through a `Simulation`.

use super::*;
use crate::testing::{describe, events, input, Client};
use tickroom_server::sim::{Simulation, TickOutcome};
use tickroom_shared::{rmpv, Event, InputSeq};

/// Half units per world unit on the wire.
const Q: f32 = 2.0;

/// A shooter room with one client per player, all kept in sync every tick.
struct Battle {
    sim: Simulation<Shooter>,
    clients: BTreeMap<u32, Client>,
    seqs: BTreeMap<u32, u32>,
    /// Each client's events of the last tick.
    events: BTreeMap<u32, Vec<Event>>,
}

impl Battle {
    fn new(size: f32, seed: u64, players: u32) -> Battle {
        Battle::with_seats(size, seed, players, DEFAULT_CAPACITY)
    }

    fn with_seats(size: f32, seed: u64, players: u32, capacity: u32) -> Battle {
        let options = ShooterOptions { size, capacity };
        let options = Simulation::<Shooter>::named(&options);
        let sim =
            Simulation::new(Some(options), seed, Shooter::info(), 100).expect("valid options");
        let mut battle = Battle {
            sim,
            clients: BTreeMap::new(),
            seqs: BTreeMap::new(),
            events: BTreeMap::new(),
        };
        for p in 1..=players {
            battle.sim.join(PlayerId(p), "pilot");
            battle
                .clients
                .insert(p, Client::new(&battle.sim, PlayerId(p)));
        }
        battle.tick();
        battle
    }

    fn tick(&mut self) -> TickOutcome {
        let outcome = self.sim.step();
        for (p, c) in &mut self.clients {
            self.events.insert(*p, c.sync(&mut self.sim));
        }
        outcome
    }

    fn input(&mut self, p: u32, i: ShooterInput) {
        let seq = self.seqs.entry(p).or_default();
        *seq += 1;
        self.sim
            .queue_input(PlayerId(p), InputSeq(*seq), input(&i))
            .expect("a valid input");
    }

    fn events<T: serde::de::DeserializeOwned>(&self, p: u32, name: &str) -> Vec<T> {
        events(&self.events[&p], name)
    }

    /// `p`'s ship as `viewer` sees it, if it does.
    fn ship(&self, viewer: u32, p: u32) -> Option<EntityId> {
        let id = self.sim.game().ship(PlayerId(p))?;
        self.clients[&viewer].replica.get(id).map(|_| id)
    }

    /// A field of `p`'s ship as `p` sees it.
    fn own(&self, p: u32, field: &str) -> i64 {
        let id = self.ship(p, p).expect("a player always sees its own ship");
        self.clients[&p]
            .replica
            .int(id, field)
            .expect("a ship field")
    }

    fn position(&self, p: u32) -> (f32, f32) {
        (self.own(p, "x") as f32 / Q, self.own(p, "y") as f32 / Q)
    }

    /// Flies `p` to within 5 units of `to`, as its client would, then stops it.
    fn fly_to(&mut self, p: u32, to: (f32, f32)) {
        for _ in 0..2000 {
            let (x, y) = self.position(p);
            let dir = |d: f32| {
                if d > 5.0 {
                    1
                } else if d < -5.0 {
                    -1
                } else {
                    0
                }
            };
            let (dx, dy) = (dir(to.0 - x), dir(to.1 - y));
            self.input(
                p,
                ShooterInput {
                    dx,
                    dy,
                    ..ShooterInput::default()
                },
            );
            self.tick();
            if (dx, dy) == (0, 0) {
                return;
            }
        }
        panic!("player {p} never reached {to:?}");
    }

    fn score(&self, viewer: u32, p: u32, field: &str) -> i64 {
        let id = self.sim.game().score(PlayerId(p)).expect("seated");
        self.clients[&viewer]
            .replica
            .int(id, field)
            .expect("a score field")
    }
}

/// The kinds are PROTOCOL.md's.
#[test]
fn kinds_match_the_protocol() {
    let battle = Battle::new(DEFAULT_SIZE, 0, 0);
    assert_eq!(
        describe(&battle.sim.kinds()),
        [
            "ship = owner: u32, x: float 0.5, y: float 0.5, aim: u8, hp: u8, alive: bool",
            "bullet = x: float 0.5, y: float 0.5, vx: i16, vy: i16, owner: u32",
            "score = player: u32, kills: u16, deaths: u16",
            "map = size: u32",
        ]
    );
}

/// Every member's replica, a late joiner's too, holds the one `map` entity, with the options' size.
#[test]
fn replicas_hold_the_map_with_its_size() {
    let mut b = Battle::new(2500.0, 4, 1);
    for _ in 0..10 {
        b.tick();
    }
    b.sim.join(PlayerId(2), "late");
    b.clients.insert(2, Client::new(&b.sim, PlayerId(2)));
    b.tick();
    for p in [1, 2] {
        let r = &b.clients[&p].replica;
        let maps: Vec<EntityId> = r.of_kind("map").map(|(id, _)| id).collect();
        assert_eq!(maps.len(), 1, "player {p} sees one map");
        assert_eq!(r.int(maps[0], "size"), Some(2500), "player {p}");
    }
}

/// Options default to a 4000-unit map and 64 seats; out-of-range ones are refused.
#[test]
fn options_have_defaults_and_limits() {
    let sim = Simulation::<Shooter>::new(None, 0, Shooter::info(), 100).expect("defaults");
    assert_eq!(sim.game().size(), DEFAULT_SIZE);
    let empty = rmpv::Value::Map(Vec::new());
    assert!(Simulation::<Shooter>::new(Some(empty), 0, Shooter::info(), 100).is_ok());
    // Integers are fine for the size, as a JavaScript client sends them.
    let big = rmpv::Value::Map(vec![("size".into(), 8000.into())]);
    let sim = Simulation::<Shooter>::new(Some(big), 0, Shooter::info(), 100).expect("valid");
    assert_eq!(sim.game().size(), 8000.0);
    for bad in [("size", 10.0), ("capacity", 0.0), ("capacity", 1025.0)] {
        let value = if bad.0 == "size" {
            rmpv::Value::F64(bad.1)
        } else {
            rmpv::Value::from(bad.1 as u32)
        };
        let options = rmpv::Value::Map(vec![(bad.0.into(), value)]);
        let refused = Simulation::<Shooter>::new(Some(options), 0, Shooter::info(), 100);
        assert!(refused.is_err(), "{bad:?} is refused");
    }
}

/// The options' capacity becomes the room's (the engine then refuses joiners beyond it).
#[test]
fn options_set_the_room_capacity() {
    let options = ShooterOptions {
        capacity: 2,
        ..ShooterOptions::default()
    };
    let options = Simulation::<Shooter>::named(&options);
    let sim =
        Simulation::<Shooter>::new(Some(options), 0, Shooter::info(), 100).expect("valid options");
    assert_eq!(sim.room_control().capacity, Some(2));
    let mut sim = Simulation::<Shooter>::new(None, 0, Shooter::info(), 100).expect("defaults");
    assert_eq!(
        sim.take_control_change().and_then(|c| c.capacity),
        Some(DEFAULT_CAPACITY)
    );
}

/// A ship far away is not in my replica; it comes in when near and leaves when far again.
/// Scores are seen from anywhere.
#[test]
fn ships_are_seen_only_when_near() {
    let mut b = Battle::new(2000.0, 1, 2);
    // Cells are 500 units: (250, 250) is cell (0, 0); I see cells (-1..=1, -1..=1).
    b.fly_to(1, (250.0, 250.0));
    b.fly_to(2, (1750.0, 1750.0));
    assert_eq!(b.ship(1, 2), None);
    assert_eq!(b.ship(2, 1), None);
    assert_eq!(b.score(1, 2, "kills"), 0);
    // Towards me: seen as soon as it enters cell (1, y) with y <= 1.
    for _ in 0..400 {
        b.input(
            2,
            ShooterInput {
                dx: -1,
                dy: -1,
                ..ShooterInput::default()
            },
        );
        b.tick();
        let (x, y) = b.position(2);
        let near = x < 1000.0 && y < 1000.0;
        assert_eq!(b.ship(1, 2).is_some(), near, "at ({x}, {y})");
        assert_eq!(b.ship(2, 1).is_some(), near, "the view is symmetric here");
        if near {
            break;
        }
    }
    assert!(b.ship(1, 2).is_some());
    let id = b.ship(1, 2).expect("seen");
    let (x, y) = b.position(2);
    assert_eq!(b.clients[&1].replica.int(id, "x"), Some((x * Q) as i64));
    assert_eq!(b.clients[&1].replica.int(id, "y"), Some((y * Q) as i64));
    // And away again along the bottom edge: gone once it leaves cell column 1.
    b.fly_to(2, (1750.0, 250.0));
    assert_eq!(b.ship(1, 2), None);
    // The map's edge holds ships in.
    for _ in 0..100 {
        b.input(
            2,
            ShooterInput {
                dx: 1,
                dy: -1,
                ..ShooterInput::default()
            },
        );
        b.tick();
    }
    assert_eq!(b.position(2), (2000.0, 0.0));
}

/// Four bullets destroy a ship: `hit` to the cell, `kill` to everyone, scores to everyone;
/// the ship comes back 2 s later at a random place and its player gets `respawn`.
#[test]
fn bullets_hit_kill_and_the_victim_respawns() {
    let mut b = Battle::new(2000.0, 2, 3);
    b.fly_to(3, (1900.0, 1900.0)); // A spectator far away, in cell (3, 3).
    b.fly_to(1, (300.0, 500.0));
    b.fly_to(2, (500.0, 500.0));
    let (mut hits, mut kills) = (Vec::new(), Vec::new());
    let mut bullets_seen = false;
    for _ in 0..120 {
        // Aim 0 is +x: straight at ship 2, 200 units away.
        let fire = kills.is_empty();
        b.input(
            1,
            ShooterInput {
                aim: 0,
                fire,
                ..ShooterInput::default()
            },
        );
        b.tick();
        bullets_seen |= b.clients[&2].replica.of_kind("bullet").count() > 0;
        hits.extend(b.events::<Hit>(2, "hit"));
        kills.extend(b.events::<Kill>(3, "kill"));
        assert!(
            b.events::<Hit>(3, "hit").is_empty(),
            "hits go to the cell only"
        );
        if !kills.is_empty() {
            break;
        }
    }
    assert!(bullets_seen);
    let hp: Vec<u8> = hits.iter().map(|h| h.hp).collect();
    assert_eq!(hp, [75, 50, 25, 0]);
    assert!(hits.iter().all(|h| (h.target, h.by) == (2, 1)));
    assert_eq!(
        kills,
        [Kill {
            victim: 2,
            killer: 1
        }]
    );
    assert_eq!(b.own(2, "alive"), 0);
    assert_eq!(b.own(2, "hp"), 0);
    assert_eq!(b.score(3, 1, "kills"), 1);
    assert_eq!(b.score(3, 2, "deaths"), 1);
    // Dead ships do not move.
    let wreck = b.position(2);
    b.input(
        2,
        ShooterInput {
            dx: 1,
            ..ShooterInput::default()
        },
    );
    b.tick();
    assert_eq!(b.position(2), wreck);
    let mut respawned = Vec::new();
    let mut ticks = 1;
    while respawned.is_empty() && ticks < 100 {
        b.tick();
        ticks += 1;
        respawned = b.events::<Respawn>(2, "respawn");
        assert!(
            b.events::<Respawn>(1, "respawn").is_empty(),
            "only to the player"
        );
    }
    assert!(
        (60..=61).contains(&ticks),
        "respawn after 2 s, not {ticks} ticks"
    );
    let r = respawned[0];
    assert_eq!(
        b.position(2),
        ((r.x * Q).round() / Q, (r.y * Q).round() / Q)
    );
    assert_eq!((b.own(2, "alive"), b.own(2, "hp")), (1, 100));
}

/// Holding fire shoots every 0.25 s at most; bullets fly 1.2 s and then disappear.
#[test]
fn fire_rate_and_bullet_lifetime() {
    let mut b = Battle::new(4000.0, 3, 1);
    b.fly_to(1, (2000.0, 2000.0));
    let mut seen = std::collections::BTreeSet::new();
    // Aim 64 is +y.
    for _ in 0..30 {
        b.input(
            1,
            ShooterInput {
                aim: 64,
                fire: true,
                ..ShooterInput::default()
            },
        );
        b.tick();
        let r = &b.clients[&1].replica;
        for (id, _) in r.of_kind("bullet") {
            assert_eq!(r.int(id, "vx"), Some(0));
            assert_eq!(r.int(id, "vy"), Some(600));
            seen.insert(id);
        }
    }
    assert_eq!(seen.len(), 4, "one shot per 8 ticks in a second");
    b.input(
        1,
        ShooterInput {
            aim: 64,
            ..ShooterInput::default()
        },
    );
    for _ in 0..36 {
        b.tick();
    }
    assert_eq!(b.clients[&1].replica.of_kind("bullet").count(), 0);
}

/// The same seed and inputs give the same replica.
#[test]
fn same_seed_same_replica() {
    let play = || {
        let mut b = Battle::new(1000.0, 9, 4);
        for t in 0..120u32 {
            for p in 1..=4u32 {
                let i = ShooterInput {
                    dx: ((t / 15 + p) % 3) as i8 - 1,
                    dy: ((t / 20 + 2 * p) % 3) as i8 - 1,
                    aim: (t * 7 + p * 50) as u8,
                    fire: (t + p) % 5 == 0,
                };
                b.input(p, i);
            }
            b.tick();
        }
        b.clients[&1].replica.entities().clone()
    };
    assert_eq!(play(), play());
}

/// The collision grid finds exactly the target a scan of every ship in order would: the same
/// ship (the first in order within reach, never the shooter's own), or none.
#[test]
fn the_hit_grid_finds_what_a_full_scan_finds() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    for _ in 0..50 {
        let targets: Vec<(PlayerId, f32, f32)> = (0..200)
            .map(|i| {
                let x = rng.random_range(0.0..400.0);
                let y = rng.random_range(0.0..400.0);
                (PlayerId(i % 40), x, y)
            })
            .collect();
        let grid = HitGrid::new(&targets);
        for _ in 0..200 {
            let (x, y) = (
                rng.random_range(-30.0..430.0),
                rng.random_range(-30.0..430.0),
            );
            let owner = PlayerId(rng.random_range(0..40));
            let scan = targets.iter().position(|(p, tx, ty)| {
                *p != owner && (tx - x).powi(2) + (ty - y).powi(2) <= HIT_RADIUS * HIT_RADIUS
            });
            assert_eq!(grid.first_hit(&targets, owner, x, y), scan);
        }
    }
}

/// Owners of the scores `viewer` sees.
fn scores_seen(b: &Battle, viewer: u32) -> Vec<i64> {
    let replica = &b.clients[&viewer].replica;
    let mut owners: Vec<i64> = replica
        .of_kind("score")
        .map(|(id, _)| replica.int(id, "player").expect("a player"))
        .collect();
    owners.sort_unstable();
    owners
}

/// Everyone sees the best SCOREBOARD scores; each player its own too, wherever it ranks. A kill
/// puts the killer on the board for everyone. Each client gets only its own ack.
#[test]
fn the_scoreboard_shows_the_best_and_ones_own() {
    let players = SCOREBOARD as u32 + 4;
    let mut b = Battle::new(2000.0, 3, players);
    b.tick();
    // All at 0 / 0: the board is the lowest ids.
    let board: Vec<i64> = (1..=SCOREBOARD as i64).collect();
    assert_eq!(scores_seen(&b, 1), board);
    let mut own_too = board.clone();
    own_too.push(i64::from(players));
    assert_eq!(scores_seen(&b, players), own_too);
    // The last player shoots player 1 down: 1 kill puts it on top, and player 1 (now with a
    // death) off the board, so player 1 keeps seeing its own score only.
    let last = players;
    b.fly_to(last, (300.0, 500.0));
    b.fly_to(1, (500.0, 500.0));
    for _ in 0..120 {
        b.input(
            last,
            ShooterInput {
                aim: 0,
                fire: true,
                ..ShooterInput::default()
            },
        );
        b.tick();
        if b.sim.game().score(PlayerId(last)).is_some()
            && scores_seen(&b, 2).contains(&i64::from(last))
        {
            break;
        }
    }
    b.tick();
    let seen = scores_seen(&b, 2);
    assert!(
        seen.contains(&i64::from(last)),
        "the killer is on the board: {seen:?}"
    );
    assert!(
        !seen.contains(&1),
        "the victim (a death) dropped off it: {seen:?}"
    );
    assert_eq!(seen.len(), SCOREBOARD, "player 2 is on the board itself");
    assert!(
        scores_seen(&b, 1).contains(&1),
        "the victim still sees its own"
    );
    assert_eq!(b.score(1, 1, "deaths"), 1);
    for (p, c) in &b.clients {
        let acks: Vec<u32> = c.replica.acks().keys().map(|p| p.0).collect();
        assert!(
            acks.iter().all(|a| a == p),
            "player {p} got others' acks: {acks:?}"
        );
    }
}

/// In a room of more than KILL_FEED_SEATS seats a kill goes to the cells around the wreck and to
/// the killer, not to a pilot far away.
#[test]
fn a_big_rooms_kills_stay_local() {
    let mut b = Battle::with_seats(4000.0, 4, 3, KILL_FEED_SEATS + 1);
    b.fly_to(3, (3900.0, 3900.0)); // Far away, in cell (7, 7).
    b.fly_to(1, (300.0, 500.0));
    b.fly_to(2, (500.0, 500.0));
    let kills = fire_until_dead(&mut b, 1, 2, 120);
    let kill = Kill {
        victim: 2,
        killer: 1,
    };
    assert_eq!(kills[&2], [kill], "the victim");
    assert_eq!(kills[&1], [kill], "the killer, once");
    assert!(kills[&3].is_empty(), "not a pilot far away");

    // A killer two cells from the wreck (700 units, within a bullet's 720) is told directly.
    let mut b = Battle::with_seats(4000.0, 5, 2, KILL_FEED_SEATS + 1);
    b.fly_to(1, (290.0, 750.0)); // Cell (0, 1).
    b.fly_to(2, (990.0, 750.0)); // Cell (1, 1)... moved on to (2, 1) below.
    b.fly_to(2, (1010.0, 750.0));
    let kills = fire_until_dead(&mut b, 1, 2, 400);
    assert_eq!(b.own(2, "alive"), 0, "the far shots killed");
    assert_eq!(
        kills[&1],
        [Kill {
            victim: 2,
            killer: 1
        }]
    );
}

/// `shooter` fires along +x every tick until `target` is down (at most `ticks` ticks); the
/// `kill` events each client received meanwhile.
fn fire_until_dead(
    b: &mut Battle,
    shooter: u32,
    target: u32,
    ticks: u32,
) -> BTreeMap<u32, Vec<Kill>> {
    let mut kills: BTreeMap<u32, Vec<Kill>> = BTreeMap::new();
    for _ in 0..ticks {
        b.input(
            shooter,
            ShooterInput {
                aim: 0,
                fire: true,
                ..ShooterInput::default()
            },
        );
        b.tick();
        let players: Vec<u32> = b.clients.keys().copied().collect();
        for p in players {
            kills
                .entry(p)
                .or_default()
                .extend(b.events::<Kill>(p, "kill"));
        }
        if b.own(target, "alive") == 0 {
            break;
        }
    }
    kills
}
