//! How a bot plays cards (Crazy Eights, see the end of `PROTOCOL.md`): read the `table` and its
//! own `card` entities from the replica, press start, play a legal card or draw.
//!
//! Pure policy: [`CardPlayer`] takes the [`Player`] and `now` and says which command to send;
//! the swarm sends it and feeds back the results. Its tests need no socket and no sleep.

use crate::player::Player;
use tickroom_shared::rmpv::Value as Mp;
use tickroom_shared::{GameValue, PlayerId, Refusal};
use tokio::time::{Duration, Instant};

/// Cards per suit; `rank = card % 13`, `suit = card / 13`.
pub const RANKS: u8 = 13;

/// The rank of an eight, which may be played on anything and names the suit to follow.
pub const EIGHT: u8 = 7;

/// The `table`'s `phase` while a game is being played (`enum [waiting, playing, finished]`).
pub const PLAYING: i64 = 1;

/// The `table`'s `phase` before the start.
pub const WAITING: i64 = 0;

/// A card's rank (0 = ace ... 12 = king).
pub fn rank(card: u8) -> u8 {
    card % RANKS
}

/// A card's suit (0 clubs, 1 diamonds, 2 hearts, 3 spades).
pub fn suit(card: u8) -> u8 {
    card / RANKS
}

/// Whether `card` may be played on `top` with `follow` as the suit to follow (eights always).
pub fn is_legal(card: u8, top: u8, follow: u8) -> bool {
    rank(card) == EIGHT || rank(card) == rank(top) || suit(card) == follow
}

/// What a bot does on the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// `{"type": "start"}`.
    Start,
    /// `{"type": "play", "card": c}`, plus `"suit": s` for an eight.
    Play {
        /// The card.
        card: u8,
        /// The suit named with an eight.
        suit: Option<u8>,
    },
    /// `{"type": "draw"}`.
    Draw,
}

impl Move {
    /// The command on the wire.
    pub fn command(self) -> GameValue {
        let kv = |k: &str, v: Mp| (Mp::from(k), v);
        let mut map = Vec::with_capacity(3);
        match self {
            Move::Start => map.push(kv("type", Mp::from("start"))),
            Move::Draw => map.push(kv("type", Mp::from("draw"))),
            Move::Play { card, suit } => {
                map.push(kv("type", Mp::from("play")));
                map.push(kv("card", Mp::from(card)));
                if let Some(s) = suit {
                    map.push(kv("suit", Mp::from(s)));
                }
            }
        }
        Mp::Map(map)
    }

    /// `start`, `play` or `draw`.
    pub fn name(self) -> &'static str {
        match self {
            Move::Start => "start",
            Move::Play { .. } => "play",
            Move::Draw => "draw",
        }
    }
}

/// The bot's choice with `hand` on `top`, `follow` being the suit to follow: a matching card that
/// is not an eight (the highest rank first, to shed points), else an eight naming the suit the
/// rest of the hand has most of, else draw.
pub fn choose(hand: &[u8], top: u8, follow: u8) -> Move {
    let plain = hand
        .iter()
        .copied()
        .filter(|c| rank(*c) != EIGHT && is_legal(*c, top, follow))
        .max_by_key(|c| (rank(*c), *c));
    if let Some(card) = plain {
        return Move::Play { card, suit: None };
    }
    let Some(eight) = hand.iter().copied().find(|c| rank(*c) == EIGHT) else {
        return Move::Draw;
    };
    let mut counts = [0u8; 4];
    for c in hand.iter().filter(|c| **c != eight) {
        counts[usize::from(suit(*c) % 4)] += 1;
    }
    // Most cards first; the lowest suit among equals.
    let best = (0..4u8)
        .max_by_key(|s| (counts[usize::from(*s)], std::cmp::Reverse(*s)))
        .unwrap_or(0);
    Move::Play {
        card: eight,
        suit: Some(best),
    }
}

/// The `table` entity's fields the bot needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    /// 0 waiting, 1 playing, 2 finished.
    pub phase: i64,
    /// Whose turn it is (0 = nobody).
    pub turn: u32,
    /// The discard pile's top card.
    pub top: u8,
    /// The suit to follow.
    pub suit: u8,
}

