//! Tests of the cards game: what each client sees, through a `Simulation`.

use super::*;
use crate::testing::{events, Client};
use tickroom_server::sim::{Simulation, TickOutcome};
use tickroom_shared::{rmpv, Event};

/// A room of cards with one client per seated player, all kept in sync every tick.
struct Room {
    sim: Simulation<Cards>,
    clients: Vec<Client>,
    /// Each client's events of the last tick, by seat.
    events: Vec<Vec<Event>>,
    next_command: u32,
}

impl Room {
    fn with(options: Option<rmpv::Value>, seed: u64, players: u32) -> Room {
        let sim = Simulation::new(options, seed, Cards::info(), 100).expect("valid options");
        let mut room = Room {
            sim,
            clients: Vec::new(),
            events: Vec::new(),
            next_command: 1,
        };
        for p in 1..=players {
            room.join(p);
        }
        room.tick();
        room
    }

    fn new(players: u32) -> Room {
        Room::with(None, 7, players)
    }

    fn join(&mut self, p: u32) {
        self.sim.join(PlayerId(p), &format!("player {p}"));
        self.clients.push(Client::new(&self.sim, PlayerId(p)));
        self.events.push(Vec::new());
    }

    /// Steps once, syncs every client and checks that each sees exactly its own cards.
    fn tick(&mut self) -> TickOutcome {
        let outcome = self.sim.step();
        for (i, c) in self.clients.iter_mut().enumerate() {
            self.events[i] = c.sync(&mut self.sim);
            let me = c.player();
            let mut seen: Vec<u8> = c
                .replica
                .of_kind("card")
                .map(|(id, _)| {
                    assert_eq!(
                        c.replica.int(id, "owner"),
                        Some(me.0.into()),
                        "foreign card"
                    );
                    c.replica.int(id, "card").expect("card") as u8
                })
                .collect();
            let mut held = self.sim.game().hand(me);
            seen.sort_unstable();
            held.sort_unstable();
            assert_eq!(seen, held, "player {me} sees its hand");
        }
        outcome
    }

    /// Sends a command, steps once and returns its result.
    fn command(&mut self, p: u32, command: CardsCommand) -> Result<(), Refusal> {
        self.try_command(p, command).0
    }

    fn try_command(&mut self, p: u32, command: CardsCommand) -> (Result<(), Refusal>, TickOutcome) {
        let id = self.next_command;
        self.next_command += 1;
        let value = Simulation::<Cards>::named(&command);
        self.sim
            .queue_command(PlayerId(p), id, value)
            .expect("a seated player's command");
        let outcome = self.tick();
        let result = outcome
            .results
            .iter()
            .find(|(_, i, _)| *i == id)
            .map(|(_, _, r)| r.clone())
            .expect("every command gets a result");
        (result.map_or(Ok(()), Err), outcome)
    }

    fn client(&self, p: u32) -> &Client {
        self.clients
            .iter()
            .find(|c| c.player() == PlayerId(p))
            .expect("a seated player")
    }

    /// A field of the table, as player `p` sees it.
    fn table(&self, p: u32, field: &str) -> i64 {
        let c = self.client(p);
        c.replica
            .int(self.sim.game().table(), field)
            .expect("table field")
    }

    /// The cards player `p` sees in its hand.
    fn cards(&self, p: u32) -> Vec<u8> {
        let r = &self.client(p).replica;
        r.of_kind("card")
            .map(|(id, _)| r.int(id, "card").expect("card") as u8)
            .collect()
    }

    /// How many cards everyone sees in player `p`'s hand, as player `viewer` sees it.
    fn hand_size(&self, viewer: u32, p: u32) -> i64 {
        let r = &self.client(viewer).replica;
        r.of_kind("hand")
            .find(|(id, _)| r.int(*id, "player") == Some(p.into()))
            .and_then(|(id, _)| r.int(id, "cards"))
            .expect("a hand per player")
    }

    fn events<T: serde::de::DeserializeOwned>(&self, p: u32, name: &str) -> Vec<T> {
        let i = self.clients.iter().position(|c| c.player() == PlayerId(p));
        events(&self.events[i.expect("seated")], name)
    }

    /// A legal play for the player whose turn it is, from what its client sees.
    fn legal_play(&self, p: u32) -> Option<CardsCommand> {
        let (top, suit) = (self.table(p, "top") as u8, self.table(p, "suit") as u8);
        let cards = self.cards(p);
        let plain = cards
            .iter()
            .find(|&&c| rank(c) != EIGHT && (rank(c) == rank(top) || Suit::of(c).index() == suit));
        if let Some(&card) = plain {
            return Some(CardsCommand::Play { card, suit: None });
        }
        let eight = cards.iter().find(|&&c| rank(c) == EIGHT)?;
        let most = (0..4).max_by_key(|s| cards.iter().filter(|&&c| c / 13 == *s).count());
        Some(CardsCommand::Play {
            card: *eight,
            suit: most,
        })
    }

