//! A big shooter room without sockets: what each client receives, and where the tick goes. No
//! clock or socket is involved in what is measured, so `bytes` gives the same figures every run
//! on any machine; `bench/big_room.sh` measures the same over real sockets.
//!
//!     cargo run --release -p tickroom-bots --example big_room -- bytes [SECONDS]
//!     cargo run --release -p tickroom-bots --example big_room -- tick [TICKS]
//!
//! `bytes`: rooms of 50 and of 1,000 ships at the same density (maps of 3,600 and 16,000
//! units), per client per second: the Delta bytes (payload, no framing), the part every client
//! gets whatever it sees (the everyone scope, events to everyone, its acks), and the spatial
//! entities in view.
//!
//! `tick`: one 1,000-ship room's tick, timed in parts: inputs, step (game and replication),
//! every member's visible scopes, every member's Delta. Wall times depend on what else runs; for
//! a figure that does not, count instructions: run it under
//! `valgrind --tool=cachegrind --cache-sim=no` with 30 and with 60 ticks; the difference divided
//! by 30 is one tick (the set-up cancels), and `cg_annotate` says which functions spend it.
//!
//! Every ship is driven by the bots' own controls ([`Gunner`]) at 30 inputs a second.

use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::time::{Duration, Instant};
use tickroom_bots::behavior::Gunner;
use tickroom_games::shooter::{Shooter, ShooterOptions};
use tickroom_server::replication::ScopeKey;
use tickroom_server::sim::Simulation;
use tickroom_server::Game;
use tickroom_shared::{InputSeq, PlayerId};

/// Ticks per second of the shooter.
const HZ: u32 = 30;

/// A shooter room of `players` seated ships on a map of side `size`, each with its controls,
/// stepped once.
struct Battle {
    sim: Simulation<Shooter>,
    rng: SmallRng,
    gunners: Vec<Gunner>,
    ids: Vec<PlayerId>,
    /// Each member's scopes at the last tick.
    seen: Vec<Vec<ScopeKey>>,
    ticks: u32,
}

impl Battle {
    fn new(players: u32, size: f32) -> anyhow::Result<Battle> {
        let options = Simulation::<Shooter>::named(&ShooterOptions {
            size,
            capacity: players,
        });
        let mut sim = Simulation::<Shooter>::new(Some(options), 1, Shooter::info(), 100)
            .map_err(|r| anyhow::anyhow!("the shooter refused the options: {r}"))?;
        let mut rng = SmallRng::seed_from_u64(2);
        let gunners = (0..players).map(|_| Gunner::new(&mut rng)).collect();
        let ids: Vec<PlayerId> = (1..=players).map(PlayerId).collect();
        for p in &ids {
            sim.join(*p, "pilot");
        }
        sim.step();
        let seen = ids.iter().map(|p| sim.visible(*p)).collect();
        Ok(Battle {
            sim,
            rng,
            gunners,
            ids,
            seen,
            ticks: 0,
        })
    }

    /// Queues every ship's input of the next tick.
    fn inputs(&mut self) -> anyhow::Result<()> {
        let elapsed = Duration::from_millis(u64::from(self.ticks) * 1000 / u64::from(HZ));
        self.ticks += 1;
        for (p, gunner) in self.ids.iter().zip(&mut self.gunners) {
            let input = gunner.input(elapsed, &mut self.rng);
            self.sim
                .queue_typed_input(*p, InputSeq(self.ticks), input)
                .map_err(|e| anyhow::anyhow!("input refused: {e:?}"))?;
        }
        Ok(())
    }
}

/// Per client per second (bytes) and per tick (entities).
struct Received {
    delta: f64,
    shared: f64,
    in_view: f64,
}

fn bytes(players: u32, size: f32, secs: u32) -> anyhow::Result<Received> {
    let mut b = Battle::new(players, size)?;
    let (mut delta, mut shared, mut in_view) = (0u64, 0u64, 0u64);
    for _ in 0..secs * HZ {
        b.inputs()?;
        b.sim.step();
        let sizes = b.sim.scope_sizes();
        for (p, before) in b.ids.iter().zip(&mut b.seen) {
            let now = b.sim.visible(*p);
            delta += b.sim.delta(1, before, &now).len() as u64;
            // What this client gets from the scopes every client sees, its acks included.
            let own = [ScopeKey::All, ScopeKey::Player(*p)];
            shared += b.sim.delta(1, &own, &own).len() as u64;
            in_view += now
                .iter()
                .filter(|k| matches!(k, ScopeKey::Cell(..)))
                .map(|k| sizes.get(k).copied().unwrap_or(0) as u64)
                .sum::<u64>();
            *before = now;
        }
    }
    let clients = f64::from(players);
    Ok(Received {
        delta: delta as f64 / clients / f64::from(secs),
        shared: shared as f64 / clients / f64::from(secs),
        in_view: in_view as f64 / clients / f64::from(secs * HZ),
    })
}

fn report_bytes(secs: u32) -> anyhow::Result<()> {
    println!("shooter, {secs} s of bot controls per room, per client:");
    println!(
        "| room | Delta bytes/s | of which own + everyone scopes | spatial entities in view |"
    );
    println!("| --- | --- | --- | --- |");
    let small = bytes(50, 3600.0, secs)?;
    let big = bytes(1000, 16000.0, secs)?;
    for (name, r) in [
        ("50 ships, 3,600 map", &small),
        ("1,000 ships, 16,000 map", &big),
    ] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.1} |",
            r.delta, r.shared, r.in_view
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

fn report_tick(ticks: u32) -> anyhow::Result<()> {
    let mut b = Battle::new(1000, 16000.0)?;
    let mut spent = [Duration::ZERO; 4];
    for _ in 0..ticks {
        let start = Instant::now();
        b.inputs()?;
        let queued = Instant::now();
        b.sim.step();
        let stepped = Instant::now();
        let nows: Vec<Vec<ScopeKey>> = b.ids.iter().map(|p| b.sim.visible(*p)).collect();
        let viewed = Instant::now();
        for (before, now) in b.seen.iter_mut().zip(nows) {
            std::hint::black_box(b.sim.delta(1, before, &now));
            *before = now;
        }
        let sent = Instant::now();
        let parts = [
            queued - start,
            stepped - queued,
            viewed - stepped,
            sent - viewed,
        ];
        for (slot, d) in spent.iter_mut().zip(parts) {
            *slot += d;
        }
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(ticks);
    println!(
        "1000 ships, {ticks} ticks; ms per tick: inputs {:.2}, step {:.2}, visible {:.2}, deltas {:.2}",
        per(spent[0]),
        per(spent[1]),
        per(spent[2]),
        per(spent[3])
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_default();
    let count: Option<u32> = args.next().map(|s| s.parse()).transpose()?;
    match what.as_str() {
        "bytes" => report_bytes(count.unwrap_or(20)),
        "tick" => report_tick(count.unwrap_or(300)),
        _ => anyhow::bail!("usage: big_room bytes [SECONDS] | big_room tick [TICKS]"),
    }
}
