//! Replaying a recording (see [`crate::recording`]) without I/O or clocks: the simulation is
//! rebuilt from the header and every recorded call is made again in order.
//!
//! - [`verify`]: checks every recorded state hash (`tickroom-server replay FILE --verify`): a
//!   room whose game and engine are deterministic replays to the same hashes.
//! - [`playback`]: the messages a spectator of the room would have received, tick by tick, with
//!   keyframes to seek to (`GET /api/replays/{name}`; the format is in PROTOCOL.md, "Replays").
//!
//! Both are generic over the game; [`crate::registry::GameEntry`] reaches them without naming
//! one.

use crate::game::{Game, Refusal};
use crate::inbox::Kind;
use crate::recording::{Entry, Recording, RecordingError, Tail};
use crate::replication::ScopeKey;
use crate::sim::Simulation;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use tickroom_shared::{DecodeLimits, PlayerId, RoomId, RosterEntry, ServerMsg, Tick};

/// The `format` field of a playback stream.
pub const STREAM_FORMAT: &str = "tickroom-replay";

/// The version of the playback stream format.
pub const STREAM_VERSION: u32 = 1;

/// What a replay can find wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReplayError {
    /// The file is not a readable recording, or is damaged.
    #[error(transparent)]
    Recording(#[from] RecordingError),
    /// The recording is of a game this server does not run.
    #[error("the recording is of game {0:?}, which this server does not run")]
    UnknownGame(String),
    /// The recording's options no longer start a room.
    #[error("the game refused the recorded options: {}", .0.message)]
    Refused(Refusal),
    /// The game panicked while replaying (it may have done so in the room too).
    #[error("the game panicked at tick {0}")]
    Panicked(u64),
    /// A recorded state hash differs from the replayed state's.
    #[error("tick {tick}: the replayed state differs from the recording (hash {replayed:016x}, recorded {recorded:016x})")]
    Diverged {
        /// The first tick whose hash differs.
        tick: u64,
        /// The recorded hash.
        recorded: u64,
        /// The hash of the replayed state.
        replayed: u64,
    },
    /// A hash entry names a tick other than the one just stepped.
    #[error("a hash of tick {recorded} follows tick {stepped}")]
    HashOutOfPlace {
        /// The tick in the entry.
        recorded: u64,
        /// The tick the replay is at.
        stepped: u64,
    },
    /// The game lets nobody watch its rooms (`GameInfo::spectators` 0): nor their replays.
    #[error("the game lets nobody watch its rooms, nor their replays")]
    NotWatchable,
    /// The recording is longer than a playback may be.
    #[error("the recording has more than {0} ticks, more than a playback serves")]
    TooLong(u64),
}

/// A replay that matched every recorded hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Ticks replayed.
    pub ticks: u64,
    /// Hashes checked (all equal).
    pub hashes: u64,
    /// How the file ended: [`Tail::Cut`] means every whole record was checked, and the file
    /// ends inside the next one.
    pub tail: Tail,
}

/// The seats of the replayed room, for the spectators' roster.
#[derive(Default)]
struct Seats {
    players: BTreeMap<PlayerId, (String, bool)>,
    changed: bool,
}

impl Seats {
    fn set(&mut self, player: PlayerId, f: impl FnOnce(&mut BTreeMap<PlayerId, (String, bool)>)) {
        let before = self.players.get(&player).cloned();
        f(&mut self.players);
        self.changed |= self.players.get(&player) != before.as_ref();
    }

    fn roster(&self) -> ServerMsg {
        ServerMsg::Roster {
            players: self
                .players
                .iter()
                .map(|(player, (name, connected))| RosterEntry {
                    player: *player,
                    name: name.clone(),
                    connected: *connected,
                })
                .collect(),
        }
    }
}

