//! Ids on the wire. Each is a newtype so a room id can never be passed where a player id is meant;
//! all of them serialize as plain MessagePack integers.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A player within one room. The room hands out the smallest free id from 1, so ids stay one
    /// byte on the wire; an id is reused only after its seat is released for good.
    PlayerId(u32)
);
id_type!(
    /// A room on this server, from 1 upward, never reused while the server runs.
    RoomId(u32)
);
id_type!(
    /// A replicated entity within one room. The game chooses entity ids; small ids encode smaller.
    EntityId(u32)
);
id_type!(
    /// A simulation step of one room, counted from 0 when the room opens.
    Tick(u64)
);
id_type!(
    /// A client's input sequence number, from 1 upward per connection; the server echoes the last
    /// one it applied (the "ack") in the player's entity.
    InputSeq(u32)
);

impl Tick {
    /// The tick after this one.
    pub fn next(self) -> Tick {
        Tick(self.0 + 1)
    }
}
