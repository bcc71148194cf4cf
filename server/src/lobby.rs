//! The `Lobby` actor: the registry of rooms and the one place seats are handed out.
//!
//! Because every join passes through here and the lobby counts a seat the moment it routes a
//! join (before the room has seen it), quick match never over-fills a room, and a room is only
//! closed when the lobby agrees it has no seat taken or promised.
//!
//! Rooms are started on a small pool of arbiters (one per core by default), round-robin.
//!
//! Every seat and every room is also counted against the client address whose join took or
//! created it ([`Budgets`]), so that no address can take every room or hold seats without
//! bound; the policy lives in [`crate::budget`], this actor only reports to it.

use crate::budget::{Budgets, Exceeded};
use crate::cluster::ClusterNode;
use crate::config::Config;
use crate::directory::{Denial, Pending, Placement, RoomRecord};
use crate::messages::{
    CloseRoom, Departure, Join, JoinRequest, ListRooms, Locate, MayClose, OperatorClose,
    OperatorRoom, Requeue, RoomEvent, RoomNote, RoomSummary, SeatRequest, Shutdown, Target,
    Unavailable, Watch, WatchRequest,
};
use crate::registry::{GameEntry, Games, RoomHandle, RoomSpec};
use crate::stats::Stats;
use actix::prelude::*;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickroom_shared::{CloseCode, ErrorCode, RoomId, ServerMsg};

struct RoomEntry {
    handle: RoomHandle,
    game: &'static str,
    /// Seats taken or promised.
    seats: u32,
    capacity: u32,
    /// Spectators watching, as the room last said.
    spectators: u32,
    tick_rate: u16,
    on_change: bool,
    locked: bool,
    metadata: BTreeMap<String, String>,
}

/// The lobby.
pub struct Lobby {
    config: Arc<Config>,
    stats: Arc<Stats>,
    games: Games,
    arbiters: Vec<ArbiterHandle>,
    rooms: BTreeMap<RoomId, RoomEntry>,
    next_room: u32,
    seed: u64,
    shutting_down: bool,
    /// What each client address holds: rooms it created, creations, seats.
    budgets: Budgets,
    /// Cluster mode: the directory member every seat is placed through.
    cluster: Option<Addr<ClusterNode>>,
}

/// How often addresses that hold nothing are forgotten by the budgets.
const BUDGET_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

type Failure = (ErrorCode, String);

impl Lobby {
    /// A lobby for `games` that starts rooms on `arbiters` (at least one).
    pub fn new(
        config: Arc<Config>,
        stats: Arc<Stats>,
        games: Games,
        arbiters: Vec<ArbiterHandle>,
        cluster: Option<Addr<ClusterNode>>,
    ) -> Self {
        let seed = config.seed.unwrap_or_else(rand::random);
        let budgets = Budgets::new(config.budget_limits());
        Lobby {
            config,
            stats,
            games,
            arbiters,
            rooms: BTreeMap::new(),
            next_room: 1,
            seed,
            shutting_down: false,
            budgets,
            cluster,
        }
    }

    /// The game named `name` (the default game for `None`), or the join's refusal.
    fn game(&self, name: Option<&str>) -> Result<&Arc<dyn GameEntry>, Failure> {
        self.games.get_or_default(name).ok_or_else(|| {
            (
                ErrorCode::UnknownGame,
                format!(
                    "no game named {:?} on this server",
                    name.unwrap_or_default()
                ),
            )
        })
    }

    /// A refusal by an address's budget, counted by reason.
    fn over_budget(&self, exceeded: Exceeded) -> Failure {
        self.stats.refuse_join(exceeded.label());
        (ErrorCode::IpLimit, exceeded.to_string())
    }

    /// Forgets a room that closed or is being closed, giving back what it counted (and, in
    /// cluster mode, taking it out of the directory).
    fn forget(&mut self, id: RoomId) -> Option<RoomEntry> {
        self.budgets.room_closed(id);
        let room = self.rooms.remove(&id);
        if let (Some(_), Some(cluster)) = (&room, &self.cluster) {
            cluster.do_send(RoomNote::Removed(id));
        }
        room
    }

