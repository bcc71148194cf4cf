//! The `Lobby` actor: the registry of rooms and the one place seats are handed out.
//!
//! Because every join passes through here and the lobby counts a seat the moment it routes a
//! join (before the room has seen it), quick match never over-fills a room, and a room is only
//! closed when the lobby agrees it has no seat taken or promised.
//!
//! Rooms are started on a small pool of arbiters (one per core by default), round-robin, so a busy
//! room never delays another room's tick beyond what the shared core costs.

use crate::config::Config;
use crate::game::Game;
use crate::room::{Close, Connection, Join, Room, RoomEvent, SessionEvent};
use crate::sim::Simulation;
use crate::stats::Stats;
use actix::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use tickroom_shared::{CloseCode, ErrorCode, RoomId};

/// Where a join wants to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The fullest room with a free seat, else a new one.
    QuickMatch,
    /// This room.
    Room(RoomId),
    /// A new room.
    Create,
}

/// A join from a session, to be routed to a room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct JoinRequest<G: Game> {
    /// Where to.
    pub target: Target,
    /// Cleaned display name.
    pub name: String,
    /// Reconnect token (overrides `target`).
    pub token: Option<String>,
    /// The connection; failures are reported through its events.
    pub conn: Connection<G>,
}

/// A room in `GET /api/rooms`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RoomSummary {
    /// Room id.
    pub id: RoomId,
    /// Game name.
    pub game: &'static str,
    /// Seats taken (including seats held for reconnects and joins in flight).
    pub players: u32,
    /// Seats in all.
    pub capacity: u32,
    /// Ticks per second.
    pub tick_rate: u16,
}

/// List the open rooms.
#[derive(Message)]
#[rtype(result = "Vec<RoomSummary>")]
pub struct ListRooms;

/// Close every room with 1001 (server shutdown); resolves when all rooms were told.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

struct RoomEntry<G: Game> {
    addr: Addr<Room<G>>,
    /// Seats taken or promised.
    seats: u32,
}

/// The lobby.
pub struct Lobby<G: Game> {
    config: Arc<Config>,
    stats: Arc<Stats>,
    arbiters: Vec<ArbiterHandle>,
    rooms: BTreeMap<RoomId, RoomEntry<G>>,
    next_room: u32,
    seed: u64,
    shutting_down: bool,
}

impl<G: Game> Lobby<G> {
    /// A lobby that starts rooms on `arbiters` (at least one).
    pub fn new(config: Arc<Config>, stats: Arc<Stats>, arbiters: Vec<ArbiterHandle>) -> Self {
        let seed = config.seed.unwrap_or_else(rand::random);
        Lobby {
            config,
            stats,
            arbiters,
            rooms: BTreeMap::new(),
            next_room: 1,
            seed,
            shutting_down: false,
        }
    }

    fn create_room(
        &mut self,
        ctx: &mut Context<Self>,
    ) -> Result<RoomId, (ErrorCode, &'static str)> {
        if self.shutting_down {
            return Err((ErrorCode::ServerFull, "the server is shutting down"));
        }
        if self.rooms.len() >= self.config.max_rooms {
            return Err((
                ErrorCode::ServerFull,
                "the server has no room for another room",
            ));
        }
        let id = RoomId(self.next_room);
        self.next_room += 1;
        let arbiter = &self.arbiters[id.0 as usize % self.arbiters.len()];
        let (config, stats, lobby) = (
            self.config.clone(),
            self.stats.clone(),
            ctx.address().recipient(),
        );
        let seed = self.seed.wrapping_add(u64::from(id.0));
        let dt = config.tick_period().as_secs_f32();
        // Built here, not on the room's thread: a panic in `Game::new` must not take down the
        // other rooms of that thread.
        let sim = std::panic::catch_unwind(|| Simulation::<G>::new(seed, dt)).map_err(|_| {
            tracing::error!(game = G::NAME, "Game::new panicked");
            (ErrorCode::ServerFull, "the game failed to start a room")
        })?;
        let addr =
            Room::<G>::start_in_arbiter(arbiter, move |_| Room::new(id, sim, config, lobby, stats));
        self.rooms.insert(id, RoomEntry { addr, seats: 0 });
        tracing::info!(room = %id, game = G::NAME, "room created");
        Ok(id)
    }

    fn quick_match(&self) -> Option<RoomId> {
        let capacity = self.config.room_capacity;
        // Fullest room with a free seat; the lowest id among equals, so rooms fill in order.
        self.rooms
            .iter()
            .filter(|(_, r)| r.seats < capacity)
            .max_by_key(|(id, r)| (r.seats, std::cmp::Reverse(**id)))
            .map(|(id, _)| *id)
    }

