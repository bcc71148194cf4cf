//! One room's simulation without I/O or clocks: the game, its world, inputs and commands, acks,
//! and replication. The room actor only adds timers, sockets and membership.

use crate::game::{Ctx, Game, GameInfo, GameRng, Kinds, Refusal};
use crate::inbox::Kind;
use crate::recording::{Entry, Journal};
use crate::replication::{spectator_visible, visible, Replication, ScopeKey};
use crate::world::{named_value, Outbox, RoomControl, World};
use bytes::Bytes;
use rand::SeedableRng;
use std::collections::BTreeMap;
use tickroom_shared::{ClientMsg, DecodeLimits, InputSeq, KindSchema, PlayerId, Tick};

/// Why an input or command was not queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// The player is not seated.
    UnknownPlayer,
    /// `seq` is not above the last queued sequence number (dropped silently).
    StaleSequence,
    /// The payload is not the game's input or command type (the connection closes with 1007).
    Undecodable(String),
}

/// Per-player bookkeeping of the engine.
#[derive(Clone, Copy, Debug, Default)]
struct Seat {
    /// Last input sequence applied.
    acked: InputSeq,
    /// Last input sequence queued, to drop duplicates and reordering.
    queued: InputSeq,
}

enum Action<G: Game> {
    Input(PlayerId, InputSeq, G::Input),
    Command(PlayerId, u32, G::Command),
}

/// What one tick produced besides the segments.
#[derive(Debug, Default)]
pub struct TickOutcome {
    /// Entities, events or acks changed.
    pub changed: bool,
    /// Command results, in application order: player, command id, refusal.
    pub results: Vec<(PlayerId, u32, Option<Refusal>)>,
    /// Set when the game ended the room.
    pub ended: Option<rmpv::Value>,
}

/// A room's game plus the engine state around it.
pub struct Simulation<G: Game> {
    game: G,
    world: World,
    out: Outbox,
    rng: GameRng,
    info: GameInfo,
    dt: f32,
    tick: Tick,
    seats: BTreeMap<PlayerId, Seat>,
    pending: Vec<Action<G>>,
    replication: Replication,
    /// Where a recorded room's calls go, with the ticks between state hashes.
    journal: Option<(Box<dyn Journal>, u64)>,
}

/// Decodes a game value the way rmp-serde decodes bytes (so an enum may be a plain string, as
/// serde users expect), by re-encoding it: values are small (inputs, commands, options).
fn from_value<T: serde::de::DeserializeOwned>(value: &rmpv::Value) -> Result<T, String> {
    let mut bytes = Vec::with_capacity(16);
    rmpv::encode::write_value(&mut bytes, value).map_err(|e| e.to_string())?;
    rmp_serde::from_slice(&bytes).map_err(|e| e.to_string())
}

/// Builds the kinds of `G`, or says why they are unusable.
pub fn kinds_of<G: Game>() -> Result<Vec<KindSchema>, String> {
    let mut kinds = Kinds::default();
    G::kinds(&mut kinds);
    match kinds.error {
        Some(e) => Err(e),
        None => Ok(kinds.list.iter().map(|k| k.schema.clone()).collect()),
    }
}