    /// Plays greedily (a legal card, else draw) until the room ends; returns the result.
    fn play_out(&mut self) -> CardsResult {
        for _ in 0..1000 {
            let p = self.table(1, "turn") as u32;
            let command = self.legal_play(p).unwrap_or(CardsCommand::Draw);
            let (result, outcome) = self.try_command(p, command);
            assert_eq!(result, Ok(()));
            if let Some(v) = outcome.ended {
                return rmpv::ext::from_value(v).expect("a cards result");
            }
        }
        panic!("no winner after 1000 turns");
    }
}

fn play(card: u8, suit: Option<u8>) -> CardsCommand {
    CardsCommand::Play { card, suit }
}

fn code(result: Result<(), Refusal>) -> String {
    result.expect_err("a refusal").code
}

/// The kinds are PROTOCOL.md's.
#[test]
fn kinds_match_the_protocol() {
    let kinds = crate::testing::describe(&Room::new(0).sim.kinds());
    assert_eq!(
        kinds,
        [
            "table = phase: enum [waiting, playing, finished], turn: u32, top: u8, \
             suit: enum [clubs, diamonds, hearts, spades], stock: u8, deadline: u32",
            "hand = player: u32, cards: u8",
            "card = owner: u32, card: u8",
        ]
    );
}

/// Starting needs two players; it deals 7 cards each to two players, locks the room and
/// gives the first player its turn.
#[test]
fn start_needs_two_players_then_deals_and_locks() {
    let mut room = Room::new(1);
    assert_eq!(
        code(room.command(1, CardsCommand::Start)),
        "too_few_players"
    );
    room.join(2);
    assert!(room.sim.admit(PlayerId(3), "late").is_ok());
    let (result, outcome) = room.try_command(2, CardsCommand::Start);
    assert_eq!(result, Ok(()));
    let _ = outcome;
    assert!(
        room.sim
            .take_control_change()
            .expect("room control changed")
            .locked
    );
    for p in [1, 2] {
        assert_eq!(room.cards(p).len(), 7);
        assert_eq!(room.hand_size(3 - p, p), 7);
        assert_eq!(room.table(p, "phase"), 1);
        assert_eq!(room.table(p, "turn"), 1);
        assert_eq!(room.table(p, "stock"), 52 - 14 - 1);
    }
    assert_ne!(rank(room.table(1, "top") as u8), EIGHT);
    let deadline = (room.sim.tick().0 + 300) as u32;
    assert_eq!(room.table(1, "deadline"), i64::from(deadline));
    assert_eq!(
        room.events::<YourTurn>(1, "your_turn"),
        [YourTurn { deadline }]
    );
    assert!(room.events::<YourTurn>(2, "your_turn").is_empty());
    assert_eq!(code(room.command(1, CardsCommand::Start)), "bad_command");
    let late = room.sim.admit(PlayerId(3), "late").expect_err("refused");
    assert_eq!(late.code, "in_progress");
}

/// Quick mode deals 3 cards and is the room's `mode` metadata; unknown modes are refused.
#[test]
fn quick_mode_deals_three_cards() {
    let options = Simulation::<Cards>::named(&CardsOptions { mode: Mode::Quick });
    let mut room = Room::with(Some(options), 1, 3);
    assert_eq!(room.sim.room_control().metadata["mode"], "quick");
    room.command(1, CardsCommand::Start).expect("started");
    assert_eq!(room.cards(3).len(), 3);
    let classic = Room::new(2);
    assert_eq!(classic.sim.room_control().metadata["mode"], "classic");
    let bad = rmpv::Value::Map(vec![("mode".into(), "speed".into())]);
    assert!(Simulation::<Cards>::new(Some(bad), 1, Cards::info(), 100).is_err());
}

/// Plays and draws are refused before the start, out of turn, and for cards not held.
#[test]
fn plays_out_of_turn_or_not_held_are_refused() {
    let mut room = Room::new(2);
    assert_eq!(code(room.command(1, CardsCommand::Draw)), "not_playing");
    assert_eq!(code(room.command(1, play(0, None))), "not_playing");
    room.command(1, CardsCommand::Start).expect("started");
    let theirs = room.cards(2)[0];
    assert_eq!(code(room.command(2, play(theirs, None))), "not_your_turn");
    assert_eq!(code(room.command(2, CardsCommand::Draw)), "not_your_turn");
    assert_eq!(code(room.command(1, play(theirs, None))), "not_in_hand");
    assert_eq!(code(room.command(1, play(52, None))), "bad_command");
    let mine = room.cards(1)[0];
    assert_eq!(code(room.command(1, play(mine, Some(4)))), "bad_command");
    assert_eq!(room.cards(1).len(), 7, "refusals change nothing");
    assert_eq!(room.table(2, "turn"), 1);
}

