//! Agones: a node that runs as an Agones `GameServer` tells the Agones SDK sidecar in its pod how
//! it is doing, over the sidecar's REST API on `127.0.0.1:--agones-sdk-port`.
//!
//! Agones (the Kubernetes engine for game-server fleets) only routes players to a `GameServer`
//! that said Ready, replaces one that stops saying Health, and deletes the pod of one that says
//! Shutdown. The REST calls are the ones Agones documents in "REST Game Server Client API"
//! (agones.dev/site/docs/guides/client-sdks/rest/) and in its OpenAPI files
//! (`sdks/swagger/sdk.swagger.json`, `sdks/swagger/beta.swagger.json`):
//!
//! - `POST /ready` with `{}`: once the server is listening, retried until the sidecar answers
//!   (it may start after us, as Agones warns).
//! - `POST /health` with `{}`: every `--agones-health-interval`, but only while every open room
//!   keeps ticking ([`Liveness`]). A room thread stuck in a game's endless loop freezes every
//!   room on it, and nothing inside the process can free it: withholding Health lets Agones
//!   mark the `GameServer` Unhealthy and replace it. Each room is watched, not the process-wide
//!   tick count, which other threads' rooms would keep rising.
//! - `PATCH /v1beta1/counters/rooms` with `{"count": "N"}`: the open rooms (beta Counters).
//! - `PATCH /v1beta1/lists/players` with `{"values": [...]}`: the seated players as
//!   `ROOM.PLAYER` (beta Lists; the gateway turns the body's keys into the update mask, so only
//!   the values are replaced). Agones keeps at most the list's capacity (1000 at most).
//! - `POST /shutdown` with `{}`: after the drain, so the pod is deleted only once the players
//!   were told (1001) and the connections are gone.
//!
//! Counter and list are pushed when they differ from what the sidecar last accepted, checked at
//! most once a second, so a burst of joins costs one request. A failing call never stops the
//! server: it is counted (`tickroom_agones_errors_total{call}`), logged once when it starts and
//! once when it stops failing, and tried again at the next turn.

use crate::config::Config;
use crate::stats::{AgonesLabels, Stats};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickroom_shared::RoomId;

/// The longest one request to the sidecar may take; the sidecar is on the same host, so more
/// means it is stuck, and the next turn tries again.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// How often counter and list are compared with what the sidecar holds, at most: the push is
/// coalesced to this period (or the health interval, when shorter).
pub const SYNC_PERIOD: Duration = Duration::from_secs(1);

/// How often `POST /shutdown` is tried before the process exits without it.
pub const SHUTDOWN_TRIES: u32 = 3;

/// The `GameServer` counter that holds the open rooms (declare it in the fleet).
pub const ROOMS_COUNTER: &str = "rooms";

/// The `GameServer` list that holds the seated players (declare it in the fleet).
pub const PLAYERS_LIST: &str = "players";

/// The SDK calls tickroom makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// `POST /ready`.
    Ready,
    /// `POST /health`.
    Health,
    /// `PATCH /v1beta1/counters/rooms`.
    Rooms,
    /// `PATCH /v1beta1/lists/players`.
    Players,
    /// `POST /shutdown`.
    Shutdown,
}

impl Call {
    /// Every call, so each metric series exists from the start.
    pub const ALL: [Call; 5] = [
        Call::Ready,
        Call::Health,
        Call::Rooms,
        Call::Players,
        Call::Shutdown,
    ];

    /// The label in `tickroom_agones_errors_total`.
    pub fn label(self) -> &'static str {
        match self {
            Call::Ready => "ready",
            Call::Health => "health",
            Call::Rooms => "rooms",
            Call::Players => "players",
            Call::Shutdown => "shutdown",
        }
    }
}

/// Why a call to the sidecar failed.
#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    /// The request did not complete: nothing listens on the port, a timeout, a broken
    /// connection.
    #[error("no answer from the Agones sidecar: {0}")]
    Request(#[from] awc::error::SendRequestError),
    /// The sidecar answered with an error status (an undeclared counter or list, a count over
    /// the counter's capacity, a feature gate that is off).
    #[error("the Agones sidecar answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of its body, which says why.
        body: String,
    },
}

/// The sidecar's REST API.
pub struct Sidecar {
    client: awc::Client,
    base: String,
}