impl<G: Game> Simulation<G> {
    /// A new simulation with the creator's `options` (a MessagePack map, or nil for defaults),
    /// seeded for reproducibility; events are kept `event_ticks` ticks for members that fall
    /// behind.
    pub fn new(
        options: Option<rmpv::Value>,
        seed: u64,
        info: GameInfo,
        event_ticks: u64,
    ) -> Result<Self, Refusal> {
        let options: G::Options = match options {
            None | Some(rmpv::Value::Nil) => G::Options::default(),
            // An empty map means "the defaults", also for games whose options are `()`.
            Some(rmpv::Value::Map(m)) if m.is_empty() => G::Options::default(),
            Some(v) => from_value(&v)
                .map_err(|e| Refusal::new("bad_options", format!("invalid options: {e}")))?,
        };
        let mut kinds = Kinds::default();
        G::kinds(&mut kinds);
        if let Some(e) = kinds.error {
            return Err(Refusal::new("bad_kinds", e));
        }
        let mut rng = GameRng::seed_from_u64(seed);
        let mut world = World::new(kinds.list);
        let mut out = Outbox::default();
        let dt = 1.0 / f32::from(info.tick.hz());
        let game = {
            let mut ctx = Ctx {
                world: &mut world,
                out: &mut out,
                rng: &mut rng,
                tick: Tick(0),
                dt,
            };
            G::new(options, &mut ctx)?
        };
        let mut replication = Replication::new(info.interest, event_ticks, info.acks);
        // Tick 0 is the state the game was created in; its events go nowhere (no one is seated).
        out.events.clear();
        replication.step(Tick(0), &world, Vec::new(), &BTreeMap::new());
        Ok(Simulation {
            game,
            world,
            out,
            rng,
            info,
            dt,
            tick: Tick(0),
            seats: BTreeMap::new(),
            pending: Vec::new(),
            replication,
            journal: None,
        })
    }

    /// The current tick (the last one stepped).
    pub fn tick(&self) -> Tick {
        self.tick
    }

    /// The game, for inspection.
    pub fn game(&self) -> &G {
        &self.game
    }

    /// The game's info.
    pub fn info(&self) -> GameInfo {
        self.info
    }

    /// The kinds, as the welcome sends them.
    pub fn kinds(&self) -> Vec<KindSchema> {
        self.world.schemas()
    }

    /// Lock, metadata and capacity as the game set them.
    pub fn room_control(&self) -> &RoomControl {
        &self.out.room
    }

    /// The room control, if the game changed it since the last call.
    pub fn take_control_change(&mut self) -> Option<RoomControl> {
        std::mem::take(&mut self.out.room.changed).then(|| self.out.room.clone())
    }

    /// Records every call that changes this simulation from now on into `journal`, in call
    /// order, with a state hash every `hash_every` ticks (see [`crate::recording`]). Replaying
    /// the journal on a simulation created with the same arguments reproduces every state.
    pub fn record(&mut self, journal: Box<dyn Journal>, hash_every: u64) {
        self.journal = Some((journal, hash_every.max(1)));
    }

    /// Ends the recording, if any: its last entry, then the journal is finished and dropped.
    pub fn finish_recording(&mut self) {
        if let Some((mut journal, _)) = self.journal.take() {
            journal.write(Entry::End { tick: self.tick });
            journal.finish();
        }
    }

    fn log(&mut self, entry: Entry<'_>) {
        if let Some((journal, _)) = &mut self.journal {
            journal.write(entry);
        }
    }

    /// A hash of the whole replicated state after the last step: every entity of every scope
    /// (id, kind, scope and field values, as a Snapshot encodes them) and the acks, hashed with
    /// 64-bit FNV-1a, which is the same on every run and platform. Server-only fields
    /// (`#[replicate(skip)]`) and the game's own struct are not covered: a divergence shows
    /// once it reaches what clients see.
    pub fn state_hash(&mut self) -> u64 {
        use std::hash::Hasher as _;
        let scopes = self.scopes();
        // Events after this tick: none, so only the state is hashed.
        let snapshot = self.replication.snapshot(&scopes, Some(self.tick));
        let mut hasher = fnv::FnvHasher::default();
        hasher.write(&snapshot);
        hasher.finish()
    }

    fn ctx(&mut self) -> (&mut G, Ctx<'_>) {
        (
            &mut self.game,
            Ctx {
                world: &mut self.world,
                out: &mut self.out,
                rng: &mut self.rng,
                tick: Tick(self.tick.0 + 1),
                dt: self.dt,
            },
        )
    }

    /// Asks the game whether `player` may take a seat.
    pub fn admit(&mut self, player: PlayerId, name: &str) -> Result<(), Refusal> {
        self.log(Entry::Admit { player, name });
        let (game, ctx) = self.ctx();
        game.admit(player, name, &ctx)
    }