    /// A seat of room `id` is free again (in the directory too, in cluster mode).
    fn seat_freed(&mut self, id: RoomId, ip: Option<IpAddr>) {
        if let Some(room) = self.rooms.get_mut(&id) {
            room.seats = room.seats.saturating_sub(1);
            if let Some(cluster) = &self.cluster {
                cluster.do_send(RoomNote::Freed(id));
            }
        }
        self.budgets.seat_freed(id, ip);
    }

    /// Creates a room for a join from `ip`, within the server's room limit and the address's
    /// budgets.
    /// In cluster mode `id` is the id the directory chose (and counted a seat in); otherwise the
    /// next free one is taken.
    fn create_room(
        &mut self,
        game: Option<&str>,
        options: Option<rmpv::Value>,
        ip: Option<IpAddr>,
        id: Option<RoomId>,
        ctx: &mut Context<Self>,
    ) -> Result<RoomId, Failure> {
        if self.shutting_down {
            return Err((ErrorCode::ServerFull, "the server is shutting down".into()));
        }
        let entry = self.game(game)?.clone();
        if self.rooms.len() >= self.config.max_rooms {
            self.stats.refuse_join("max_rooms");
            return Err((
                ErrorCode::ServerFull,
                "the server has no room for another room".into(),
            ));
        }
        // After the server-wide checks, so that a refusal for them takes no creation from the
        // address's bucket; before the game's constructor, which is the work being budgeted.
        if let Err(exceeded) = self.budgets.check_create(ip, Instant::now()) {
            return Err(self.over_budget(exceeded));
        }
        let id = id.unwrap_or(RoomId(self.next_room));
        let info = self.config.apply(entry.info());
        let spec = RoomSpec {
            id,
            options,
            seed: self.seed.wrapping_add(u64::from(id.0)),
            config: self.config.clone(),
            lobby: ctx.address().recipient(),
            stats: self.stats.clone(),
            arbiter: self.arbiters[id.0 as usize % self.arbiters.len()].clone(),
        };
        let handle = entry
            .start(spec)
            .map_err(|refusal| (ErrorCode::BadRequest, refusal.message))?;
        if id.0 == self.next_room {
            self.next_room += 1;
        }
        let capacity = info
            .capacity
            .min(handle.control.capacity.unwrap_or(u32::MAX));
        let (locked, metadata) = (handle.control.locked, handle.control.metadata.clone());
        self.rooms.insert(
            id,
            RoomEntry {
                handle,
                game: entry.name(),
                seats: 0,
                capacity,
                spectators: 0,
                tick_rate: info.tick.hz(),
                on_change: info.tick.is_on_change(),
                locked,
                metadata,
            },
        );
        self.budgets.room_opened(id, ip);
        if let Some(cluster) = &self.cluster {
            let record = RoomRecord {
                game: entry.name().to_owned(),
                capacity,
                taken: 0,
                locked,
                metadata: self.rooms[&id].metadata.clone(),
            };
            cluster.do_send(RoomNote::Opened { room: id, record });
        }
        tracing::info!(room = %id, game = entry.name(), "room created");
        Ok(id)
    }

    fn quick_match(&self, game: &str, filter: &BTreeMap<String, String>) -> Option<RoomId> {
        // Fullest matching room with a free seat; the lowest id among equals, so rooms fill in
        // order.
        self.rooms
            .iter()
            .filter(|(_, r)| r.game == game && !r.locked && r.seats < r.capacity)
            .filter(|(_, r)| filter.iter().all(|(k, v)| r.metadata.get(k) == Some(v)))
            .max_by_key(|(id, r)| (r.seats, std::cmp::Reverse(**id)))
            .map(|(id, _)| *id)
    }

