//! cards: Crazy Eights for 2-6 players, turn-based, with private hands.
//!
//! The rules are plain methods on [`Cards`] over its own state (stock, discard pile, hands, whose
//! turn); after every change `Cards::publish` writes that state into the replicated entities.
//! Each card in a hand is its own `card` entity in the owner's [`Scope::Player`], so no other
//! client ever receives it; everyone sees the `table` and how many cards each `hand` holds.
//! The deck is shuffled with the room's RNG, so a seeded room replays the same game.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tickroom_server::{
    Ctx, Game, GameInfo, Kinds, Refusal, Replicate, ReplicateEnum, Scope, TickPolicy,
};
use tickroom_shared::{EntityId, PlayerId};

/// Seats per room.
pub const CAPACITY: u32 = 6;

/// Ticks per second: turn-based, so only the turn timer needs ticks.
pub const TICK_HZ: u16 = 10;

/// Seconds a player has for a turn before drawing automatically.
pub const TURN_SECS: f32 = 30.0;

/// Cards in the deck, numbered `0..DECK`: `rank = card % 13`, `suit = card / 13`.
pub const DECK: u8 = 52;

/// The rank of an eight (0 is the ace).
pub const EIGHT: u8 = 7;

/// A card's rank: 0 = ace, 1 = two, ..., 7 = eight, 10 = jack, 11 = queen, 12 = king.
pub fn rank(card: u8) -> u8 {
    card % 13
}

/// Where the game is.
#[derive(ReplicateEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// Players gather; any of them may start.
    #[default]
    Waiting,
    /// Cards are dealt; the room is locked.
    Playing,
    /// Someone won; the room is ending.
    Finished,
}

/// The four suits, in card order.
#[derive(ReplicateEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Suit {
    /// Cards 0-12.
    #[default]
    Clubs,
    /// Cards 13-25.
    Diamonds,
    /// Cards 26-38.
    Hearts,
    /// Cards 39-51.
    Spades,
}

impl Suit {
    const ALL: [Suit; 4] = [Suit::Clubs, Suit::Diamonds, Suit::Hearts, Suit::Spades];

    /// The suit with this index (as in commands and events), if any.
    pub fn from_index(i: u8) -> Option<Suit> {
        Suit::ALL.get(usize::from(i)).copied()
    }

    /// The suit of a card.
    pub fn of(card: u8) -> Suit {
        Suit::ALL[usize::from(card / 13) % 4]
    }

    /// Its index on the wire.
    pub fn index(self) -> u8 {
        self as u8
    }
}

/// The table, seen by everyone.
#[derive(Replicate, Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Where the game is.
    pub phase: Phase,
    /// Whose turn it is (0 = nobody).
    pub turn: u32,
    /// The discard pile's top card.
    pub top: u8,
    /// The suit to follow: the top card's, or the one chosen with an eight.
    pub suit: Suit,
    /// Cards left to draw.
    pub stock: u8,
    /// The tick at which the turn times out.
    pub deadline: u32,
}

/// How many cards a player holds, seen by everyone.
#[derive(Replicate, Clone, Debug, PartialEq)]
pub struct Hand {
    /// The player.
    pub player: u32,
    /// Cards held.
    pub cards: u8,
}

/// One card of a hand, seen only by its owner.
#[derive(Replicate, Clone, Debug, PartialEq)]
pub struct Card {
    /// The player holding it.
    pub owner: u32,
    /// The card, `0..52`.
    pub card: u8,
}

/// A command: `{"type": "start"}`, `{"type": "play", "card": 7, "suit": 2}`, `{"type": "draw"}`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CardsCommand {
    /// Deal and lock the room (at least 2 seated).
    Start,
    /// Play a card of your hand; an eight needs the suit to follow.
    Play {
        /// The card, `0..52`.
        card: u8,
        /// The suit chosen with an eight (`0..4`); ignored for other cards.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suit: Option<u8>,
    },
    /// Take one card from the stock; the turn passes.
    Draw,
}

/// How many cards are dealt.
///
/// Read through a `String`: the engine decodes options from an `rmpv::Value`, whose serde
/// deserializer does not accept a plain string for an enum variant.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Mode {
    /// 5 cards each, 7 with two players.
    #[default]
    Classic,
    /// 3 cards each.
    Quick,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Classic => "classic",
            Mode::Quick => "quick",
        }
    }
}