/// Reads the `table` from the replica (there is one per room).
pub fn table(player: &Player) -> Option<Table> {
    let r = &player.replica;
    let (id, _) = r.of_kind("table").next()?;
    let int = |f: &str| r.int(id, f);
    Some(Table {
        phase: int("phase")?,
        turn: u32::try_from(int("turn")?).ok()?,
        top: u8::try_from(int("top")?).ok()?,
        suit: u8::try_from(int("suit")?).ok()?,
    })
}

/// The cards of `me`'s hand: the `card` entities it sees (only its own are sent to it).
pub fn hand(player: &Player, me: PlayerId) -> Vec<u8> {
    let r = &player.replica;
    r.of_kind("card")
        .filter(|(id, _)| r.int(*id, "owner") == Some(i64::from(me.0)))
        .filter_map(|(id, _)| u8::try_from(r.int(id, "card")?).ok())
        .collect()
}

/// A command awaiting its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    id: u32,
    play: Move,
    sent: Instant,
}

/// What a [`CommandResult`](tickroom_shared::ServerMsg::CommandResult) meant for the bot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The move it answered.
    pub play: Move,
    /// From sending the command to its result.
    pub latency: Duration,
    /// The refusal code, if refused.
    pub refused: Option<String>,
}

/// One bot's card-playing policy.
///
/// At most one command is in flight. A command's result comes before the delta of the tick that
/// applied it, so after a result the bot waits for the next state (delta or snapshot) before it
/// decides again; otherwise it would act on the state from before its own move.
/// Only the lowest seated player id presses start (once 2 or more are seated), so a room gets
/// one start rather than one per bot.
#[derive(Clone, Debug)]
pub struct CardPlayer {
    next_id: u32,
    pending: Option<Pending>,
    /// Decide only after the next delta or snapshot.
    wait_for_state: bool,
    /// The last play was refused as illegal: draw instead (a bug in [`choose`] must not stall the
    /// room until the turn timer).
    draw_next: bool,
}

impl Default for CardPlayer {
    fn default() -> Self {
        CardPlayer::new()
    }
}

impl CardPlayer {
    /// A player that has sent nothing.
    pub fn new() -> CardPlayer {
        CardPlayer {
            next_id: 1,
            pending: None,
            wait_for_state: false,
            draw_next: false,
        }
    }

    /// Forgets everything about the previous room (after a rejoin); command ids keep counting.
    pub fn reset(&mut self) {
        self.pending = None;
        self.wait_for_state = false;
        self.draw_next = false;
    }

    /// Whether a command awaits its result.
    pub fn waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Call after a delta or snapshot was applied.
    pub fn on_state(&mut self) {
        self.wait_for_state = false;
    }

    /// The command to send now, if any, with its id; it counts as in flight from `now`.
    pub fn decide(&mut self, player: &Player, now: Instant) -> Option<(u32, Move)> {
        if self.pending.is_some() || self.wait_for_state {
            return None;
        }
        let me = player.id()?;
        let table = table(player)?;
        let play = match table.phase {
            WAITING => {
                let lowest = player.roster.iter().map(|e| e.player).min();
                if player.roster.len() < 2 || lowest != Some(me) {
                    return None;
                }
                Move::Start
            }
            PLAYING if table.turn == me.0 => {
                if std::mem::take(&mut self.draw_next) {
                    Move::Draw
                } else {
                    choose(&hand(player, me), table.top, table.suit)
                }
            }
            _ => return None,
        };
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.pending = Some(Pending {
            id,
            play,
            sent: now,
        });
        Some((id, play))
    }