    /// Seats `player`; its entities appear in the next tick's state.
    pub fn join(&mut self, player: PlayerId, name: &str) {
        self.log(Entry::Join { player, name });
        self.seats.insert(player, Seat::default());
        let (game, mut ctx) = self.ctx();
        game.join(player, name, &mut ctx);
    }

    /// Removes `player` and its queued actions.
    pub fn leave(&mut self, player: PlayerId) {
        self.log(Entry::Leave { player });
        if self.seats.remove(&player).is_some() {
            self.pending.retain(|a| match a {
                Action::Input(p, ..) | Action::Command(p, ..) => *p != player,
            });
            let (game, mut ctx) = self.ctx();
            game.leave(player, &mut ctx);
            self.out.forget(player);
        }
    }

    /// A new connection resumed `player`'s seat: its input numbering starts again at 1, so the
    /// ack restarts at 0 and queued inputs of the old connection are dropped.
    pub fn resume(&mut self, player: PlayerId) {
        self.log(Entry::Resume { player });
        if let Some(seat) = self.seats.get_mut(&player) {
            *seat = Seat::default();
            self.pending
                .retain(|a| !matches!(a, Action::Input(p, ..) if *p == player));
        }
    }

    /// `player`'s connection dropped (the seat is held).
    pub fn disconnected(&mut self, player: PlayerId) {
        self.log(Entry::Disconnected { player });
        if self.seats.contains_key(&player) {
            self.pending
                .retain(|a| !matches!(a, Action::Input(p, ..) if *p == player));
            let (game, mut ctx) = self.ctx();
            game.disconnected(player, &mut ctx);
        }
    }

    /// Decodes a client's `Input` or `Command` message (`kind` says which it must be) with the
    /// game's types and queues it for the next tick. A recorded room records the message as
    /// the client sent it, so a replay decodes exactly what the room decoded.
    pub fn queue_message(
        &mut self,
        player: PlayerId,
        kind: Kind,
        message: &[u8],
        limits: &DecodeLimits,
    ) -> Result<(), Rejected> {
        self.log(match kind {
            Kind::Input => Entry::Input { player, message },
            Kind::Command => Entry::Command { player, message },
        });
        match tickroom_shared::decode::<ClientMsg<G::Input, G::Command>>(message, limits) {
            Ok(ClientMsg::Input { seq, input }) if kind == Kind::Input => {
                self.queue_typed_input(player, seq, input)
            }
            Ok(ClientMsg::Command { id, command }) if kind == Kind::Command => {
                self.queue_typed_command(player, id, command)
            }
            Ok(_) => Err(Rejected::Undecodable("not an input or command".into())),
            Err(e) => Err(Rejected::Undecodable(format!("{} {e}", G::NAME))),
        }
    }

    /// Queues an input (a MessagePack value, as a client sends it) for the next tick.
    /// Sequence numbers must increase per player.
    pub fn queue_input(
        &mut self,
        player: PlayerId,
        seq: InputSeq,
        input: rmpv::Value,
    ) -> Result<(), Rejected> {
        if self.journal.is_some() {
            let msg = ClientMsg::<_, ()>::Input { seq, input: &input };
            // A value always encodes; had it not, there would be nothing to replay either.
            if let Ok(message) = tickroom_shared::encode(&msg) {
                self.log(Entry::Input {
                    player,
                    message: &message,
                });
            }
        }
        let input: G::Input = from_value(&input)
            .map_err(|e| Rejected::Undecodable(format!("not a {} input: {e}", G::NAME)))?;
        self.queue_typed_input(player, seq, input)
    }

    /// Queues a decoded input for the next tick. Sequence numbers must increase per player.
    /// Not recorded (a recording keeps the message's bytes): a recorded room queues through
    /// [`Simulation::queue_message`] or [`Simulation::queue_input`].
    pub fn queue_typed_input(
        &mut self,
        player: PlayerId,
        seq: InputSeq,
        input: G::Input,
    ) -> Result<(), Rejected> {
        let seat = self.seats.get_mut(&player).ok_or(Rejected::UnknownPlayer)?;
        if seq <= seat.queued {
            return Err(Rejected::StaleSequence);
        }
        seat.queued = seq;
        self.pending.push(Action::Input(player, seq, input));
        Ok(())
    }