    fn route(&mut self, msg: &mut JoinRequest, ctx: &mut Context<Self>) -> Result<RoomId, Failure> {
        match &msg.target {
            Target::Room(id) => match self.rooms.get(id) {
                None => Err((ErrorCode::RoomNotFound, "no room with that id".into())),
                Some(r) if r.locked => Err((ErrorCode::RoomLocked, "the room is locked".into())),
                Some(r) if r.seats >= r.capacity => {
                    Err((ErrorCode::RoomFull, "the room is full".into()))
                }
                Some(_) => Ok(*id),
            },
            Target::QuickMatch { filter } => {
                let game = self.game(msg.game.as_deref())?.name();
                match self.quick_match(game, filter) {
                    Some(id) => Ok(id),
                    None => self.create_room(Some(game), msg.options.take(), msg.ip, None, ctx),
                }
            }
            Target::Create => {
                let game = msg.game.clone();
                self.create_room(game.as_deref(), msg.options.take(), msg.ip, None, ctx)
            }
        }
    }
}

/// The room id at the front of a reconnect token (`room.player.secret`).
fn token_room(token: &str) -> Option<RoomId> {
    token.split('.').next()?.parse().ok().map(RoomId)
}

impl Actor for Lobby {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(BUDGET_PRUNE_INTERVAL, |lobby, _| {
            lobby.budgets.prune(Instant::now());
        });
    }
}

/// How often a quick match may be sent back by rooms that locked or filled before it is
/// answered with `RoomFull`.
const MAX_BOUNCES: u8 = 3;

impl Handler<JoinRequest> for Lobby {
    type Result = ();

    /// Reserves a seat and forwards the join to the chosen room; failures go back to the session.
    fn handle(&mut self, msg: JoinRequest, ctx: &mut Context<Self>) {
        self.join(msg, ctx);
    }
}

impl Lobby {
    fn join(&mut self, mut msg: JoinRequest, ctx: &mut Context<Self>) {
        if let Some(token) = &msg.token {
            // A resumed seat is already counted (against the address that took it, in the
            // budgets too); the room checks the token itself.
            let id = token_room(token);
            match id.and_then(|id| self.rooms.get(&id)) {
                Some(room) => room.handle.join.do_send(Join {
                    name: msg.name,
                    token: msg.token,
                    conn: msg.conn,
                    requeue: None,
                    ip: msg.ip,
                }),
                None => match (id, self.cluster.clone()) {
                    (Some(id), Some(cluster)) => self.locate(msg, id, cluster, ctx),
                    _ => fail(&msg.conn, bad_token()),
                },
            }
            return;
        }
        if let Some(ticket) = msg.ticket.take() {
            let Some(cluster) = self.cluster.clone() else {
                let message = "seat tickets are only used in cluster mode";
                return fail(&msg.conn, (ErrorCode::BadToken, message.into()));
            };
            if let Err(exceeded) = self.budgets.check_seat(msg.ip) {
                return fail(&msg.conn, self.over_budget(exceeded));
            }
            return self.place(msg, SeatRequest::Redeem(ticket), cluster, ctx);
        }
        if msg.bounces > MAX_BOUNCES {
            return fail(
                &msg.conn,
                (
                    ErrorCode::RoomFull,
                    "no room could take you; try again".into(),
                ),
            );
        }
        // Every join that is not a resume needs a seat, counted before routing so that a join in
        // flight already counts.
        if let Err(exceeded) = self.budgets.check_seat(msg.ip) {
            return fail(&msg.conn, self.over_budget(exceeded));
        }
        if let Some(cluster) = self.cluster.clone() {
            if self.shutting_down {
                let message = "this node is shutting down; join through another";
                return fail(&msg.conn, (ErrorCode::ServerFull, message.into()));
            }
            let request = match self.seat_request(&msg) {
                Ok(request) => request,
                Err(failure) => return fail(&msg.conn, failure),
            };
            return self.place(msg, request, cluster, ctx);
        }
        match self.route(&mut msg, ctx) {
            Ok(id) => self.seat(id, msg),
            Err(failure) => fail(&msg.conn, failure),
        }
    }

    /// Hands a routed join to its room, whose seat this lobby now counts.
    fn seat(&mut self, id: RoomId, msg: JoinRequest) {
        let requeue = match &msg.target {
            Target::QuickMatch { filter } => Some(Requeue {
                game: msg.game.clone(),
                options: msg.options.clone(),
                filter: filter.clone(),
                bounces: msg.bounces,
            }),
            _ => None,
        };
        // Callers only pass ids of rooms in the map.
        let Some(room) = self.rooms.get_mut(&id) else {
            return;
        };
        room.seats += 1;
        room.handle.join.do_send(Join {
            name: msg.name,
            token: None,
            conn: msg.conn,
            requeue,
            ip: msg.ip,
        });
        self.budgets.seat_taken(id, msg.ip);
    }

