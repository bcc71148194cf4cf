//! The `ClusterNode` actor (cluster mode only): this node's member of the Redis room directory.
//!
//! It holds the node's lease (renewed every third of `--cluster-lease`), publishes the node's
//! rooms, places and reserves seats for the lobby, redeems tickets, and sweeps the directory for
//! nodes whose lease lapsed. It is the **only writer of its rooms' `taken` counts** and handles
//! one message at a time (each directory call finishes before the next message is read), so its
//! own count of seats per room is exact and may be written back absolutely after a failure.
//!
//! When Redis cannot be reached, seat requests are answered `Unavailable` at once (the lobby
//! tells the client to try again) instead of waiting on a dead connection; only the call that
//! finds Redis gone waits, up to `--cluster-timeout`. Rooms keep running, because nothing on a
//! room's path waits for the directory. Meanwhile the upkeep only probes Redis (connect, PING),
//! beside the node's messages rather than in front of them; once it answers again, the node registers afresh if its lease is gone (Redis restarted
//! empty, or the node stalled past its lease) and republishes every room it runs, so the
//! directory is whole again within a renewal period.

use crate::admission::ClusterOrigins;
use crate::directory::{
    new_epoch, Directory, DirectoryError, ListedRoom, LiveNode, NodeInfo, Placement, RoomRecord,
    Settings,
};
use crate::messages::{
    Departure, ListCluster, Locate, MayClose, RoomNote, SeatRequest, Unavailable,
};
use crate::stats::{NodeLabels, Stats};
use actix::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickroom_shared::RoomId;

/// How the node joins the cluster.
#[derive(Clone, Debug)]
pub struct Membership {
    /// `redis://HOST:PORT`.
    pub redis_url: String,
    /// Directory settings (prefix, node id, lease, ticket TTL, timeout).
    pub settings: Settings,
    /// The URL clients reach this node at.
    pub public_url: String,
    /// Between sweeps for dead nodes.
    pub reap_interval: Duration,
    /// `--max-rooms`: at it, the node asks for no new rooms.
    pub max_rooms: usize,
}

/// The actor.
pub struct ClusterNode {
    membership: Membership,
    stats: Arc<Stats>,
    /// The web origins of every live node, which the origin check admits: a page served by one
    /// node is redirected to another.
    origins: Arc<ClusterOrigins>,
    directory: Option<Directory>,
    /// The epoch of the current registration; `None` until registered (again).
    epoch: Option<String>,
    /// Whether the last directory call succeeded: while not, seat requests fail fast.
    available: bool,
    /// This node's rooms as the directory should hold them.
    rooms: BTreeMap<RoomId, RoomRecord>,
    /// Rooms whose directory entry may be stale after a failed write.
    dirty: BTreeSet<RoomId>,
    /// Closed rooms whose removal failed.
    removals: BTreeSet<RoomId>,
    last_reap: Option<Instant>,
    draining: bool,
    /// An upkeep round is queued or running. A timer that fell behind (the process was stopped)
    /// fires several times at once; each would register with the state of before the first.
    maintaining: bool,
    /// The unavailability was logged (once per outage, and once at start if Redis is not there).
    said_unavailable: bool,
}

impl ClusterNode {
    /// A node that will register with the directory at `membership.redis_url`.
    pub fn new(
        membership: Membership,
        stats: Arc<Stats>,
        origins: Arc<ClusterOrigins>,
    ) -> ClusterNode {
        ClusterNode {
            membership,
            stats,
            origins,
            directory: None,
            epoch: None,
            available: false,
            rooms: BTreeMap::new(),
            dirty: BTreeSet::new(),
            removals: BTreeSet::new(),
            last_reap: None,
            draining: false,
            maintaining: false,
            said_unavailable: false,
        }
    }

    fn info(&self) -> NodeInfo {
        NodeInfo {
            url: self.membership.public_url.clone(),
            draining: self.draining,
            full: self.rooms.len() >= self.membership.max_rooms,
            rooms: self.rooms.len() as u64,
            sessions: u64::try_from(self.stats.sessions_open.get()).unwrap_or(0),
        }
    }

    /// Counts a failed directory call; says so in the log when the directory was fine before.
    fn failed(&mut self, error: &DirectoryError) {
        self.stats.cluster.redis_errors.inc();
        match error {
            DirectoryError::Fenced => {
                tracing::warn!("this node's lease lapsed: registering again");
                self.epoch = None;
            }
            DirectoryError::Redis(e) => {
                if self.available || !self.said_unavailable {
                    tracing::warn!(error = %e, redis = %self.membership.redis_url, "room directory unavailable: joins are answered 'try again'");
                    self.said_unavailable = true;
                }
                self.available = false;
            }
            DirectoryError::Reply(reply) => {
                tracing::error!(%reply, "unexpected reply from the room directory");
            }
        }
    }

