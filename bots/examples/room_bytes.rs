//! What a shooter client receives, by room size, from the simulation alone: no sockets, no
//! clock, the same bytes every run. Complements `bench/big_room.sh` (real sockets and bots),
//! whose figures include the WebSocket framing and depend on the machine.
//!
//!     cargo run --release -p tickroom-bots --example room_bytes [-- SECONDS]
//!
//! Rooms of 50 and of 1,000 ships at the same density (maps of 3,600 and 16,000 units), each
//! ship driven by the bots' own controls ([`Gunner`]) at 30 inputs a second. Prints, per client
//! per second: the Delta bytes (payload, no framing), the part every client gets whatever it
//! sees (the everyone scope, events to everyone, acks), and the spatial entities in view.

use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::time::Duration;
use tickroom_bots::behavior::Gunner;
use tickroom_games::shooter::{Shooter, ShooterOptions};
use tickroom_server::replication::ScopeKey;
use tickroom_server::sim::Simulation;
use tickroom_server::Game;
use tickroom_shared::{rmpv, InputSeq, PlayerId};

/// Ticks per second of the shooter.
const HZ: u32 = 30;

struct Figures {
    delta: f64,
    shared: f64,
    in_view: f64,
}

fn run(players: u32, size: f32, secs: u32) -> anyhow::Result<Figures> {
    let options = Simulation::<Shooter>::named(&ShooterOptions {
        size,
        capacity: players,
    });
    let mut sim = Simulation::<Shooter>::new(Some(options), 1, Shooter::info(), 100)
        .map_err(|r| anyhow::anyhow!("the shooter refused the options: {r}"))?;
    let mut rng = SmallRng::seed_from_u64(2);
    let mut gunners: Vec<Gunner> = (0..players).map(|_| Gunner::new(&mut rng)).collect();
    let ids: Vec<PlayerId> = (1..=players).map(PlayerId).collect();
    for p in &ids {
        sim.join(*p, "pilot");
    }
    sim.step();
    let mut seen: Vec<Vec<ScopeKey>> = ids.iter().map(|p| sim.visible(*p)).collect();
    let (mut delta, mut shared, mut in_view) = (0u64, 0u64, 0u64);
    let ticks = secs * HZ;
    for t in 0..ticks {
        let elapsed = Duration::from_millis(u64::from(t) * 1000 / u64::from(HZ));
        for (p, gunner) in ids.iter().zip(&mut gunners) {
            let input = rmpv::ext::to_value(gunner.input(elapsed, &mut rng))?;
            sim.queue_input(*p, InputSeq(t + 1), input)
                .map_err(|e| anyhow::anyhow!("input refused: {e:?}"))?;
        }
        sim.step();
        let sizes = sim.scope_sizes();
        for (p, before) in ids.iter().zip(&mut seen) {
            let now = sim.visible(*p);
            delta += sim.delta(1, before, &now).len() as u64;
            // What this client gets from the scopes every client sees, its acks included.
            let own = [ScopeKey::All, ScopeKey::Player(*p)];
            shared += sim.delta(1, &own, &own).len() as u64;
            in_view += now
                .iter()
                .filter(|k| matches!(k, ScopeKey::Cell(..)))
                .map(|k| sizes.get(k).copied().unwrap_or(0) as u64)
                .sum::<u64>();
            *before = now;
        }
    }
    let clients = f64::from(players);
    Ok(Figures {
        delta: delta as f64 / clients / f64::from(secs),
        shared: shared as f64 / clients / f64::from(secs),
        in_view: in_view as f64 / clients / f64::from(ticks),
    })
}

fn main() -> anyhow::Result<()> {
    let secs: u32 = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 20,
    };
    println!("shooter, {secs} s of bot controls per room, per client:");
    println!(
        "| room | Delta bytes/s | of which own + everyone scopes | spatial entities in view |"
    );
    println!("| --- | --- | --- | --- |");
    let small = run(50, 3600.0, secs)?;
    let big = run(1000, 16000.0, secs)?;
    for (name, f) in [
        ("50 ships, 3,600 map", &small),
        ("1,000 ships, 16,000 map", &big),
    ] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.1} |",
            f.delta, f.shared, f.in_view
        );
    }
    println!(
        "ratio 1,000 / 50: bytes {:.2}x, entities in view {:.2}x, bytes per entity in view {:.2}x",
        big.delta / small.delta,
        big.in_view / small.in_view,
        (big.delta / big.in_view) / (small.delta / small.in_view)
    );
    Ok(())
}
