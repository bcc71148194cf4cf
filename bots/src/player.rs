//! What a client knows about its room, kept current from server messages.

use tickroom_shared::{
    ApplyError, ClientMsg, EntityId, ErrorCode, PlayerId, Replica, RoomId, RosterEntry, ServerMsg,
    Tick, ACK_FIELD,
};

/// The welcome's facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seat {
    /// Our player id.
    pub player: PlayerId,
    /// Our entity.
    pub entity: EntityId,
    /// Our room.
    pub room: RoomId,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Reconnect token.
    pub token: String,
    /// Field names.
    pub fields: Vec<String>,
}

/// What handling one message meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlayerEvent {
    /// Nothing the caller must act on.
    None,
    /// Joined (or resumed) a room.
    Welcomed,
    /// The replica was replaced by a snapshot.
    Snapshot(Tick),
    /// A delta was applied; the replica is at this tick.
    Delta(Tick),
    /// A delta could not be applied: send [`ClientMsg::Resync`] (see [`Player::resync_request`]).
    Gap(ApplyError),
    /// A pong.
    Pong {
        /// The echo value we sent.
        echo: u64,
    },
    /// The server refused a request.
    Error(ErrorCode, String),
}

/// A client's view of its room.
#[derive(Clone, Debug, Default)]
pub struct Player {
    /// Set after the welcome.
    pub seat: Option<Seat>,
    /// The replicated world.
    pub replica: Replica,
    /// Latest roster.
    pub roster: Vec<RosterEntry>,
    /// Deltas applied.
    pub deltas: u64,
    /// Snapshots applied (the join's and every keyframe after).
    pub snapshots: u64,
    /// Gaps seen (deltas that did not build on the replica).
    pub gaps: u64,
    /// Chat lines received.
    pub chats: Vec<(PlayerId, String)>,
    /// Whether a resync was requested and no snapshot came yet.
    pub awaiting_resync: bool,
}

impl Player {
    /// A player that has seen nothing.
    pub fn new() -> Player {
        Player::default()
    }

    /// Our entity's acknowledged input sequence number, if our entity is in the replica.
    pub fn acked(&self) -> Option<u32> {
        let seat = self.seat.as_ref()?;
        let e = self.replica.world().get(seat.entity)?;
        // The ack field holds the u32 sequence number's bits.
        Some(e.fields.0[ACK_FIELD] as u32)
    }

    /// The resync request to send after a [`PlayerEvent::Gap`].
    pub fn resync_request<I>(&mut self) -> ClientMsg<I> {
        self.awaiting_resync = true;
        ClientMsg::Resync
    }

    /// Updates the state from one server message.
    pub fn handle(&mut self, msg: &ServerMsg) -> PlayerEvent {
        match msg {
            ServerMsg::Welcome {
                player,
                entity,
                room,
                tick_rate,
                token,
                fields,
                ..
            } => {
                self.seat = Some(Seat {
                    player: *player,
                    entity: *entity,
                    room: *room,
                    tick_rate: *tick_rate,
                    token: token.clone(),
                    fields: fields.clone(),
                });
                PlayerEvent::Welcomed
            }
            ServerMsg::Snapshot { tick, entities } => {
                match self.replica.apply_snapshot(*tick, entities) {
                    Ok(()) => {
                        self.snapshots += 1;
                        self.awaiting_resync = false;
                        PlayerEvent::Snapshot(*tick)
                    }
                    Err(e) => {
                        self.gaps += 1;
                        PlayerEvent::Gap(e)
                    }
                }
            }
            ServerMsg::Delta(delta) => {
                if self.awaiting_resync {
                    // Deltas until the keyframe cannot apply; they are expected, not new gaps.
                    return PlayerEvent::None;
                }
                match self.replica.apply_delta(delta) {
                    Ok(()) => {
                        self.deltas += 1;
                        PlayerEvent::Delta(delta.tick)
                    }
                    Err(e) => {
                        self.gaps += 1;
                        PlayerEvent::Gap(e)
                    }
                }
            }
            ServerMsg::Pong { echo, .. } => PlayerEvent::Pong { echo: *echo },
            ServerMsg::Chat { player, text, .. } => {
                self.chats.push((*player, text.clone()));
                PlayerEvent::None
            }
            ServerMsg::Roster { players } => {
                self.roster = players.clone();
                PlayerEvent::None
            }
            ServerMsg::Error { code, message } => PlayerEvent::Error(*code, message.clone()),
        }
    }
}