    /// Queues a command (a MessagePack value, as a client sends it) for the next tick.
    pub fn queue_command(
        &mut self,
        player: PlayerId,
        id: u32,
        command: rmpv::Value,
    ) -> Result<(), Rejected> {
        if self.journal.is_some() {
            let msg = ClientMsg::<(), _>::Command {
                id,
                command: &command,
            };
            // A value always encodes; had it not, there would be nothing to replay either.
            if let Ok(message) = tickroom_shared::encode(&msg) {
                self.log(Entry::Command {
                    player,
                    message: &message,
                });
            }
        }
        let command: G::Command = from_value(&command)
            .map_err(|e| Rejected::Undecodable(format!("not a {} command: {e}", G::NAME)))?;
        self.queue_typed_command(player, id, command)
    }

    /// Queues a decoded command for the next tick. Not recorded, like
    /// [`Simulation::queue_typed_input`].
    pub fn queue_typed_command(
        &mut self,
        player: PlayerId,
        id: u32,
        command: G::Command,
    ) -> Result<(), Rejected> {
        if !self.seats.contains_key(&player) {
            return Err(Rejected::UnknownPlayer);
        }
        self.pending.push(Action::Command(player, id, command));
        Ok(())
    }

    /// Runs one tick: inputs and commands in arrival order, the game step, then replication.
    pub fn step(&mut self) -> TickOutcome {
        let mut outcome = TickOutcome::default();
        let tick = Tick(self.tick.0 + 1);
        for action in std::mem::take(&mut self.pending) {
            let (game, mut ctx) = self.ctx();
            match action {
                Action::Input(player, seq, input) => {
                    game.input(player, input, &mut ctx);
                    if let Some(seat) = self.seats.get_mut(&player) {
                        seat.acked = seq;
                    }
                }
                Action::Command(player, id, command) => {
                    let refusal = game.command(player, command, &mut ctx).err();
                    outcome.results.push((player, id, refusal));
                }
            }
        }
        {
            let (game, mut ctx) = self.ctx();
            game.step(&mut ctx);
        }
        self.tick = tick;
        let acks = self.seats.iter().map(|(p, s)| (*p, s.acked)).collect();
        let events = std::mem::take(&mut self.out.events);
        outcome.changed = self.replication.step(tick, &self.world, events, &acks);
        outcome.ended = self.out.room.ended.take();
        if let Some((journal, every)) = &mut self.journal {
            journal.write(Entry::Step);
            if tick.0.is_multiple_of(*every) {
                let hash = self.state_hash();
                self.log(Entry::Hash { tick, hash });
            }
        }
        outcome
    }

    /// The scopes `player` sees now.
    pub fn visible(&self, player: PlayerId) -> Vec<ScopeKey> {
        visible(player, self.out.view(player), self.replication.interest())
    }

    /// The scopes spectators see now: what the game shows them (see
    /// [`crate::game::SpectatorView`]), never a player's own scope. The same for every spectator,
    /// so a room computes it once per tick.
    pub fn spectator_visible(&self) -> Vec<ScopeKey> {
        spectator_visible(
            &self.out.spectators,
            self.replication.interest(),
            self.replication.occupied(),
        )
    }

    /// Entities per scope now (for measurements and tests).
    pub fn scope_sizes(&self) -> BTreeMap<ScopeKey, usize> {
        self.replication.scope_sizes()
    }

    /// Every scope that holds an entity now (a member seeing all of them sees everything).
    pub fn scopes(&self) -> Vec<ScopeKey> {
        self.replication.scope_sizes().into_keys().collect()
    }

    /// The Delta for a member (see [`Replication::delta`]).
    pub fn delta(&mut self, back: u64, before: &[ScopeKey], now: &[ScopeKey]) -> Bytes {
        self.replication.delta(back, before, now)
    }

