//! A room's inbox: the inputs and commands its members sent since the last tick.
//!
//! An input is only needed at the next tick, so sending it through the room actor's mailbox
//! (which wakes the room's thread for every message: tens of thousands of wake-ups a second at
//! a thousand players) does work nobody waits for. Sessions instead append to this inbox under a
//! short lock, and the room takes everything at the start of its tick in one swap, then checks
//! and decodes each in arrival order. Inputs are bounded (a full inbox drops the input, which the
//! session counts, as a full mailbox did); commands are reliable and always accepted (the
//! per-connection message rate bounds them).

use bytes::Bytes;
use std::sync::{Mutex, PoisonError};
use tickroom_shared::PlayerId;

/// What a letter holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An `Input` message, undecoded.
    Input,
    /// A `Command` message, undecoded.
    Command,
}

/// One message for the room's next tick.
#[derive(Debug)]
pub struct Letter {
    /// The sender's seat.
    pub player: PlayerId,
    /// The sender's connection id (checked at the drain, so a letter from a connection that
    /// left or was replaced meanwhile is ignored).
    pub conn: u64,
    /// Input or command.
    pub kind: Kind,
    /// The whole message, undecoded: the room decodes it with the game's types.
    pub bytes: Bytes,
}

/// The inbox of one room.
#[derive(Debug)]
pub struct Inbox {
    letters: Mutex<Vec<Letter>>,
    /// Most inputs waiting at once.
    max_inputs: usize,
}

impl Inbox {
    /// An inbox holding at most `max_inputs` inputs between two ticks.
    pub fn new(max_inputs: usize) -> Inbox {
        Inbox {
            letters: Mutex::new(Vec::with_capacity(max_inputs.min(1024))),
            max_inputs,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Letter>> {
        // Pushes and swaps cannot leave the vector half-changed, so a poisoned lock is usable.
        self.letters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a letter for the next tick; an input is refused (false) when the inbox already
    /// holds `max_inputs` letters. Never wakes the room.
    pub fn post(&self, letter: Letter) -> bool {
        let mut letters = self.lock();
        if letter.kind == Kind::Input && letters.len() >= self.max_inputs {
            return false;
        }
        letters.push(letter);
        true
    }

    /// Takes every letter, oldest first, leaving `spare` (an emptied vector from the previous
    /// tick, so the inbox reuses its allocation) in its place.
    pub fn take(&self, spare: Vec<Letter>) -> Vec<Letter> {
        let mut spare = spare;
        spare.clear();
        std::mem::replace(&mut *self.lock(), spare)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(kind: Kind, n: u8) -> Letter {
        Letter {
            player: PlayerId(1),
            conn: 1,
            kind,
            bytes: Bytes::from(vec![n]),
        }
    }

    #[test]
    fn inputs_are_bounded_commands_are_not_and_order_is_kept() {
        let inbox = Inbox::new(2);
        assert!(inbox.post(letter(Kind::Input, 1)));
        assert!(inbox.post(letter(Kind::Command, 2)));
        assert!(!inbox.post(letter(Kind::Input, 3)), "full for inputs");
        assert!(
            inbox.post(letter(Kind::Command, 4)),
            "a command is never refused"
        );
        let taken = inbox.take(Vec::new());
        let order: Vec<u8> = taken.iter().map(|l| l.bytes[0]).collect();
        assert_eq!(order, [1, 2, 4]);
        assert!(
            inbox.post(letter(Kind::Input, 5)),
            "room again after the take"
        );
        let next = inbox.take(taken);
        assert_eq!(next.len(), 1);
    }
}
