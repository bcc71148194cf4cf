//! The smallest tickroom game: every player has a counter that their inputs increment.
//!
//! Run with `cargo run -p tickroom-server --example counter`, then connect a client that sends
//! `[1, seq, true]` inputs. The README's "Writing a game" section shows this file.

use std::collections::BTreeMap;
use tickroom_server::{Game, GameRng};
use tickroom_shared::{Entity, EntityId, Fields, PlayerId};

#[derive(Default)]
struct Counter {
    presses: BTreeMap<PlayerId, i32>,
}

impl Game for Counter {
    type Input = bool; // what a client sends: [1, seq, true]
    const NAME: &'static str = "counter";
    const FIELDS: [&'static str; 8] = ["ack", "presses", "", "", "", "", "", ""];

    fn new(_: &mut GameRng) -> Self {
        Counter::default()
    }

    fn join(&mut self, player: PlayerId, _: &mut GameRng) -> EntityId {
        self.presses.insert(player, 0);
        EntityId(player.0)
    }

    fn leave(&mut self, player: PlayerId) {
        self.presses.remove(&player);
    }

    fn input(&mut self, player: PlayerId, pressed: &bool) {
        if *pressed {
            *self.presses.entry(player).or_default() += 1;
        }
    }

    fn step(&mut self, _dt: f32, _rng: &mut GameRng) {}

    fn view(&self, out: &mut Vec<Entity>) {
        for (player, presses) in &self.presses {
            let mut fields = Fields::default();
            fields.0[1] = *presses;
            out.push(Entity {
                id: EntityId(player.0),
                fields,
            });
        }
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
    let config = tickroom_server::Config::default();
    tickroom_server::run::<Counter>(listener, config, std::future::pending()).await
}