/// Re-runs `recording` on a fresh `Simulation<G>`, checking each hash, and calls `each_tick`
/// after every step with the simulation, the seats, and the game's result if it ended the room.
fn run<G: Game>(
    recording: &Recording<'_>,
    max_ticks: Option<u64>,
    mut each_tick: impl FnMut(&mut Simulation<G>, &mut Seats, Option<rmpv::Value>),
) -> Result<Verified, ReplayError> {
    let header = &recording.header;
    if header.game != G::NAME {
        return Err(ReplayError::UnknownGame(header.game.clone()));
    }
    let limits = DecodeLimits {
        max_bytes: usize::try_from(header.max_message_size).unwrap_or(usize::MAX),
        ..DecodeLimits::default()
    };
    let mut sim = Simulation::<G>::new(
        header.options.clone(),
        header.seed,
        header.info.into(),
        header.event_ticks,
    )
    .map_err(ReplayError::Refused)?;
    let mut seats = Seats::default();
    let mut hashes = 0;
    let mut entries = recording.entries();
    while let Some(entry) = entries.next_entry()? {
        // The results of the calls are ignored: the room got the same ones, and what it did
        // about them (closing a connection after an undecodable input, say) is recorded too.
        match entry {
            Entry::Step => {
                if max_ticks.is_some_and(|max| sim.tick().0 >= max) {
                    return Err(ReplayError::TooLong(sim.tick().0));
                }
                let outcome = sim.step();
                each_tick(&mut sim, &mut seats, outcome.ended);
            }
            Entry::Admit { player, name } => {
                let _ = sim.admit(player, name);
            }
            Entry::Join { player, name } => {
                sim.join(player, name);
                seats.set(player, |p| {
                    p.insert(player, (name.to_owned(), true));
                });
            }
            Entry::Leave { player } => {
                sim.leave(player);
                seats.set(player, |p| {
                    p.remove(&player);
                });
            }
            Entry::Resume { player } => {
                sim.resume(player);
                seats.set(player, |p| {
                    if let Some(seat) = p.get_mut(&player) {
                        seat.1 = true;
                    }
                });
            }
            Entry::Disconnected { player } => {
                sim.disconnected(player);
                seats.set(player, |p| {
                    if let Some(seat) = p.get_mut(&player) {
                        seat.1 = false;
                    }
                });
            }
            Entry::Input { player, message } => {
                let _ = sim.queue_message(player, Kind::Input, message, &limits);
            }
            Entry::Command { player, message } => {
                let _ = sim.queue_message(player, Kind::Command, message, &limits);
            }
            Entry::Hash { tick, hash } => {
                if tick != sim.tick() {
                    return Err(ReplayError::HashOutOfPlace {
                        recorded: tick.0,
                        stepped: sim.tick().0,
                    });
                }
                let replayed = sim.state_hash();
                if replayed != hash {
                    return Err(ReplayError::Diverged {
                        tick: tick.0,
                        recorded: hash,
                        replayed,
                    });
                }
                hashes += 1;
            }
            Entry::End { .. } => {}
        }
    }
    Ok(Verified {
        ticks: sim.tick().0,
        hashes,
        tail: entries.tail(),
    })
}

/// Runs `f`, turning a game panic into [`ReplayError::Panicked`] at the tick `tick` last saw.
fn guarded<T>(
    tick: &std::cell::Cell<u64>,
    f: impl FnOnce() -> Result<T, ReplayError>,
) -> Result<T, ReplayError> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        tracing::warn!(tick = tick.get(), "a game panicked during a replay");
        Err(ReplayError::Panicked(tick.get() + 1))
    })
}

/// Replays `recording` and checks every recorded state hash.
pub fn verify<G: Game>(recording: &Recording<'_>) -> Result<Verified, ReplayError> {
    let tick = std::cell::Cell::new(0);
    guarded(&tick, || {
        run::<G>(recording, None, |sim, _, _| tick.set(sim.tick().0))
    })
}

/// Limits of a playback.
#[derive(Clone, Copy, Debug)]
pub struct PlaybackLimits {
    /// Most ticks a playback re-simulates.
    pub max_ticks: u64,
    /// Ticks between keyframes.
    pub keyframe_every: u64,
}

fn encode(msg: &ServerMsg) -> Bytes {
    // Our own messages always encode (the room relies on the same).
    Bytes::from(tickroom_shared::encode(msg).unwrap_or_default())
}

