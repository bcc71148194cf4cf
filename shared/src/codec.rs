//! MessagePack encode / decode with typed errors and limits.
//!
//! Decoding arbitrary bytes never panics: the size is checked before any parsing, nesting is capped
//! (rmp-serde's `set_max_depth`), a claimed length larger than the input fails instead of
//! allocating, and trailing bytes after the message are refused.

use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

/// Default largest client message accepted, in bytes (64 KiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Default deepest nesting accepted. The deepest legal message (a join) nests 2 levels.
pub const DEFAULT_MAX_DEPTH: usize = 16;

/// Limits for [`decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest message, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and maps.
    pub max_depth: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// Why a message could not be encoded or decoded.
#[derive(Debug, Error)]
pub enum CodecError {
    /// The message is larger than [`DecodeLimits::max_bytes`].
    #[error("message of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a valid message (bad MessagePack, wrong shape, unknown tag, too deep).
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A valid message followed by more bytes.
    #[error("{0} unexpected bytes after the message")]
    TrailingBytes(usize),
    /// The value could not be encoded (only for types that refuse, e.g. maps with bad keys).
    #[error("cannot encode message: {0}")]
    Encode(String),
}

/// Encodes a message into a new buffer.
pub fn encode<T: Serialize + ?Sized>(msg: &T) -> Result<Vec<u8>, CodecError> {
    let mut buf = Vec::with_capacity(64);
    encode_into(msg, &mut buf)?;
    Ok(buf)
}

