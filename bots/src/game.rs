//! Which bundled game the bots play, and the game-specific values they put on the wire.
//!
//! The values follow the contract at the end of `PROTOCOL.md` (inputs are arrays, commands are
//! maps with `str` keys). The input types are the games' own, but their wire form is written out
//! here, so the bots send the documented layout whatever the games' serde attributes say.

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use tickroom_games::arena::ArenaInput;
use tickroom_games::shooter::ShooterInput;

/// A game bundled with the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Game {
    /// 30 Hz, 50 players, everyone sees everything: the benchmark workload (`WORKLOAD.md`).
    #[default]
    Arena,
    /// Turn-based Crazy Eights, 2-6 players, commands only, deltas on change.
    Cards,
    /// 30 Hz, 64 players, spatial interest: each client sees the cells around its ship.
    Shooter,
}

impl Game {
    /// Every game.
    pub const ALL: [Game; 3] = [Game::Arena, Game::Cards, Game::Shooter];

    /// The name the server knows it by (`Join.game`).
    pub fn name(self) -> &'static str {
        match self {
            Game::Arena => "arena",
            Game::Cards => "cards",
            Game::Shooter => "shooter",
        }
    }

    /// Whether the game takes continuous inputs (and acks them).
    pub fn has_inputs(self) -> bool {
        matches!(self, Game::Arena | Game::Shooter)
    }

    /// Whether the game takes commands.
    pub fn has_commands(self) -> bool {
        matches!(self, Game::Cards)
    }
}

impl fmt::Display for Game {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A game name that is not one of `arena`, `cards`, `shooter`.
#[derive(Debug, thiserror::Error)]
#[error("unknown game {0:?}: expected arena, cards or shooter")]
pub struct UnknownGame(String);

impl FromStr for Game {
    type Err = UnknownGame;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Game::ALL
            .into_iter()
            .find(|g| g.name() == s)
            .ok_or_else(|| UnknownGame(s.to_owned()))
    }
}

/// The input of whichever game is played; serializes as that game's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BotInput {
    /// `[dx, dy]`.
    Arena(ArenaInput),
    /// `[dx, dy, aim, fire]`.
    Shooter(ShooterInput),
}

impl Serialize for BotInput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // Written out rather than derived: the wire form is the contract, not ArenaInput's
            // serde layout.
            BotInput::Arena(a) => (a.dx, a.dy).serialize(s),
            BotInput::Shooter(i) => (i.dx, i.dy, i.aim, i.fire).serialize(s),
        }
    }
}

impl BotInput {
    /// The input that stands still: for arena (0, 0); for the shooter (0, 0), the same aim,
    /// trigger released.
    pub fn still(self) -> BotInput {
        match self {
            BotInput::Arena(_) => BotInput::Arena(ArenaInput::default()),
            BotInput::Shooter(i) => BotInput::Shooter(ShooterInput {
                dx: 0,
                dy: 0,
                aim: i.aim,
                fire: false,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickroom_shared::{ClientMsg, InputSeq};

    type Msg = ClientMsg<BotInput, tickroom_shared::GameValue>;

    #[test]
    fn game_names_round_trip() {
        for g in Game::ALL {
            assert_eq!(g.to_string().parse::<Game>().ok(), Some(g));
            assert_eq!(
                serde_json::to_value(g).ok(),
                Some(serde_json::json!(g.name()))
            );
        }
        assert!("chess".parse::<Game>().is_err());
    }

    #[test]
    fn inputs_are_arrays_on_the_wire() {
        let arena = Msg::Input {
            seq: InputSeq(1),
            input: BotInput::Arena(ArenaInput { dx: -1, dy: 1 }),
        };
        // [1, 1, [-1, 1]]
        assert_eq!(
            tickroom_shared::encode(&arena).unwrap(),
            [0x93, 0x01, 0x01, 0x92, 0xff, 0x01]
        );
        let shooter = Msg::Input {
            seq: InputSeq(2),
            input: BotInput::Shooter(ShooterInput {
                dx: 0,
                dy: -1,
                aim: 200,
                fire: true,
            }),
        };
        // [1, 2, [0, -1, 200, true]]
        assert_eq!(
            tickroom_shared::encode(&shooter).unwrap(),
            [0x93, 0x01, 0x02, 0x94, 0x00, 0xff, 0xcc, 200, 0xc3]
        );
    }

    #[test]
    fn standing_still_keeps_the_aim_and_releases_the_trigger() {
        let moving = BotInput::Shooter(ShooterInput {
            dx: 1,
            dy: 1,
            aim: 9,
            fire: true,
        });
        assert_eq!(
            moving.still(),
            BotInput::Shooter(ShooterInput {
                dx: 0,
                dy: 0,
                aim: 9,
                fire: false
            })
        );
        let arena = BotInput::Arena(ArenaInput { dx: 1, dy: 0 });
        assert_eq!(arena.still(), BotInput::Arena(ArenaInput::default()));
    }
}