    /// The Snapshot for a member (see [`Replication::snapshot`]).
    pub fn snapshot(&mut self, now: &[ScopeKey], since: Option<Tick>) -> Bytes {
        self.replication.snapshot(now, since)
    }

    /// Encodes a game value the way results and events are encoded (structs as maps).
    pub fn named<T: serde::Serialize>(value: &T) -> rmpv::Value {
        named_value(value)
    }
}

#[cfg(test)]
mod tests {
    //! The whole replication model, without sockets or clocks: a test game with every kind of
    //! scope, members whose replicas are fed the bytes they would receive, checked against fresh
    //! snapshots every tick.
    use super::*;
    use crate::game::{Interest, Scope, TickPolicy};
    use crate::replicate::Replicate as _;
    use serde::{Deserialize, Serialize};
    use tickroom_derive::Replicate;
    use tickroom_shared::{decode, EntityId, Replica, ServerMsg, Value};

    #[derive(Replicate)]
    #[replicate(kind = "dot")]
    struct Dot {
        owner: u32,
        #[replicate(step = 0.5)]
        x: f32,
        #[replicate(step = 0.5)]
        y: f32,
    }

    #[derive(Replicate)]
    struct Secret {
        owner: u32,
        #[replicate(max_len = 8)]
        word: String,
    }

    #[derive(Replicate)]
    struct Flag {
        team: u32,
        raised: bool,
    }

    /// Moves a player's dot by `(dx, dy)` cells-worth of units per tick.
    #[derive(Default, Deserialize)]
    struct Move(i8, i8);

    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Cmd {
        Raise,
        Shout,
    }

    #[derive(Serialize)]
    struct Shout {
        player: u32,
    }

    #[derive(Default)]
    struct Dots {
        players: BTreeMap<PlayerId, (EntityId, EntityId, (i8, i8))>,
        flag: Option<EntityId>,
    }

    const CELL: f32 = 100.0;

    impl Game for Dots {
        type Input = Move;
        type Command = Cmd;
        type Options = ();
        const NAME: &'static str = "dots";

        fn info() -> GameInfo {
            GameInfo {
                capacity: 8,
                tick: TickPolicy::Fixed { hz: 10 },
                interest: Some(Interest {
                    cell_size: CELL,
                    radius: 1,
                }),
                ..GameInfo::default()
            }
        }

        fn kinds(kinds: &mut Kinds) {
            kinds.add::<Dot>().add::<Secret>().add::<Flag>();
        }

        fn new(_: (), ctx: &mut Ctx) -> Result<Self, Refusal> {
            let flag = ctx.spawn(
                Scope::Group(1),
                Flag {
                    team: 1,
                    raised: false,
                },
            );
            Ok(Dots {
                players: BTreeMap::new(),
                flag: Some(flag),
            })
        }

        fn join(&mut self, player: PlayerId, _: &str, ctx: &mut Ctx) {
            let x = 50.0 + 1000.0 * player.0 as f32;
            let dot = ctx.spawn(
                Scope::At(x, 50.0),
                Dot {
                    owner: player.0,
                    x,
                    y: 50.0,
                },
            );
            let secret = ctx.spawn(
                Scope::Player(player),
                Secret {
                    owner: player.0,
                    word: format!("pw{}", player.0),
                },
            );
            if player.0 % 2 == 1 {
                ctx.join_group(player, 1);
            }
            self.players.insert(player, (dot, secret, (0, 0)));
        }

        fn leave(&mut self, player: PlayerId, ctx: &mut Ctx) {
            if let Some((dot, secret, _)) = self.players.remove(&player) {
                ctx.despawn(dot);
                ctx.despawn(secret);
            }
        }

        fn input(&mut self, player: PlayerId, input: Move, _: &mut Ctx) {
            if let Some(p) = self.players.get_mut(&player) {
                p.2 = (input.0, input.1);
            }
        }

