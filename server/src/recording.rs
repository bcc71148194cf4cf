//! Room recordings (`--record DIR`): the file format, the [`Journal`] a recorded room's
//! [`Simulation`](crate::sim::Simulation) writes every state-changing call into, the file that
//! journal is, and the reader `tickroom-server replay` and `/api/replays` use.
//!
//! A recording is a stream of MessagePack values: first a [`Header`] (a map with named fields:
//! format, version, game, room, seed, options, the room's effective [`GameInfo`] and what else
//! re-creating the simulation needs), then one array per [`Entry`], in the order the calls
//! happened: `[0]` a step, `[1, player, name]` a join, `[3, player]` a leave, `[6, player, bin]`
//! an input message exactly as the client sent it, `[8, tick, hash]` a state hash, and so on
//! (see [`Entry`]). Replaying the entries in order on a simulation built from the header gives
//! the same states, which the hashes check.
//!
//! Nothing in the file is framed beyond MessagePack itself: a file cut short (the server was
//! killed, or the room is still writing) ends inside a value, which the reader reports with
//! the offset of the incomplete record rather than as a corrupt file.

use crate::game::{AckAudience, GameInfo, Interest, TickPolicy};
use crate::stats::Stats;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tickroom_shared::{PlayerId, Tick};

/// The `format` field every recording's header carries.
pub const FORMAT: &str = "tickroom-recording";

/// The version of the format this build writes and reads.
pub const VERSION: u32 = 1;

/// The extension of recording files.
pub const EXTENSION: &str = "trec";

/// Buffer of a recording file, bytes: at a few hundred bytes per tick for a busy room, the
/// room thread writes to the kernel about once a second or less.
const WRITE_BUFFER: usize = 64 * 1024;

/// A room's effective game info as recorded (after `--tick-rate` and `--room-capacity`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedInfo {
    /// Seats per room.
    pub capacity: u32,
    /// Ticks per second.
    pub hz: u16,
    /// Seconds between keep-alives of an on-change room; `None` for a fixed-rate one.
    pub keepalive_secs: Option<u16>,
    /// Spatial interest: cell size in world units and radius in cells.
    pub interest: Option<(f32, u32)>,
    /// Spectators the room took at most (0: nobody may watch it, nor its replay).
    pub spectators: u32,
    /// Each player got only its own input ack (`AckAudience::OwnPlayer`), not everyone's.
    pub own_acks: bool,
}

impl From<GameInfo> for RecordedInfo {
    fn from(info: GameInfo) -> Self {
        RecordedInfo {
            capacity: info.capacity,
            hz: info.tick.hz(),
            keepalive_secs: match info.tick {
                TickPolicy::Fixed { .. } => None,
                TickPolicy::OnChange { keepalive_secs, .. } => Some(keepalive_secs),
            },
            interest: info.interest.map(|i| (i.cell_size, i.radius)),
            spectators: info.spectators,
            own_acks: info.acks == AckAudience::OwnPlayer,
        }
    }
}

impl From<RecordedInfo> for GameInfo {
    fn from(info: RecordedInfo) -> Self {
        GameInfo {
            capacity: info.capacity,
            tick: match info.keepalive_secs {
                None => TickPolicy::Fixed { hz: info.hz },
                Some(keepalive_secs) => TickPolicy::OnChange {
                    hz: info.hz,
                    keepalive_secs,
                },
            },
            interest: info
                .interest
                .map(|(cell_size, radius)| Interest { cell_size, radius }),
            spectators: info.spectators,
            acks: if info.own_acks {
                AckAudience::OwnPlayer
            } else {
                AckAudience::Everyone
            },
        }
    }
}

