//! What a bot does: play (the workload's random walk in arena, the walk plus aim and trigger in
//! the shooter, legal cards in cards), nothing, or play plus chat.
//!
//! Pure and clock-free: the caller passes the elapsed time, so the walk is tested without sleeping.

use rand::rngs::SmallRng;
use rand::Rng;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use tickroom_games::arena::ArenaInput;
use tickroom_games::shooter::ShooterInput;

/// How often the arena walk picks a new direction (WORKLOAD.md: every 500 ms).
pub const DIRECTION_PERIOD: Duration = Duration::from_millis(500);

/// Probability that a new direction is "stand still" (WORKLOAD.md: 0.10).
pub const STOP_PROBABILITY: f64 = 0.10;

/// How often a shooter bot aims anew and decides whether to hold the trigger (with its walk's
/// directions, but on its own schedule).
pub const AIM_PERIOD: Duration = Duration::from_millis(500);

/// Probability that a shooter bot holds the trigger for the next [`AIM_PERIOD`] (the server
/// fires at most every 0.25 s while it is held).
pub const FIRE_PROBABILITY: f64 = 0.5;

/// How often a chatty bot sends a chat line.
pub const CHAT_PERIOD: Duration = Duration::from_secs(1);

/// A bot's behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behavior {
    /// Play the game: in arena the benchmark workload (inputs at the input rate, a new random
    /// direction every 500 ms), in the shooter the same walk plus aim and trigger, in cards
    /// legal cards on every turn. `arena`, its name before there were other games, is accepted.
    #[serde(alias = "arena")]
    Play,
    /// Joins and listens: no inputs, no commands (pings only).
    Idle,
    /// Play plus one chat line per second.
    Chatty,
}

impl Behavior {
    /// Whether this behaviour plays: sends inputs (arena, shooter) or commands (cards).
    pub fn plays(self) -> bool {
        matches!(self, Behavior::Play | Behavior::Chatty)
    }

    /// Whether this behaviour chats.
    pub fn chats(self) -> bool {
        matches!(self, Behavior::Chatty)
    }
}

impl fmt::Display for Behavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Behavior::Play => "play",
            Behavior::Idle => "idle",
            Behavior::Chatty => "chatty",
        })
    }
}

/// A behaviour name that is not one of `play` (or `arena`), `idle`, `chatty`.
#[derive(Debug, thiserror::Error)]
#[error("unknown behavior {0:?}: expected play, idle or chatty")]
pub struct UnknownBehavior(String);

impl FromStr for Behavior {
    type Err = UnknownBehavior;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "play" | "arena" => Ok(Behavior::Play),
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

/// The shooter's controls: the arena walk, plus an aim and a trigger drawn every
/// [`AIM_PERIOD`].
#[derive(Clone, Debug)]
pub struct Gunner {
    walk: Walk,
    aim: u8,
    fire: bool,
    /// Elapsed time at which the next aim is due.
    next_aim: Duration,
}

impl Gunner {
    /// Controls whose first direction, aim and trigger are drawn now (at elapsed time zero).
    pub fn new(rng: &mut SmallRng) -> Gunner {
        let walk = Walk::new(rng);
        Gunner {
            walk,
            aim: rng.random(),
            fire: rng.random_bool(FIRE_PROBABILITY),
            next_aim: AIM_PERIOD,
        }
    }

    /// The input to send at `elapsed` since the controls began.
    pub fn input(&mut self, elapsed: Duration, rng: &mut SmallRng) -> ShooterInput {
        let ArenaInput { dx, dy } = self.walk.input(elapsed, rng);
        while elapsed >= self.next_aim {
            self.aim = rng.random();
            self.fire = rng.random_bool(FIRE_PROBABILITY);
            self.next_aim += AIM_PERIOD;
        }
        ShooterInput {
            dx,
            dy,
            aim: self.aim,
            fire: self.fire,
        }
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
    fn gunner_walks_and_redraws_aim_and_trigger_each_period() {
        let mut rng = SmallRng::seed_from_u64(5);
        let mut gunner = Gunner::new(&mut rng);
        let first = gunner.input(Duration::ZERO, &mut rng);
        assert_eq!(gunner.input(Duration::from_millis(499), &mut rng), first);
        let (mut aims, mut fires) = (std::collections::BTreeSet::new(), 0);
        for period in 1..=400u64 {
            let i = gunner.input(Duration::from_millis(500 * period), &mut rng);
            assert!((-1..=1).contains(&i.dx) && (-1..=1).contains(&i.dy));
            aims.insert(i.aim);
            fires += u32::from(i.fire);
        }
        assert!(aims.len() > 100, "aims vary: {}", aims.len());
        assert!(
            (120..280).contains(&fires),
            "trigger held about half the time: {fires}"
        );
    }

    #[test]
    fn behavior_names_round_trip() {
        for b in [Behavior::Play, Behavior::Idle, Behavior::Chatty] {
            assert_eq!(b.to_string().parse::<Behavior>().ok(), Some(b));
        }
        assert_eq!("arena".parse::<Behavior>().ok(), Some(Behavior::Play));
        assert!("fast".parse::<Behavior>().is_err());
    }
}
