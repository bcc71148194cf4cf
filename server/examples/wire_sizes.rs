//! Measures the wire size of the arena workload without sockets: a full 50-player room doing the
//! random walk of `shared/WORKLOAD.md` (a new direction every 500 ms, (0,0) with probability
//! 0.10; one input per player per tick), for 60 simulated seconds at 30 Hz.
//!
//! `cargo run --release -p tickroom-server --example wire_sizes [players] [seconds]`

use rand::{Rng, SeedableRng};
use tickroom_server::arena::Arena;
use tickroom_server::sim::Simulation;
use tickroom_shared::arena::ArenaInput;
use tickroom_shared::{InputSeq, PlayerId, ServerMsg};

const TICK_HZ: u32 = 30;

/// Server-to-client WebSocket frame header size for a payload of `len` bytes (unmasked).
fn ws_header(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let players: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let seconds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let mut sim = Simulation::<Arena>::new(1, 1.0 / TICK_HZ as f32);
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let mut dirs = vec![(0i8, 0i8); players as usize];
    for p in 1..=players {
        sim.join(PlayerId(p));
    }
    sim.step(); // the joins' delta: everyone added
    let mut sizes = Vec::new();
    for tick in 0..seconds * TICK_HZ {
        for (i, dir) in dirs.iter_mut().enumerate() {
            // Each bot changes direction every 500 ms, at its own phase.
            if (tick + i as u32).is_multiple_of(TICK_HZ / 2) {
                *dir = if rng.random_bool(0.1) {
                    (0, 0)
                } else {
                    const EIGHT: [(i8, i8); 8] = [
                        (1, 0),
                        (1, 1),
                        (0, 1),
                        (-1, 1),
                        (-1, 0),
                        (-1, -1),
                        (0, -1),
                        (1, -1),
                    ];
                    EIGHT[rng.random_range(0..8)]
                };
            }
            let seq = InputSeq(tick + 1);
            let input = ArenaInput {
                dx: dir.0,
                dy: dir.1,
            };
            sim.queue_input(PlayerId(i as u32 + 1), seq, input)
                .expect("seated, increasing seq");
        }
        let delta = sim.step();
        let bytes = tickroom_shared::encode(&ServerMsg::Delta(delta)).expect("encodes");
        sizes.push(bytes.len());
    }
    let snapshot = ServerMsg::Snapshot {
        tick: sim.tick(),
        entities: sim.world().entities().to_vec(),
    };
    let snapshot = tickroom_shared::encode(&snapshot).expect("encodes").len();
    sizes.sort_unstable();
    let n = sizes.len();
    let mean = sizes.iter().sum::<usize>() as f64 / n as f64;
    let wire_mean = sizes.iter().map(|s| s + ws_header(*s)).sum::<usize>() as f64 / n as f64;
    println!("arena, {players} players, {seconds} s at {TICK_HZ} Hz ({n} deltas)");
    println!(
        "join snapshot: {snapshot} bytes ({} entities)",
        sim.world().len()
    );
    println!(
        "delta bytes: mean {mean:.1}, p50 {}, p99 {}, max {}",
        sizes[n / 2],
        sizes[n * 99 / 100],
        sizes[n - 1]
    );
    println!(
        "per client per second: {:.0} payload bytes, {:.0} wire bytes (deltas only)",
        mean * f64::from(TICK_HZ),
        wire_mean * f64::from(TICK_HZ)
    );
}