impl Sidecar {
    /// The sidecar on `127.0.0.1:port`. Must be created inside an actix system (the client is
    /// bound to its thread).
    pub fn new(port: u16) -> Sidecar {
        Sidecar {
            client: awc::Client::builder().timeout(REQUEST_TIMEOUT).finish(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Makes one call.
    pub async fn call(&self, call: Call, state: Option<&Pushed>) -> Result<(), SidecarError> {
        let empty = serde_json::json!({});
        let (request, body) = match call {
            Call::Ready => (self.client.post(format!("{}/ready", self.base)), empty),
            Call::Health => (self.client.post(format!("{}/health", self.base)), empty),
            Call::Shutdown => (self.client.post(format!("{}/shutdown", self.base)), empty),
            Call::Rooms => {
                let url = format!("{}/v1beta1/counters/{ROOMS_COUNTER}", self.base);
                // int64 travels as a JSON string in the gateway's mapping.
                let count = state.map_or(0, |s| s.rooms).to_string();
                (
                    self.client.patch(url),
                    serde_json::json!({ "count": count }),
                )
            }
            Call::Players => {
                let url = format!("{}/v1beta1/lists/{PLAYERS_LIST}", self.base);
                let values = state.map(|s| s.players.clone()).unwrap_or_default();
                (
                    self.client.patch(url),
                    serde_json::json!({ "values": values }),
                )
            }
        };
        let mut response = request.send_json(&body).await?;
        // Read the body either way, so the connection can be used again.
        let text = response.body().limit(4096).await.unwrap_or_default();
        if response.status().is_success() {
            return Ok(());
        }
        Err(SidecarError::Status {
            status: response.status().as_u16(),
            body: String::from_utf8_lossy(&text).chars().take(200).collect(),
        })
    }
}

/// What the sidecar should hold: the open rooms and the seated players.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Rooms open.
    pub rooms: u64,
    /// Seated players as `ROOM.PLAYER`.
    pub players: Vec<String>,
}

/// Whether the node may say Health: every open room ticked within the stall limit. Pure: the
/// caller passes the time and the rooms' tick counts.
#[derive(Debug, Default)]
pub struct Liveness {
    /// Each room's last tick count and since when it has had it.
    rooms: HashMap<RoomId, (u64, Instant)>,
}

/// What [`Liveness::observe`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every open room ticked within the limit (or none is open).
    Ticking,
    /// This room has not ticked for this long, over the limit.
    Stalled(RoomId, Duration),
}

impl Liveness {
    /// Takes every open room's tick count at `now` and says whether each has ticked within
    /// `limit`. A room first seen now counts from now; closed rooms are forgotten.
    pub fn observe(
        &mut self,
        now: Instant,
        rooms: impl IntoIterator<Item = (RoomId, u64)>,
        limit: Duration,
    ) -> Verdict {
        let mut seen = HashMap::with_capacity(self.rooms.len());
        let mut worst: Option<(RoomId, Duration)> = None;
        for (room, ticks) in rooms {
            let since = match self.rooms.get(&room) {
                Some(&(before, since)) if before == ticks => since,
                _ => now,
            };
            seen.insert(room, (ticks, since));
            let still = now.saturating_duration_since(since);
            if still > limit && worst.is_none_or(|(_, w)| still > w) {
                worst = Some((room, still));
            }
        }
        self.rooms = seen;
        match worst {
            Some((room, still)) => Verdict::Stalled(room, still),
            None => Verdict::Ticking,
        }
    }
}

/// Logs a call's failures once per change between failing and working.
#[derive(Debug, Default)]
struct Failing(HashMap<Call, bool>);

impl Failing {
    fn record(&mut self, call: Call, result: &Result<(), SidecarError>, stats: &Stats) {
        let was = self.0.insert(call, result.is_err()).unwrap_or(false);
        match result {
            Err(e) => {
                stats
                    .agones_errors
                    .get_or_create(&AgonesLabels { call: call.label() })
                    .inc();
                if !was {
                    tracing::warn!(call = call.label(), error = %e, "Agones SDK call failed; retrying");
                }
            }
            Ok(()) if was => {
                tracing::info!(call = call.label(), "Agones SDK call works again");
            }
            Ok(()) => {}
        }
    }
}

/// The reporting task of a node run with `--agones`; dropping it stops the reports.
pub struct Agones {
    task: actix_web::rt::task::JoinHandle<()>,
    /// Shared with the task; `Rc` because the client is bound to the system's thread.
    sidecar: Rc<Sidecar>,
    stats: Arc<Stats>,
}

impl Agones {
    /// Starts reporting: Ready, then Health, counter and list at every turn. Call it once the
    /// server listens, inside its actix system.
    pub fn start(config: &Config, stats: Arc<Stats>) -> Agones {
        let health_every = config.agones_health_interval.max(Duration::from_millis(10));
        let turn = health_every.min(SYNC_PERIOD);
        let stall_limit = config.agones_stall_limit;
        let sidecar = Rc::new(Sidecar::new(config.agones_sdk_port));
        tracing::info!(
            port = config.agones_sdk_port,
            "reporting to the Agones SDK sidecar"
        );
        let task = {
            let (sidecar, stats) = (sidecar.clone(), stats.clone());
            actix_web::rt::spawn(async move {
                report(&sidecar, &stats, turn, health_every, stall_limit).await;
            })
        };
        Agones {
            task,
            sidecar,
            stats,
        }
    }