    /// Cluster mode: what to ask the directory for a join without token or ticket.
    fn seat_request(&self, msg: &JoinRequest) -> Result<SeatRequest, Failure> {
        let (filter, create) = match &msg.target {
            Target::Room(id) => return Ok(SeatRequest::Reserve(*id)),
            Target::QuickMatch { filter } => (filter.clone(), false),
            Target::Create => (BTreeMap::new(), true),
        };
        let entry = self.game(msg.game.as_deref())?;
        Ok(SeatRequest::Place {
            game: entry.name().to_owned(),
            filter,
            capacity: self.config.apply(entry.info()).capacity,
            options: msg.options.clone(),
            create,
        })
    }

    /// Cluster mode: asks the directory for the seat, then seats the join here or redirects it.
    fn place(
        &mut self,
        msg: JoinRequest,
        request: SeatRequest,
        cluster: Addr<ClusterNode>,
        ctx: &mut Context<Self>,
    ) {
        let answer = cluster
            .send(request)
            .into_actor(self)
            .map(|answer, lobby, ctx| {
                // A mailbox error means the cluster node stopped (shutdown): as unavailable.
                match answer.unwrap_or(Err(Unavailable)) {
                    Err(Unavailable) => fail(&msg.conn, unavailable()),
                    Ok(Err(denial)) => fail(&msg.conn, denied(denial)),
                    Ok(Ok(Placement::Remote { url, ticket, room })) => {
                        tracing::debug!(room = %room, %url, "join redirected");
                        lobby.stats.cluster.redirects.inc();
                        redirect(&msg.conn, url, Some(ticket));
                    }
                    Ok(Ok(Placement::Local { room, pending })) => {
                        lobby.seat_placed(msg, room, pending, ctx)
                    }
                }
            });
        ctx.spawn(answer);
    }

    /// Cluster mode: the directory counted a seat for this join in room `id` of this node.
    fn seat_placed(
        &mut self,
        mut msg: JoinRequest,
        id: RoomId,
        pending: Option<Pending>,
        ctx: &mut Context<Self>,
    ) {
        if self.rooms.contains_key(&id) {
            return self.seat(id, msg);
        }
        let note = |lobby: &Lobby, note: RoomNote| {
            if let Some(cluster) = &lobby.cluster {
                cluster.do_send(note);
            }
        };
        match pending {
            Some(Pending { game, options }) => {
                match self.create_room(Some(&game), options, msg.ip, Some(id), ctx) {
                    Ok(id) => self.seat(id, msg),
                    Err(failure) => {
                        // The room never existed: its directory entry goes, seat and all.
                        note(self, RoomNote::Removed(id));
                        fail(&msg.conn, failure);
                    }
                }
            }
            None => {
                // The room closed between the placement and now: place the join again.
                note(self, RoomNote::Freed(id));
                msg.bounces += 1;
                self.join(msg, ctx);
            }
        }
    }

    /// Cluster mode: a reconnect token for a room of another node.
    fn locate(
        &mut self,
        msg: JoinRequest,
        id: RoomId,
        cluster: Addr<ClusterNode>,
        ctx: &mut Context<Self>,
    ) {
        let answer = cluster
            .send(Locate(id))
            .into_actor(self)
            .map(
                move |answer, lobby, _| match answer.unwrap_or(Err(Unavailable)) {
                    Err(Unavailable) => fail(&msg.conn, unavailable()),
                    Ok(Ok(url)) => {
                        lobby.stats.cluster.redirects.inc();
                        redirect(&msg.conn, url, None);
                    }
                    Ok(Err(Denial::Lost)) => fail(&msg.conn, denied(Denial::Lost)),
                    Ok(Err(_)) => fail(&msg.conn, bad_token()),
                },
            );
        ctx.spawn(answer);
    }

