//! What the games' tests share: a client that keeps a replica of what one member receives from a
//! [`Simulation`], exactly as a remote client would (encoded bytes, decoded and applied).

use serde::de::DeserializeOwned;
use serde::Serialize;
use tickroom_server::replication::ScopeKey;
use tickroom_server::sim::Simulation;
use tickroom_server::Game;
use tickroom_shared::rmpv;
use tickroom_shared::{decode, Event, FieldType, KindSchema, PlayerId, Replica, ServerMsg};

/// One member's view of a room.
pub struct Client {
    player: PlayerId,
    /// What the member sees.
    pub replica: Replica,
    /// The scopes it saw at its last message.
    seen: Vec<ScopeKey>,
}

impl Client {
    /// A member with an empty replica; its first [`Client::sync`] takes a Snapshot.
    pub fn new<G: Game>(sim: &Simulation<G>, player: PlayerId) -> Client {
        Client {
            player,
            replica: Replica::new(sim.kinds()),
            seen: Vec::new(),
        }
    }

    /// The member.
    pub fn player(&self) -> PlayerId {
        self.player
    }

    /// Takes the message of the tick just stepped (a Delta when the replica is at the tick
    /// before, else a Snapshot with the events since the replica's tick), applies it and returns
    /// its events.
    pub fn sync<G: Game>(&mut self, sim: &mut Simulation<G>) -> Vec<Event> {
        let now = sim.visible(self.player);
        let bytes = match self.replica.tick() {
            Some(t) if t.0 + 1 == sim.tick().0 => sim.delta(1, &self.seen, &now),
            since => sim.snapshot(&now, since),
        };
        let msg: ServerMsg =
            decode(&bytes, &Default::default()).expect("the engine's bytes decode");
        self.seen = now;
        self.replica.apply(&msg).expect("the message applies")
    }
}

/// An input as a client sends it (structs as arrays).
pub fn input<T: Serialize>(value: &T) -> rmpv::Value {
    rmpv::ext::to_value(value).expect("inputs encode")
}

/// The payloads of the events named `name`.
pub fn events<T: DeserializeOwned>(events: &[Event], name: &str) -> Vec<T> {
    events
        .iter()
        .filter(|e| e.name == name)
        .map(|e| rmpv::ext::from_value(e.payload.clone()).expect("the payload decodes"))
        .collect()
}

/// Kinds as `PROTOCOL.md` writes them: `name = field: type param, ...`.
pub fn describe(kinds: &[KindSchema]) -> Vec<String> {
    kinds
        .iter()
        .map(|k| {
            let fields: Vec<String> = k
                .fields
                .iter()
                .map(|f| match &f.ty {
                    FieldType::Float(step) => format!("{}: float {step}", f.name),
                    FieldType::Text(max) => format!("{}: text {max}", f.name),
                    FieldType::Enum(variants) => {
                        format!("{}: enum [{}]", f.name, variants.join(", "))
                    }
                    other => format!("{}: {}", f.name, other.name()),
                })
                .collect();
            format!("{} = {}", k.name, fields.join(", "))
        })
        .collect()
}