    /// Stops the reports and says Shutdown (after the drain: Agones then deletes the pod).
    pub async fn shutdown(self) {
        self.task.abort();
        let mut failing = Failing::default();
        for attempt in 1..=SHUTDOWN_TRIES {
            let result = self.sidecar.call(Call::Shutdown, None).await;
            let done = result.is_ok();
            failing.record(Call::Shutdown, &result, &self.stats);
            if done {
                tracing::info!("told Agones the node shut down");
                return;
            }
            if attempt < SHUTDOWN_TRIES {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        tracing::warn!(
            tries = SHUTDOWN_TRIES,
            "could not tell Agones the node shut down; it will see the container exit"
        );
    }
}

impl Drop for Agones {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The reporting loop: never returns (aborted by [`Agones`]).
async fn report(
    sidecar: &Sidecar,
    stats: &Stats,
    turn: Duration,
    health_every: Duration,
    stall_limit: Duration,
) {
    let mut failing = Failing::default();
    let mut ready = false;
    let mut liveness = Liveness::default();
    let mut next_beat = Instant::now();
    let mut stalled = false;
    // What the sidecar accepted last; `None` until it accepted anything, so the first turn
    // pushes both.
    let mut rooms_pushed: Option<u64> = None;
    let mut players_pushed: Option<Vec<String>> = None;
    let mut interval = tokio::time::interval(turn);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if !ready {
            let result = sidecar.call(Call::Ready, None).await;
            ready = result.is_ok();
            failing.record(Call::Ready, &result, stats);
        }
        let now = Instant::now();
        if now >= next_beat {
            next_beat = now + health_every;
            match liveness.observe(now, stats.room_ticks(), stall_limit) {
                Verdict::Ticking => {
                    if stalled {
                        tracing::info!("every room ticks again: Health reports resume");
                        stalled = false;
                    }
                    let result = sidecar.call(Call::Health, None).await;
                    failing.record(Call::Health, &result, stats);
                }
                Verdict::Stalled(room, still) => {
                    if !stalled {
                        tracing::error!(%room, stalled_ms = still.as_millis() as u64,
                            "a room stopped ticking: withholding Health so Agones replaces this node");
                        stalled = true;
                    }
                    stats.agones_withheld.inc();
                }
            }
        }
        let want = Pushed {
            rooms: u64::try_from(stats.rooms_open.get()).unwrap_or(0),
            players: stats.seated_players(),
        };
        if rooms_pushed != Some(want.rooms) {
            let result = sidecar.call(Call::Rooms, Some(&want)).await;
            if result.is_ok() {
                rooms_pushed = Some(want.rooms);
            }
            failing.record(Call::Rooms, &result, stats);
        }
        if players_pushed.as_ref() != Some(&want.players) {
            let result = sidecar.call(Call::Players, Some(&want)).await;
            if result.is_ok() {
                players_pushed = Some(want.players);
            }
            failing.record(Call::Players, &result, stats);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(5);

    fn secs(start: Instant, s: u64) -> Instant {
        start + Duration::from_secs(s)
    }

    #[test]
    fn no_rooms_is_healthy() {
        let mut live = Liveness::default();
        let t0 = Instant::now();
        assert_eq!(live.observe(t0, [], LIMIT), Verdict::Ticking);
        assert_eq!(live.observe(secs(t0, 60), [], LIMIT), Verdict::Ticking);
    }

    #[test]
    fn a_room_that_stops_ticking_is_stalled_only_past_the_limit() {
        let mut live = Liveness::default();
        let t0 = Instant::now();
        let (a, b) = (RoomId(1), RoomId(2));
        assert_eq!(
            live.observe(t0, [(a, 10), (b, 10)], LIMIT),
            Verdict::Ticking
        );
        // `a` keeps ticking, `b` stops at 10 ticks.
        assert_eq!(
            live.observe(secs(t0, 3), [(a, 40), (b, 10)], LIMIT),
            Verdict::Ticking
        );
        assert_eq!(
            live.observe(secs(t0, 5), [(a, 60), (b, 10)], LIMIT),
            Verdict::Ticking,
            "exactly at the limit is still fine"
        );
        assert_eq!(
            live.observe(secs(t0, 6), [(a, 70), (b, 10)], LIMIT),
            Verdict::Stalled(b, Duration::from_secs(6))
        );
        // One tick, and `b` counts from there again.
        assert_eq!(
            live.observe(secs(t0, 7), [(a, 80), (b, 11)], LIMIT),
            Verdict::Ticking
        );
        assert_eq!(
            live.observe(secs(t0, 12), [(a, 130), (b, 11)], LIMIT),
            Verdict::Ticking
        );
        assert_eq!(
            live.observe(secs(t0, 13), [(a, 140), (b, 11)], LIMIT),
            Verdict::Stalled(b, Duration::from_secs(6))
        );
    }

    #[test]
    fn new_rooms_count_from_when_they_are_seen_and_closed_rooms_are_forgotten() {
        let mut live = Liveness::default();
        let t0 = Instant::now();
        let (a, b) = (RoomId(1), RoomId(2));
        assert_eq!(live.observe(t0, [(a, 0)], LIMIT), Verdict::Ticking);
        // `b` opens late with 0 ticks: not stalled although `a`'s clock started earlier.
        assert_eq!(
            live.observe(secs(t0, 4), [(a, 5), (b, 0)], LIMIT),
            Verdict::Ticking
        );
        assert_eq!(
            live.observe(secs(t0, 9), [(a, 10), (b, 0)], LIMIT),
            Verdict::Ticking
        );
        // `b` closes while stuck: nothing is left to wait for.
        assert_eq!(
            live.observe(secs(t0, 10), [(a, 11), (b, 0)], LIMIT),
            Verdict::Stalled(b, Duration::from_secs(6))
        );
        assert_eq!(
            live.observe(secs(t0, 11), [(a, 12)], LIMIT),
            Verdict::Ticking
        );
        // A room id used again starts afresh.
        assert_eq!(
            live.observe(secs(t0, 30), [(a, 30), (b, 0)], LIMIT),
            Verdict::Ticking
        );
    }

    #[test]
    fn the_longest_stalled_room_is_named() {
        let mut live = Liveness::default();
        let t0 = Instant::now();
        let (a, b) = (RoomId(1), RoomId(2));
        live.observe(t0, [(a, 1)], LIMIT);
        live.observe(secs(t0, 2), [(a, 1), (b, 1)], LIMIT);
        assert_eq!(
            live.observe(secs(t0, 20), [(a, 1), (b, 1)], LIMIT),
            Verdict::Stalled(a, Duration::from_secs(20))
        );
    }

    #[test]
    fn the_flag_alone_turns_agones_on() {
        use clap::Parser;
        let parse = |args: &[&str]| {
            Config::try_parse_from(std::iter::once("tickroom-server").chain(args.iter().copied()))
                .expect("valid arguments parse")
        };
        assert!(!parse(&[]).agones);
        assert!(parse(&["--agones"]).agones);
        assert!(!parse(&["--agones", "false"]).agones);
        let config = parse(&["--agones", "--agones-sdk-port", "9400"]);
        assert!(config.agones);
        assert_eq!(config.agones_sdk_port, 9400);
    }

    #[test]
    fn every_call_has_a_distinct_label() {
        let labels: std::collections::HashSet<_> = Call::ALL.map(Call::label).into();
        assert_eq!(labels.len(), Call::ALL.len());
    }
}