/// What re-creating a room's simulation needs, written first in every recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`]: tells a recording from any other MessagePack file.
    pub format: String,
    /// The format's version ([`VERSION`]).
    pub version: u32,
    /// The game's name.
    pub game: String,
    /// The room's id.
    pub room: u32,
    /// The seed of the room's RNG.
    pub seed: u64,
    /// The creator's options, as the simulation received them.
    pub options: Option<rmpv::Value>,
    /// The room's effective game info.
    pub info: RecordedInfo,
    /// Ticks of events the replication keeps (part of what a Snapshot carries).
    pub event_ticks: u64,
    /// The largest client message the room decoded (`--max-message-size`): inputs and commands
    /// are decoded again with this limit.
    pub max_message_size: u64,
    /// Ticks between state hashes.
    pub hash_every: u64,
    /// When the room started, milliseconds since the Unix epoch (UTC).
    pub started_ms: u64,
}

impl Header {
    /// Ticks per second of the recorded room.
    pub fn hz(&self) -> u16 {
        self.info.hz.max(1)
    }
}

/// One call that changed a recorded room's simulation, in the order it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    /// `[0]`: one tick stepped (the tick number is implicit: the n-th step is tick n).
    Step,
    /// `[1, player, name]`: a player was seated.
    Join {
        /// The seat's player id.
        player: PlayerId,
        /// Its display name.
        name: &'a str,
    },
    /// `[2, player, name]`: the game was asked whether a player may join (a game may change
    /// its state when it answers).
    Admit {
        /// The would-be seat.
        player: PlayerId,
        /// Its display name.
        name: &'a str,
    },
    /// `[3, player]`: a player left for good.
    Leave {
        /// The player.
        player: PlayerId,
    },
    /// `[4, player]`: a held seat was resumed by a new connection.
    Resume {
        /// The player.
        player: PlayerId,
    },
    /// `[5, player]`: a player's connection dropped (its seat held).
    Disconnected {
        /// The player.
        player: PlayerId,
    },
    /// `[6, player, bin]`: an `Input` message as the client sent it (sequence number and input).
    Input {
        /// The sender.
        player: PlayerId,
        /// The whole client message.
        message: &'a [u8],
    },
    /// `[7, player, bin]`: a `Command` message as the client sent it (id and command).
    Command {
        /// The sender.
        player: PlayerId,
        /// The whole client message.
        message: &'a [u8],
    },
    /// `[8, tick, hash]`: the state hash after `tick` (see
    /// [`Simulation::state_hash`](crate::sim::Simulation::state_hash)).
    Hash {
        /// The tick just stepped.
        tick: Tick,
        /// Its state hash.
        hash: u64,
    },
    /// `[9, tick]`: the room closed after `tick`; nothing follows.
    End {
        /// The last tick stepped.
        tick: Tick,
    },
}

const STEP: u8 = 0;
const JOIN: u8 = 1;
const ADMIT: u8 = 2;
const LEAVE: u8 = 3;
const RESUME: u8 = 4;
const DISCONNECTED: u8 = 5;
const INPUT: u8 = 6;
const COMMAND: u8 = 7;
const HASH: u8 = 8;
const END: u8 = 9;

/// Appends MessagePack to a `Vec`, which cannot fail (the writer grows), so the results of the
/// `rmp` calls carry no information.
struct Out<'a>(&'a mut Vec<u8>);

impl Out<'_> {
    fn array(&mut self, len: u32) {
        // Writing into a Vec cannot fail.
        let _ = rmp::encode::write_array_len(self.0, len);
    }
    fn uint(&mut self, n: u64) {
        // Writing into a Vec cannot fail.
        let _ = rmp::encode::write_uint(self.0, n);
    }
    fn str(&mut self, s: &str) {
        // Writing into a Vec cannot fail.
        let _ = rmp::encode::write_str(self.0, s);
    }
    fn bin(&mut self, b: &[u8]) {
        // Writing into a Vec cannot fail.
        let _ = rmp::encode::write_bin(self.0, b);
    }
}