impl TryFrom<String> for Mode {
    type Error = String;

    fn try_from(name: String) -> Result<Mode, String> {
        match name.as_str() {
            "classic" => Ok(Mode::Classic),
            "quick" => Ok(Mode::Quick),
            _ => Err(format!(
                "unknown mode {name:?}: expected \"classic\" or \"quick\""
            )),
        }
    }
}

/// Room options: `{"mode": "classic" | "quick"}`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct CardsOptions {
    /// How many cards are dealt.
    pub mode: Mode,
}

/// Event `played`, to everyone.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Played {
    /// Who played.
    pub player: u32,
    /// The card.
    pub card: u8,
    /// The suit to follow now.
    pub suit: u8,
}

/// Event `drew` (to everyone) and `timeout` (to everyone): this player drew, or ran out of time.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Who {
    /// The player.
    pub player: u32,
}

/// Event `your_turn`, to the player whose turn it is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct YourTurn {
    /// The tick at which the turn times out.
    pub deadline: u32,
}

/// The room's result, in `Ended`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CardsResult {
    /// Who emptied their hand first (or stayed last).
    pub winner: u32,
    /// Their name.
    pub name: String,
}

/// A seated player, in turn order.
#[derive(Debug)]
struct Seat {
    player: PlayerId,
    name: String,
    /// Its `hand` entity.
    hand: EntityId,
    /// Its cards and their `card` entities.
    cards: Vec<(u8, EntityId)>,
}

/// A game of Crazy Eights.
#[derive(Debug)]
pub struct Cards {
    mode: Mode,
    table: EntityId,
    /// In join order, which is the turn order.
    seats: Vec<Seat>,
    /// Draw from the end.
    stock: Vec<u8>,
    /// The top card is the last.
    discard: Vec<u8>,
    phase: Phase,
    /// Index into `seats` of the player whose turn it is (while playing).
    turn: usize,
    suit: Suit,
    /// The tick at which the current turn times out.
    deadline: u64,
}

impl Cards {
    /// The `table` entity.
    pub fn table(&self) -> EntityId {
        self.table
    }

    /// Where the game is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whose turn it is, while playing.
    pub fn turn(&self) -> Option<PlayerId> {
        (self.phase == Phase::Playing).then(|| self.seats[self.turn].player)
    }

    /// The cards `player` holds.
    pub fn hand(&self, player: PlayerId) -> Vec<u8> {
        self.seat(player)
            .map(|i| self.seats[i].cards.iter().map(|(c, _)| *c).collect())
            .unwrap_or_default()
    }

    fn seat(&self, player: PlayerId) -> Option<usize> {
        self.seats.iter().position(|s| s.player == player)
    }

    fn top(&self) -> Option<u8> {
        self.discard.last().copied()
    }

    /// Writes the rules' state into the replicated entities (only changed fields are sent).
    fn publish(&self, ctx: &mut Ctx) {
        let table = Table {
            phase: self.phase,
            turn: self.turn().map_or(0, |p| p.0),
            top: self.top().unwrap_or(0),
            suit: self.suit,
            // At most 52 cards, and the deadline fits u32 for 13 years of ticks at 10 Hz.
            stock: u8::try_from(self.stock.len()).unwrap_or(u8::MAX),
            deadline: match self.phase {
                Phase::Playing => u32::try_from(self.deadline).unwrap_or(u32::MAX),
                _ => 0,
            },
        };
        if let Some(t) = ctx.get_mut::<Table>(self.table) {
            *t = table;
        }
        for seat in &self.seats {
            if let Some(h) = ctx.get_mut::<Hand>(seat.hand) {
                h.cards = u8::try_from(seat.cards.len()).unwrap_or(u8::MAX);
            }
        }
    }