    /// Takes a command result; `None` when it answers no command in flight.
    pub fn on_result(
        &mut self,
        id: u32,
        refusal: Option<&Refusal>,
        now: Instant,
    ) -> Option<Outcome> {
        let pending = self.pending.filter(|p| p.id == id)?;
        self.pending = None;
        let refused = refusal.map(|r| r.code.clone());
        match (pending.play, refused.as_deref()) {
            // Refused as illegal: draw at once, nothing will change until someone moves.
            (Move::Play { .. }, Some("illegal_card" | "need_suit" | "not_in_hand")) => {
                self.draw_next = true;
            }
            // Applied, or refused for a state the bot has not seen yet (not its turn, already
            // started): the next delta shows the new state.
            _ => self.wait_for_state = true,
        }
        Some(Outcome {
            play: pending.play,
            latency: now.saturating_duration_since(pending.sent),
            refused,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickroom_shared::{
        Acks, EntityId, FieldSchema, FieldType, KindSchema, Record, RoomId, RosterEntry, Segment,
        ServerMsg, Tick, Value,
    };

    /// Card ids by rank and suit, for readable tests.
    fn c(rank: u8, suit: u8) -> u8 {
        suit * RANKS + rank
    }

    #[test]
    fn legal_cards_follow_rank_or_suit_and_eights_go_anywhere() {
        let top = c(4, 1); // five of diamonds
        assert!(is_legal(c(4, 3), top, 1), "same rank");
        assert!(is_legal(c(10, 1), top, 1), "same suit");
        assert!(is_legal(c(EIGHT, 2), top, 1), "an eight");
        assert!(!is_legal(c(10, 2), top, 1));
        // After an eight named spades, spades follow even though the top is a heart.
        assert!(is_legal(c(2, 3), c(EIGHT, 2), 3));
        assert!(!is_legal(c(2, 2), c(EIGHT, 2), 3));
    }

    #[test]
    fn chooses_a_plain_match_then_an_eight_with_its_best_suit_then_draws() {
        let top = c(4, 1);
        assert_eq!(
            choose(&[c(EIGHT, 0), c(1, 1), c(12, 1), c(3, 2)], top, 1),
            Move::Play {
                card: c(12, 1),
                suit: None
            },
            "the highest plain match, keeping the eight"
        );
        assert_eq!(
            choose(&[c(EIGHT, 0), c(1, 2), c(3, 2), c(9, 3)], top, 1),
            Move::Play {
                card: c(EIGHT, 0),
                suit: Some(2)
            },
            "an eight naming hearts, the suit the bot holds most of"
        );
        assert_eq!(choose(&[c(1, 2), c(9, 3)], top, 1), Move::Draw);
        assert_eq!(choose(&[], top, 1), Move::Draw);
        assert_eq!(
            choose(&[c(EIGHT, 3)], top, 1),
            Move::Play {
                card: c(EIGHT, 3),
                suit: Some(0)
            },
            "a lone eight names the first suit"
        );
    }

    #[test]
    fn commands_are_maps_with_a_type() {
        let play = Move::Play {
            card: 20,
            suit: Some(3),
        };
        assert_eq!(
            play.command(),
            Mp::Map(vec![
                (Mp::from("type"), Mp::from("play")),
                (Mp::from("card"), Mp::from(20)),
                (Mp::from("suit"), Mp::from(3)),
            ])
        );
        assert_eq!(
            Move::Draw.command(),
            Mp::Map(vec![(Mp::from("type"), Mp::from("draw"))])
        );
        let plain = Move::Play {
            card: 1,
            suit: None,
        }
        .command();
        assert_eq!(plain.as_map().map(Vec::len), Some(2), "no suit key");
    }

    fn field(name: &str, ty: FieldType) -> FieldSchema {
        FieldSchema {
            name: name.into(),
            ty,
        }
    }

    fn kinds() -> Vec<KindSchema> {
        let suits = FieldType::Enum(
            ["clubs", "diamonds", "hearts", "spades"]
                .map(String::from)
                .to_vec(),
        );
        let phases = FieldType::Enum(
            ["waiting", "playing", "finished"]
                .map(String::from)
                .to_vec(),
        );
        vec![
            KindSchema {
                name: "table".into(),
                fields: vec![
                    field("phase", phases),
                    field("turn", FieldType::U32),
                    field("top", FieldType::U8),
                    field("suit", suits),
                    field("stock", FieldType::U8),
                    field("deadline", FieldType::U32),
                ],
            },
            KindSchema {
                name: "hand".into(),
                fields: vec![
                    field("player", FieldType::U32),
                    field("cards", FieldType::U8),
                ],
            },
            KindSchema {
                name: "card".into(),
                fields: vec![field("owner", FieldType::U32), field("card", FieldType::U8)],
            },
        ]
    }

    /// A player 2 seated with player 1, at tick `tick`, with this table and hand.
    fn seated(me: u32, tick: u64, table: [i64; 4], hand: &[u8]) -> Player {
        let mut p = Player::new();
        p.handle(&ServerMsg::Welcome {
            player: PlayerId(me),
            room: RoomId(1),
            game: "cards".into(),
            tick_rate: 10,
            on_change: true,
            tick: Tick(0),
            token: "t".into(),
            kinds: kinds(),
        });
        p.handle(&ServerMsg::Roster {
            players: [1, 2]
                .map(|id| RosterEntry {
                    player: PlayerId(id),
                    name: format!("bot{id}"),
                    connected: true,
                })
                .to_vec(),
        });
        let mut added = vec![Record {
            id: EntityId(1),
            kind: 0,
            values: table
                .iter()
                .enumerate()
                .map(|(i, v)| (i as u8, Value::Int(*v)))
                .collect(),
        }];
        for (i, card) in hand.iter().enumerate() {
            added.push(Record {
                id: EntityId(10 + i as u32),
                kind: 2,
                values: vec![
                    (0, Value::Int(i64::from(me))),
                    (1, Value::Int(i64::from(*card))),
                ],
            });
        }
        let event = p.handle(&ServerMsg::Snapshot {
            tick: Tick(tick),
            segments: vec![Segment {
                added,
                ..Segment::default()
            }],
            events: vec![],
            acks: Acks::default(),
        });
        assert!(
            matches!(event, crate::PlayerEvent::Snapshot(..)),
            "{event:?}"
        );
        p
    }

    #[test]
    fn reads_table_and_hand_from_the_replica() {
        let p = seated(2, 5, [PLAYING, 2, c(4, 1).into(), 1], &[c(1, 1), c(9, 3)]);
        assert_eq!(
            table(&p),
            Some(Table {
                phase: PLAYING,
                turn: 2,
                top: c(4, 1),
                suit: 1
            })
        );
        let mut h = hand(&p, PlayerId(2));
        h.sort_unstable();
        assert_eq!(h, vec![c(1, 1), c(9, 3)]);
    }

    #[test]
    fn only_the_lowest_seated_player_starts() {
        let now = Instant::now();
        let mut first = CardPlayer::new();
        let waiting = seated(1, 5, [WAITING, 0, 0, 0], &[]);
        assert_eq!(first.decide(&waiting, now), Some((1, Move::Start)));
        let mut second = CardPlayer::new();
        let other = seated(2, 5, [WAITING, 0, 0, 0], &[]);
        assert_eq!(second.decide(&other, now), None);
    }

    #[test]
    fn plays_on_its_turn_once_and_waits_for_the_state_after_the_result() {
        let now = Instant::now();
        let mut bot = CardPlayer::new();
        let p = seated(2, 5, [PLAYING, 2, c(4, 1).into(), 1], &[c(1, 1), c(9, 3)]);
        let (id, play) = bot.decide(&p, now).expect("its turn");
        assert_eq!(
            play,
            Move::Play {
                card: c(1, 1),
                suit: None
            }
        );
        assert_eq!(bot.decide(&p, now), None, "one command in flight");
        assert!(bot.on_result(id + 1, None, now).is_none(), "not ours");
        let later = now + Duration::from_millis(120);
        let outcome = bot.on_result(id, None, later).expect("our command");
        assert_eq!(outcome.latency, Duration::from_millis(120));
        assert_eq!(outcome.refused, None);
        assert_eq!(
            bot.decide(&p, later),
            None,
            "the replica still shows the state before the move"
        );
        bot.on_state();
        let not_mine = seated(2, 6, [PLAYING, 1, c(1, 1).into(), 1], &[c(9, 3)]);
        assert_eq!(bot.decide(&not_mine, later), None, "player 1's turn");
    }

    #[test]
    fn an_illegal_play_is_followed_by_a_draw_at_once() {
        let now = Instant::now();
        let mut bot = CardPlayer::new();
        let p = seated(2, 5, [PLAYING, 2, c(4, 1).into(), 1], &[c(1, 1)]);
        let (id, _) = bot.decide(&p, now).expect("its turn");
        let refusal = Refusal::new("illegal_card", "no");
        let outcome = bot.on_result(id, Some(&refusal), now).expect("ours");
        assert_eq!(outcome.refused.as_deref(), Some("illegal_card"));
        assert_eq!(bot.decide(&p, now).map(|(_, m)| m), Some(Move::Draw));
    }

    #[test]
    fn nothing_to_do_while_finished_or_unwelcomed() {
        let now = Instant::now();
        let mut bot = CardPlayer::new();
        assert_eq!(bot.decide(&Player::new(), now), None);
        let finished = seated(1, 5, [2, 0, 0, 0], &[]);
        assert_eq!(bot.decide(&finished, now), None);
    }
}
