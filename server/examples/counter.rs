//! The smallest tickroom game: every player has a counter; an input of `true` increments it,
//! the command `{"type": "reset"}` zeroes it (and is refused when it is already zero).
//!
//! Run with `cargo run -p tickroom-server --example counter`, then connect a client that joins
//! game `counter` and sends `[1, seq, true]` inputs. The README's "Writing a game" section shows
//! this file.

use serde::Deserialize;
use std::collections::BTreeMap;
use tickroom_server::{Ctx, Game, Games, Kinds, Refusal, Replicate, Scope};
use tickroom_shared::{EntityId, PlayerId};

/// What every client sees of a player.
#[derive(Replicate)]
struct Tally {
    owner: u32,
    presses: u32,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Command {
    Reset,
}

#[derive(Default)]
struct Counter {
    tallies: BTreeMap<PlayerId, EntityId>,
}

impl Game for Counter {
    type Input = bool; // what a client sends: [1, seq, true]
    type Command = Command;
    type Options = ();
    const NAME: &'static str = "counter";

    fn kinds(kinds: &mut Kinds) {
        kinds.add::<Tally>();
    }

    fn new(_: (), _: &mut Ctx) -> Result<Self, Refusal> {
        Ok(Counter::default())
    }

    fn join(&mut self, player: PlayerId, _name: &str, ctx: &mut Ctx) {
        let tally = Tally {
            owner: player.0,
            presses: 0,
        };
        self.tallies.insert(player, ctx.spawn(Scope::All, tally));
    }

    fn leave(&mut self, player: PlayerId, ctx: &mut Ctx) {
        if let Some(id) = self.tallies.remove(&player) {
            ctx.despawn(id);
        }
    }

    fn input(&mut self, player: PlayerId, pressed: bool, ctx: &mut Ctx) {
        let Some(id) = self.tallies.get(&player) else {
            return;
        };
        if let (true, Some(t)) = (pressed, ctx.get_mut::<Tally>(*id)) {
            t.presses += 1;
        }
    }

    fn command(&mut self, player: PlayerId, cmd: Command, ctx: &mut Ctx) -> Result<(), Refusal> {
        let Command::Reset = cmd;
        let tally = self
            .tallies
            .get(&player)
            .and_then(|id| ctx.get_mut::<Tally>(*id))
            .ok_or_else(|| Refusal::new("not_seated", "you have no counter"))?;
        if tally.presses == 0 {
            return Err(Refusal::new("already_zero", "your counter is already 0"));
        }
        tally.presses = 0;
        Ok(())
    }

    fn step(&mut self, _: &mut Ctx) {}
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
    let config = tickroom_server::Config::default();
    let games = Games::new().with::<Counter>();
    tickroom_server::run(listener, config, games, std::future::pending()).await
}
