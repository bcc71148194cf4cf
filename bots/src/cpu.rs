//! A process's CPU time and memory, read from `/proc` as WORKLOAD.md prescribes.
//!
//! CPU is `utime + stime` from `/proc/PID/stat` (all threads, in clock ticks), RSS is `VmRSS`
//! from `/proc/PID/status`. Taking the difference of two samples gives the CPU a process used in
//! between; the bots report their own this way so a saturated load generator is visible.
//!
//! Context switches are `voluntary_ctxt_switches` and `nonvoluntary_ctxt_switches` summed over
//! every thread's `/proc/PID/task/TID/status` ([`ContextSwitches`]): a process's own `status`
//! counts only its main thread. A voluntary switch is a thread going to sleep (waiting for a
//! socket, a timer, a lock or another thread), so each one is followed by a wake-up.

use std::time::Duration;
use thiserror::Error;

/// Why a process could not be sampled.
#[derive(Debug, Error)]
pub enum CpuError {
    /// `/proc/PID/...` could not be read (no such process, or not Linux).
    #[error("cannot read /proc/{pid}/{file}: {source}")]
    Read {
        /// The process.
        pid: u32,
        /// The file.
        file: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file did not have the expected layout.
    #[error("unexpected layout of /proc/{pid}/{file}")]
    Layout {
        /// The process.
        pid: u32,
        /// The file.
        file: &'static str,
    },
}

/// One reading of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessSample {
    /// User plus system CPU time since the process started.
    pub cpu: Duration,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
}

/// Clock ticks per second of `/proc/PID/stat` times.
fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a system constant; it has no memory-safety preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    // Linux reports 100 everywhere in practice; a failure (-1) falls back to that.
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// `utime + stime` of a `/proc/PID/stat` line, in clock ticks.
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name come state (field 3) ... utime is field 14 and stime field 15 overall, that
    // is the 12th and 13th after the name.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` of a `/proc/PID/status` text, in bytes.
pub fn parse_status_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl ProcessSample {
    /// Reads process `pid`.
    pub fn read(pid: u32) -> Result<ProcessSample, CpuError> {
        let read = |file: &'static str| {
            std::fs::read_to_string(format!("/proc/{pid}/{file}"))
                .map_err(|source| CpuError::Read { pid, file, source })
        };
        let ticks =
            parse_stat_cpu_ticks(&read("stat")?).ok_or(CpuError::Layout { pid, file: "stat" })?;
        let rss_bytes = parse_status_rss(&read("status")?).ok_or(CpuError::Layout {
            pid,
            file: "status",
        })?;
        let per_second = clock_ticks_per_second();
        let cpu = Duration::from_secs(ticks / per_second)
            + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second);
        Ok(ProcessSample { cpu, rss_bytes })
    }

    /// Reads this process.
    pub fn own() -> Result<ProcessSample, CpuError> {
        Self::read(std::process::id())
    }
}

/// Context switches of all of a process's threads, summed.
///
/// Threads that ended between two readings take their counts with them, so a difference can
/// undercount when threads come and go; servers and bots keep theirs for the whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContextSwitches {
    /// Switches where a thread gave up the CPU to wait (sleeps, then is woken).
    pub voluntary: u64,
    /// Switches where the scheduler took the CPU from a runnable thread.
    pub nonvoluntary: u64,
}

/// Reads `/proc/PID/task/*/FILE` of every thread of process `pid` and hands each text to
/// `each`, which reads it (`None` when its layout is not understood: a [`CpuError::Layout`]
/// naming `what`). A thread that ends while the directory is read is skipped.
fn for_each_thread(
    pid: u32,
    file: &str,
    what: &'static str,
    mut each: impl FnMut(&str) -> Option<()>,
) -> Result<(), CpuError> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|source| CpuError::Read {
        pid,
        file: "task",
        source,
    })?;
    for entry in dir.flatten() {
        // The thread may have ended since the listing: it no longer counts.
        let Ok(text) = std::fs::read_to_string(entry.path().join(file)) else {
            continue;
        };
        each(&text).ok_or(CpuError::Layout { pid, file: what })?;
    }
    Ok(())
}