    fn route(
        &mut self,
        msg: &JoinRequest<G>,
        ctx: &mut Context<Self>,
    ) -> Result<RoomId, (ErrorCode, &'static str)> {
        let capacity = self.config.room_capacity;
        match msg.target {
            Target::Room(id) => match self.rooms.get(&id) {
                None => Err((ErrorCode::RoomNotFound, "no room with that id")),
                Some(r) if r.seats >= capacity => Err((ErrorCode::RoomFull, "the room is full")),
                Some(_) => Ok(id),
            },
            Target::QuickMatch => match self.quick_match() {
                Some(id) => Ok(id),
                None => self.create_room(ctx),
            },
            Target::Create => self.create_room(ctx),
        }
    }
}

/// The room id at the front of a reconnect token (`room.player.secret`).
fn token_room(token: &str) -> Option<RoomId> {
    token.split('.').next()?.parse().ok().map(RoomId)
}

impl<G: Game> Actor for Lobby<G> {
    type Context = Context<Self>;
}

impl<G: Game> Handler<JoinRequest<G>> for Lobby<G> {
    type Result = ();

    /// Reserves a seat and forwards the join to the chosen room; failures go back to the session.
    fn handle(&mut self, msg: JoinRequest<G>, ctx: &mut Context<Self>) {
        if let Some(token) = &msg.token {
            // A resumed seat is already counted; the room checks the token itself.
            match token_room(token).and_then(|id| self.rooms.get(&id)) {
                Some(room) => room.addr.do_send(Join {
                    name: msg.name,
                    token: msg.token,
                    conn: msg.conn,
                }),
                None => {
                    let _ = msg.conn.events.try_send(SessionEvent::JoinFailed {
                        code: ErrorCode::BadToken,
                        message: "unknown, expired or used token".into(),
                    });
                }
            }
            return;
        }
        match self.route(&msg, ctx) {
            Ok(id) => {
                // route() only returns ids of rooms in the map.
                let Some(room) = self.rooms.get_mut(&id) else {
                    return;
                };
                room.seats += 1;
                room.addr.do_send(Join {
                    name: msg.name,
                    token: None,
                    conn: msg.conn,
                });
            }
            Err((code, message)) => {
                let _ = msg.conn.events.try_send(SessionEvent::JoinFailed {
                    code,
                    message: message.into(),
                });
            }
        }
    }
}

impl<G: Game> Handler<RoomEvent> for Lobby<G> {
    type Result = ();

    /// Keeps seat counts current and closes idle rooms.
    fn handle(&mut self, event: RoomEvent, _: &mut Context<Self>) {
        match event {
            RoomEvent::SeatFreed(id) => {
                if let Some(room) = self.rooms.get_mut(&id) {
                    room.seats = room.seats.saturating_sub(1);
                }
            }
            RoomEvent::Idle(id) => {
                if self.rooms.get(&id).is_some_and(|r| r.seats == 0) {
                    if let Some(room) = self.rooms.remove(&id) {
                        tracing::info!(room = %id, "closing idle room");
                        room.addr.do_send(Close {
                            code: CloseCode::Normal,
                            reason: "room closed".into(),
                        });
                    }
                }
            }
            RoomEvent::Closed(id) => {
                self.rooms.remove(&id);
            }
        }
    }
}

impl<G: Game> Handler<ListRooms> for Lobby<G> {
    type Result = MessageResult<ListRooms>;

    /// Rooms by id.
    fn handle(&mut self, _: ListRooms, _: &mut Context<Self>) -> MessageResult<ListRooms> {
        MessageResult(
            self.rooms
                .iter()
                .map(|(id, r)| RoomSummary {
                    id: *id,
                    game: G::NAME,
                    players: r.seats,
                    capacity: self.config.room_capacity,
                    tick_rate: self.config.tick_rate,
                })
                .collect(),
        )
    }
}

impl<G: Game> Handler<Shutdown> for Lobby<G> {
    type Result = ResponseFuture<()>;

    /// Stops creating rooms and closes every room with 1001.
    fn handle(&mut self, _: Shutdown, _: &mut Context<Self>) -> ResponseFuture<()> {
        self.shutting_down = true;
        let closing: Vec<_> = std::mem::take(&mut self.rooms)
            .into_values()
            .map(|r| {
                r.addr.send(Close {
                    code: CloseCode::GoingAway,
                    reason: "server shutting down".into(),
                })
            })
            .collect();
        Box::pin(async move {
            // A room that already stopped answers with an error; it has nothing left to close.
            let _ = futures_util::future::join_all(closing).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_room_reads_the_prefix() {
        assert_eq!(token_room("12.3.abcdef"), Some(RoomId(12)));
        assert_eq!(token_room("x.3.abcdef"), None);
        assert_eq!(token_room(""), None);
    }
}
