//! What a client knows about its room, kept current from server messages.

use tickroom_shared::{
    ApplyError, ClientMsg, ErrorCode, Event, GameValue, InputSeq, KindSchema, PlayerId, Refusal,
    Replica, RoomId, RosterEntry, ServerMsg, Tick,
};

/// The welcome's facts.
#[derive(Clone, Debug, PartialEq)]
pub struct Seat {
    /// Our player id.
    pub player: PlayerId,
    /// Our room.
    pub room: RoomId,
    /// The game the room runs.
    pub game: String,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Whether the room sends deltas only on ticks where something changed.
    pub on_change: bool,
    /// Reconnect token (single use).
    pub token: String,
    /// The game's entity kinds.
    pub kinds: Vec<KindSchema>,
}

/// What handling one message meant.
#[derive(Clone, Debug, PartialEq)]
pub enum PlayerEvent {
    /// Nothing the caller must act on (a chat line, a roster, a delta ignored while a keyframe is
    /// awaited).
    None,
    /// Joined (or resumed) a room.
    Welcomed,
    /// Watching a room as a spectator (no seat).
    Watching,
    /// The replica was replaced by a snapshot at this tick; the snapshot's events.
    Snapshot(Tick, Vec<Event>),
    /// A delta was applied; the replica is at this tick; the delta's events.
    Delta(Tick, Vec<Event>),
    /// A delta or snapshot could not be applied: send [`ClientMsg::Resync`] (see
    /// [`Player::resync_request`]).
    Gap(ApplyError),
    /// A pong.
    Pong {
        /// The echo value we sent.
        echo: u64,
    },
    /// The server refused a request.
    Error(ErrorCode, String),
    /// The outcome of one of our commands: applied (`None`) or refused.
    CommandResult {
        /// The command's id.
        id: u32,
        /// Why the game refused it.
        refusal: Option<Refusal>,
    },
    /// The game ended the room with this result; the server closes the connection next.
    Ended(GameValue),
    /// Cluster mode: continue on the node at `url`, with the seat ticket (or the token, for a
    /// reconnect); the server closes this connection next.
    Redirect {
        /// The node's WebSocket URL.
        url: String,
        /// The seat ticket, for a new seat.
        ticket: Option<String>,
    },
}

/// A client's view of its room.
#[derive(Clone, Debug, Default)]
pub struct Player {
    /// Set after the welcome.
    pub seat: Option<Seat>,
    /// The replicated entities and acks (empty until the welcome gives the kinds).
    pub replica: Replica,
    /// Latest roster.
    pub roster: Vec<RosterEntry>,
    /// Deltas applied.
    pub deltas: u64,
    /// Snapshots applied (the join's and every keyframe after).
    pub snapshots: u64,
    /// Gaps seen (deltas that did not build on the replica, or messages that did not fit it).
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

    /// Our player id, once welcomed.
    pub fn id(&self) -> Option<PlayerId> {
        self.seat.as_ref().map(|s| s.player)
    }

    /// The last input sequence number the server applied for us (0 before any), once welcomed
    /// and a snapshot arrived.
    pub fn acked(&self) -> Option<InputSeq> {
        let seat = self.seat.as_ref()?;
        self.replica.tick()?;
        Some(self.replica.ack(seat.player))
    }

    /// The resync request to send after a [`PlayerEvent::Gap`].
    pub fn resync_request<I, C>(&mut self) -> ClientMsg<I, C> {
        self.awaiting_resync = true;
        ClientMsg::Resync
    }