    fn start(&mut self, ctx: &mut Ctx) -> Result<(), Refusal> {
        if self.phase != Phase::Waiting {
            return Err(Refusal::new("bad_command", "the game has already started"));
        }
        if self.seats.len() < 2 {
            return Err(Refusal::new(
                "too_few_players",
                "at least 2 players are needed",
            ));
        }
        let mut deck: Vec<u8> = (0..DECK).collect();
        deck.shuffle(ctx.rng());
        self.stock = deck;
        let deal = match self.mode {
            Mode::Quick => 3,
            Mode::Classic if self.seats.len() == 2 => 7,
            Mode::Classic => 5,
        };
        for _ in 0..deal {
            for i in 0..self.seats.len() {
                // 6 seats x 7 cards at most: the 52-card stock cannot run out while dealing.
                if let Some(card) = self.stock.pop() {
                    self.give(i, card, ctx);
                }
            }
        }
        // The first card turned up must not be an eight (its suit would be nobody's choice):
        // eights go to the bottom of the stock. At least 22 cards, at most 4 of them eights, remain.
        for _ in 0..self.stock.len() {
            match self.stock.pop() {
                Some(card) if rank(card) == EIGHT => self.stock.insert(0, card),
                Some(card) => {
                    self.discard.push(card);
                    self.suit = Suit::of(card);
                    break;
                }
                None => break,
            }
        }
        self.phase = Phase::Playing;
        self.turn = 0;
        ctx.lock();
        self.begin_turn(ctx);
        Ok(())
    }

    /// The seated player at `turn` must be `player` while playing.
    fn check_turn(&self, player: PlayerId) -> Result<usize, Refusal> {
        if self.phase != Phase::Playing {
            return Err(Refusal::new("not_playing", "the game is not being played"));
        }
        if self.seats[self.turn].player != player {
            return Err(Refusal::new("not_your_turn", "wait for your turn"));
        }
        Ok(self.turn)
    }

    fn play(
        &mut self,
        player: PlayerId,
        card: u8,
        suit: Option<u8>,
        ctx: &mut Ctx,
    ) -> Result<(), Refusal> {
        let i = self.check_turn(player)?;
        if card >= DECK {
            return Err(Refusal::new("bad_command", "cards are numbered 0 to 51"));
        }
        let chosen = suit
            .map(|s| {
                Suit::from_index(s)
                    .ok_or_else(|| Refusal::new("bad_command", "suits are numbered 0 to 3"))
            })
            .transpose()?;
        let Some(at) = self.seats[i].cards.iter().position(|(c, _)| *c == card) else {
            return Err(Refusal::new("not_in_hand", "you do not hold that card"));
        };
        let follow = if rank(card) == EIGHT {
            chosen.ok_or_else(|| Refusal::new("need_suit", "an eight needs the suit to follow"))?
        } else {
            let matches_rank = self.top().is_some_and(|top| rank(top) == rank(card));
            if !matches_rank && Suit::of(card) != self.suit {
                return Err(Refusal::new(
                    "illegal_card",
                    "play the top card's rank, the suit to follow, or an eight",
                ));
            }
            Suit::of(card)
        };
        let (_, entity) = self.seats[i].cards.remove(at);
        ctx.despawn(entity);
        self.discard.push(card);
        self.suit = follow;
        let played = Played {
            player: player.0,
            card,
            suit: follow.index(),
        };
        ctx.emit(Scope::All, "played", &played);
        if self.seats[i].cards.is_empty() {
            self.win(i, ctx);
        } else {
            self.next_turn(ctx);
        }
        Ok(())
    }

    fn draw(&mut self, player: PlayerId, ctx: &mut Ctx) -> Result<(), Refusal> {
        let i = self.check_turn(player)?;
        self.draw_and_pass(i, ctx);
        Ok(())
    }

    /// Seat `i` takes one card (if any is left) and the turn passes.
    fn draw_and_pass(&mut self, i: usize, ctx: &mut Ctx) {
        if self.stock.is_empty() {
            // Reshuffle the discard pile under its top card into a new stock.
            let top = self.discard.pop();
            self.stock = std::mem::take(&mut self.discard);
            self.stock.shuffle(ctx.rng());
            self.discard.extend(top);
        }
        // Every card may be in someone's hand: then there is nothing to take.
        if let Some(card) = self.stock.pop() {
            self.give(i, card, ctx);
        }
        let drew = Who {
            player: self.seats[i].player.0,
        };
        ctx.emit(Scope::All, "drew", &drew);
        self.next_turn(ctx);
    }

    fn give(&mut self, i: usize, card: u8, ctx: &mut Ctx) {
        let owner = self.seats[i].player;
        let entity = ctx.spawn(
            Scope::Player(owner),
            Card {
                owner: owner.0,
                card,
            },
        );
        self.seats[i].cards.push((card, entity));
    }

    fn next_turn(&mut self, ctx: &mut Ctx) {
        self.turn = (self.turn + 1) % self.seats.len();
        self.begin_turn(ctx);
    }

