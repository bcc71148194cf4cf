//! What a bot does with its inputs: the workload's random walk, nothing, or the walk plus chat.
//!
//! Pure and clock-free: the caller passes the elapsed time, so the walk is tested without sleeping.

use rand::rngs::SmallRng;
use rand::Rng;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use tickroom_shared::arena::ArenaInput;

/// How often the arena walk picks a new direction (WORKLOAD.md: every 500 ms).
pub const DIRECTION_PERIOD: Duration = Duration::from_millis(500);

/// Probability that a new direction is "stand still" (WORKLOAD.md: 0.10).
pub const STOP_PROBABILITY: f64 = 0.10;

/// How often a chatty bot sends a chat line.
pub const CHAT_PERIOD: Duration = Duration::from_secs(1);

/// A bot's behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behavior {
    /// The benchmark workload: inputs at the input rate, a new random direction every 500 ms.
    Arena,
    /// Joins and listens: no inputs (pings only).
    Idle,
    /// The arena walk plus one chat line per second.
    Chatty,
}

impl Behavior {
    /// Whether this behaviour sends inputs.
    pub fn sends_inputs(self) -> bool {
        matches!(self, Behavior::Arena | Behavior::Chatty)
    }

    /// Whether this behaviour chats.
    pub fn chats(self) -> bool {
        matches!(self, Behavior::Chatty)
    }
}

impl fmt::Display for Behavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Behavior::Arena => "arena",
            Behavior::Idle => "idle",
            Behavior::Chatty => "chatty",
        })
    }
}

/// A behaviour name that is not one of `arena`, `idle`, `chatty`.
#[derive(Debug, thiserror::Error)]
#[error("unknown behavior {0:?}: expected arena, idle or chatty")]
pub struct UnknownBehavior(String);

impl FromStr for Behavior {
    type Err = UnknownBehavior;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "arena" => Ok(Behavior::Arena),
            "idle" => Ok(Behavior::Idle),
            "chatty" => Ok(Behavior::Chatty),
            other => Err(UnknownBehavior(other.to_owned())),
        }
    }
}

/// The eight non-zero directions.
const DIRECTIONS: [(i8, i8); 8] = [
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (0, -1),
    (0, 1),
    (1, -1),
    (1, 0),
    (1, 1),
];

/// The workload's random walk: a direction that changes every [`DIRECTION_PERIOD`].
#[derive(Clone, Debug)]
pub struct Walk {
    direction: ArenaInput,
    /// Elapsed time at which the next direction is due.
    next_change: Duration,
}

impl Walk {
    /// A walk whose first direction is drawn now (at elapsed time zero).
    pub fn new(rng: &mut SmallRng) -> Walk {
        Walk {
            direction: random_direction(rng),
            next_change: DIRECTION_PERIOD,
        }
    }

    /// The input to send at `elapsed` since the walk began; draws new directions as they fall due.
    pub fn input(&mut self, elapsed: Duration, rng: &mut SmallRng) -> ArenaInput {
        // Draw once per period that has passed, so a late caller still follows the schedule.
        while elapsed >= self.next_change {
            self.direction = random_direction(rng);
            self.next_change += DIRECTION_PERIOD;
        }
        self.direction
    }
}

/// (0, 0) with probability [`STOP_PROBABILITY`], else one of the 8 directions uniformly.
pub fn random_direction(rng: &mut SmallRng) -> ArenaInput {
    if rng.random_bool(STOP_PROBABILITY) {
        return ArenaInput { dx: 0, dy: 0 };
    }
    let (dx, dy) = DIRECTIONS[rng.random_range(0..DIRECTIONS.len())];
    ArenaInput { dx, dy }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn directions_follow_the_workload_distribution() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut stops = 0;
        let mut seen = std::collections::BTreeSet::new();
        let n = 20_000;
        for _ in 0..n {
            let d = random_direction(&mut rng);
            if (d.dx, d.dy) == (0, 0) {
                stops += 1;
            } else {
                seen.insert((d.dx, d.dy));
            }
        }
        assert_eq!(seen.len(), 8, "every non-zero direction occurs");
        let share = f64::from(stops) / f64::from(n);
        assert!((0.08..0.12).contains(&share), "stop share {share}");
    }

    #[test]
    fn walk_changes_direction_only_at_period_boundaries() {
        let mut rng = SmallRng::seed_from_u64(9);
        let mut walk = Walk::new(&mut rng);
        let first = walk.input(Duration::ZERO, &mut rng);
        assert_eq!(walk.input(Duration::from_millis(499), &mut rng), first);
        // Crossing several boundaries at once draws once per boundary.
        walk.input(Duration::from_millis(1600), &mut rng);
        assert_eq!(walk.next_change, Duration::from_millis(2000));
    }

    #[test]
    fn behavior_names_round_trip() {
        for b in [Behavior::Arena, Behavior::Idle, Behavior::Chatty] {
            assert_eq!(b.to_string().parse::<Behavior>().ok(), Some(b));
        }
        assert!("fast".parse::<Behavior>().is_err());
    }
}
