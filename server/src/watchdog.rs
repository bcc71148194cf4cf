//! The watchdog: closes connections whose session actor stopped running.
//!
//! A session's own timers (join timeout, idle timeout, heartbeat) only fire while actix-web
//! polls it, and actix-web stops polling a WebSocket response while the socket cannot take more
//! bytes (actix-web issue 2441): a client that stops reading freezes its own session, timers
//! included. Rooms notice such a member through its full queue, but a connection that is not
//! seated (or whose room sends rarely) has nobody to notice it. So every session beats here at
//! each heartbeat, and a sweep on another task shuts down the socket of any session that has
//! not beaten for its deadline. Shutting the socket down makes actix-web's pending write fail,
//! which ends the connection and releases its descriptors.

use crate::connection::Closer;
use crate::stats::Stats;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Whether a session that last beat at `beat` is overdue at `now`: it has not run for longer
/// than `limit`. Times are milliseconds on the watchdog's clock.
pub fn overdue(now: u64, beat: u64, limit: Duration) -> bool {
    let limit = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    now.saturating_sub(beat) > limit
}

struct Watched {
    closer: Closer,
    beat: Arc<AtomicU64>,
}

/// Every open session's last beat and a way to shut its socket down.
pub struct Watchdog {
    epoch: Instant,
    /// How long a session may go without running before its socket is shut down.
    limit: Duration,
    watched: Mutex<HashMap<u64, Watched>>,
    stats: Arc<Stats>,
}

impl Watchdog {
    /// A watchdog that shuts down sessions that have not run for `limit`.
    pub fn new(limit: Duration, stats: Arc<Stats>) -> Arc<Watchdog> {
        Arc::new(Watchdog {
            epoch: Instant::now(),
            limit,
            watched: Mutex::default(),
            stats,
        })
    }

    /// The deadline after which a frozen session is shut down.
    pub fn limit(&self) -> Duration {
        self.limit
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

    /// Shuts down every overdue session's socket; returns how many. Each is counted once: it
    /// leaves the watch list here, and its session's [`Watch`] later finds nothing to remove.
    pub fn sweep(&self) -> usize {
        self.sweep_at(self.now())
    }

    fn sweep_at(&self, now: u64) -> usize {
        let overdue: Vec<(u64, Watched)> = {
            let mut watched = self.lock();
            let ids: Vec<u64> = watched
                .iter()
                .filter(|(_, w)| overdue(now, w.beat.load(Relaxed), self.limit))
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| watched.remove(&id).map(|w| (id, w)))
                .collect()
        };
        for (id, watched) in &overdue {
            tracing::info!(
                conn = id,
                "shutting down a connection whose session has not run (client not reading)"
            );
            self.stats.stalled_closes.inc();
            watched.closer.shutdown();
        }
        overdue.len()
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
        let dog = Watchdog::new(Duration::from_secs(10), Arc::new(Stats::default()));
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