    /// One round of upkeep: connect, register or renew, repair, sweep.
    fn maintain(&mut self, ctx: &mut Context<Self>) {
        if std::mem::replace(&mut self.maintaining, true) {
            return;
        }
        if !self.available {
            return self.probe(ctx);
        }
        let membership = self.membership.clone();
        let directory = self.directory.clone();
        let epoch = self.epoch.clone();
        let info = self.info();
        let rooms = self.rooms.clone();
        let dirty = std::mem::take(&mut self.dirty);
        let removals = std::mem::take(&mut self.removals);
        let (retry_dirty, retry_removals) = (dirty.clone(), removals.clone());
        let reap = self
            .last_reap
            .is_none_or(|t| t.elapsed() >= membership.reap_interval);
        let work = async move {
            let mut report = Upkeep::default();
            let directory = match directory {
                Some(d) => d,
                None => {
                    let d = Directory::connect(&membership.redis_url, membership.settings.clone())
                        .await?;
                    report.connected = Some(d.clone());
                    d
                }
            };
            let renewed = match &epoch {
                Some(epoch) => match directory.renew(epoch, &info).await {
                    Ok(nodes) => Some((epoch.clone(), nodes)),
                    Err(DirectoryError::Fenced) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            let (epoch, nodes) = match renewed {
                Some(renewed) => {
                    // Repairs after failed writes: the whole record, absolutely.
                    for room in &dirty {
                        if let Some(record) = rooms.get(room) {
                            directory.publish(&renewed.0, *room, record).await?;
                        }
                    }
                    renewed
                }
                None => {
                    let epoch = new_epoch();
                    directory.register(&epoch, &info).await?;
                    for (room, record) in &rooms {
                        if !directory.publish(&epoch, *room, record).await? {
                            tracing::error!(room = %room, "another live node publishes this room id; it stays reachable on this node only");
                        }
                    }
                    report.registered = true;
                    let nodes = directory.renew(&epoch, &info).await?;
                    (epoch, nodes)
                }
            };
            for room in &removals {
                directory.remove(*room).await?;
            }
            if reap {
                report.reaped = Some(directory.reap().await?);
            }
            report.epoch = Some(epoch);
            report.nodes = nodes;
            Ok::<_, DirectoryError>(report)
        };
        ctx.wait(work.into_actor(self).map(move |result, node, _| {
            node.maintaining = false;
            node.upkept(result, retry_dirty, retry_removals);
        }));
    }

    /// While the directory is unavailable: checks whether Redis answers again, without holding
    /// up the node's messages (seat requests are answered `Unavailable` at once meanwhile). Once
    /// it answers, the full round runs, which registers the node again if its lease is gone.
    fn probe(&mut self, ctx: &mut Context<Self>) {
        let membership = self.membership.clone();
        let directory = self.directory.clone();
        let work = async move {
            let directory = match directory {
                Some(d) => d,
                None => Directory::connect(&membership.redis_url, membership.settings).await?,
            };
            directory.ping().await?;
            Ok::<_, DirectoryError>(directory)
        };
        ctx.spawn(work.into_actor(self).map(|result, node, ctx| {
            node.maintaining = false;
            match result {
                Ok(directory) => {
                    tracing::info!("room directory available");
                    node.directory = Some(directory);
                    node.available = true;
                    node.said_unavailable = false;
                    node.maintain(ctx);
                }
                Err(e) => node.failed(&e),
            }
        }));
    }

    /// Takes in what an upkeep round found.
    fn upkept(
        &mut self,
        result: Result<Upkeep, DirectoryError>,
        retry_dirty: BTreeSet<RoomId>,
        retry_removals: BTreeSet<RoomId>,
    ) {
        let report = match result {
            Ok(report) => report,
            Err(e) => {
                self.failed(&e);
                // Nothing was repaired: try again next round.
                self.dirty.extend(retry_dirty);
                self.removals.extend(retry_removals);
                return;
            }
        };
        if let Some(d) = report.connected {
            self.directory = Some(d);
        }
        if report.registered {
            self.stats.cluster.registrations.inc();
            tracing::info!(
                node = %self.membership.settings.node,
                url = %self.membership.public_url,
                rooms = self.rooms.len(),
                "registered in the room directory"
            );
        }
        self.available = true;
        self.epoch = report.epoch;
        if let Some(reaped) = report.reaped {
            self.last_reap = Some(Instant::now());
            if reaped > 0 {
                tracing::info!(
                    nodes = reaped,
                    "removed nodes whose lease lapsed, with their rooms"
                );
                self.stats.cluster.reaped_nodes.inc_by(reaped);
            }
        }
        self.stats.cluster.nodes.set(report.nodes.len() as i64);
        self.stats.cluster.rooms.clear();
        self.origins
            .set(report.nodes.iter().map(|n| n.url.as_str()));
        for node in report.nodes {
            self.stats
                .cluster
                .rooms
                .get_or_create(&NodeLabels { node: node.id })
                .set(i64::try_from(node.rooms).unwrap_or(i64::MAX));
        }
    }

    /// The directory and epoch to use now, or `None` while the node cannot place seats.
    fn ready(&self) -> Option<(Directory, String)> {
        if !self.available || self.draining {
            return None;
        }
        Some((self.directory.clone()?, self.epoch.clone()?))
    }

    /// A directory write about one room, done in order; on failure the room is repaired at the
    /// next upkeep.
    fn write(
        &mut self,
        room: RoomId,
        ctx: &mut Context<Self>,
        op: impl FnOnce(
            Directory,
            String,
        ) -> futures_util::future::BoxFuture<'static, Result<(), DirectoryError>>,
    ) {
        let (Some(directory), Some(epoch)) = (self.directory.clone(), self.epoch.clone()) else {
            self.dirty.insert(room);
            return;
        };
        if !self.available {
            self.dirty.insert(room);
            return;
        }
        ctx.wait(
            op(directory, epoch)
                .into_actor(self)
                .map(move |result, node, _| {
                    if let Err(e) = result {
                        node.failed(&e);
                        node.dirty.insert(room);
                    }
                }),
        );
    }
}

/// What one upkeep round found.
#[derive(Default)]
struct Upkeep {
    connected: Option<Directory>,
    registered: bool,
    epoch: Option<String>,
    nodes: Vec<LiveNode>,
    reaped: Option<u64>,
}

impl Actor for ClusterNode {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.maintain(ctx);
        let period = (self.membership.settings.lease / 3)
            .min(self.membership.reap_interval)
            .max(Duration::from_millis(50));
        ctx.run_interval(period, |node, ctx| node.maintain(ctx));
    }
}

impl Handler<SeatRequest> for ClusterNode {
    type Result =
        AtomicResponse<Self, Result<Result<Placement, crate::directory::Denial>, Unavailable>>;

