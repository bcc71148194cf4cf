//! A process's CPU time and memory, read from `/proc` as WORKLOAD.md prescribes.
//!
//! CPU is `utime + stime` from `/proc/PID/stat` (all threads, in clock ticks), RSS is `VmRSS`
//! from `/proc/PID/status`. Taking the difference of two samples gives the CPU a process used in
//! between; the bots report their own this way so a saturated load generator is visible.

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
    fn reads_own_process() {
        let s = ProcessSample::own().expect("/proc is available on Linux");
        assert!(s.rss_bytes > 0);
    }
}