    /// Updates the state from one server message.
    pub fn handle(&mut self, msg: &ServerMsg) -> PlayerEvent {
        match msg {
            ServerMsg::Welcome {
                player,
                room,
                game,
                tick_rate,
                on_change,
                token,
                kinds,
                ..
            } => {
                self.replica = Replica::new(kinds.clone());
                self.awaiting_resync = false;
                self.seat = Some(Seat {
                    player: *player,
                    room: *room,
                    game: game.clone(),
                    tick_rate: *tick_rate,
                    on_change: *on_change,
                    token: token.clone(),
                    kinds: kinds.clone(),
                });
                PlayerEvent::Welcomed
            }
            ServerMsg::Watching { kinds, .. } => {
                self.replica = Replica::new(kinds.clone());
                self.awaiting_resync = false;
                self.seat = None;
                PlayerEvent::Watching
            }
            ServerMsg::Snapshot { tick, .. } => match self.replica.apply(msg) {
                Ok(events) => {
                    self.snapshots += 1;
                    self.awaiting_resync = false;
                    PlayerEvent::Snapshot(*tick, events)
                }
                Err(e) => {
                    self.gaps += 1;
                    PlayerEvent::Gap(e)
                }
            },
            ServerMsg::Delta { tick, .. } => {
                if self.awaiting_resync {
                    // Deltas until the keyframe cannot apply; they are expected, not new gaps.
                    return PlayerEvent::None;
                }
                match self.replica.apply(msg) {
                    Ok(events) => {
                        self.deltas += 1;
                        PlayerEvent::Delta(*tick, events)
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
            ServerMsg::CommandResult { id, refusal } => PlayerEvent::CommandResult {
                id: *id,
                refusal: refusal.clone(),
            },
            ServerMsg::Ended { result } => PlayerEvent::Ended(result.clone()),
            ServerMsg::Redirect { url, ticket } => PlayerEvent::Redirect {
                url: url.clone(),
                ticket: ticket.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickroom_shared::{
        Acks, EntityId, FieldSchema, FieldType, Record, Segment, Value, PROTOCOL_VERSION,
    };

    fn kinds() -> Vec<KindSchema> {
        vec![KindSchema {
            name: "player".into(),
            fields: vec![
                FieldSchema {
                    name: "owner".into(),
                    ty: FieldType::U32,
                },
                FieldSchema {
                    name: "x".into(),
                    ty: FieldType::Float(0.25),
                },
            ],
        }]
    }

    fn welcome() -> ServerMsg {
        ServerMsg::Welcome {
            player: PlayerId(3),
            room: RoomId(1),
            game: "arena".into(),
            tick_rate: 30,
            on_change: false,
            tick: Tick(9),
            token: "1.3.secret".into(),
            kinds: kinds(),
        }
    }

    fn added(id: u32, owner: i64) -> Record {
        Record {
            id: EntityId(id),
            kind: 0,
            values: vec![(0, Value::Int(owner)), (1, Value::Int(40))],
        }
    }

    #[test]
    fn follows_welcome_snapshot_and_deltas_and_reads_its_own_ack() {
        let mut p = Player::new();
        assert_eq!(p.handle(&welcome()), PlayerEvent::Welcomed);
        assert_eq!(p.acked(), None, "no snapshot yet");
        let snapshot = ServerMsg::Snapshot {
            tick: Tick(10),
            segments: vec![Segment {
                added: vec![added(1, 3), added(2, 4)],
                ..Segment::default()
            }],
            events: vec![],
            acks: Acks {
                stepped: vec![],
                set: vec![(PlayerId(4), InputSeq(7))],
            },
        };
        assert_eq!(p.handle(&snapshot), PlayerEvent::Snapshot(Tick(10), vec![]));
        assert_eq!(p.acked(), Some(InputSeq(0)));
        let delta = ServerMsg::Delta {
            tick: Tick(11),
            base: Tick(10),
            segments: vec![Segment {
                changed: vec![Record {
                    id: EntityId(1),
                    kind: 0,
                    values: vec![(1, Value::Int(-2))],
                }],
                ..Segment::default()
            }],
            events: vec![],
            acks: Acks {
                stepped: vec![PlayerId(4)],
                set: vec![(PlayerId(3), InputSeq(5))],
            },
        };
        assert_eq!(p.handle(&delta), PlayerEvent::Delta(Tick(11), vec![]));
        assert_eq!(p.acked(), Some(InputSeq(5)));
        assert_eq!(p.replica.ack(PlayerId(4)), InputSeq(8));
        assert_eq!(p.replica.int(EntityId(1), "x"), Some(38));
        assert_eq!(p.deltas, 1);
        assert_eq!(p.snapshots, 1);
    }

    #[test]
    fn a_gap_asks_for_a_keyframe_and_ignores_deltas_until_it_comes() {
        let mut p = Player::new();
        p.handle(&welcome());
        let snapshot = ServerMsg::Snapshot {
            tick: Tick(10),
            segments: vec![],
            events: vec![],
            acks: Acks::default(),
        };
        p.handle(&snapshot);
        let skipped = ServerMsg::Delta {
            tick: Tick(13),
            base: Tick(12),
            segments: vec![],
            events: vec![],
            acks: Acks::default(),
        };
        assert!(matches!(p.handle(&skipped), PlayerEvent::Gap(_)));
        assert_eq!(p.gaps, 1);
        let resync: ClientMsg<(), ()> = p.resync_request();
        assert_eq!(resync, ClientMsg::Resync);
        assert!(p.awaiting_resync);
        let next = ServerMsg::Delta {
            tick: Tick(14),
            base: Tick(13),
            segments: vec![],
            events: vec![],
            acks: Acks::default(),
        };
        assert_eq!(p.handle(&next), PlayerEvent::None, "not a new gap");
        assert_eq!(p.gaps, 1);
        let keyframe = ServerMsg::Snapshot {
            tick: Tick(15),
            segments: vec![],
            events: vec![],
            acks: Acks::default(),
        };
        assert!(matches!(p.handle(&keyframe), PlayerEvent::Snapshot(..)));
        assert!(!p.awaiting_resync);
        // The join used the current protocol version: a reminder if it ever changes.
        assert_eq!(PROTOCOL_VERSION, 2);
    }

    #[test]
    fn reports_command_results_and_the_end() {
        let mut p = Player::new();
        let refused = ServerMsg::CommandResult {
            id: 4,
            refusal: Some(Refusal::new("not_your_turn", "wait")),
        };
        assert_eq!(
            p.handle(&refused),
            PlayerEvent::CommandResult {
                id: 4,
                refusal: Some(Refusal::new("not_your_turn", "wait"))
            }
        );
        let ended = ServerMsg::Ended {
            result: GameValue::from(1),
        };
        assert_eq!(p.handle(&ended), PlayerEvent::Ended(GameValue::from(1)));
    }
}