    fn handle(&mut self, msg: SeatRequest, _: &mut Context<Self>) -> Self::Result {
        let Some((directory, epoch)) = self.ready() else {
            return AtomicResponse::new(Box::pin(fut::ready(Err(Unavailable))));
        };
        // What a new room's record starts with, until its owner publishes the real one.
        let (game, capacity) = match &msg {
            SeatRequest::Place { game, capacity, .. } => (Some(game.clone()), *capacity),
            _ => (None, 0),
        };
        let redeeming = matches!(msg, SeatRequest::Redeem(_));
        let work = async move {
            match msg {
                SeatRequest::Place {
                    game,
                    filter,
                    capacity,
                    options,
                    create,
                } => {
                    directory
                        .place(&game, &filter, capacity, options.as_ref(), create)
                        .await
                }
                SeatRequest::Reserve(room) => directory.reserve(room).await,
                SeatRequest::Redeem(ticket) => directory.redeem(&epoch, &ticket).await,
            }
        };
        AtomicResponse::new(Box::pin(work.into_actor(self).map(
            move |result, node, _| match result {
                Ok(Ok(placement)) => {
                    match &placement {
                        Placement::Local { room, pending } => {
                            // The script counted the seat; so does the node's own count.
                            let record = node.rooms.entry(*room).or_insert_with(|| RoomRecord {
                                game: pending
                                    .as_ref()
                                    .map(|p| p.game.clone())
                                    .or(game)
                                    .unwrap_or_default(),
                                capacity,
                                taken: 0,
                                locked: false,
                                metadata: BTreeMap::new(),
                            });
                            record.taken += 1;
                            if redeeming {
                                node.stats.cluster.tickets_redeemed.inc();
                            }
                        }
                        Placement::Remote { .. } => {
                            node.stats.cluster.reservations.inc();
                        }
                    }
                    Ok(Ok(placement))
                }
                Ok(Err(denial)) => Ok(Err(denial)),
                Err(e) => {
                    node.failed(&e);
                    Err(Unavailable)
                }
            },
        )))
    }
}

impl Handler<Locate> for ClusterNode {
    type Result =
        AtomicResponse<Self, Result<Result<String, crate::directory::Denial>, Unavailable>>;