impl Entry<'_> {
    /// Appends the entry's MessagePack array to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut o = Out(out);
        match *self {
            Entry::Step => {
                o.array(1);
                o.uint(STEP.into());
            }
            Entry::Join { player, name } | Entry::Admit { player, name } => {
                o.array(3);
                let tag = if matches!(self, Entry::Join { .. }) {
                    JOIN
                } else {
                    ADMIT
                };
                o.uint(tag.into());
                o.uint(player.0.into());
                o.str(name);
            }
            Entry::Leave { player } | Entry::Resume { player } | Entry::Disconnected { player } => {
                let tag = match self {
                    Entry::Leave { .. } => LEAVE,
                    Entry::Resume { .. } => RESUME,
                    _ => DISCONNECTED,
                };
                o.array(2);
                o.uint(tag.into());
                o.uint(player.0.into());
            }
            Entry::Input { player, message } | Entry::Command { player, message } => {
                let tag = if matches!(self, Entry::Input { .. }) {
                    INPUT
                } else {
                    COMMAND
                };
                o.array(3);
                o.uint(tag.into());
                o.uint(player.0.into());
                o.bin(message);
            }
            Entry::Hash { tick, hash } => {
                o.array(3);
                o.uint(HASH.into());
                o.uint(tick.0);
                o.uint(hash);
            }
            Entry::End { tick } => {
                o.array(2);
                o.uint(END.into());
                o.uint(tick.0);
            }
        }
    }
}

/// What is wrong with a recording.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordingError {
    /// The file does not start with a recording header.
    #[error("not a tickroom recording ({0})")]
    NotARecording(String),
    /// A recording of another version of the format.
    #[error("recording format version {found}, this build reads version {VERSION}")]
    Version {
        /// The file's version.
        found: u32,
    },
    /// A record that is not one of the entries (the file was damaged or altered).
    #[error("corrupt record at byte {offset}: {why}")]
    Corrupt {
        /// Where the record starts.
        offset: usize,
        /// What is wrong with it.
        why: String,
    },
}

/// Why one record could not be read.
enum Unreadable {
    /// The bytes ran out inside it.
    Cut,
    /// It is not an entry.
    Bad(String),
}

/// Reads MessagePack from the front of a slice, advancing it.
struct In<'a>(&'a [u8]);

impl<'a> In<'a> {
    fn uint(&mut self) -> Result<u64, Unreadable> {
        use rmp::decode::NumValueReadError as E;
        // On a slice, the only I/O error is running out of bytes.
        rmp::decode::read_int(&mut self.0).map_err(|e| match e {
            E::InvalidMarkerRead(_) | E::InvalidDataRead(_) => Unreadable::Cut,
            other => Unreadable::Bad(other.to_string()),
        })
    }

    fn player(&mut self) -> Result<PlayerId, Unreadable> {
        let n = self.uint()?;
        u32::try_from(n)
            .map(PlayerId)
            .map_err(|_| Unreadable::Bad(format!("player id {n} out of range")))
    }

    fn array(&mut self) -> Result<u32, Unreadable> {
        use rmp::decode::ValueReadError as V;
        rmp::decode::read_array_len(&mut self.0).map_err(|e| match e {
            V::InvalidMarkerRead(_) | V::InvalidDataRead(_) => Unreadable::Cut,
            V::TypeMismatch(m) => Unreadable::Bad(format!("expected an array, found {m:?}")),
        })
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], Unreadable> {
        if self.0.len() < len {
            return Err(Unreadable::Cut);
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    fn str(&mut self) -> Result<&'a str, Unreadable> {
        use rmp::decode::ValueReadError as V;
        let len = rmp::decode::read_str_len(&mut self.0).map_err(|e| match e {
            V::InvalidMarkerRead(_) | V::InvalidDataRead(_) => Unreadable::Cut,
            V::TypeMismatch(m) => Unreadable::Bad(format!("expected a string, found {m:?}")),
        })?;
        let bytes = self.take(len as usize)?;
        std::str::from_utf8(bytes).map_err(|e| Unreadable::Bad(e.to_string()))
    }

    fn bin(&mut self) -> Result<&'a [u8], Unreadable> {
        use rmp::decode::ValueReadError as V;
        let len = rmp::decode::read_bin_len(&mut self.0).map_err(|e| match e {
            V::InvalidMarkerRead(_) | V::InvalidDataRead(_) => Unreadable::Cut,
            V::TypeMismatch(m) => Unreadable::Bad(format!("expected binary, found {m:?}")),
        })?;
        self.take(len as usize)
    }
}

