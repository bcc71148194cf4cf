//! Where one big room's tick goes, without sockets: 1,000 shooter ships driven by the bots'
//! controls, timing per tick the inputs, the step (game and replication), every member's
//! visible scopes, and every member's Delta.
//!
//!     cargo run --release -p tickroom-bots --example room_tick [-- TICKS]
//!
//! Wall times depend on the machine and what else runs on it. For a figure that does not,
//! count instructions: run it under `valgrind --tool=cachegrind --cache-sim=no` with 30 and with
//! 60 ticks; the difference divided by 30 is the instructions of one tick (the set-up cancels),
//! and `cg_annotate` says which functions spend them.

use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::time::{Duration, Instant};
use tickroom_bots::behavior::Gunner;
use tickroom_games::shooter::{Shooter, ShooterOptions};
use tickroom_server::replication::ScopeKey;
use tickroom_server::sim::Simulation;
use tickroom_server::Game;
use tickroom_shared::{InputSeq, PlayerId};

/// Ships in the room.
const PLAYERS: u32 = 1000;

fn main() -> anyhow::Result<()> {
    let ticks: u32 = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 300,
    };
    let options = Simulation::<Shooter>::named(&ShooterOptions {
        size: 16000.0,
        capacity: PLAYERS,
    });
    let mut sim = Simulation::<Shooter>::new(Some(options), 1, Shooter::info(), 100)
        .map_err(|r| anyhow::anyhow!("the shooter refused the options: {r}"))?;
    let mut rng = SmallRng::seed_from_u64(2);
    let mut gunners: Vec<Gunner> = (0..PLAYERS).map(|_| Gunner::new(&mut rng)).collect();
    let ids: Vec<PlayerId> = (1..=PLAYERS).map(PlayerId).collect();
    for p in &ids {
        sim.join(*p, "pilot");
    }
    sim.step();
    let mut seen: Vec<Vec<ScopeKey>> = ids.iter().map(|p| sim.visible(*p)).collect();
    let mut spent = [Duration::ZERO; 4];
    for t in 0..ticks {
        let elapsed = Duration::from_millis(u64::from(t) * 1000 / 30);
        let start = Instant::now();
        for (p, gunner) in ids.iter().zip(&mut gunners) {
            let input = gunner.input(elapsed, &mut rng);
            sim.queue_typed_input(*p, InputSeq(t + 1), input)
                .map_err(|e| anyhow::anyhow!("input refused: {e:?}"))?;
        }
        let queued = Instant::now();
        sim.step();
        let stepped = Instant::now();
        let nows: Vec<Vec<ScopeKey>> = ids.iter().map(|p| sim.visible(*p)).collect();
        let viewed = Instant::now();
        for (before, now) in seen.iter_mut().zip(nows) {
            std::hint::black_box(sim.delta(1, before, &now));
            *before = now;
        }
        let sent = Instant::now();
        for (slot, d) in spent.iter_mut().zip([
            queued - start,
            stepped - queued,
            viewed - stepped,
            sent - viewed,
        ]) {
            *slot += d;
        }
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(ticks);
    println!(
        "{PLAYERS} ships, {ticks} ticks; ms per tick: inputs {:.2}, step {:.2}, visible {:.2}, deltas {:.2}",
        per(spent[0]),
        per(spent[1]),
        per(spent[2]),
        per(spent[3])
    );
    Ok(())
}