    fn handle(&mut self, Locate(room): Locate, _: &mut Context<Self>) -> Self::Result {
        let Some((directory, _)) = self.ready() else {
            return AtomicResponse::new(Box::pin(fut::ready(Err(Unavailable))));
        };
        let work = async move { directory.locate(room).await };
        AtomicResponse::new(Box::pin(work.into_actor(self).map(
            |result, node, _| match result {
                // A room the directory still places here, which this node's lobby does not
                // have, is one that just closed: not found, rather than a redirect to itself.
                Ok(answer) => Ok(answer.and_then(|(url, owner)| {
                    if owner == node.membership.settings.node {
                        Err(crate::directory::Denial::NotFound)
                    } else {
                        Ok(url)
                    }
                })),
                Err(e) => {
                    node.failed(&e);
                    Err(Unavailable)
                }
            },
        )))
    }
}

impl Handler<RoomNote> for ClusterNode {
    type Result = ();

    fn handle(&mut self, note: RoomNote, ctx: &mut Context<Self>) {
        match note {
            RoomNote::Opened { room, record } => {
                let taken = self.rooms.get(&room).map_or(0, |r| r.taken);
                let record = RoomRecord { taken, ..record };
                self.rooms.insert(room, record.clone());
                self.write(room, ctx, move |d, epoch| {
                    Box::pin(async move {
                        if !d.publish(&epoch, room, &record).await? {
                            tracing::error!(room = %room, "another live node publishes this room id");
                        }
                        Ok(())
                    })
                });
            }
            RoomNote::Freed(room) => {
                let Some(record) = self.rooms.get_mut(&room) else {
                    return;
                };
                record.taken = record.taken.saturating_sub(1);
                let taken = record.taken;
                self.write(room, ctx, move |d, epoch| {
                    Box::pin(async move { d.set_taken(&epoch, room, taken).await })
                });
            }
            RoomNote::Control { room, record } => {
                let Some(mine) = self.rooms.get_mut(&room) else {
                    return;
                };
                *mine = RoomRecord {
                    taken: mine.taken,
                    ..record
                };
                let record = mine.clone();
                self.write(room, ctx, move |d, epoch| {
                    Box::pin(async move { d.update(&epoch, room, &record).await })
                });
            }
            RoomNote::Removed(room) => {
                self.rooms.remove(&room);
                self.dirty.remove(&room);
                let Some(directory) = self.directory.clone().filter(|_| self.available) else {
                    self.removals.insert(room);
                    return;
                };
                ctx.wait(
                    async move { directory.remove(room).await }
                        .into_actor(self)
                        .map(move |result, node, _| {
                            if let Err(e) = result {
                                node.failed(&e);
                                node.removals.insert(room);
                            }
                        }),
                );
            }
        }
    }
}

impl Handler<MayClose> for ClusterNode {
    type Result = AtomicResponse<Self, bool>;

    fn handle(&mut self, MayClose(room): MayClose, _: &mut Context<Self>) -> Self::Result {
        let (Some(directory), Some(epoch), true) =
            (self.directory.clone(), self.epoch.clone(), self.available)
        else {
            // Without the directory nobody can be placed in the room: it may close.
            return AtomicResponse::new(Box::pin(fut::ready(true)));
        };
        let work = async move { directory.close(&epoch, room).await };
        AtomicResponse::new(Box::pin(work.into_actor(self).map(|result, node, _| {
            result.unwrap_or_else(|e| {
                node.failed(&e);
                true
            })
        })))
    }
}

impl Handler<ListCluster> for ClusterNode {
    type Result = ResponseFuture<Result<Vec<ListedRoom>, Unavailable>>;

    fn handle(&mut self, _: ListCluster, _: &mut Context<Self>) -> Self::Result {
        // A read: it may run beside other calls.
        let Some(directory) = self.directory.clone().filter(|_| self.available) else {
            return Box::pin(async { Err(Unavailable) });
        };
        let stats = self.stats.clone();
        Box::pin(async move {
            directory.list().await.map_err(|e| {
                stats.cluster.redis_errors.inc();
                tracing::warn!(error = %e, "cannot list the cluster's rooms");
                Unavailable
            })
        })
    }
}

impl Handler<Departure> for ClusterNode {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, departure: Departure, _: &mut Context<Self>) -> Self::Result {
        self.draining = true;
        let info = self.info();
        let (Some(directory), Some(epoch)) = (self.directory.clone(), self.epoch.clone()) else {
            return AtomicResponse::new(Box::pin(fut::ready(())));
        };
        let leaving = matches!(departure, Departure::Leave);
        let work = async move {
            match departure {
                Departure::Drain => directory.drain(&epoch, &info).await,
                Departure::Leave => directory.deregister(&epoch).await,
            }
        };
        AtomicResponse::new(Box::pin(work.into_actor(self).map(
            move |result, node, ctx| {
                if let Err(e) = result {
                    node.failed(&e);
                }
                if leaving {
                    node.epoch = None;
                    ctx.stop();
                }
            },
        )))
    }
}
