//! The watchdog: closes connections whose client stopped reading, wherever they are.
//!
//! A session's own timers (join timeout, idle timeout, heartbeat) only fire while actix-web
//! polls it, and actix-web stops polling a WebSocket response while the socket cannot take more
//! bytes (actix-web issue 2441): a client that stops reading freezes its own session, timers
//! included. Rooms notice such a member through its full queue, but a connection that is not
//! seated (or whose room sends rarely) has nobody to notice it. So every session beats here at
//! each heartbeat, and a sweep on another task shuts down the socket of any session that has
//! not beaten for its deadline.
//!
//! A frozen session is the late symptom, though: the kernel's send buffer absorbs a quiet
//! room's deltas for a long while before anything in user space fills. So the sweep also reads
//! each socket's *unsent* bytes (data the kernel holds back because the client's receive window
//! is closed, see [`Closer::unsent`]): a connection that keeps unsent data at every sweep for the
//! slow-client timeout cannot take what it is sent, and is shut down too. Shutting the socket
//! down makes actix-web's pending write fail, which ends the connection and releases its
//! descriptors.

use crate::connection::Closer;
use crate::stats::Stats;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whether a session that last beat at `beat` is overdue at `now`: it has not run for longer
/// than `limit`. Times are milliseconds on the watchdog's clock.
pub fn overdue(now: u64, beat: u64, limit: Duration) -> bool {
    now.saturating_sub(beat) > millis(limit)
}

/// Why the watchdog shuts a connection down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stuck {
    /// Its session has not run for the stall limit.
    Frozen,
    /// Its socket has held unsent data at every sweep for the slow-client timeout.
    Backlogged,
}

/// The watchdog's deadlines.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long a session may go without running.
    pub stall: Duration,
    /// How long a socket may keep unsent data.
    pub backlog: Duration,
}

/// The watchdog's rule for one connection at a sweep at `now`: `unsent` is the socket's unsent
/// byte count (if known) and `backlog_since` when it was first seen above 0 without a sweep at
/// 0 since (updated here).
pub fn check(
    now: u64,
    beat: u64,
    unsent: Option<usize>,
    backlog_since: &mut Option<u64>,
    limits: &Limits,
) -> Option<Stuck> {
    if overdue(now, beat, limits.stall) {
        return Some(Stuck::Frozen);
    }
    match unsent {
        Some(n) if n > 0 => {
            let since = *backlog_since.get_or_insert(now);
            (now.saturating_sub(since) >= millis(limits.backlog)).then_some(Stuck::Backlogged)
        }
        _ => {
            *backlog_since = None;
            None
        }
    }
}

struct Watched {
    closer: Closer,
    beat: Arc<AtomicU64>,
    backlog_since: Option<u64>,
}

/// Every open session's last beat and a way to shut its socket down.
pub struct Watchdog {
    epoch: Instant,
    limits: Limits,
    watched: Mutex<HashMap<u64, Watched>>,
    stats: Arc<Stats>,
}

impl Watchdog {
    /// A watchdog with these deadlines.
    pub fn new(limits: Limits, stats: Arc<Stats>) -> Arc<Watchdog> {
        Arc::new(Watchdog {
            epoch: Instant::now(),
            limits,
            watched: Mutex::default(),
            stats,
        })
    }