/// Replays `recording` (checking its hashes as [`verify`] does) and returns the playback stream:
/// what a spectator of the room would have received (the scopes the game shows spectators, never
/// a player's own: [`Simulation::spectator_visible`]), as a MessagePack map with a Watching, keyframes (Roster and Snapshot) every
/// `keyframe_every` ticks, and every tick's messages (a Roster when it changed, the Delta, and
/// `Ended` when the game ended the room). See PROTOCOL.md, "Replays".
pub fn playback<G: Game>(
    recording: &Recording<'_>,
    limits: PlaybackLimits,
) -> Result<Vec<u8>, ReplayError> {
    if recording.header.info.spectators == 0 {
        return Err(ReplayError::NotWatchable);
    }
    let tick = std::cell::Cell::new(0);
    let every = limits.keyframe_every.max(1);
    let mut keyframes: Vec<(u64, Bytes, Bytes)> = Vec::new();
    let mut ticks: Vec<Vec<Bytes>> = Vec::new();
    let mut kinds = Vec::new();
    let mut scopes: Vec<ScopeKey> = Vec::new();
    let verified = guarded(&tick, || {
        run::<G>(recording, Some(limits.max_ticks), |sim, seats, ended| {
            let t = sim.tick().0;
            tick.set(t);
            if kinds.is_empty() {
                kinds = sim.kinds();
            }
            let now = sim.spectator_visible();
            let mut frames = Vec::with_capacity(2);
            if std::mem::take(&mut seats.changed) {
                frames.push(encode(&seats.roster()));
            }
            frames.push(sim.delta(1, &scopes, &now));
            if let Some(result) = ended {
                frames.push(encode(&ServerMsg::Ended { result }));
            }
            if (t - 1) % every == 0 {
                keyframes.push((t, encode(&seats.roster()), sim.snapshot(&now, None)));
            }
            ticks.push(frames);
            scopes = now;
        })
    })?;
    let header = &recording.header;
    let watching = ServerMsg::Watching {
        room: RoomId(header.room),
        game: header.game.clone(),
        tick_rate: header.hz(),
        on_change: header.info.keepalive_secs.is_some(),
        tick: Tick(0),
        kinds,
    };
    let bin = |b: &Bytes| rmpv::Value::Binary(b.to_vec());
    let map = rmpv::Value::Map(vec![
        ("format".into(), STREAM_FORMAT.into()),
        ("version".into(), STREAM_VERSION.into()),
        ("game".into(), header.game.as_str().into()),
        ("room".into(), header.room.into()),
        ("tick_rate".into(), header.hz().into()),
        ("started_ms".into(), header.started_ms.into()),
        ("first".into(), 1.into()),
        ("last".into(), verified.ticks.into()),
        ("complete".into(), (verified.tail == Tail::Ended).into()),
        ("watching".into(), bin(&encode(&watching))),
        (
            "keyframes".into(),
            rmpv::Value::Array(
                keyframes
                    .iter()
                    .map(|(t, roster, snapshot)| {
                        rmpv::Value::Array(vec![(*t).into(), bin(roster), bin(snapshot)])
                    })
                    .collect(),
            ),
        ),
        (
            "ticks".into(),
            rmpv::Value::Array(
                ticks
                    .iter()
                    .map(|frames| rmpv::Value::Array(frames.iter().map(bin).collect()))
                    .collect(),
            ),
        ),
    ]);
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, &map);
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! A test game whose every call shows in its state, recorded through the simulation's
    //! journal and replayed: the hashes match, a changed input is caught at the next hash, and
    //! the playback hides private scopes.
    use super::*;
    use crate::game::{Ctx, GameInfo, Kinds, Scope, TickPolicy};
    use crate::recording::{encode_header, Header, RecordedInfo, FORMAT, VERSION};
    use rand::Rng as _;
    use serde::Deserialize;
    use std::sync::{Arc, Mutex};
    use tickroom_derive::Replicate;
    use tickroom_shared::{ClientMsg, InputSeq, Replica};

    #[derive(Replicate)]
    struct Walker {
        owner: u32,
        x: i32,
        luck: u32,
    }

    #[derive(Replicate)]
    struct Secret {
        owner: u32,
        code: u32,
    }

    #[derive(Default, Deserialize)]
    struct Step(i8);

    #[derive(Deserialize)]
    struct Bump {
        by: i32,
    }

    #[derive(Default)]
    struct Walk {
        walkers: BTreeMap<PlayerId, (tickroom_shared::EntityId, i8)>,
    }

    impl Game for Walk {
        type Input = Step;
        type Command = Bump;
        type Options = ();
        const NAME: &'static str = "walk";

        fn info() -> GameInfo {
            GameInfo {
                capacity: 4,
                tick: TickPolicy::Fixed { hz: 10 },
                interest: None,
                spectators: 2,
                acks: crate::game::AckAudience::Everyone,
            }
        }

        fn kinds(kinds: &mut Kinds) {
            kinds.add::<Walker>().add::<Secret>();
        }

        fn new(_: (), _: &mut Ctx) -> Result<Self, Refusal> {
            Ok(Walk::default())
        }

        fn join(&mut self, player: PlayerId, _: &str, ctx: &mut Ctx) {
            let luck = ctx.rng().random_range(0..1000);
            let id = ctx.spawn(
                Scope::All,
                Walker {
                    owner: player.0,
                    x: 0,
                    luck,
                },
            );
            ctx.spawn(
                Scope::Player(player),
                Secret {
                    owner: player.0,
                    code: 4242,
                },
            );
            self.walkers.insert(player, (id, 0));
        }

        fn leave(&mut self, player: PlayerId, ctx: &mut Ctx) {
            if let Some((id, _)) = self.walkers.remove(&player) {
                ctx.despawn(id);
            }
        }

        fn input(&mut self, player: PlayerId, input: Step, _: &mut Ctx) {
            if let Some(w) = self.walkers.get_mut(&player) {
                w.1 = input.0;
            }
        }

        fn command(&mut self, player: PlayerId, bump: Bump, ctx: &mut Ctx) -> Result<(), Refusal> {
            let id = self.walkers.get(&player).map(|w| w.0);
            let w = id.and_then(|id| ctx.get_mut::<Walker>(id));
            w.map(|w| w.x += bump.by)
                .ok_or_else(|| Refusal::new("no", "no walker"))
        }

        fn step(&mut self, ctx: &mut Ctx) {
            for (id, dx) in self.walkers.values() {
                if let Some(w) = ctx.get_mut::<Walker>(*id) {
                    w.x += i32::from(*dx);
                }
            }
        }
    }

    /// A journal the test can read back while the simulation holds it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl crate::recording::Journal for Shared {
        fn write(&mut self, entry: Entry<'_>) {
            entry.encode(&mut self.0.lock().unwrap());
        }
    }

    fn header() -> Header {
        Header {
            format: FORMAT.into(),
            version: VERSION,
            game: "walk".into(),
            room: 3,
            seed: 99,
            options: None,
            info: RecordedInfo::from(Walk::info()),
            event_ticks: 5,
            max_message_size: 65536,
            hash_every: 4,
            started_ms: 0,
        }
    }

    fn input(seq: u32, dx: i8) -> Vec<u8> {
        tickroom_shared::encode(&ClientMsg::<_, ()>::Input {
            seq: InputSeq(seq),
            input: dx,
        })
        .unwrap()
    }

    /// A room's life, recorded: two players, inputs, a command, a disconnect and a resume, a
    /// leave; 40 ticks with a hash every 4.
    fn recorded() -> Vec<u8> {
        let h = header();
        let mut sim = Simulation::<Walk>::new(None, h.seed, h.info.into(), h.event_ticks).unwrap();
        let journal = Shared::default();
        sim.record(Box::new(journal.clone()), h.hash_every);
        let limits = DecodeLimits::default();
        for p in [1, 2] {
            sim.admit(PlayerId(p), "x").unwrap();
            sim.join(PlayerId(p), &format!("p{p}"));
        }
        for t in 1..=40u32 {
            let dx = if t % 3 == 0 { -1 } else { 1 };
            sim.queue_message(PlayerId(1), Kind::Input, &input(t, dx), &limits)
                .unwrap();
            if t == 10 {
                let bump = tickroom_shared::encode(&ClientMsg::<(), _>::Command {
                    id: 1,
                    command: serde_json::json!({"by": 7}),
                })
                .unwrap();
                sim.queue_message(PlayerId(2), Kind::Command, &bump, &limits)
                    .unwrap();
            }
            if t == 15 {
                sim.disconnected(PlayerId(2));
            }
            if t == 20 {
                sim.resume(PlayerId(2));
            }
            if t == 30 {
                sim.leave(PlayerId(2));
            }
            sim.step();
        }
        sim.finish_recording();
        let mut file = encode_header(&h);
        file.extend_from_slice(&journal.0.lock().unwrap());
        file
    }

    /// Where `part` starts in `file`.
    fn find(file: &[u8], part: &[u8]) -> usize {
        file.windows(part.len())
            .position(|w| w == part)
            .expect("the part is in the file")
    }

    #[test]
    fn a_recorded_room_replays_to_every_hash() {
        let file = recorded();
        let rec = Recording::parse(&file).unwrap();
        let verified = verify::<Walk>(&rec).expect("same hashes");
        assert_eq!(
            verified,
            Verified {
                ticks: 40,
                hashes: 10,
                tail: Tail::Ended
            }
        );
    }

    /// One input's direction changed in the file: the replay fails at the first hash after it.
    #[test]
    fn a_changed_input_is_caught_at_the_next_hash() {
        let mut file = recorded();
        let wanted = input(7, 1);
        let at = find(&file, &wanted);
        // The last byte is the direction: 1 becomes 0xff (-1).
        file[at + wanted.len() - 1] = 0xff;
        let rec = Recording::parse(&file).unwrap();
        match verify::<Walk>(&rec) {
            Err(ReplayError::Diverged { tick, .. }) => assert_eq!(tick, 8),
            other => panic!("expected a divergence, got {other:?}"),
        }
    }

    #[test]
    fn a_cut_file_is_verified_up_to_its_last_whole_entry() {
        let file = recorded();
        // Inside the input of tick 20.
        let cut = find(&file, &input(20, 1)) + 2;
        let rec = Recording::parse(&file[..cut]).unwrap();
        let verified = verify::<Walk>(&rec).expect("what is there matches");
        assert!(matches!(verified.tail, Tail::Cut(_)));
        assert_eq!((verified.ticks, verified.hashes), (19, 4));
    }

    /// A game nobody may watch has no playback either.
    #[test]
    fn a_game_nobody_may_watch_has_no_playback() {
        let mut h = header();
        h.info.spectators = 0;
        let file = encode_header(&h);
        let rec = Recording::parse(&file).unwrap();
        let limits = PlaybackLimits {
            max_ticks: 10,
            keyframe_every: 10,
        };
        assert_eq!(
            playback::<Walk>(&rec, limits),
            Err(ReplayError::NotWatchable)
        );
    }

    #[test]
    fn another_games_recording_is_refused() {
        let mut h = header();
        h.game = "other".into();
        let file = encode_header(&h);
        let rec = Recording::parse(&file).unwrap();
        assert_eq!(
            verify::<Walk>(&rec),
            Err(ReplayError::UnknownGame("other".into()))
        );
    }

    /// The playback stream replays on a client replica: each keyframe equals the state the
    /// deltas built up to its tick, and no private entity is ever in it.
    #[test]
    fn playback_is_a_spectators_view_with_keyframes() {
        let file = recorded();
        let rec = Recording::parse(&file).unwrap();
        let limits = PlaybackLimits {
            max_ticks: 1000,
            keyframe_every: 10,
        };
        let bytes = playback::<Walk>(&rec, limits).unwrap();
        let stream = rmpv::decode::read_value(&mut bytes.as_slice()).unwrap();
        let get = |k: &str| {
            stream
                .as_map()
                .unwrap()
                .iter()
                .find(|(key, _)| key.as_str() == Some(k))
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("format").as_str(), Some(STREAM_FORMAT));
        assert_eq!(get("last").as_u64(), Some(40));
        let msg = |v: &rmpv::Value| -> ServerMsg {
            tickroom_shared::decode(v.as_slice().unwrap(), &Default::default()).unwrap()
        };
        let ServerMsg::Watching { kinds, room, .. } = msg(&get("watching")) else {
            panic!("a watching")
        };
        assert_eq!(room, RoomId(3));
        let keyframes: BTreeMap<u64, ServerMsg> = get("keyframes")
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let k = k.as_array().unwrap();
                (k[0].as_u64().unwrap(), msg(&k[2]))
            })
            .collect();
        assert_eq!(
            keyframes.keys().copied().collect::<Vec<_>>(),
            [1, 11, 21, 31]
        );
        let mut replica = Replica::new(kinds.clone());
        replica.apply(&keyframes[&1]).unwrap();
        let ticks = get("ticks");
        for (i, frames) in ticks.as_array().unwrap().iter().enumerate().skip(1) {
            let tick = i as u64 + 1;
            for f in frames.as_array().unwrap() {
                replica.apply(&msg(f)).unwrap();
            }
            assert_eq!(replica.of_kind("secret").count(), 0, "tick {tick}");
            if let Some(k) = keyframes.get(&tick) {
                let mut fresh = Replica::new(kinds.clone());
                fresh.apply(k).unwrap();
                assert_eq!(fresh.entities(), replica.entities(), "tick {tick}");
            }
        }
        assert_eq!(replica.of_kind("walker").count(), 1, "player 2 left");
    }
}