    fn begin_turn(&mut self, ctx: &mut Ctx) {
        // In ticks of this room's rate, so a server running at another rate keeps 30 seconds.
        let ticks = (TURN_SECS / ctx.dt()).round().max(1.0) as u64;
        self.deadline = ctx.tick().0 + ticks;
        let your_turn = YourTurn {
            deadline: u32::try_from(self.deadline).unwrap_or(u32::MAX),
        };
        ctx.emit(
            Scope::Player(self.seats[self.turn].player),
            "your_turn",
            &your_turn,
        );
    }

    fn win(&mut self, i: usize, ctx: &mut Ctx) {
        self.phase = Phase::Finished;
        let seat = &self.seats[i];
        ctx.end(&CardsResult {
            winner: seat.player.0,
            name: seat.name.clone(),
        });
    }
}

impl Game for Cards {
    /// Cards has no continuous input.
    type Input = ();
    type Command = CardsCommand;
    type Options = CardsOptions;

    const NAME: &'static str = "cards";

    fn info() -> GameInfo {
        GameInfo {
            capacity: CAPACITY,
            tick: TickPolicy::OnChange {
                hz: TICK_HZ,
                keepalive_secs: 5,
            },
            interest: None,
            ..GameInfo::default()
        }
    }

    fn kinds(kinds: &mut Kinds) {
        kinds.add::<Table>().add::<Hand>().add::<Card>();
    }

    fn new(options: CardsOptions, ctx: &mut Ctx) -> Result<Self, Refusal> {
        ctx.set_metadata("mode", options.mode.name());
        let table = ctx.spawn(Scope::All, Table::default());
        Ok(Cards {
            mode: options.mode,
            table,
            seats: Vec::new(),
            stock: Vec::new(),
            discard: Vec::new(),
            phase: Phase::Waiting,
            turn: 0,
            suit: Suit::Clubs,
            deadline: 0,
        })
    }

    fn admit(&mut self, _player: PlayerId, _name: &str, _ctx: &Ctx) -> Result<(), Refusal> {
        match self.phase {
            Phase::Waiting => Ok(()),
            _ => Err(Refusal::new(
                "in_progress",
                "a game is in progress in this room",
            )),
        }
    }

    fn join(&mut self, player: PlayerId, name: &str, ctx: &mut Ctx) {
        let hand = ctx.spawn(
            Scope::All,
            Hand {
                player: player.0,
                cards: 0,
            },
        );
        self.seats.push(Seat {
            player,
            name: name.to_owned(),
            hand,
            cards: Vec::new(),
        });
    }

    fn leave(&mut self, player: PlayerId, ctx: &mut Ctx) {
        let Some(i) = self.seat(player) else {
            return;
        };
        let seat = self.seats.remove(i);
        ctx.despawn(seat.hand);
        for (card, entity) in seat.cards {
            ctx.despawn(entity);
            // Back under the stock, so the deck stays whole.
            self.stock.insert(0, card);
        }
        if self.phase == Phase::Playing {
            match self.seats.len() {
                0 => self.phase = Phase::Finished,
                1 => self.win(0, ctx),
                n => {
                    if i < self.turn {
                        self.turn -= 1;
                    } else if i == self.turn {
                        // The next player (now at the same index) gets a fresh turn.
                        self.turn %= n;
                        self.begin_turn(ctx);
                    }
                }
            }
        }
        self.publish(ctx);
    }

    fn command(
        &mut self,
        player: PlayerId,
        command: CardsCommand,
        ctx: &mut Ctx,
    ) -> Result<(), Refusal> {
        match command {
            CardsCommand::Start => self.start(ctx)?,
            CardsCommand::Play { card, suit } => self.play(player, card, suit, ctx)?,
            CardsCommand::Draw => self.draw(player, ctx)?,
        }
        self.publish(ctx);
        Ok(())
    }

    fn step(&mut self, ctx: &mut Ctx) {
        if self.phase == Phase::Playing && ctx.tick().0 >= self.deadline {
            let timeout = Who {
                player: self.seats[self.turn].player.0,
            };
            ctx.emit(Scope::All, "timeout", &timeout);
            self.draw_and_pass(self.turn, ctx);
            self.publish(ctx);
        }
    }
}

#[cfg(test)]
mod tests;
