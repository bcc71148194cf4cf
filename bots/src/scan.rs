//! Reading only what a measuring bot needs from a Snapshot or Delta, straight from its bytes:
//! the tick, the base tick (to follow the chain), how many entities changed, and one player's ack.
//!
//! A bot that keeps no replica (`Decode::Acks` in the swarm) skips entity values, events and other
//! players' acks without allocating, so thousands of bots cost the load generator less. The
//! message is still checked for shape (a malformed one is an error), but not its values against
//! the kinds: that is what the full decode and the replica check are for.

use thiserror::Error;
use tickroom_shared::protocol::server_tag;
use tickroom_shared::{InputSeq, PlayerId, Tick};

/// Deepest nesting skipped (events' payloads are game-defined); the server decodes at most 16.
const MAX_DEPTH: usize = 16;

/// Why a message could not be scanned.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("malformed tick message: {0}")]
pub struct ScanError(&'static str);

/// What a Snapshot or Delta says, for one player.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickScan {
    /// The tick it brings the replica to.
    pub tick: Tick,
    /// The tick a Delta builds on; `None` for a Snapshot.
    pub base: Option<Tick>,
    /// Records in the `changed` lists of every segment.
    pub changed: u64,
    /// The player's bit was set: its ack grew by one.
    pub stepped: bool,
    /// The player's ack, when given outright.
    pub set: Option<InputSeq>,
}

impl TickScan {
    /// The player's ack after this message, given its ack before (a Snapshot clears acks first).
    pub fn ack(&self, before: InputSeq) -> InputSeq {
        let start = if self.base.is_some() { before.0 } else { 0 };
        self.set
            .unwrap_or(InputSeq(start.wrapping_add(u32::from(self.stepped))))
    }
}

/// Scans `bytes` for `me`; `Ok(None)` when the message is not a Snapshot or Delta.
pub fn scan_tick(bytes: &[u8], me: PlayerId) -> Result<Option<TickScan>, ScanError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let len = r.array_len()?;
    let tag = r.uint()?;
    let snapshot = match u8::try_from(tag) {
        Ok(server_tag::SNAPSHOT) => true,
        Ok(server_tag::DELTA) => false,
        _ => return Ok(None),
    };
    if len != if snapshot { 5 } else { 6 } {
        return Err(ScanError("wrong number of fields"));
    }
    let tick = r.uint()?;
    let base = if snapshot {
        None
    } else {
        let back = r.uint()?;
        Some(Tick(
            tick.checked_sub(back).ok_or(ScanError("back > tick"))?,
        ))
    };
    let mut changed = 0;
    for _ in 0..r.array_len()? {
        if r.array_len()? != 3 {
            return Err(ScanError("a segment is not [removed, changed, added]"));
        }
        r.skip(1)?;
        let items = r.array_len()?;
        let mut i = 0;
        while i < items {
            // id, mask, then one value per mask bit.
            r.skip(1)?;
            let mask = u32::try_from(r.uint()?).map_err(|_| ScanError("mask out of range"))?;
            for _ in 0..mask.count_ones() {
                r.skip(1)?;
            }
            i += 2 + mask.count_ones();
            changed += 1;
        }
        if i != items {
            return Err(ScanError("a changed record is cut short"));
        }
        r.skip(1)?;
    }
    r.skip(1)?;
    if r.array_len()? != 2 {
        return Err(ScanError("acks are not [bits, set]"));
    }
    let bits = r.bin()?;
    let stepped = usize::try_from(me.0 / 8)
        .ok()
        .and_then(|i| bits.get(i))
        .is_some_and(|b| b & (1 << (me.0 % 8)) != 0);
    let pairs = r.array_len()?;
    if pairs % 2 != 0 {
        return Err(ScanError("acks: odd number of elements in set"));
    }
    let mut set = None;
    for _ in 0..pairs / 2 {
        let player = r.uint()?;
        let seq = u32::try_from(r.uint()?).map_err(|_| ScanError("ack out of range"))?;
        if player == u64::from(me.0) {
            set = Some(InputSeq(seq));
        }
    }
    if r.pos != bytes.len() {
        return Err(ScanError("trailing bytes"));
    }
    Ok(Some(TickScan {
        tick: Tick(tick),
        base,
        changed,
        stepped,
        set,
    }))
}

/// The tag of a server message (its first element, see `tickroom_shared::protocol::server_tag`),
/// read without decoding the rest; `None` when the bytes do not start like a message.
pub fn message_tag(bytes: &[u8]) -> Option<u8> {
    let mut r = Reader { buf: bytes, pos: 0 };
    r.array_len().ok()?;
    u8::try_from(r.uint().ok()?).ok()
}