/// Reads one entry from the front of `rest`.
fn read_entry<'a>(rest: &mut &'a [u8]) -> Result<Entry<'a>, Unreadable> {
    let mut r = In(rest);
    let len = r.array()?;
    let tag = r.uint()?;
    let want = match u8::try_from(tag) {
        Ok(STEP) => 1,
        Ok(LEAVE | RESUME | DISCONNECTED | END) => 2,
        Ok(JOIN | ADMIT | INPUT | COMMAND | HASH) => 3,
        _ => return Err(Unreadable::Bad(format!("unknown entry tag {tag}"))),
    };
    if len != want {
        return Err(Unreadable::Bad(format!(
            "entry {tag} has {len} fields, not {want}"
        )));
    }
    let entry = match tag as u8 {
        STEP => Entry::Step,
        JOIN => Entry::Join {
            player: r.player()?,
            name: r.str()?,
        },
        ADMIT => Entry::Admit {
            player: r.player()?,
            name: r.str()?,
        },
        LEAVE => Entry::Leave {
            player: r.player()?,
        },
        RESUME => Entry::Resume {
            player: r.player()?,
        },
        DISCONNECTED => Entry::Disconnected {
            player: r.player()?,
        },
        INPUT => Entry::Input {
            player: r.player()?,
            message: r.bin()?,
        },
        COMMAND => Entry::Command {
            player: r.player()?,
            message: r.bin()?,
        },
        HASH => Entry::Hash {
            tick: Tick(r.uint()?),
            hash: r.uint()?,
        },
        _ => Entry::End {
            tick: Tick(r.uint()?),
        },
    };
    *rest = r.0;
    Ok(entry)
}

/// A recording read from its bytes: the header, then its entries on demand.
#[derive(Clone, Debug)]
pub struct Recording<'a> {
    /// The header.
    pub header: Header,
    /// The bytes after the header.
    body: &'a [u8],
    /// Where the body starts in the file.
    body_offset: usize,
}

/// How a recording's entries end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// With an `End` entry: the room closed and the file was finished.
    Ended,
    /// After a whole entry but without `End`: the room was still running, or its last buffer
    /// never reached the disk.
    Open,
    /// Inside an entry (the server died mid-write, or the room is still writing): the offset
    /// where the incomplete entry starts.
    Cut(usize),
}

/// One pass over a recording: its length in ticks and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Ticks stepped.
    pub ticks: u64,
    /// State hashes recorded.
    pub hashes: u64,
    /// Players seated over the recording.
    pub joins: u64,
    /// Inputs and commands.
    pub actions: u64,
    /// How the file ends.
    pub tail: Tail,
}

impl<'a> Recording<'a> {
    /// Reads the header of `bytes`; the entries are read by [`Recording::entries`].
    pub fn parse(bytes: &'a [u8]) -> Result<Recording<'a>, RecordingError> {
        let mut rest = bytes;
        let header: Header = {
            let mut de = rmp_serde::Deserializer::new(&mut rest);
            Header::deserialize(&mut de)
                .map_err(|e| RecordingError::NotARecording(e.to_string()))?
        };
        if header.format != FORMAT {
            return Err(RecordingError::NotARecording(format!(
                "format {:?}",
                header.format
            )));
        }
        if header.version != VERSION {
            return Err(RecordingError::Version {
                found: header.version,
            });
        }
        Ok(Recording {
            header,
            body: rest,
            body_offset: bytes.len() - rest.len(),
        })
    }

    /// The entries in order. A cut tail ends the iteration with `Ok(None)` from
    /// [`Entries::next_entry`]; see [`Entries::tail`].
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            rest: self.body,
            offset: self.body_offset,
            tail: None,
        }
    }

    /// Reads every entry once: ticks, hashes, joins, and how the file ends.
    pub fn summary(&self) -> Result<Summary, RecordingError> {
        let mut s = Summary {
            ticks: 0,
            hashes: 0,
            joins: 0,
            actions: 0,
            tail: Tail::Open,
        };
        let mut entries = self.entries();
        while let Some(entry) = entries.next_entry()? {
            match entry {
                Entry::Step => s.ticks += 1,
                Entry::Hash { .. } => s.hashes += 1,
                Entry::Join { .. } => s.joins += 1,
                Entry::Input { .. } | Entry::Command { .. } => s.actions += 1,
                _ => {}
            }
        }
        s.tail = entries.tail();
        Ok(s)
    }
}