/// Encodes a message, appending to `buf` (reuse one buffer on hot paths).
pub fn encode_into<T: Serialize + ?Sized>(msg: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
    rmp_serde::encode::write(buf, msg).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decodes exactly one message from `bytes` within `limits`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limits: &DecodeLimits) -> Result<T, CodecError> {
    if bytes.len() > limits.max_bytes {
        return Err(CodecError::TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let mut rest = bytes;
    let mut de = rmp_serde::Deserializer::new(&mut rest);
    de.set_max_depth(limits.max_depth);
    let msg = T::deserialize(&mut de).map_err(|e| CodecError::Malformed(e.to_string()))?;
    drop(de);
    if !rest.is_empty() {
        return Err(CodecError::TrailingBytes(rest.len()));
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::{Acks, Event, Record, Segment};
    use crate::protocol::{ClientMsg, ErrorCode, Refusal, RosterEntry, ServerMsg};
    use crate::schema::Value;
    use crate::{EntityId, InputSeq, PlayerId, RoomId, Tick};
    use proptest::prelude::*;

    type Client = ClientMsg<(i8, i8), rmpv::Value>;

    fn limits() -> DecodeLimits {
        DecodeLimits::default()
    }

    fn value_strategy() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i32>().prop_map(|v| Value::Int(v.into())),
            "[a-z]{0,8}".prop_map(Value::Text),
        ]
    }

    fn record_strategy() -> impl Strategy<Value = Record> {
        (
            any::<u32>(),
            any::<u16>(),
            prop::collection::btree_map(0u8..32, value_strategy(), 0..6),
        )
            .prop_map(|(id, kind, values)| Record {
                id: EntityId(id),
                kind,
                values: values.into_iter().collect(),
            })
    }

    fn segment_strategy() -> impl Strategy<Value = Segment> {
        (
            prop::collection::vec(any::<u32>().prop_map(EntityId), 0..4),
            prop::collection::vec(record_strategy(), 0..4),
            prop::collection::vec(record_strategy(), 0..4),
        )
            .prop_map(|(removed, mut changed, added)| {
                for r in &mut changed {
                    r.kind = 0; // not on the wire for changed records
                }
                Segment {
                    removed,
                    changed,
                    added,
                }
            })
    }

    fn acks_strategy() -> impl Strategy<Value = Acks> {
        (
            prop::collection::btree_set(0u32..200, 0..10),
            prop::collection::vec((any::<u32>(), any::<u32>()), 0..4),
        )
            .prop_map(|(stepped, set)| Acks {
                stepped: stepped.into_iter().map(PlayerId).collect(),
                set: set
                    .into_iter()
                    .map(|(p, s)| (PlayerId(p), InputSeq(s)))
                    .collect(),
            })
    }

    fn client_strategy() -> impl Strategy<Value = Client> {
        prop_oneof![
            (
                any::<u16>(),
                ".{0,40}",
                any::<Option<u32>>(),
                any::<bool>(),
                any::<Option<String>>(),
                any::<Option<String>>()
            )
                .prop_map(|(version, name, room, create, token, ticket)| {
                    ClientMsg::Join {
                        version,
                        name,
                        game: Some("cards".into()),
                        room: room.map(RoomId),
                        create,
                        options: None,
                        filter: None,
                        token,
                        ticket,
                    }
                }),
            (any::<u32>(), any::<i8>(), any::<i8>()).prop_map(|(seq, dx, dy)| ClientMsg::Input {
                seq: InputSeq(seq),
                input: (dx, dy)
            }),
            any::<u64>().prop_map(|echo| ClientMsg::Ping { echo }),
            ".{0,80}".prop_map(|text| ClientMsg::Chat { text }),
            Just(ClientMsg::Leave),
            Just(ClientMsg::Resync),
            (any::<u32>(), any::<i64>()).prop_map(|(id, v)| ClientMsg::Command {
                id,
                command: rmpv::Value::from(v)
            }),
        ]
    }

    fn server_strategy() -> impl Strategy<Value = ServerMsg> {
        let segments = || prop::collection::vec(segment_strategy(), 0..3);
        let events = || {
            prop::collection::vec(
                ("[a-z]{1,6}", any::<i32>()).prop_map(|(name, v)| Event {
                    name,
                    payload: rmpv::Value::from(v),
                }),
                0..3,
            )
        };
        prop_oneof![
            (any::<u64>(), segments(), events(), acks_strategy()).prop_map(
                |(tick, segments, events, acks)| ServerMsg::Snapshot {
                    tick: Tick(tick),
                    segments,
                    events,
                    acks
                }
            ),
            (any::<u64>(), 0u64..3, segments(), events(), acks_strategy()).prop_map(
                |(tick, back, segments, events, acks)| ServerMsg::Delta {
                    tick: Tick(tick.max(back)),
                    base: Tick(tick.max(back) - back),
                    segments,
                    events,
                    acks
                }
            ),
            (any::<u64>(), any::<u64>()).prop_map(|(echo, tick)| ServerMsg::Pong {
                echo,
                tick: Tick(tick)
            }),
            (".{0,30}", any::<Option<String>>())
                .prop_map(|(url, ticket)| ServerMsg::Redirect { url, ticket }),
            (any::<u32>(), ".{0,10}", ".{0,20}").prop_map(|(p, name, text)| ServerMsg::Chat {
                player: PlayerId(p),
                name,
                text
            }),
            prop::collection::vec((any::<u32>(), ".{0,8}", any::<bool>()), 0..5).prop_map(|v| {
                ServerMsg::Roster {
                    players: v
                        .into_iter()
                        .map(|(p, name, connected)| RosterEntry {
                            player: PlayerId(p),
                            name,
                            connected,
                        })
                        .collect(),
                }
            }),
            (0usize..ErrorCode::ALL.len(), ".{0,20}").prop_map(|(i, message)| ServerMsg::Error {
                code: ErrorCode::ALL[i],
                message
            }),
            (any::<u32>(), any::<Option<(String, String)>>()).prop_map(|(id, r)| {
                ServerMsg::CommandResult {
                    id,
                    refusal: r.map(|(code, message)| Refusal { code, message }),
                }
            }),
        ]
    }

    proptest! {
        #[test]
        fn client_messages_round_trip(msg in client_strategy()) {
            let bytes = encode(&msg).unwrap();
            let back: Client = decode(&bytes, &limits()).unwrap();
            prop_assert_eq!(back, msg);
        }

        #[test]
        fn server_messages_round_trip(msg in server_strategy()) {
            let bytes = encode(&msg).unwrap();
            let back: ServerMsg = decode(&bytes, &limits()).unwrap();
            prop_assert_eq!(back, msg);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<Client>(&bytes, &limits());
            let _ = decode::<ServerMsg>(&bytes, &limits());
        }

        #[test]
        fn decoding_mutated_messages_never_panics(
            msg in server_strategy(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = encode(&msg).unwrap();
            for (at, b) in flips {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            let _ = decode::<ServerMsg>(&bytes, &limits());
        }
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let bytes = vec![0xc0; 100];
        let err = decode::<Client>(
            &bytes,
            &DecodeLimits {
                max_bytes: 10,
                max_depth: 4,
            },
        )
        .unwrap_err();
        assert!(matches!(err, CodecError::TooLarge { size: 100, max: 10 }));
    }

    #[test]
    fn deep_nesting_is_refused() {
        // [6, 1, [[[[ ... ]]]]]: a command whose payload nests 10,000 arrays.
        let mut bytes = vec![0x93, 0x06, 0x01];
        bytes.extend(std::iter::repeat_n(0x91, 10_000));
        bytes.push(0xc0);
        let err = decode::<Client>(&bytes, &limits()).unwrap_err();
        assert!(matches!(err, CodecError::Malformed(_)), "{err}");
    }

    #[test]
    fn huge_claimed_length_fails_without_allocating() {
        let bytes = [0xdd, 0xff, 0xff, 0xff, 0xff];
        assert!(decode::<Client>(&bytes, &limits()).is_err());
        let bytes = [0x95, 0x01, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff];
        assert!(decode::<ServerMsg>(&bytes, &limits()).is_err());
        let bytes = [0x92, 0x03, 0xdb, 0xff, 0xff, 0xff, 0xff];
        assert!(decode::<Client>(&bytes, &limits()).is_err());
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(&Client::Leave).unwrap();
        bytes.push(0x00);
        assert!(matches!(
            decode::<Client>(&bytes, &limits()),
            Err(CodecError::TrailingBytes(1))
        ));
    }

    #[test]
    fn extra_and_missing_fields_are_refused() {
        assert!(decode::<Client>(&[0x93, 0x02, 0x01, 0x01], &limits()).is_err());
        assert!(decode::<Client>(&[0x91, 0x02], &limits()).is_err());
        assert!(decode::<Client>(&[0x91, 0x09], &limits()).is_err());
        assert!(decode::<Client>(&[0x07], &limits()).is_err());
    }

    #[test]
    fn strings_sent_as_bin_are_refused() {
        // Chat [3, bin "hi"]
        assert!(decode::<Client>(&[0x92, 0x03, 0xc4, 0x02, b'h', b'i'], &limits()).is_err());
        assert!(decode::<Client>(&[0x92, 0x03, 0xa2, b'h', b'i'], &limits()).is_ok());
    }

    #[test]
    fn join_options_must_be_a_map() {
        let join = |options| Client::Join {
            version: 2,
            name: "a".into(),
            game: None,
            room: None,
            create: true,
            options,
            filter: None,
            token: None,
            ticket: None,
        };
        let ok = encode(&join(Some(rmpv::Value::Map(vec![])))).unwrap();
        assert!(decode::<Client>(&ok, &limits()).is_ok());
        let bad = encode(&join(Some(rmpv::Value::from(3)))).unwrap();
        assert!(decode::<Client>(&bad, &limits()).is_err());
    }

    #[test]
    fn assembled_delta_equals_the_serde_encoding() {
        let seg = Segment {
            removed: vec![],
            changed: vec![Record {
                id: EntityId(3),
                kind: 0,
                values: vec![(1, Value::Int(27)), (2, Value::Int(-27))],
            }],
            added: vec![],
        };
        let acks = Acks {
            stepped: vec![PlayerId(3)],
            set: vec![],
        };
        let msg = ServerMsg::Delta {
            tick: Tick(1000),
            base: Tick(999),
            segments: vec![seg.clone()],
            events: vec![],
            acks: acks.clone(),
        };
        let mut out = Vec::new();
        crate::protocol::write_delta_head(&mut out, Tick(1000), 1, 1);
        out.extend(encode(&seg).unwrap());
        crate::protocol::write_array_len(&mut out, 0);
        out.extend(encode(&acks).unwrap());
        assert_eq!(out, encode(&msg).unwrap());
        // [2, 1000, 1, [[[], [3, 0b110, 27, -27], []]], [], [bin 0b1000, []]]: a moving entity
        // costs 4 bytes.
        assert_eq!(
            out,
            [
                0x96, 0x02, 0xcd, 0x03, 0xe8, 0x01, 0x91, 0x93, 0x90, 0x94, 0x03, 0x06, 0x1b, 0xe5,
                0x90, 0x90, 0x92, 0xc4, 0x01, 0x08, 0x90
            ]
        );
    }
}
