//! The games a server runs: [`Games`], a registry of type-erased room factories, so the lobby,
//! the sessions and the HTTP API never name a game type.

use crate::config::Config;
use crate::game::{Game, GameInfo, Refusal};
use crate::messages::{CloseRoom, Join, OperatorHandles, RoomEvent, Watch};
use crate::recording::{Header, Recording, RecordingFile};
use crate::replay::{PlaybackLimits, ReplayError, Verified};
use crate::room::Room;
use crate::sim::{kinds_of, Simulation};
use crate::stats::Stats;
use actix::prelude::*;
use serde::Serialize;
use std::sync::Arc;
use tickroom_shared::{KindSchema, RoomId};

/// A running room as the lobby sees it.
pub struct RoomHandle {
    /// Joins go here.
    pub join: Recipient<Join>,
    /// Spectators go here.
    pub watch: Recipient<Watch>,
    /// Closing it.
    pub close: Recipient<CloseRoom>,
    /// What the admin endpoints ask it directly.
    pub operator: OperatorHandles,
    /// Lock, metadata and capacity as the game set them when it created the room.
    pub control: crate::world::RoomControl,
}

/// What starting a room needs besides the game.
pub struct RoomSpec {
    /// Its id.
    pub id: RoomId,
    /// The creator's options.
    pub options: Option<rmpv::Value>,
    /// The game's seed.
    pub seed: u64,
    /// Server configuration.
    pub config: Arc<Config>,
    /// Where the room reports.
    pub lobby: Recipient<RoomEvent>,
    /// Counters.
    pub stats: Arc<Stats>,
    /// The room thread.
    pub arbiter: ArbiterHandle,
}

/// A game as the engine sees it, without its type.
pub trait GameEntry: Send + Sync {
    /// The game's name.
    fn name(&self) -> &'static str;
    /// Capacity, tick policy, interest.
    fn info(&self) -> GameInfo;
    /// Its entity kinds.
    fn kinds(&self) -> &[KindSchema];
    /// Starts a room; refuses unreadable options. A panic in `Game::new` is caught here, on the
    /// caller's thread, so it cannot take down the other rooms of the room thread.
    fn start(&self, spec: RoomSpec) -> Result<RoomHandle, Refusal>;
    /// Replays a recording of this game's room and checks its state hashes
    /// ([`crate::replay::verify`]).
    fn verify(&self, recording: &Recording<'_>) -> Result<Verified, ReplayError>;
    /// Replays a recording into a spectator's playback stream ([`crate::replay::playback`]).
    fn playback(
        &self,
        recording: &Recording<'_>,
        limits: PlaybackLimits,
    ) -> Result<Vec<u8>, ReplayError>;
}

struct Entry<G: Game> {
    kinds: Vec<KindSchema>,
    _game: std::marker::PhantomData<fn() -> G>,
}

impl<G: Game> GameEntry for Entry<G> {
    fn name(&self) -> &'static str {
        G::NAME
    }

    fn info(&self) -> GameInfo {
        G::info()
    }

    fn kinds(&self) -> &[KindSchema] {
        &self.kinds
    }

    fn start(&self, spec: RoomSpec) -> Result<RoomHandle, Refusal> {
        let info = spec.config.apply(G::info());
        // Events are kept as long as a member may lag before it is dropped, plus a margin.
        let event_ticks =
            (spec.config.slow_client_timeout.as_secs_f64() * f64::from(info.tick.hz())) as u64 + 2;
        let options = spec.options;
        let recorded_options = options.clone();
        let seed = spec.seed;
        let mut sim = std::panic::catch_unwind(move || {
            Simulation::<G>::new(options, seed, info, event_ticks)
        })
        .map_err(|_| {
            tracing::error!(game = G::NAME, "Game::new panicked");
            Refusal::new("game_failed", "the game failed to start a room")
        })??;
        let control = sim.take_control_change().unwrap_or_default();
        if let Some(dir) = &spec.config.record {
            let header = Header {
                format: crate::recording::FORMAT.into(),
                version: crate::recording::VERSION,
                game: G::NAME.into(),
                room: spec.id.0,
                seed,
                options: recorded_options,
                info: info.into(),
                event_ticks,
                max_message_size: spec.config.max_message_size as u64,
                hash_every: spec.config.record_hash_every,
                started_ms: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            };
            // One file opened per room, on the lobby's thread: a moment, once per room.
            match RecordingFile::create(dir, &header, spec.stats.clone()) {
                Ok(file) => {
                    tracing::debug!(path = %file.path().display(), "recording the room");
                    sim.record(Box::new(file), header.hash_every);
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot record the room");
                    spec.stats.recording_errors.inc();
                }
            }
        }
        let RoomSpec {
            id,
            config,
            lobby,
            stats,
            arbiter,
            ..
        } = spec;
        let addr = Room::<G>::start_in_arbiter(&arbiter, move |_| {
            Room::new(id, sim, config, lobby, stats)
        });
        Ok(RoomHandle {
            join: addr.clone().recipient(),
            watch: addr.clone().recipient(),
            close: addr.clone().recipient(),
            operator: OperatorHandles {
                inspect: addr.clone().recipient(),
                kick: addr.recipient(),
            },
            control,
        })
    }

    fn verify(&self, recording: &Recording<'_>) -> Result<Verified, ReplayError> {
        crate::replay::verify::<G>(recording)
    }

    fn playback(
        &self,
        recording: &Recording<'_>,
        limits: PlaybackLimits,
    ) -> Result<Vec<u8>, ReplayError> {
        crate::replay::playback::<G>(recording, limits)
    }
}

/// The games a server runs; the first one added is the default.
#[derive(Clone, Default)]
pub struct Games {
    list: Vec<Arc<dyn GameEntry>>,
}

/// A game in `GET /api/info`.
#[derive(Serialize)]
pub struct GameSummary {
    /// Name.
    pub name: &'static str,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Sends only on change.
    pub on_change: bool,
    /// Seats per room.
    pub capacity: u32,
    /// Entity kinds, as the welcome sends them.
    pub kinds: Vec<KindSchema>,
}

impl Games {
    /// No games yet.
    pub fn new() -> Games {
        Games::default()
    }

    /// Adds game `G`. Panics if its kinds are unusable or its name is taken: both are mistakes
    /// in the server's own code, found at start-up.
    pub fn with<G: Game>(mut self) -> Games {
        let kinds = kinds_of::<G>().unwrap_or_else(|e| panic!("game {}: {e}", G::NAME));
        assert!(
            self.get(G::NAME).is_none(),
            "game {} is registered twice",
            G::NAME
        );
        self.list.push(Arc::new(Entry::<G> {
            kinds,
            _game: std::marker::PhantomData,
        }));
        self
    }

    /// The game named `name`, or the default game for `None`.
    pub fn get_or_default(&self, name: Option<&str>) -> Option<&Arc<dyn GameEntry>> {
        match name {
            Some(n) => self.get(n),
            None => self.list.first(),
        }
    }

    /// The game named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn GameEntry>> {
        self.list.iter().find(|g| g.name() == name)
    }

    /// Every game, default first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn GameEntry>> {
        self.list.iter()
    }

    /// Summaries for `/api/info`, with the server's overrides applied.
    pub fn summaries(&self, config: &Config) -> Vec<GameSummary> {
        self.list
            .iter()
            .map(|g| {
                let info = config.apply(g.info());
                GameSummary {
                    name: g.name(),
                    tick_rate: info.tick.hz(),
                    on_change: info.tick.is_on_change(),
                    capacity: info.capacity,
                    kinds: g.kinds().to_vec(),
                }
            })
            .collect()
    }
}