/// The entries of a recording, read lazily (a long recording is not held decoded in memory).
pub struct Entries<'a> {
    rest: &'a [u8],
    offset: usize,
    tail: Option<Tail>,
}

impl<'a> Entries<'a> {
    /// The next entry, `None` at the end (a whole file or a cut one: see [`Entries::tail`]), or
    /// the damage found.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'a>>, RecordingError> {
        if self.tail.is_some() {
            return Ok(None);
        }
        if self.rest.is_empty() {
            self.tail = Some(Tail::Open);
            return Ok(None);
        }
        let mut rest = self.rest;
        match read_entry(&mut rest) {
            Ok(entry) => {
                self.offset += self.rest.len() - rest.len();
                self.rest = rest;
                if matches!(entry, Entry::End { .. }) {
                    self.tail = Some(Tail::Ended);
                    if !self.rest.is_empty() {
                        return Err(RecordingError::Corrupt {
                            offset: self.offset,
                            why: "bytes after the end of the room".into(),
                        });
                    }
                }
                Ok(Some(entry))
            }
            Err(Unreadable::Cut) => {
                self.tail = Some(Tail::Cut(self.offset));
                Ok(None)
            }
            Err(Unreadable::Bad(why)) => Err(RecordingError::Corrupt {
                offset: self.offset,
                why,
            }),
        }
    }

    /// How the entries ended (meaningful once [`Entries::next_entry`] returned `None`).
    pub fn tail(&self) -> Tail {
        self.tail.unwrap_or(Tail::Open)
    }
}

