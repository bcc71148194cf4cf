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
    use crate::arena::ArenaInput;
    use crate::protocol::{ClientMsg, ErrorCode, RosterEntry, ServerMsg};
    use crate::world::{Delta, Entity, Fields};
    use crate::{EntityId, InputSeq, PlayerId, RoomId, Tick};
    use proptest::prelude::*;

    type Client = ClientMsg<ArenaInput>;

    fn limits() -> DecodeLimits {
        DecodeLimits::default()
    }

    fn entity_strategy() -> impl Strategy<Value = Entity> {
        (any::<u32>(), prop::array::uniform8(any::<i32>())).prop_map(|(id, f)| Entity {
            id: EntityId(id),
            fields: Fields(f),
        })
    }

    fn client_strategy() -> impl Strategy<Value = Client> {
        prop_oneof![
            (
                any::<u16>(),
                ".{0,40}",
                any::<Option<u32>>(),
                any::<bool>(),
                any::<Option<String>>()
            )
                .prop_map(|(version, name, room, create, token)| ClientMsg::Join {
                    version,
                    name,
                    room: room.map(RoomId),
                    create,
                    token,
                }),
            (any::<u32>(), any::<i8>(), any::<i8>()).prop_map(|(seq, dx, dy)| ClientMsg::Input {
                seq: InputSeq(seq),
                input: ArenaInput { dx, dy }
            }),
            any::<u64>().prop_map(|echo| ClientMsg::Ping { echo }),
            ".{0,80}".prop_map(|text| ClientMsg::Chat { text }),
            Just(ClientMsg::Leave),
            Just(ClientMsg::Resync),
        ]
    }

    fn server_strategy() -> impl Strategy<Value = ServerMsg> {
        let entities = || prop::collection::vec(entity_strategy(), 0..12);
        prop_oneof![
            (
                any::<u32>(),
                any::<u32>(),
                any::<u16>(),
                any::<u64>(),
                ".{0,20}"
            )
                .prop_map(|(p, r, rate, tick, token)| ServerMsg::Welcome {
                    player: PlayerId(p),
                    entity: EntityId(p),
                    room: RoomId(r),
                    tick_rate: rate,
                    tick: Tick(tick),
                    token,
                    game: "arena".into(),
                    fields: vec!["ack".into(), "x".into()],
                }),
            (any::<u64>(), entities()).prop_map(|(t, entities)| ServerMsg::Snapshot {
                tick: Tick(t),
                entities
            }),
            (
                any::<u64>(),
                0u64..5,
                entities(),
                entities(),
                prop::collection::vec(any::<u32>(), 0..5)
            )
                .prop_map(|(t, back, added, changed, removed)| {
                    let tick = Tick(t.max(back));
                    ServerMsg::Delta(Delta {
                        tick,
                        base: Tick(tick.0 - back),
                        added,
                        changed,
                        removed: removed.into_iter().map(EntityId).collect(),
                    })
                }),
            (any::<u64>(), any::<u64>()).prop_map(|(echo, t)| ServerMsg::Pong {
                echo,
                tick: Tick(t)
            }),
            (any::<u32>(), ".{0,10}", ".{0,40}").prop_map(|(p, name, text)| ServerMsg::Chat {
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
                            entity: EntityId(p),
                            name,
                            connected,
                        })
                        .collect(),
                }
            }),
            ".{0,30}".prop_map(|message| ServerMsg::Error {
                code: ErrorCode::RoomFull,
                message
            }),
        ]
    }

    proptest! {
        /// Every client message survives encode then decode unchanged.
        #[test]
        fn client_messages_round_trip(msg in client_strategy()) {
            let bytes = encode(&msg).unwrap();
            let back: Client = decode(&bytes, &limits()).unwrap();
            prop_assert_eq!(back, msg);
        }

        /// Every server message survives encode then decode unchanged.
        #[test]
        fn server_messages_round_trip(msg in server_strategy()) {
            let bytes = encode(&msg).unwrap();
            let back: ServerMsg = decode(&bytes, &limits()).unwrap();
            prop_assert_eq!(back, msg);
        }

        /// Decoding arbitrary bytes returns an error or a message, never panics.
        #[test]
        fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<Client>(&bytes, &limits());
            let _ = decode::<ServerMsg>(&bytes, &limits());
        }

        /// Mutating a valid message (the likeliest kind of garbage) never panics either.
        #[test]
        fn decoding_mutated_messages_never_panics(
            msg in server_strategy(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = encode(&msg).unwrap();
            for (i, b) in flips {
                let at = i.index(bytes.len());
                bytes[at] = b;
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
        // [1, 1, [[[[ ... ]]]]]: an input whose payload nests 10,000 arrays.
        let mut bytes = vec![0x93, 0x01, 0x01];
        bytes.extend(std::iter::repeat_n(0x91, 10_000));
        bytes.push(0xc0);
        let err = decode::<Client>(&bytes, &limits()).unwrap_err();
        assert!(matches!(err, CodecError::Malformed(_)), "{err}");
    }

    #[test]
    fn huge_claimed_length_fails_without_allocating() {
        // array32 claiming 4 billion elements, then nothing.
        let bytes = [0xdd, 0xff, 0xff, 0xff, 0xff];
        assert!(decode::<Client>(&bytes, &limits()).is_err());
        // A snapshot whose entity list claims 4 billion elements.
        let bytes = [0x93, 0x01, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff];
        assert!(decode::<ServerMsg>(&bytes, &limits()).is_err());
        // A string claiming 4 GiB.
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
        // Ping with an extra element, and Ping with none.
        assert!(decode::<Client>(&[0x93, 0x02, 0x01, 0x01], &limits()).is_err());
        assert!(decode::<Client>(&[0x91, 0x02], &limits()).is_err());
        // Unknown tag.
        assert!(decode::<Client>(&[0x91, 0x09], &limits()).is_err());
        // Not an array at all.
        assert!(decode::<Client>(&[0x07], &limits()).is_err());
    }

    #[test]
    fn delta_layout_is_compact() {
        // A moving player: ack +1, x +27, y -27 quarter units.
        let delta = Delta {
            tick: Tick(1000),
            base: Tick(999),
            added: vec![],
            changed: vec![Entity {
                id: EntityId(3),
                fields: Fields([1, 0, 27, -27, 0, 0, 0, 0]),
            }],
            removed: vec![],
        };
        let bytes = encode(&ServerMsg::Delta(delta)).unwrap();
        // [2, 1000, 1, [], [3, 0b1101, 1, 27, -27], []]
        assert_eq!(
            bytes,
            [0x96, 0x02, 0xcd, 0x03, 0xe8, 0x01, 0x90, 0x95, 0x03, 0x0d, 0x01, 0x1b, 0xe5, 0x90]
        );
    }
}