    /// Closes an idle room: at once on a single node; in cluster mode once the directory
    /// agrees no seat is placed or reserved in it.
    fn close_idle(&mut self, id: RoomId, ctx: &mut Context<Self>) {
        if self.rooms.get(&id).is_none_or(|r| r.seats != 0) {
            return;
        }
        let Some(cluster) = self.cluster.clone() else {
            return self.close_now(id);
        };
        let ticket_ttl = self.config.seat_ticket_ttl;
        let asked = cluster
            .send(MayClose(id))
            .into_actor(self)
            .map(move |may, lobby, ctx| {
                // A mailbox error means the cluster node stopped: nobody can be placed any more.
                if may.unwrap_or(true) {
                    if lobby.rooms.get(&id).is_some_and(|r| r.seats == 0) {
                        lobby.close_now(id);
                    }
                } else {
                    // A seat is reserved for a client on its way: look again once its ticket has
                    // expired, in case it never comes.
                    ctx.run_later(ticket_ttl, move |lobby, ctx| lobby.close_idle(id, ctx));
                }
            });
        ctx.spawn(asked);
    }

    fn close_now(&mut self, id: RoomId) {
        if let Some(room) = self.forget(id) {
            tracing::info!(room = %id, "closing idle room");
            room.handle.close.do_send(CloseRoom {
                code: CloseCode::Normal,
                reason: "room closed".into(),
            });
        }
    }
}

fn fail(conn: &crate::connection::Connection, (code, message): Failure) {
    conn.join_failed(code, message);
}

fn bad_token() -> Failure {
    (ErrorCode::BadToken, "unknown, expired or used token".into())
}

fn unavailable() -> Failure {
    (
        ErrorCode::Unavailable,
        "the room directory is unavailable; try again in a moment".into(),
    )
}

/// The error a join gets for a directory's denial.
fn denied(denial: Denial) -> Failure {
    match denial {
        Denial::NotFound => (ErrorCode::RoomNotFound, "no room with that id".into()),
        Denial::Lost => (
            ErrorCode::RoomLost,
            "the server that ran this room stopped; the room is gone".into(),
        ),
        Denial::Locked => (ErrorCode::RoomLocked, "the room is locked".into()),
        Denial::Full => (ErrorCode::RoomFull, "the room is full".into()),
        Denial::BadTicket => (
            ErrorCode::BadToken,
            "unknown, expired or used seat ticket".into(),
        ),
        Denial::NoNodes => (
            ErrorCode::ServerFull,
            "no server of the cluster can take a new room".into(),
        ),
    }
}

/// Sends the client to another node: a `Redirect`, then close 4006.
fn redirect(conn: &crate::connection::Connection, url: String, ticket: Option<String>) {
    let redirect = ServerMsg::Redirect { url, ticket };
    match tickroom_shared::encode(&redirect) {
        Ok(bytes) => conn.close_after(
            CloseCode::Redirected,
            "continue on another node",
            vec![bytes.into()],
        ),
        // Two strings always encode.
        Err(e) => tracing::error!(error = %e, "cannot encode a Redirect"),
    }
}

impl Handler<RoomEvent> for Lobby {
    type Result = ();

    /// Keeps seat counts, locks and metadata current, re-routes bounced quick matches and closes
    /// idle rooms.
    fn handle(&mut self, event: RoomEvent, ctx: &mut Context<Self>) {
        match event {
            RoomEvent::SeatFreed { room: id, ip } => {
                self.seat_freed(id, ip);
            }
            RoomEvent::Idle(id) => self.close_idle(id, ctx),
            RoomEvent::Closed(id) => {
                // Its seats vanished with it, without a SeatFreed each: the budgets give them
                // back here.
                self.forget(id);
            }
            RoomEvent::Control {
                room,
                locked,
                metadata,
                capacity,
            } => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.locked = locked;
                    r.metadata = metadata;
                    r.capacity = capacity;
                    if let Some(cluster) = &self.cluster {
                        let record = RoomRecord {
                            game: r.game.to_owned(),
                            capacity,
                            taken: 0,
                            locked,
                            metadata: r.metadata.clone(),
                        };
                        cluster.do_send(RoomNote::Control { room, record });
                    }
                }
            }
            RoomEvent::Spectators { room, count } => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.spectators = count;
                }
            }
            RoomEvent::Bounced { room, request } => {
                // The room never seated it: its seat is free again; route it anew.
                self.seat_freed(room, request.ip);
                self.join(*request, ctx);
            }
        }
    }
}

