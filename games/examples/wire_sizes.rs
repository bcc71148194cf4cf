//! What the bundled games cost on the wire, measured without sockets: the simulation and the
//! engine's replication produce exactly the bytes each member would receive.
//!
//! ```sh
//! cargo run --release -p tickroom-games --example wire_sizes
//! ```
//!
//! - **arena**, a full room of 50 players for 60 s with the bots of `shared/WORKLOAD.md` (an
//!   input every tick, a new direction every 500 ms, standing still 10 % of the time): delta
//!   sizes, bytes per client per second, and bytes per moving entity per tick.
//! - **shooter**, 200 players on a 12,000-unit map for 60 s (random walks, random aim, firing a
//!   third of the time): bytes per client per second with spatial interest, against the same run
//!   with every client seeing every cell.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tickroom_games::arena::{Arena, ArenaInput};
use tickroom_games::shooter::{Shooter, ShooterInput, ShooterOptions};
use tickroom_server::replication::ScopeKey;
use tickroom_server::sim::Simulation;
use tickroom_server::Game;
use tickroom_shared::{InputSeq, PlayerId};

const SECONDS: u32 = 60;
const HZ: u32 = 30;

/// WebSocket frame header of a server message (unmasked): 2 bytes up to 125, 4 up to 65,535.
fn frame_header(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=65_535 => 4,
        _ => 10,
    }
}

fn percentile(sorted: &[usize], p: f64) -> usize {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A WORKLOAD.md bot's direction: a new one every 500 ms, (0, 0) with probability 0.1.
fn direction(rng: &mut StdRng) -> (i8, i8) {
    if rng.random_bool(0.1) {
        return (0, 0);
    }
    loop {
        let (dx, dy) = (rng.random_range(-1..=1i8), rng.random_range(-1..=1i8));
        if (dx, dy) != (0, 0) {
            return (dx, dy);
        }
    }
}

fn value<T: serde::Serialize>(input: &T) -> tickroom_shared::rmpv::Value {
    let bytes = tickroom_shared::encode(input).expect("inputs encode");
    tickroom_shared::rmpv::decode::read_value(&mut bytes.as_slice()).expect("and decode")
}

fn arena() {
    let players = 50u32;
    let mut sim = Simulation::<Arena>::new(None, 1, Arena::info(), 10).expect("arena starts");
    let mut rng = StdRng::seed_from_u64(7);
    for p in 1..=players {
        sim.join(PlayerId(p), "bot");
    }
    sim.step();
    let everyone = sim.visible(PlayerId(1));
    let snapshot = sim.snapshot(&everyone, None).len();
    let mut dirs = vec![(0i8, 0i8); players as usize];
    let (mut sizes, mut moving_total) = (Vec::new(), 0u64);
    for t in 1..=SECONDS * HZ {
        for p in 1..=players {
            if t % (HZ / 2) == p % (HZ / 2) {
                dirs[(p - 1) as usize] = direction(&mut rng);
            }
            let (dx, dy) = dirs[(p - 1) as usize];
            sim.queue_input(PlayerId(p), InputSeq(t), value(&ArenaInput { dx, dy }))
                .expect("seated");
        }
        sim.step();
        // Every member sees the same scopes: one message for the room.
        let delta = sim.delta(1, &everyone, &everyone);
        sizes.push(delta.len());
        moving_total += dirs.iter().filter(|d| **d != (0, 0)).count() as u64;
    }
    let payload: usize = sizes.iter().sum();
    let wire: usize = sizes.iter().map(|s| s + frame_header(*s)).sum();
    let ticks = sizes.len() as f64;
    sizes.sort_unstable();
    println!("arena, 50 players, {SECONDS} s at {HZ} Hz, WORKLOAD.md bots:");
    println!("  join snapshot {snapshot} bytes");
    println!(
        "  delta bytes: mean {:.1}, p50 {}, p99 {}, max {}",
        payload as f64 / ticks,
        percentile(&sizes, 0.5),
        percentile(&sizes, 0.99),
        sizes[sizes.len() - 1]
    );
    println!(
        "  per client per second: {:.0} payload / {:.0} wire bytes",
        payload as f64 / f64::from(SECONDS),
        wire as f64 / f64::from(SECONDS)
    );
    println!(
        "  bytes per moving entity per tick (whole delta / moving players): {:.2}",
        payload as f64 / moving_total as f64
    );
}

fn shooter() {
    let players = 200u32;
    let options = ShooterOptions {
        size: 12_000.0,
        capacity: players,
    };
    let options = Simulation::<Shooter>::named(&options);
    let mut sim =
        Simulation::<Shooter>::new(Some(options), 1, Shooter::info(), 10).expect("shooter starts");
    let mut rng = StdRng::seed_from_u64(9);
    for p in 1..=players {
        sim.join(PlayerId(p), "bot");
    }
    sim.step();
    let mut before: Vec<Vec<ScopeKey>> = (1..=players).map(|p| sim.visible(PlayerId(p))).collect();
    let mut before_all: Vec<ScopeKey> = Vec::new();
    let mut inputs = vec![ShooterInput::default(); players as usize];
    let (mut spatial, mut everything) = (0usize, 0usize);
    let (mut spatial_wire, mut everything_wire) = (0usize, 0usize);
    for t in 1..=SECONDS * HZ {
        for p in 1..=players {
            let i = &mut inputs[(p - 1) as usize];
            if t % (HZ / 2) == p % (HZ / 2) {
                (i.dx, i.dy) = direction(&mut rng);
                i.aim = rng.random();
                i.fire = rng.random_bool(1.0 / 3.0);
            }
            sim.queue_input(PlayerId(p), InputSeq(t), value(&*i))
                .expect("seated");
        }
        sim.step();
        let all = sim.scopes();
        for p in 1..=players {
            let now = sim.visible(PlayerId(p));
            let b = &mut before[(p - 1) as usize];
            let d = sim.delta(1, b, &now).len();
            spatial += d;
            spatial_wire += d + frame_header(d);
            *b = now;
            // Everything: every scope that exists, plus this player's own.
            let mut every: Vec<ScopeKey> = all.clone();
            every.push(ScopeKey::Player(PlayerId(p)));
            every.sort_unstable();
            every.dedup();
            let mut was = before_all.clone();
            was.push(ScopeKey::Player(PlayerId(p)));
            was.sort_unstable();
            was.dedup();
            let d = sim.delta(1, &was, &every).len();
            everything += d;
            everything_wire += d + frame_header(d);
        }
        before_all = all;
    }
    let per_client = |bytes: usize| bytes as f64 / f64::from(players) / f64::from(SECONDS);
    println!("shooter, 200 players on a 12,000 x 12,000 map, {SECONDS} s at {HZ} Hz:");
    println!(
        "  spatial interest (3 x 3 cells of 500):   {:.0} payload / {:.0} wire bytes per client per second",
        per_client(spatial),
        per_client(spatial_wire)
    );
    println!(
        "  everyone sees everything (same run):     {:.0} payload / {:.0} wire bytes per client per second",
        per_client(everything),
        per_client(everything_wire)
    );
    println!(
        "  ratio: {:.3}",
        spatial_wire as f64 / everything_wire as f64
    );
}

fn main() {
    arena();
    shooter();
}