        fn command(&mut self, player: PlayerId, cmd: Cmd, ctx: &mut Ctx) -> Result<(), Refusal> {
            match cmd {
                Cmd::Raise => {
                    let flag = self.flag.and_then(|id| ctx.get_mut::<Flag>(id));
                    match flag {
                        Some(f) if !f.raised => {
                            f.raised = true;
                            Ok(())
                        }
                        _ => Err(Refusal::new("already_raised", "the flag is up")),
                    }
                }
                Cmd::Shout => {
                    ctx.emit(Scope::All, "shout", &Shout { player: player.0 });
                    ctx.emit(Scope::Player(player), "echo", &Shout { player: player.0 });
                    Ok(())
                }
            }
        }

        fn step(&mut self, ctx: &mut Ctx) {
            for (player, (dot, _, (dx, dy))) in &self.players {
                let Some(d) = ctx.get_mut::<Dot>(*dot) else {
                    continue;
                };
                d.x += f32::from(*dx) * 37.5;
                d.y += f32::from(*dy) * 37.5;
                let (x, y) = (d.x, d.y);
                ctx.set_scope(*dot, Scope::At(x, y));
                ctx.set_view(*player, Some((x, y)));
            }
        }
    }

    /// A member as a client sees it: the replica fed exactly the bytes the room would send.
    struct Member {
        player: PlayerId,
        replica: Replica,
        scopes: Vec<ScopeKey>,
        events: Vec<String>,
        seen: Vec<ServerMsg>,
    }

    fn feed(m: &mut Member, bytes: &[u8]) {
        let msg: ServerMsg = decode(bytes, &Default::default()).expect("server bytes decode");
        let events = m.replica.apply(&msg).expect("applies without gap");
        m.events.extend(events.into_iter().map(|e| e.name));
        m.seen.push(msg);
    }

    fn sim() -> Simulation<Dots> {
        Simulation::new(None, 7, Dots::info(), 50).expect("the test game starts")
    }