/// Where a recorded simulation writes what changed it. The room hands the simulation one
/// ([`Simulation::record`](crate::sim::Simulation::record)); the simulation stays free of I/O.
pub trait Journal: Send {
    /// Records one entry. Must not fail the room: a journal that cannot write stops recording.
    fn write(&mut self, entry: Entry<'_>);
    /// Called once when the room closes, after the last entry.
    fn finish(&mut self) {}
}

/// Encodes a header (the first value of a recording).
pub fn encode_header(header: &Header) -> Vec<u8> {
    // A header is plain data (numbers, strings, a MessagePack value): it always encodes.
    rmp_serde::to_vec_named(header).unwrap_or_default()
}

/// A recording file being written by a room.
///
/// Written through a buffer on the room's own thread: an entry is a few bytes copied into
/// memory, and the buffer reaches the kernel (the page cache, not the disk) once per 64 KiB,
/// a `write` every few seconds for a busy room. A writer thread would add a hand-off per entry
/// for that; what the room thread cannot absorb is a disk that blocks writes, which stalls the
/// rest of the machine as well.
/// A write error ends the recording (logged once, counted in `recording_errors`); the room
/// goes on.
pub struct RecordingFile {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    buf: Vec<u8>,
    stats: Arc<Stats>,
}

impl RecordingFile {
    /// Creates `DIR/<game>-room<id>-<start>.trec` (and `dir` if needed) and writes the header.
    pub fn create(dir: &Path, header: &Header, stats: Arc<Stats>) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(file_name(header));
        let file = File::options().write(true).create_new(true).open(&path)?;
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER, file);
        writer.write_all(&encode_header(header))?;
        Ok(RecordingFile {
            path,
            writer: Some(writer),
            buf: Vec::with_capacity(64),
            stats,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failed(&mut self, e: &std::io::Error) {
        tracing::warn!(path = %self.path.display(), error = %e, "recording stopped: cannot write");
        self.stats.recording_errors.inc();
        self.writer = None;
    }
}

impl Journal for RecordingFile {
    fn write(&mut self, entry: Entry<'_>) {
        let Some(writer) = &mut self.writer else {
            return;
        };
        self.buf.clear();
        entry.encode(&mut self.buf);
        if let Err(e) = writer.write_all(&self.buf) {
            self.failed(&e);
        }
    }

    fn finish(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            if let Err(e) = writer.flush() {
                self.writer = Some(writer);
                self.failed(&e);
            }
        }
    }
}

impl Drop for RecordingFile {
    fn drop(&mut self) {
        // A room that stopped without `finish` (a game panic) still leaves what it recorded.
        self.finish();
    }
}

impl Header {
    /// The start as UTC date and time, `YYYY-MM-DD HH:MM:SS UTC`.
    pub fn started_utc(&self) -> String {
        let t = utc(self.started_ms);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

fn utc(ms: u64) -> time::OffsetDateTime {
    // Out of range only for dates past the year 9999: shown as the epoch.
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// `<game>-room<id>-<YYYYMMDD>T<HHMMSS>.<mmm>Z.trec`: sorted by game, room, then start (UTC).
pub fn file_name(header: &Header) -> String {
    let t = utc(header.started_ms);
    format!(
        "{}-room{}-{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z.{EXTENSION}",
        header.game,
        header.room,
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond(),
    )
}

/// Whether `name` may be a recording's file name: letters, digits, `-`, `_` and `.`, ending in
/// `.trec`, not starting with a dot, at most 200 bytes. This is what the HTTP endpoint accepts,
/// so a name can never leave the recordings folder (no `/`, no `..` component).
pub fn valid_name(name: &str) -> bool {
    name.len() <= 200
        && !name.starts_with('.')
        && name
            .strip_suffix(&format!(".{EXTENSION}"))
            .is_some_and(|stem| !stem.is_empty())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            format: FORMAT.into(),
            version: VERSION,
            game: "dots".into(),
            room: 7,
            seed: 42,
            options: Some(rmpv::Value::Map(vec![("mode".into(), "quick".into())])),
            info: RecordedInfo {
                capacity: 8,
                hz: 10,
                keepalive_secs: Some(5),
                interest: Some((100.0, 1)),
                spectators: 4,
                own_acks: false,
            },
            event_ticks: 12,
            max_message_size: 65536,
            hash_every: 30,
            started_ms: 1_796_190_503_123,
        }
    }

    fn every_entry() -> Vec<Entry<'static>> {
        vec![
            Entry::Admit {
                player: PlayerId(1),
                name: "ann",
            },
            Entry::Join {
                player: PlayerId(1),
                name: "ann",
            },
            Entry::Input {
                player: PlayerId(1),
                message: &[0x93, 1, 1, 0x92, 1, 0],
            },
            Entry::Command {
                player: PlayerId(1),
                message: &[0x93, 5, 1, 0xc0],
            },
            Entry::Step,
            Entry::Hash {
                tick: Tick(1),
                hash: u64::MAX,
            },
            Entry::Disconnected {
                player: PlayerId(1),
            },
            Entry::Resume {
                player: PlayerId(1),
            },
            Entry::Leave {
                player: PlayerId(1),
            },
            Entry::End { tick: Tick(1) },
        ]
    }

    fn file(entries: &[Entry<'_>]) -> Vec<u8> {
        let mut bytes = encode_header(&header());
        for e in entries {
            e.encode(&mut bytes);
        }
        bytes
    }

    fn read_all<'a>(rec: &Recording<'a>) -> (Vec<Entry<'a>>, Tail) {
        let mut entries = rec.entries();
        let mut out = Vec::new();
        while let Some(e) = entries.next_entry().expect("no damage") {
            out.push(e);
        }
        (out, entries.tail())
    }

