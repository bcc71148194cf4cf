//! Counters the engine keeps about itself, read by `/api/stats` and the benchmark.
//!
//! Plain atomics, updated with relaxed ordering on the hot path: they are statistics, not
//! synchronisation. Each room has its own [`RoomStats`] so rooms on different threads never
//! contend on a shared counter while ticking.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tickroom_shared::RoomId;

/// Server-wide counters.
#[derive(Default)]
pub struct Stats {
    /// WebSocket sessions open now.
    pub sessions_open: AtomicU64,
    /// WebSocket sessions opened since start.
    pub sessions_total: AtomicU64,
    /// Client messages received.
    pub messages_in: AtomicU64,
    /// Client payload bytes received.
    pub bytes_in: AtomicU64,
    /// Server messages written to sessions.
    pub messages_out: AtomicU64,
    /// Server payload bytes written to sessions.
    pub bytes_out: AtomicU64,
    /// Connections closed by the server because of bad input (any 1003/1007/1008/1009 close).
    pub protocol_closes: AtomicU64,
    /// Inputs dropped because the room's queue was full.
    pub inputs_dropped: AtomicU64,
    rooms: Mutex<BTreeMap<RoomId, Arc<RoomStats>>>,
}

/// One room's counters.
pub struct RoomStats {
    /// The room.
    pub id: RoomId,
    /// Ticks run.
    pub ticks: AtomicU64,
    /// Ticks that started more than a tenth of a period after their scheduled time.
    pub late_ticks: AtomicU64,
    /// Ticks that started a whole period or more late (a tick was effectively lost and caught up).
    pub overruns: AtomicU64,
    /// Seated players (including held seats).
    pub players: AtomicU64,
    /// Deltas not sent to a session whose queue was full.
    pub skipped_sends: AtomicU64,
    /// Keyframes sent to resync a session after skips or a client's request.
    pub resyncs: AtomicU64,
    /// Sessions dropped for staying too slow.
    pub slow_kicks: AtomicU64,
    /// Bytes of the last delta encoded.
    pub last_delta_bytes: AtomicU64,
    /// Bytes of the last snapshot encoded.
    pub last_snapshot_bytes: AtomicU64,
    /// Microseconds of game step + diff + encode, summed.
    pub work_us: AtomicU64,
    lateness_us: Mutex<Histogram<u64>>,
}

/// Lateness above this is clamped; a tick a minute late is already a disaster.
const MAX_TRACKED_US: u64 = 60_000_000;

impl RoomStats {
    fn new(id: RoomId) -> Self {
        RoomStats {
            id,
            ticks: AtomicU64::new(0),
            late_ticks: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            players: AtomicU64::new(0),
            skipped_sends: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            slow_kicks: AtomicU64::new(0),
            last_delta_bytes: AtomicU64::new(0),
            last_snapshot_bytes: AtomicU64::new(0),
            work_us: AtomicU64::new(0),
            // 3 significant digits up to a minute: fixed bounds, so creation cannot fail.
            lateness_us: Mutex::new(
                Histogram::new_with_bounds(1, MAX_TRACKED_US, 3).expect("valid histogram bounds"),
            ),
        }
    }

    /// Records one tick that started `lateness` after its schedule, with a period of `period`.
    pub fn record_tick(&self, lateness: Duration, period: Duration) {
        self.ticks.fetch_add(1, Relaxed);
        if lateness * 10 > period {
            self.late_ticks.fetch_add(1, Relaxed);
        }
        if lateness >= period {
            self.overruns.fetch_add(1, Relaxed);
        }
        let us = (lateness.as_micros() as u64).clamp(1, MAX_TRACKED_US);
        // A poisoned lock only means another thread panicked mid-update; the data is still usable.
        let mut h = self
            .lateness_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Cannot fail: the value is clamped into the histogram's bounds.
        let _ = h.record(us);
    }

    /// A serializable copy of the counters.
    pub fn report(&self) -> RoomReport {
        let h = self
            .lateness_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        RoomReport {
            id: self.id,
            ticks: self.ticks.load(Relaxed),
            late_ticks: self.late_ticks.load(Relaxed),
            overruns: self.overruns.load(Relaxed),
            players: self.players.load(Relaxed),
            skipped_sends: self.skipped_sends.load(Relaxed),
            resyncs: self.resyncs.load(Relaxed),
            slow_kicks: self.slow_kicks.load(Relaxed),
            last_delta_bytes: self.last_delta_bytes.load(Relaxed),
            last_snapshot_bytes: self.last_snapshot_bytes.load(Relaxed),
            work_us: self.work_us.load(Relaxed),
            lateness_p50_us: h.value_at_quantile(0.5),
            lateness_p99_us: h.value_at_quantile(0.99),
            lateness_max_us: h.max(),
        }
    }
}

/// A room's counters as served by `/api/stats`.
#[derive(Clone, Debug, Serialize)]
pub struct RoomReport {
    /// The room.
    pub id: RoomId,
    /// Ticks run since the room opened.
    pub ticks: u64,
    /// Ticks more than a tenth of a period late.
    pub late_ticks: u64,
    /// Ticks a full period or more late.
    pub overruns: u64,
    /// Seated players.
    pub players: u64,
    /// Deltas skipped for full session queues.
    pub skipped_sends: u64,
    /// Keyframes sent to resync sessions.
    pub resyncs: u64,
    /// Sessions dropped as too slow.
    pub slow_kicks: u64,
    /// Size of the last delta, bytes.
    pub last_delta_bytes: u64,
    /// Size of the last snapshot, bytes.
    pub last_snapshot_bytes: u64,
    /// Total tick work (step, diff, encode), microseconds.
    pub work_us: u64,
    /// Median tick start lateness, microseconds.
    pub lateness_p50_us: u64,
    /// 99th percentile tick start lateness, microseconds.
    pub lateness_p99_us: u64,
    /// Worst tick start lateness, microseconds.
    pub lateness_max_us: u64,
}

/// Everything `/api/stats` serves.
#[derive(Clone, Debug, Serialize)]
pub struct StatsReport {
    /// Sessions open now.
    pub sessions_open: u64,
    /// Sessions opened since start.
    pub sessions_total: u64,
    /// Client messages received.
    pub messages_in: u64,
    /// Client bytes received.
    pub bytes_in: u64,
    /// Messages sent.
    pub messages_out: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Connections closed for bad input.
    pub protocol_closes: u64,
    /// Inputs dropped on full room queues.
    pub inputs_dropped: u64,
    /// Rooms open now.
    pub rooms_open: usize,
    /// Per-room counters.
    pub rooms: Vec<RoomReport>,
}

impl Stats {
    /// Registers a new room's counters.
    pub fn add_room(&self, id: RoomId) -> Arc<RoomStats> {
        let room = Arc::new(RoomStats::new(id));
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, room.clone());
        room
    }

    /// Forgets a closed room.
    pub fn remove_room(&self, id: RoomId) {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    /// A serializable copy of every counter.
    pub fn report(&self) -> StatsReport {
        let rooms: Vec<RoomReport> = self
            .rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|r| r.report())
            .collect();
        StatsReport {
            sessions_open: self.sessions_open.load(Relaxed),
            sessions_total: self.sessions_total.load(Relaxed),
            messages_in: self.messages_in.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            messages_out: self.messages_out.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            protocol_closes: self.protocol_closes.load(Relaxed),
            inputs_dropped: self.inputs_dropped.load(Relaxed),
            rooms_open: rooms.len(),
            rooms,
        }
    }
}