    /// The deadlines.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Starts watching connection `id`; dropping the returned [`Watch`] stops it.
    pub fn watch(self: &Arc<Self>, id: u64, closer: Closer) -> Watch {
        let beat = Arc::new(AtomicU64::new(self.now()));
        let watched = Watched {
            closer,
            beat: beat.clone(),
            backlog_since: None,
        };
        self.lock().insert(id, watched);
        Watch {
            id,
            beat,
            dog: self.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Watched>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts and
        // removes), so a poisoned lock is still usable.
        self.watched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shuts down the socket of every connection that is stuck; returns how many. Each is
    /// counted once: it leaves the watch list here, and its session's [`Watch`] later finds
    /// nothing to remove.
    pub fn sweep(&self) -> usize {
        self.sweep_at(self.now())
    }

    fn sweep_at(&self, now: u64) -> usize {
        let stuck: Vec<(u64, Stuck, Watched)> = {
            let mut watched = self.lock();
            let mut ids = Vec::new();
            for (id, w) in watched.iter_mut() {
                let beat = w.beat.load(Relaxed);
                let unsent = w.closer.unsent();
                if let Some(why) = check(now, beat, unsent, &mut w.backlog_since, &self.limits) {
                    ids.push((*id, why));
                }
            }
            ids.into_iter()
                .filter_map(|(id, why)| watched.remove(&id).map(|w| (id, why, w)))
                .collect()
        };
        for (id, why, watched) in &stuck {
            match why {
                Stuck::Frozen => {
                    tracing::info!(
                        conn = id,
                        "shutting down a connection whose session has not run (client not reading)"
                    );
                    self.stats.stalled_closes.inc();
                }
                Stuck::Backlogged => {
                    tracing::info!(conn = id, "shutting down a connection that has not taken its data for the slow-client timeout");
                    self.stats.backlog_closes.inc();
                }
            }
            watched.closer.shutdown();
        }
        stuck.len()
    }

    /// Sweeps every `every` until the actix system stops. Must run inside an actix system.
    pub fn start(self: &Arc<Self>, every: Duration) {
        let dog = self.clone();
        actix::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                dog.sweep();
            }
        });
    }
}

/// A session's registration with the [`Watchdog`].
pub struct Watch {
    id: u64,
    beat: Arc<AtomicU64>,
    dog: Arc<Watchdog>,
}

impl Watch {
    /// The session is running: push its deadline back.
    pub fn beat(&self) {
        self.beat.store(self.dog.now(), Relaxed);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.dog.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        stall: Duration::from_secs(10),
        backlog: Duration::from_secs(5),
    };

    #[test]
    fn a_backlog_must_last_the_whole_timeout_without_a_break() {
        let mut since = None;
        assert_eq!(check(1_000, 1_000, Some(10), &mut since, &LIMITS), None);
        assert_eq!(since, Some(1_000));
        assert_eq!(check(5_000, 5_000, Some(10), &mut since, &LIMITS), None);
        // Drained once: the clock starts again.
        assert_eq!(check(5_500, 5_500, Some(0), &mut since, &LIMITS), None);
        assert_eq!(since, None);
        assert_eq!(check(6_000, 6_000, Some(7), &mut since, &LIMITS), None);
        assert_eq!(check(10_999, 10_999, Some(7), &mut since, &LIMITS), None);
        assert_eq!(
            check(11_000, 11_000, Some(7), &mut since, &LIMITS),
            Some(Stuck::Backlogged)
        );
        // Unknown (no socket, not Linux) never counts as a backlog.
        let mut none = None;
        assert_eq!(check(99_000, 99_000, None, &mut none, &LIMITS), None);
        // A frozen session is reported as such, whatever its socket says.
        assert_eq!(
            check(20_001, 10_000, Some(0), &mut none, &LIMITS),
            Some(Stuck::Frozen)
        );
    }

    #[test]
    fn overdue_only_past_the_limit() {
        let limit = Duration::from_secs(10);
        assert!(!overdue(10_000, 0, limit));
        assert!(overdue(10_001, 0, limit));
        // A beat "from the future" (a racing store) is never overdue.
        assert!(!overdue(5, 10, limit));
    }

    #[test]
    fn sweep_shuts_down_only_sessions_that_stopped_beating() {
        let dog = Watchdog::new(LIMITS, Arc::new(Stats::default()));
        let frozen = dog.watch(1, Closer::default());
        let running = dog.watch(2, Closer::default());
        // At 60 s on the watchdog's clock, 1 last ran at 0 s and 2 at 55 s.
        frozen.beat.store(0, Relaxed);
        running.beat.store(55_000, Relaxed);
        assert_eq!(dog.sweep_at(60_000), 1);
        assert_eq!(dog.sweep_at(60_000), 0, "a swept session is counted once");
        assert_eq!(dog.stats.stalled_closes.get(), 1);
        drop(frozen);
        assert_eq!(
            dog.lock().len(),
            1,
            "only the running session is still watched"
        );
        drop(running);
        assert!(dog.lock().is_empty());
    }
}