    fn join(sim: &mut Simulation<Dots>, p: u32) -> Member {
        let player = PlayerId(p);
        sim.join(player, "x");
        Member {
            player,
            replica: Replica::new(sim.kinds()),
            scopes: Vec::new(),
            events: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// Steps once and delivers to every member (a Snapshot to those without a replica yet).
    fn tick(sim: &mut Simulation<Dots>, members: &mut [Member], back: u64) {
        sim.step();
        for m in members.iter_mut() {
            let now = sim.visible(m.player);
            let bytes = if m.replica.tick().is_none() {
                sim.snapshot(&now, None)
            } else {
                sim.delta(back, &m.scopes, &now)
            };
            feed(m, &bytes);
            m.scopes = now;
        }
    }

    /// The member's replica equals a fresh snapshot of what it sees.
    fn check(sim: &mut Simulation<Dots>, m: &Member) {
        let mut fresh = Replica::new(sim.kinds());
        let now = sim.visible(m.player);
        let msg: ServerMsg = decode(&sim.snapshot(&now, None), &Default::default()).unwrap();
        fresh.apply(&msg).unwrap();
        assert_eq!(
            fresh.entities(),
            m.replica.entities(),
            "player {}",
            m.player
        );
        assert_eq!(fresh.acks(), m.replica.acks());
        assert_eq!(fresh.tick(), m.replica.tick());
    }

    fn owners(m: &Member, kind: &str) -> Vec<i64> {
        m.replica
            .of_kind(kind)
            .map(|(id, _)| m.replica.int(id, "owner").unwrap())
            .collect()
    }

    #[test]
    fn replicas_follow_every_scope_through_moves() {
        let mut sim = sim();
        let mut members = vec![join(&mut sim, 1), join(&mut sim, 2)];
        tick(&mut sim, &mut members, 1);
        // Players sit 1000 units (10 cells) apart: each sees only its own dot.
        assert_eq!(owners(&members[0], "dot"), vec![1]);
        assert_eq!(owners(&members[1], "dot"), vec![2]);
        // Only player 1 is in group 1.
        assert_eq!(members[0].replica.of_kind("flag").count(), 1);
        assert_eq!(members[1].replica.of_kind("flag").count(), 0);
        // Player 2 walks left towards player 1, one cell every few ticks, and back.
        let mut seq = 0;
        let mut met = false;
        for t in 0..80u32 {
            let dx = if t < 40 { -1 } else { 1 };
            seq += 1;
            let input = rmpv::Value::Array(vec![dx.into(), 0.into()]);
            sim.queue_input(PlayerId(2), InputSeq(seq), input).unwrap();
            tick(&mut sim, &mut members, 1);
            for m in &members {
                check(&mut sim, m);
            }
            met |= owners(&members[0], "dot").contains(&2);
        }
        assert!(met, "player 2 came into player 1's view");
        assert_eq!(owners(&members[0], "dot"), vec![1], "and left it again");
        assert_eq!(members[1].replica.ack(PlayerId(2)), InputSeq(80));
    }

    #[test]
    fn private_entities_reach_only_their_owner() {
        let mut sim = sim();
        let mut members = vec![join(&mut sim, 1), join(&mut sim, 2), join(&mut sim, 3)];
        for _ in 0..5 {
            tick(&mut sim, &mut members, 1);
        }
        for m in &members {
            assert_eq!(owners(m, "secret"), vec![i64::from(m.player.0)]);
            let word = m
                .replica
                .of_kind("secret")
                .map(|(id, _)| m.replica.field(id, "word").cloned())
                .next()
                .flatten();
            assert_eq!(word, Some(Value::Text(format!("pw{}", m.player.0))));
            // No record of any message names another player's secret.
            for msg in &m.seen {
                let segments = match msg {
                    ServerMsg::Snapshot { segments, .. } | ServerMsg::Delta { segments, .. } => {
                        segments
                    }
                    _ => continue,
                };
                for rec in segments.iter().flat_map(|s| &s.added) {
                    if rec.kind == 1 {
                        assert_eq!(rec.values[0].1, Value::Int(m.player.0.into()));
                    }
                }
            }
        }
    }

    #[test]
    fn commands_are_refused_by_name_and_events_go_to_their_scope_in_order() {
        let mut sim = sim();
        let mut members = vec![join(&mut sim, 1), join(&mut sim, 2)];
        tick(&mut sim, &mut members, 1);
        let raise = || rmpv::Value::Map(vec![("type".into(), "raise".into())]);
        let shout = || rmpv::Value::Map(vec![("type".into(), "shout".into())]);
        sim.queue_command(PlayerId(1), 10, raise()).unwrap();
        sim.queue_command(PlayerId(2), 11, raise()).unwrap();
        sim.queue_command(PlayerId(2), 12, shout()).unwrap();
        let outcome = sim.step();
        assert_eq!(outcome.results[0], (PlayerId(1), 10, None));
        let (p, id, refusal) = &outcome.results[1];
        assert_eq!((*p, *id), (PlayerId(2), 11));
        assert_eq!(refusal.as_ref().unwrap().code, "already_raised");
        for m in members.iter_mut() {
            let now = sim.visible(m.player);
            let bytes = sim.delta(1, &m.scopes, &now);
            feed(m, &bytes);
        }
        assert_eq!(members[0].events, vec!["shout"]);
        assert_eq!(members[1].events, vec!["shout", "echo"]);
        let flag = members[0].replica.of_kind("flag").next().unwrap().0;
        assert_eq!(members[0].replica.int(flag, "raised"), Some(1));
        assert!(matches!(
            sim.queue_command(PlayerId(1), 1, rmpv::Value::from(5)),
            Err(Rejected::Undecodable(_))
        ));
    }

    #[test]
    fn a_snapshot_after_skipped_ticks_replays_their_events() {
        let mut sim = sim();
        let mut members = vec![join(&mut sim, 1)];
        tick(&mut sim, &mut members, 1);
        let delivered = sim.tick();
        let shout = || rmpv::Value::Map(vec![("type".into(), "shout".into())]);
        // Two ticks the member does not receive, each with events.
        for _ in 0..2 {
            sim.queue_command(PlayerId(1), 1, shout()).unwrap();
            sim.step();
        }
        sim.step();
        let now = sim.visible(PlayerId(1));
        let bytes = sim.snapshot(&now, Some(delivered));
        feed(&mut members[0], &bytes);
        assert_eq!(members[0].events, vec!["shout", "echo", "shout", "echo"]);
    }

    #[test]
    fn everyone_in_the_same_scopes_shares_one_allocation() {
        let mut sim = sim();
        for p in [2, 4] {
            sim.join(PlayerId(p), "x");
        }
        sim.step();
        let (a, b) = (sim.visible(PlayerId(2)), sim.visible(PlayerId(4)));
        // Different private scopes: different messages, same shared segment bytes inside.
        let (da, db) = (sim.delta(1, &a, &a), sim.delta(1, &b, &b));
        assert_ne!(da, db);
        let all_only = vec![ScopeKey::All];
        let x = sim.delta(1, &all_only, &all_only);
        let y = sim.delta(1, &all_only, &all_only);
        assert_eq!(
            x.as_ptr(),
            y.as_ptr(),
            "cached: one Bytes for every such member"
        );
        let _ = Dot::KIND;
    }

    #[test]
    fn spectators_see_public_scopes_and_the_cells_the_game_chooses() {
        let mut sim = sim();
        for p in [1, 2] {
            sim.join(PlayerId(p), "x");
        }
        sim.step();
        // Dots at x = 1050 and 2050 (cells 10 and 20); the flag is in group 1; secrets private.
        let every = sim.spectator_visible();
        assert_eq!(
            every,
            vec![ScopeKey::All, ScopeKey::Cell(10, 0), ScopeKey::Cell(20, 0)]
        );
        let mut s = Member {
            player: PlayerId(0),
            replica: Replica::new(sim.kinds()),
            scopes: every.clone(),
            events: Vec::new(),
            seen: Vec::new(),
        };
        let bytes = sim.snapshot(&every, None);
        feed(&mut s, &bytes);
        assert_eq!(owners(&s, "dot"), vec![1, 2]);
        assert_eq!(s.replica.of_kind("secret").count(), 0);
        assert_eq!(s.replica.of_kind("flag").count(), 0);

        let (_, mut ctx) = sim.ctx();
        ctx.set_spectator_view(crate::game::SpectatorView::At(2050.0, 50.0));
        ctx.show_group_to_spectators(1);
        let near = sim.spectator_visible();
        assert!(near.contains(&ScopeKey::Group(1)));
        assert!(near.contains(&ScopeKey::Cell(20, 0)));
        assert!(!near.contains(&ScopeKey::Cell(10, 0)));
        assert!(!near.iter().any(|k| matches!(k, ScopeKey::Player(_))));
        let (_, mut ctx) = sim.ctx();
        ctx.set_spectator_view(crate::game::SpectatorView::Nowhere);
        ctx.hide_group_from_spectators(1);
        assert_eq!(sim.spectator_visible(), vec![ScopeKey::All]);
    }

    #[test]
    fn leaving_removes_entities_and_resume_restarts_acks() {
        let mut sim = sim();
        let mut members = vec![join(&mut sim, 1), join(&mut sim, 3)];
        tick(&mut sim, &mut members, 1);
        let input = || rmpv::Value::Array(vec![0.into(), 0.into()]);
        sim.queue_input(PlayerId(3), InputSeq(5), input()).unwrap();
        assert_eq!(
            sim.queue_input(PlayerId(3), InputSeq(5), input()),
            Err(Rejected::StaleSequence)
        );
        tick(&mut sim, &mut members, 1);
        assert_eq!(members[0].replica.ack(PlayerId(3)), InputSeq(5));
        sim.resume(PlayerId(3));
        tick(&mut sim, &mut members, 1);
        assert_eq!(members[0].replica.ack(PlayerId(3)), InputSeq(0));
        sim.leave(PlayerId(3));
        members.truncate(1);
        tick(&mut sim, &mut members, 1);
        check(&mut sim, &members[0]);
        assert_eq!(owners(&members[0], "dot"), vec![1]);
    }
}