/// `voluntary_ctxt_switches` and `nonvoluntary_ctxt_switches` of a `/proc/.../status` text.
pub fn parse_status_switches(status: &str) -> Option<ContextSwitches> {
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .parse()
            .ok()
    };
    Some(ContextSwitches {
        voluntary: field("voluntary_ctxt_switches:")?,
        nonvoluntary: field("nonvoluntary_ctxt_switches:")?,
    })
}

impl ContextSwitches {
    /// Sums over every thread of process `pid` (`/proc/PID/task/*/status`). A thread that ends
    /// while the directory is read is skipped.
    pub fn read(pid: u32) -> Result<ContextSwitches, CpuError> {
        let mut sum = ContextSwitches::default();
        for_each_thread(pid, "status", "task/*/status", |status| {
            let one = parse_status_switches(status)?;
            sum.voluntary += one.voluntary;
            sum.nonvoluntary += one.nonvoluntary;
            Some(())
        })?;
        Ok(sum)
    }

    /// Sums over this process's threads.
    pub fn own() -> Result<ContextSwitches, CpuError> {
        Self::read(std::process::id())
    }

    /// Both kinds together.
    pub fn total(&self) -> u64 {
        self.voluntary + self.nonvoluntary
    }

    /// Switches from `earlier` to `self` (zero where a counter went back, i.e. threads ended).
    pub fn since(&self, earlier: &ContextSwitches) -> ContextSwitches {
        ContextSwitches {
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            nonvoluntary: self.nonvoluntary.saturating_sub(earlier.nonvoluntary),
        }
    }
}

/// Time all of a process's threads spent running and waiting for a core (runnable, but on a run
/// queue), summed, from `/proc/PID/task/*/schedstat`.
///
/// A load generator that waits for a core falls behind whatever its own CPU figure says: on a
/// full machine its thread can be busy only half the time and still miss inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedTimes {
    /// On a CPU.
    pub running: Duration,
    /// Runnable but waiting on a run queue.
    pub waiting: Duration,
}

/// Running and waiting nanoseconds of a `schedstat` line.
pub fn parse_schedstat(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    let running = fields.next()?.parse().ok()?;
    let waiting = fields.next()?.parse().ok()?;
    Some((running, waiting))
}

impl SchedTimes {
    /// Sums over every thread of process `pid`. A thread that ends while the directory is read
    /// is skipped; a kernel without scheduler statistics gives an error.
    pub fn read(pid: u32) -> Result<SchedTimes, CpuError> {
        let (mut running, mut waiting) = (0u64, 0u64);
        for_each_thread(pid, "schedstat", "task/*/schedstat", |line| {
            let (r, w) = parse_schedstat(line)?;
            running += r;
            waiting += w;
            Some(())
        })?;
        Ok(SchedTimes {
            running: Duration::from_nanos(running),
            waiting: Duration::from_nanos(waiting),
        })
    }

    /// Sums over this process's threads.
    pub fn own() -> Result<SchedTimes, CpuError> {
        Self::read(std::process::id())
    }

    /// Times from `earlier` to `self` (zero where a sum went back, i.e. threads ended).
    pub fn since(&self, earlier: &SchedTimes) -> SchedTimes {
        SchedTimes {
            running: self.running.saturating_sub(earlier.running),
            waiting: self.waiting.saturating_sub(earlier.waiting),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let stat = "42 (my (odd) srv) S 1 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 9 0 1 2 3";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(281));
    }

    #[test]
    fn parses_rss() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t  1234 kB\n";
        assert_eq!(parse_status_rss(status), Some(1234 * 1024));
    }

    #[test]
    fn parses_context_switches() {
        let status = "Name:\tx\nvoluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n";
        assert_eq!(
            parse_status_switches(status),
            Some(ContextSwitches {
                voluntary: 120,
                nonvoluntary: 7
            })
        );
        assert_eq!(parse_status_switches("Name:\tx\n"), None);
    }

    #[test]
    fn parses_schedstat() {
        assert_eq!(parse_schedstat("123456 7890 42\n"), Some((123_456, 7_890)));
        assert_eq!(parse_schedstat("12"), None);
    }

    /// Every thread's status has both counters, so reading this process succeeds.
    #[test]
    fn reads_own_switches() {
        ContextSwitches::own().expect("/proc is available on Linux");
    }

    #[test]
    fn reads_own_process() {
        let s = ProcessSample::own().expect("/proc is available on Linux");
        assert!(s.rss_bytes > 0);
    }
}