impl Handler<WatchRequest> for Lobby {
    type Result = ();

    /// Forwards a watch to its room (spectators take no seat, so nothing is counted here); in
    /// cluster mode a room of another node is answered with a redirect there.
    fn handle(&mut self, msg: WatchRequest, ctx: &mut Context<Self>) {
        if let Some(room) = self.rooms.get(&msg.room) {
            return room.handle.watch.do_send(Watch { conn: msg.conn });
        }
        let Some(cluster) = self.cluster.clone() else {
            return fail(&msg.conn, denied(Denial::NotFound));
        };
        let answer = cluster.send(Locate(msg.room)).into_actor(self).map(
            move |answer, lobby, _| match answer.unwrap_or(Err(Unavailable)) {
                Err(Unavailable) => fail(&msg.conn, unavailable()),
                Ok(Ok(url)) => {
                    lobby.stats.cluster.redirects.inc();
                    redirect(&msg.conn, url, None);
                }
                Ok(Err(denial)) => fail(&msg.conn, denied(denial)),
            },
        );
        ctx.spawn(answer);
    }
}

impl Handler<ListRooms> for Lobby {
    type Result = MessageResult<ListRooms>;

    /// Rooms by id.
    fn handle(&mut self, _: ListRooms, _: &mut Context<Self>) -> MessageResult<ListRooms> {
        MessageResult(
            self.rooms
                .iter()
                .map(|(id, r)| RoomSummary {
                    id: *id,
                    game: r.game,
                    players: r.seats,
                    capacity: r.capacity,
                    spectators: Some(r.spectators),
                    tick_rate: r.tick_rate,
                    on_change: r.on_change,
                    locked: r.locked,
                    metadata: r.metadata.clone(),
                })
                .collect(),
        )
    }
}

impl Handler<OperatorRoom> for Lobby {
    type Result = MessageResult<OperatorRoom>;

    /// The room's operator handles, if it runs here.
    fn handle(&mut self, msg: OperatorRoom, _: &mut Context<Self>) -> MessageResult<OperatorRoom> {
        MessageResult(self.rooms.get(&msg.0).map(|r| r.handle.operator.clone()))
    }
}

impl Handler<OperatorClose> for Lobby {
    type Result = bool;

    /// Closes a room at the operator's request, seats taken or not (their joins in flight are
    /// lost with it, as with any closing room).
    fn handle(&mut self, OperatorClose(id): OperatorClose, _: &mut Context<Self>) -> bool {
        let Some(room) = self.forget(id) else {
            return false;
        };
        tracing::info!(room = %id, "closed by the operator");
        room.handle.close.do_send(CloseRoom {
            code: CloseCode::Normal,
            reason: "closed by the operator".into(),
        });
        true
    }
}

impl Handler<Shutdown> for Lobby {
    type Result = ResponseFuture<()>;

    /// Stops creating rooms and closes every room with 1001; in cluster mode the node first
    /// drains (no seat is placed on it any more) and leaves the directory once its rooms closed.
    fn handle(&mut self, _: Shutdown, _: &mut Context<Self>) -> ResponseFuture<()> {
        self.shutting_down = true;
        let cluster = self.cluster.clone();
        self.budgets = Budgets::new(self.config.budget_limits());
        let closing: Vec<_> = std::mem::take(&mut self.rooms)
            .into_values()
            .map(|r| {
                r.handle.close.send(CloseRoom {
                    code: CloseCode::GoingAway,
                    reason: "server shutting down".into(),
                })
            })
            .collect();
        Box::pin(async move {
            // A stopped cluster node has nothing left to drain or leave.
            if let Some(cluster) = &cluster {
                let _ = cluster.send(Departure::Drain).await;
            }
            // A room that already stopped answers with an error; it has nothing left to close.
            let _ = futures_util::future::join_all(closing).await;
            if let Some(cluster) = &cluster {
                let _ = cluster.send(Departure::Leave).await;
            }
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