/// A cursor over MessagePack bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ScanError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or(ScanError("cut short"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, ScanError> {
        Ok(self.take(1)?[0])
    }

    /// A big-endian unsigned integer of `n` bytes.
    fn be(&mut self, n: usize) -> Result<u64, ScanError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |v, b| (v << 8) | u64::from(*b)))
    }

    fn uint(&mut self) -> Result<u64, ScanError> {
        match self.byte()? {
            b @ 0x00..=0x7f => Ok(u64::from(b)),
            0xcc => self.be(1),
            0xcd => self.be(2),
            0xce => self.be(4),
            0xcf => self.be(8),
            // Signed encodings of non-negative values are legal MessagePack too.
            m @ 0xd0..=0xd3 => {
                let n = 1 << (m - 0xd0);
                let raw = self.be(n)?;
                let shift = 64 - 8 * n as u32;
                let v = ((raw << shift) as i64) >> shift;
                u64::try_from(v).map_err(|_| ScanError("negative where unsigned expected"))
            }
            _ => Err(ScanError("not an unsigned integer")),
        }
    }

    fn array_len(&mut self) -> Result<u32, ScanError> {
        match self.byte()? {
            b @ 0x90..=0x9f => Ok(u32::from(b & 0x0f)),
            0xdc => Ok(self.be(2)? as u32),
            0xdd => Ok(self.be(4)? as u32),
            _ => Err(ScanError("not an array")),
        }
    }

    fn bin(&mut self) -> Result<&'a [u8], ScanError> {
        let n = match self.byte()? {
            0xc4 => self.be(1)?,
            0xc5 => self.be(2)?,
            0xc6 => self.be(4)?,
            _ => return Err(ScanError("not a bin")),
        };
        self.take(usize::try_from(n).map_err(|_| ScanError("bin too long"))?)
    }

    /// Skips one value, `depth` levels deep.
    fn skip(&mut self, depth: usize) -> Result<(), ScanError> {
        if depth > MAX_DEPTH {
            return Err(ScanError("nested too deep"));
        }
        let marker = self.byte()?;
        let (bytes, items) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => (0, u64::from(marker & 0x0f)),
            0xa0..=0xbf => (u64::from(marker & 0x1f), 0),
            0xc4 | 0xd9 => (self.be(1)?, 0),
            0xc5 | 0xda => (self.be(2)?, 0),
            0xc6 | 0xdb => (self.be(4)?, 0),
            0xc7 => (self.be(1)? + 1, 0),
            0xc8 => (self.be(2)? + 1, 0),
            0xc9 => (self.be(4)? + 1, 0),
            0xca => (4, 0),
            0xcb => (8, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xce | 0xd2 => (4, 0),
            0xcf | 0xd3 => (8, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (0, self.be(2)?),
            0xdd => (0, self.be(4)?),
            0xde => (0, 2 * self.be(2)?),
            0xdf => (0, 2 * self.be(4)?),
            0xc1 => return Err(ScanError("reserved byte 0xc1")),
        };
        self.take(usize::try_from(bytes).map_err(|_| ScanError("value too long"))?)?;
        for _ in 0..items {
            self.skip(depth + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickroom_shared::rmpv;
    use tickroom_shared::{Acks, EntityId, Event, Record, Segment, ServerMsg, Value};

    fn record(id: u32, values: Vec<(u8, Value)>) -> Record {
        Record {
            id: EntityId(id),
            kind: 1,
            values,
        }
    }

    fn delta(acks: Acks) -> ServerMsg {
        ServerMsg::Delta {
            tick: Tick(300),
            base: Tick(299),
            segments: vec![
                Segment {
                    removed: vec![EntityId(4)],
                    changed: vec![
                        record(1, vec![(1, Value::Int(-3)), (2, Value::Int(70_000))]),
                        record(2, vec![(0, Value::Text("héllo".into()))]),
                    ],
                    added: vec![record(9, vec![(0, Value::Int(5))])],
                },
                Segment {
                    changed: vec![record(300, vec![(31, Value::Int(i64::from(i32::MIN)))])],
                    ..Segment::default()
                },
            ],
            events: vec![Event {
                name: "pickup".into(),
                payload: rmpv::Value::Map(vec![
                    (rmpv::Value::from("player"), rmpv::Value::from(3)),
                    (rmpv::Value::from("f"), rmpv::Value::F64(0.5)),
                    (
                        rmpv::Value::from("l"),
                        rmpv::Value::Array(vec![rmpv::Value::Nil, rmpv::Value::from(-1)]),
                    ),
                ]),
            }],
            acks,
        }
    }

    fn scan(msg: &ServerMsg, me: u32) -> TickScan {
        let bytes = tickroom_shared::encode(msg).expect("encodes");
        scan_tick(&bytes, PlayerId(me))
            .expect("scans")
            .expect("a tick message")
    }

    /// The tag alone reads from any message; garbage gives none.
    #[test]
    fn reads_the_tag_without_decoding() {
        let bytes = tickroom_shared::encode(&delta(Acks::default())).expect("encodes");
        assert_eq!(
            message_tag(&bytes),
            Some(tickroom_shared::protocol::server_tag::DELTA)
        );
        let pong = tickroom_shared::encode(&ServerMsg::Pong {
            echo: 7,
            tick: Tick(3),
        })
        .expect("encodes");
        assert_eq!(
            message_tag(&pong),
            Some(tickroom_shared::protocol::server_tag::PONG)
        );
        assert_eq!(message_tag(&[0xc1]), None);
        assert_eq!(message_tag(&[]), None);
    }

    #[test]
    fn reads_the_chain_the_changed_count_and_one_players_ack() {
        let msg = delta(Acks {
            stepped: vec![PlayerId(3), PlayerId(17)],
            set: vec![(PlayerId(5), InputSeq(900)), (PlayerId(200), InputSeq(1))],
        });
        let s = scan(&msg, 3);
        assert_eq!(s.tick, Tick(300));
        assert_eq!(s.base, Some(Tick(299)));
        assert_eq!(s.changed, 3);
        assert!(s.stepped);
        assert_eq!(s.set, None);
        assert_eq!(s.ack(InputSeq(41)), InputSeq(42));
        let s = scan(&msg, 5);
        assert!(!s.stepped);
        assert_eq!(s.ack(InputSeq(41)), InputSeq(900));
        assert_eq!(scan(&msg, 200).ack(InputSeq(0)), InputSeq(1));
        assert_eq!(
            scan(&msg, 4).ack(InputSeq(7)),
            InputSeq(7),
            "no news: unchanged"
        );
    }

    #[test]
    fn the_scanned_ack_equals_the_replicas() {
        // The same messages through the full decode and a replica, for every player.
        let kinds = vec![tickroom_shared::KindSchema {
            name: "k".into(),
            fields: vec![],
        }];
        let snapshot = ServerMsg::Snapshot {
            tick: Tick(10),
            segments: vec![],
            events: vec![],
            acks: Acks {
                stepped: vec![PlayerId(2)],
                set: vec![(PlayerId(1), InputSeq(5))],
            },
        };
        let next = ServerMsg::Delta {
            tick: Tick(11),
            base: Tick(10),
            segments: vec![],
            events: vec![],
            acks: Acks {
                stepped: vec![PlayerId(1), PlayerId(2)],
                set: vec![(PlayerId(3), InputSeq(8))],
            },
        };
        let mut replica = tickroom_shared::Replica::new(kinds);
        let mut acks = [InputSeq(99); 4];
        for msg in [&snapshot, &next] {
            replica.apply(msg).expect("applies");
            for (p, ack) in acks.iter_mut().enumerate() {
                *ack = scan(msg, p as u32).ack(*ack);
                assert_eq!(*ack, replica.ack(PlayerId(p as u32)), "player {p}");
            }
        }
        assert_eq!(scan(&snapshot, 1).base, None);
    }

    #[test]
    fn other_messages_are_left_to_the_full_decode() {
        let pong = tickroom_shared::encode(&ServerMsg::Pong {
            echo: 1,
            tick: Tick(2),
        })
        .expect("encodes");
        assert_eq!(scan_tick(&pong, PlayerId(1)), Ok(None));
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        let good = tickroom_shared::encode(&delta(Acks::default())).expect("encodes");
        for cut in 0..good.len() {
            assert!(
                scan_tick(&good[..cut], PlayerId(1)).is_err(),
                "cut at {cut}"
            );
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(scan_tick(&trailing, PlayerId(1)).is_err());
        // [2, 5, 9, [], [], [bin, []]]: back > tick.
        let back = [0x96, 0x02, 0x05, 0x09, 0x90, 0x90, 0x92, 0xc4, 0x00, 0x90];
        assert_eq!(scan_tick(&back, PlayerId(1)), Err(ScanError("back > tick")));
        let deep = [[0x91u8; 40].as_slice(), &[0x00]].concat();
        let mut nested = vec![0x96, 0x02, 0x05, 0x01, 0x90];
        nested.push(0x91);
        nested.extend_from_slice(&deep);
        nested.extend_from_slice(&[0x92, 0xc4, 0x00, 0x90]);
        assert_eq!(
            scan_tick(&nested, PlayerId(1)),
            Err(ScanError("nested too deep"))
        );
    }
}