/// A card matching neither rank nor suit is refused with `illegal_card`, an eight without a
/// suit with `need_suit`; an eight with a suit sets the suit to follow for everyone.
#[test]
fn illegal_cards_and_suitless_eights_are_refused() {
    let mut room = Room::new(3);
    room.command(1, CardsCommand::Start).expect("started");
    let (mut illegal_seen, mut eight_played) = (false, false);
    for _ in 0..200 {
        let p = room.table(1, "turn") as u32;
        let (top, suit) = (room.table(p, "top") as u8, room.table(p, "suit") as u8);
        let cards = room.cards(p);
        let illegal = cards
            .iter()
            .find(|&&c| rank(c) != EIGHT && rank(c) != rank(top) && Suit::of(c).index() != suit);
        if let (Some(&card), false) = (illegal, illegal_seen) {
            assert_eq!(code(room.command(p, play(card, Some(0)))), "illegal_card");
            illegal_seen = true;
        }
        if let Some(&eight) = cards.iter().find(|&&c| rank(c) == EIGHT) {
            assert_eq!(code(room.command(p, play(eight, None))), "need_suit");
            let before = room.hand_size(1, p);
            room.command(p, play(eight, Some(2)))
                .expect("an eight is always legal");
            for viewer in 1..=3 {
                assert_eq!(room.table(viewer, "top"), i64::from(eight));
                assert_eq!(room.table(viewer, "suit"), 2, "hearts to follow");
                assert_eq!(room.hand_size(viewer, p), before - 1);
                let played = Played {
                    player: p,
                    card: eight,
                    suit: 2,
                };
                assert_eq!(room.events::<Played>(viewer, "played"), [played]);
            }
            assert_eq!(room.table(1, "turn"), i64::from(p % 3 + 1));
            eight_played = true;
        } else {
            room.command(p, CardsCommand::Draw)
                .expect("drawing on your turn");
            assert_eq!(room.events::<Who>(1, "drew"), [Who { player: p }]);
        }
        if illegal_seen && eight_played {
            return;
        }
    }
    panic!("no illegal card or no eight in 200 turns");
}

/// When the turn timer runs out (300 ticks at 10 Hz) the player draws and the turn passes.
#[test]
fn the_turn_timer_draws_and_passes() {
    let mut room = Room::new(2);
    room.command(1, CardsCommand::Start).expect("started");
    let deadline = room.table(1, "deadline");
    assert_eq!(deadline, room.sim.tick().0 as i64 + 300);
    while (room.sim.tick().0 as i64) < deadline - 1 {
        room.tick();
    }
    assert_eq!(room.table(2, "turn"), 1, "not before the deadline");
    room.tick();
    assert_eq!(room.sim.tick().0 as i64, deadline);
    assert_eq!(room.events::<Who>(2, "timeout"), [Who { player: 1 }]);
    assert_eq!(room.events::<Who>(2, "drew"), [Who { player: 1 }]);
    assert_eq!(room.hand_size(2, 1), 8);
    assert_eq!(room.table(2, "turn"), 2);
    assert_eq!(room.table(2, "deadline"), deadline + 300);
    let your_turn = YourTurn {
        deadline: (deadline + 300) as u32,
    };
    assert_eq!(room.events::<YourTurn>(2, "your_turn"), [your_turn]);
}

/// The first player to empty their hand wins: the room ends with the winner and its name.
#[test]
fn the_first_empty_hand_wins_and_ends_the_room() {
    let mut room = Room::new(4);
    room.command(3, CardsCommand::Start).expect("started");
    let result = room.play_out();
    assert_eq!(result.name, format!("player {}", result.winner));
    assert!(room.sim.game().hand(PlayerId(result.winner)).is_empty());
    assert_eq!(room.sim.game().phase(), Phase::Finished);
    assert_eq!(room.table(1, "phase"), 2);
}

/// When the player whose turn it is leaves, the next player gets the turn and the leaver's
/// cards go back under the stock; when only one is left, it wins.
#[test]
fn leavers_pass_the_turn_and_the_last_one_wins() {
    let mut room = Room::new(3);
    room.command(1, CardsCommand::Start).expect("started");
    let stock = room.table(2, "stock");
    room.sim.leave(PlayerId(1));
    room.clients.remove(0);
    room.events.remove(0);
    room.tick();
    assert_eq!(room.table(2, "turn"), 2);
    assert_eq!(room.table(2, "stock"), stock + 5);
    assert_eq!(room.events::<YourTurn>(2, "your_turn").len(), 1);
    room.sim.leave(PlayerId(3));
    let ended = room.tick().ended.expect("the room ends");
    let result: CardsResult = rmpv::ext::from_value(ended).expect("a cards result");
    assert_eq!(
        result,
        CardsResult {
            winner: 2,
            name: "player 2".into()
        }
    );
}

/// The same seed and the same commands give the same game.
#[test]
fn same_seed_same_game() {
    let game = || {
        let mut room = Room::with(None, 99, 3);
        room.command(1, CardsCommand::Start).expect("started");
        let result = room.play_out();
        (result, room.client(2).replica.entities().clone())
    };
    assert_eq!(game(), game());
}