    #[test]
    fn every_entry_round_trips_and_the_end_is_seen() {
        let bytes = file(&every_entry());
        let rec = Recording::parse(&bytes).expect("a recording");
        assert_eq!(rec.header, header());
        let (entries, tail) = read_all(&rec);
        assert_eq!(entries, every_entry());
        assert_eq!(tail, Tail::Ended);
        let summary = rec.summary().unwrap();
        assert_eq!(
            (
                summary.ticks,
                summary.hashes,
                summary.joins,
                summary.actions
            ),
            (1, 1, 1, 2)
        );
    }

    #[test]
    fn a_step_costs_two_bytes() {
        let mut buf = Vec::new();
        Entry::Step.encode(&mut buf);
        assert_eq!(buf, [0x91, 0x00]);
    }

    /// Every cut of a file inside an entry is reported as a cut at that entry's start, with the
    /// whole entries before it intact; never a panic or a corrupt-file error.
    #[test]
    fn a_file_cut_anywhere_reads_up_to_the_last_whole_entry() {
        let full = file(&every_entry());
        let head = encode_header(&header()).len();
        let mut starts = vec![head];
        let mut at = head;
        for e in every_entry() {
            let mut b = Vec::new();
            e.encode(&mut b);
            at += b.len();
            starts.push(at);
        }
        for cut in head..full.len() {
            let rec = Recording::parse(&full[..cut]).unwrap();
            let (entries, tail) = read_all(&rec);
            let whole = starts.iter().filter(|s| **s <= cut).count() - 1;
            assert_eq!(entries.len(), whole, "cut at {cut}");
            if starts.contains(&cut) {
                assert_eq!(tail, Tail::Open, "cut at {cut}");
            } else {
                assert_eq!(tail, Tail::Cut(starts[whole]), "cut at {cut}");
            }
        }
        // A header cut short is not a recording.
        assert!(matches!(
            Recording::parse(&full[..head - 1]),
            Err(RecordingError::NotARecording(_))
        ));
    }

    #[test]
    fn other_files_and_damage_are_clear_errors() {
        assert!(matches!(
            Recording::parse(b"hello"),
            Err(RecordingError::NotARecording(_))
        ));
        let other = rmp_serde::to_vec_named(&serde_json::json!({"format": "other"})).unwrap();
        assert!(Recording::parse(&other).is_err());
        let mut h = header();
        h.version = 99;
        let bytes = encode_header(&h);
        assert_eq!(
            Recording::parse(&bytes).unwrap_err(),
            RecordingError::Version { found: 99 }
        );
        let mut bytes = file(&[Entry::Step]);
        bytes.extend_from_slice(&[0x92, 42, 1]);
        let rec = Recording::parse(&bytes).unwrap();
        let mut entries = rec.entries();
        assert_eq!(entries.next_entry(), Ok(Some(Entry::Step)));
        assert!(matches!(
            entries.next_entry(),
            Err(RecordingError::Corrupt { .. })
        ));
    }

    #[test]
    fn names_are_checked_before_they_touch_the_disk() {
        let name = file_name(&header());
        assert_eq!(name, "dots-room7-20261202T054823.123Z.trec");
        assert!(valid_name(&name));
        for bad in [
            "../x.trec",
            "a/b.trec",
            ".trec",
            ".hidden.trec",
            "x.txt",
            "x.trec/",
            "x y.trec",
            "%2e%2e.trec",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn game_info_survives_the_header() {
        let info = GameInfo {
            capacity: 3,
            tick: TickPolicy::OnChange {
                hz: 10,
                keepalive_secs: 5,
            },
            interest: Some(Interest {
                cell_size: 500.0,
                radius: 1,
            }),
            spectators: 7,
            acks: AckAudience::OwnPlayer,
        };
        let back: GameInfo = RecordedInfo::from(info).into();
        assert_eq!(
            (
                back.capacity,
                back.tick,
                back.interest,
                back.spectators,
                back.acks
            ),
            (3, info.tick, info.interest, 7, AckAudience::OwnPlayer)
        );
    }
}
