//! The cluster's room directory in Redis: which nodes are alive, which rooms exist where, how
//! full they are, and the seats reserved in them for clients on their way.
//!
//! Rooms never leave their node; the directory only tells every node where they are. Every
//! decision that must not race (picking a room and reserving its seat, creating a room for a
//! quick match, redeeming a ticket, marking an empty room closing) is one Lua script, which Redis
//! runs atomically, so concurrent joins through different nodes cannot over-fill a room or make
//! twin rooms, and a room being closed takes no new seat. Times are Redis's own clock (`TIME`),
//! so the nodes' clocks need not agree.
//!
//! # Keys (all under the prefix, `tickroom:` by default)
//! - `node:{id}`: the node's **lease**, holding its epoch, with a TTL the node renews. A node
//!   exists for the directory exactly while this key does.
//! - `nodes`: hash of node id to a JSON description (URL, draining, rooms, players).
//! - `node-rooms:{id}`: the room ids a node owns.
//! - `room:{id}`: hash: owner node, game, capacity, `taken` (seats held on the owner, written only
//!   by the owner), locked, closing, metadata (JSON), state (`pending` until the owner created
//!   it, then `open`), options (MessagePack, while pending), created (ms).
//! - `room:{id}:res`: sorted set of the room's reservations (ticket → expiry in ms). A room's
//!   seats are `taken` plus its unexpired reservations.
//! - `rooms:{game}`: the room ids of a game, for quick match.
//! - `pending`: sorted set of pending rooms by creation time, so the reaper drops rooms whose
//!   creator never arrived.
//! - `ticket:{ticket}`: the room a ticket reserved a seat in, with the reservation's TTL.
//! - `gone:{id}`: a tombstone for a room whose node died, so a reconnect learns it is lost.
//!
//! Only one Redis server is supported (the scripts build key names, so Redis Cluster sharding
//! would not see them).
//!
//! **Epochs** fence a node that lost its lease: every registration draws a new epoch, and writes
//! about a node's rooms carry it. A node that stalled past its lease (and was reaped) finds its
//! writes refused, registers afresh, which drops whatever the directory still held for it, and
//! republishes the rooms it really has: nothing stale comes back.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;
use tickroom_shared::RoomId;

/// How long a room whose node died stays known as lost (for reconnects), in milliseconds.
const TOMBSTONE_MS: u64 = 600_000;

/// Why the directory could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Redis could not be reached or answered with an error.
    #[error("the room directory is unavailable: {0}")]
    Redis(#[from] redis::RedisError),
    /// This node's lease lapsed (or Redis lost it): it must register again.
    #[error("this node's lease lapsed; it registers again")]
    Fenced,
    /// A script answered something this code does not understand (a version mismatch between
    /// nodes, or a bug).
    #[error("unexpected reply from the directory: {0}")]
    Reply(String),
}

/// Why a seat could not be placed or a ticket redeemed: answers, not failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// No room with that id.
    NotFound,
    /// The room's node stopped.
    Lost,
    /// The room is locked.
    Locked,
    /// The room has no free seat.
    Full,
    /// The ticket is unknown, expired, used or for another node.
    BadTicket,
    /// No live node can take a new room.
    NoNodes,
}

/// A room waiting for its owner to create it.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    /// Its game.
    pub game: String,
    /// The creating join's options.
    pub options: Option<rmpv::Value>,
}

/// Where a seat was placed.
#[derive(Clone, Debug, PartialEq)]
pub enum Placement {
    /// In a room of this node: the seat is already counted in `taken`.
    Local {
        /// The room.
        room: RoomId,
        /// Set when the room does not exist yet: this node creates it with this id.
        pending: Option<Pending>,
    },
    /// In a room of another node, reserved for a ticket.
    Remote {
        /// The room.
        room: RoomId,
        /// Its node's WebSocket URL.
        url: String,
        /// The single-use ticket the client presents there.
        ticket: String,
    },
}

/// What a node says about itself in the `nodes` hash.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct NodeInfo {
    /// Where clients reach it.
    pub url: String,
    /// Draining: takes no new seats.
    #[serde(default)]
    pub draining: bool,
    /// At its room limit (`--max-rooms`): new rooms go to other nodes.
    #[serde(default)]
    pub full: bool,
    /// Open rooms.
    #[serde(default)]
    pub rooms: u64,
    /// Open WebSocket sessions.
    #[serde(default)]
    pub sessions: u64,
}

/// A live node as a lease renewal lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveNode {
    /// Its id.
    pub id: String,
    /// Its rooms.
    pub rooms: u64,
    /// Where clients reach it.
    pub url: String,
}

/// A room as a node publishes it.
#[derive(Clone, Debug, PartialEq)]
pub struct RoomRecord {
    /// Game name.
    pub game: String,
    /// Seats.
    pub capacity: u32,
    /// Seats taken or promised on the owner.
    pub taken: u32,
    /// Joins refused.
    pub locked: bool,
    /// The game's metadata.
    pub metadata: BTreeMap<String, String>,
}

/// A room in the cluster listing.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ListedRoom {
    /// Room id.
    pub id: RoomId,
    /// Owner node.
    pub node: String,
    /// Owner's URL.
    pub url: String,
    /// Game.
    pub game: String,
    /// Seats.
    pub capacity: u32,
    /// Seats taken on the owner.
    pub taken: u32,
    /// Unexpired reservations.
    pub reserved: u32,
    /// Locked.
    pub locked: bool,
    /// Closing.
    pub closing: bool,
    /// `pending` or `open`.
    pub state: String,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
}

/// How to reach Redis and how the node behaves in the cluster.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Key prefix (with its trailing colon).
    pub prefix: String,
    /// This node.
    pub node: String,
    /// Lease TTL.
    pub lease: Duration,
    /// How long a reservation (and its ticket) lives.
    pub ticket_ttl: Duration,
    /// Longest wait for one Redis reply.
    pub timeout: Duration,
}

/// Shared preamble of every script: the prefix, Redis's clock, node liveness.
const PRELUDE: &str = r#"
local P = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function epoch_ok(node, epoch)
  return redis.call('GET', P .. 'node:' .. node) == epoch
end
local usable_cache = {}
-- A node that holds its lease and is not draining.
local function usable(node)
  if usable_cache[node] == nil then
    usable_cache[node] = false
    if redis.call('EXISTS', P .. 'node:' .. node) == 1 then
      local info = redis.call('HGET', P .. 'nodes', node)
      if info and not cjson.decode(info).draining then usable_cache[node] = true end
    end
  end
  return usable_cache[node]
end
local function seats(key, now)
  redis.call('ZREMRANGEBYSCORE', key .. ':res', '-inf', now)
  return tonumber(redis.call('HGET', key, 'taken') or '0') + redis.call('ZCARD', key .. ':res')
end
local function drop_room(rid)
  local key = P .. 'room:' .. rid
  local f = redis.call('HMGET', key, 'game', 'node')
  if f[1] then redis.call('SREM', P .. 'rooms:' .. f[1], rid) end
  if f[2] then redis.call('SREM', P .. 'node-rooms:' .. f[2], rid) end
  redis.call('ZREM', P .. 'pending', rid)
  redis.call('DEL', key, key .. ':res')
end
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
}

/// ARGV: P, node, epoch, lease_ms, info. Takes the lease with a new epoch and drops whatever the
/// directory still held for this node id (rooms of an earlier life): the node republishes what
/// it really has.
static REGISTER: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local node, epoch, lease, info = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
for _, rid in ipairs(redis.call('SMEMBERS', P .. 'node-rooms:' .. node)) do drop_room(rid) end
redis.call('DEL', P .. 'node-rooms:' .. node)
redis.call('SET', P .. 'node:' .. node, epoch, 'PX', lease)
redis.call('HSET', P .. 'nodes', node, info)
return 'OK'
"#,
    )
});

/// ARGV: P, node, epoch, lease_ms, info. Renews the lease if it is still this epoch's; answers
/// every live node with its number of rooms and its URL (`id, rooms, url, ...`), or GONE.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local node, epoch, lease, info = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if not epoch_ok(node, epoch) then return {'GONE'} end
redis.call('PEXPIRE', P .. 'node:' .. node, lease)
redis.call('HSET', P .. 'nodes', node, info)
local out = {}
for _, id in ipairs(redis.call('HKEYS', P .. 'nodes')) do
  if redis.call('EXISTS', P .. 'node:' .. id) == 1 then
    table.insert(out, id)
    table.insert(out, tostring(redis.call('SCARD', P .. 'node-rooms:' .. id)))
    table.insert(out, cjson.decode(redis.call('HGET', P .. 'nodes', id)).url)
  end
end
return out
"#,
    )
});

/// ARGV: P, node, epoch, rid, game, capacity, taken, locked, metadata. Publishes a room this node
/// runs (created, or again after the directory lost it); keeps its reservations.
static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local node, epoch, rid = ARGV[2], ARGV[3], ARGV[4]
if not epoch_ok(node, epoch) then return 'FENCED' end
local key = P .. 'room:' .. rid
local owner = redis.call('HGET', key, 'node')
if owner and owner ~= node and redis.call('EXISTS', P .. 'node:' .. owner) == 1 then
  return 'CONFLICT'
end
redis.call('HSET', key, 'node', node, 'game', ARGV[5], 'capacity', ARGV[6], 'taken', ARGV[7],
  'locked', ARGV[8], 'metadata', ARGV[9], 'state', 'open', 'closing', '0')
redis.call('HDEL', key, 'options')
redis.call('ZREM', P .. 'pending', rid)
redis.call('SADD', P .. 'rooms:' .. ARGV[5], rid)
redis.call('SADD', P .. 'node-rooms:' .. node, rid)
return 'OK'
"#,
    )
});

/// ARGV: P, node, epoch, rid, locked, metadata, capacity.
static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local node, epoch, rid = ARGV[2], ARGV[3], ARGV[4]
if not epoch_ok(node, epoch) then return 'FENCED' end
local key = P .. 'room:' .. rid
if redis.call('HGET', key, 'node') ~= node then return 'MISSING' end
redis.call('HSET', key, 'locked', ARGV[5], 'metadata', ARGV[6], 'capacity', ARGV[7])
return 'OK'
"#,
    )
});

/// ARGV: P, node, epoch, rid, taken. The owner's count of seats taken, written absolutely: the
/// owner is the only writer of `taken` (scripts it runs add to it), so its count is the truth.
static SET_TAKEN: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local node, epoch, rid = ARGV[2], ARGV[3], ARGV[4]
if not epoch_ok(node, epoch) then return 'FENCED' end
local key = P .. 'room:' .. rid
if redis.call('HGET', key, 'node') ~= node then return 'MISSING' end
redis.call('HSET', key, 'taken', ARGV[5])
return 'OK'
"#,
    )
});

/// ARGV: P, node, rid. Removes a room this node closed.
static REMOVE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local node, rid = ARGV[2], ARGV[3]
if redis.call('HGET', P .. 'room:' .. rid, 'node') ~= node then return 'MISSING' end
drop_room(rid)
return 'OK'
"#,
    )
});

/// ARGV: P, node, epoch, rid. Marks an empty room closing, so no join can be placed in it, unless
/// a seat is taken or reserved meanwhile (BUSY: keep it open).
static CLOSE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local node, epoch, rid = ARGV[2], ARGV[3], ARGV[4]
if not epoch_ok(node, epoch) then return 'FENCED' end
local key = P .. 'room:' .. rid
if redis.call('HGET', key, 'node') ~= node then return 'OK' end
if seats(key, now_ms()) > 0 then return 'BUSY' end
redis.call('HSET', key, 'closing', '1')
return 'OK'
"#,
    )
});

/// The seat-taking scripts share this: count the seat for `caller` (its own room) or reserve it
/// for a ticket (another node's room).
const SEAT: &str = r#"
local function seat(rid, owner, caller, ticket, ttl, now)
  local key = P .. 'room:' .. rid
  local f = redis.call('HMGET', key, 'state', 'game', 'options')
  if owner == caller then
    redis.call('HINCRBY', key, 'taken', 1)
    return {'LOCAL', rid, f[1], f[2], f[3] or ''}
  end
  redis.call('ZADD', key .. ':res', now + ttl, ticket)
  redis.call('SET', P .. 'ticket:' .. ticket, rid, 'PX', ttl)
  local url = cjson.decode(redis.call('HGET', P .. 'nodes', owner)).url
  return {'REMOTE', rid, url}
end
"#;

/// ARGV: P, caller, game, filter (JSON object), capacity, new rid, options, ticket, ttl_ms, mode
/// (`match` or `create`). Quick match: the fullest usable room of the game with a free seat whose
/// metadata holds the filter (lowest id among equals); else, and always for `create`, a new
/// pending room on the live node with the fewest rooms that is not at its room limit. A pending room made for a filtered quick
/// match starts with the filter as its metadata, so concurrent quick matches share it.
static PLACE: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{SEAT}{}",
        r#"
local caller, game, filter_json, capacity = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local new_rid, options, ticket, ttl, mode = ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9]), ARGV[10]
local now = now_ms()
local chosen, chosen_seats, owner
if mode == 'match' then
  local filter = cjson.decode(filter_json)
  for _, rid in ipairs(redis.call('SMEMBERS', P .. 'rooms:' .. game)) do
    local key = P .. 'room:' .. rid
    local f = redis.call('HMGET', key, 'node', 'capacity', 'locked', 'closing', 'metadata')
    if f[1] and usable(f[1]) and f[3] ~= '1' and f[4] ~= '1' then
      local n = seats(key, now)
      if n < tonumber(f[2]) then
        local ok = true
        if next(filter) ~= nil then
          local meta = cjson.decode(f[5] or '{}')
          for k, v in pairs(filter) do
            if meta[k] ~= v then ok = false break end
          end
        end
        if ok and (chosen == nil or n > chosen_seats
            or (n == chosen_seats and tonumber(rid) < tonumber(chosen))) then
          chosen, chosen_seats, owner = rid, n, f[1]
        end
      end
    end
  end
end
if chosen == nil then
  local best, best_load
  local ids = redis.call('HKEYS', P .. 'nodes')
  for _, id in ipairs(ids) do
    if usable(id) and not cjson.decode(redis.call('HGET', P .. 'nodes', id)).full then
      local load = redis.call('SCARD', P .. 'node-rooms:' .. id)
      if best == nil or load < best_load or (load == best_load and id < best) then
        best, best_load = id, load
      end
    end
  end
  if best == nil then return {'NONODES'} end
  local key = P .. 'room:' .. new_rid
  if redis.call('EXISTS', key) == 1 or redis.call('EXISTS', P .. 'gone:' .. new_rid) == 1 then
    return {'RETRY'}
  end
  redis.call('HSET', key, 'node', best, 'game', game, 'capacity', capacity, 'taken', '0',
    'locked', '0', 'closing', '0', 'metadata', filter_json, 'state', 'pending',
    'options', options, 'created', now)
  redis.call('SADD', P .. 'rooms:' .. game, new_rid)
  redis.call('SADD', P .. 'node-rooms:' .. best, new_rid)
  redis.call('ZADD', P .. 'pending', now, new_rid)
  chosen, owner = new_rid, best
end
return seat(chosen, owner, caller, ticket, ttl, now)
"#
    ))
});

/// ARGV: P, caller, rid, ticket, ttl_ms. A seat in one room, by id.
static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{SEAT}{}",
        r#"
local caller, rid, ticket, ttl = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local key = P .. 'room:' .. rid
local f = redis.call('HMGET', key, 'node', 'capacity', 'locked', 'closing')
if not f[1] then
  if redis.call('EXISTS', P .. 'gone:' .. rid) == 1 then return {'LOST'} end
  return {'NOTFOUND'}
end
if redis.call('EXISTS', P .. 'node:' .. f[1]) == 0 then return {'LOST'} end
if f[4] == '1' or not usable(f[1]) then return {'NOTFOUND'} end
if f[3] == '1' then return {'LOCKED'} end
local now = now_ms()
if seats(key, now) >= tonumber(f[2]) then return {'FULL'} end
return seat(rid, f[1], caller, ticket, ttl, now)
"#
    ))
});

/// ARGV: P, node, epoch, ticket. Turns a reservation into a seat taken on its owner (single use;
/// a ticket presented to another node is refused there and not spent).
static REDEEM: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local node, epoch, ticket = ARGV[2], ARGV[3], ARGV[4]
if not epoch_ok(node, epoch) then return {'FENCED'} end
local rid = redis.call('GET', P .. 'ticket:' .. ticket)
if not rid then return {'BADTICKET'} end
local key = P .. 'room:' .. rid
local f = redis.call('HMGET', key, 'node', 'state', 'game', 'options')
-- Presented to the wrong node: refused there, but still good at the right one.
if f[1] ~= node then return {'BADTICKET'} end
redis.call('DEL', P .. 'ticket:' .. ticket)
redis.call('ZREM', key .. ':res', ticket)
redis.call('HINCRBY', key, 'taken', 1)
return {'LOCAL', rid, f[2], f[3], f[4] or ''}
"#,
    )
});

/// ARGV: P, rid. Where a room lives, for a reconnect.
static LOCATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local rid = ARGV[2]
local owner = redis.call('HGET', P .. 'room:' .. rid, 'node')
if not owner then
  if redis.call('EXISTS', P .. 'gone:' .. rid) == 1 then return {'LOST'} end
  return {'NOTFOUND'}
end
if redis.call('EXISTS', P .. 'node:' .. owner) == 0 then return {'LOST'} end
return {'REMOTE', rid, cjson.decode(redis.call('HGET', P .. 'nodes', owner)).url, owner}
"#,
    )
});

/// ARGV: P, pending_ttl_ms, tombstone_ms. Drops every node whose lease lapsed, with its rooms
/// (leaving tombstones), and pending rooms nobody came to create. Answers the nodes dropped.
static REAP: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local pending_ttl, tombstone = tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local reaped = 0
for _, id in ipairs(redis.call('HKEYS', P .. 'nodes')) do
  if redis.call('EXISTS', P .. 'node:' .. id) == 0 then
    for _, rid in ipairs(redis.call('SMEMBERS', P .. 'node-rooms:' .. id)) do
      redis.call('SET', P .. 'gone:' .. rid, id, 'PX', tombstone)
      drop_room(rid)
    end
    redis.call('DEL', P .. 'node-rooms:' .. id)
    redis.call('HDEL', P .. 'nodes', id)
    reaped = reaped + 1
  end
end
for _, rid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'pending', '-inf', now - pending_ttl)) do
  local key = P .. 'room:' .. rid
  if redis.call('HGET', key, 'state') ~= 'pending' then
    redis.call('ZREM', P .. 'pending', rid)
  elseif seats(key, now) == 0 then
    drop_room(rid)
  end
end
return reaped
"#,
    )
});

/// ARGV: P, node, epoch, info. Marks the node draining and every room of it closing: no seat is
/// placed on it any more.
static DRAIN: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local node, epoch, info = ARGV[2], ARGV[3], ARGV[4]
if not epoch_ok(node, epoch) then return 'FENCED' end
redis.call('HSET', P .. 'nodes', node, info)
for _, rid in ipairs(redis.call('SMEMBERS', P .. 'node-rooms:' .. node)) do
  redis.call('HSET', P .. 'room:' .. rid, 'closing', '1')
end
return 'OK'
"#,
    )
});

/// ARGV: P, node, epoch. Leaves the cluster: the lease, the description and every room.
static DEREGISTER: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local node, epoch = ARGV[2], ARGV[3]
if not epoch_ok(node, epoch) then return 'FENCED' end
for _, rid in ipairs(redis.call('SMEMBERS', P .. 'node-rooms:' .. node)) do drop_room(rid) end
redis.call('DEL', P .. 'node-rooms:' .. node, P .. 'node:' .. node)
redis.call('HDEL', P .. 'nodes', node)
return 'OK'
"#,
    )
});

/// ARGV: P. Every room of every live node, one JSON object each.
static LIST: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = now_ms()
local out = {}
for _, id in ipairs(redis.call('HKEYS', P .. 'nodes')) do
  if redis.call('EXISTS', P .. 'node:' .. id) == 1 then
    local url = cjson.decode(redis.call('HGET', P .. 'nodes', id)).url
    for _, rid in ipairs(redis.call('SMEMBERS', P .. 'node-rooms:' .. id)) do
      local key = P .. 'room:' .. rid
      local f = redis.call('HMGET', key, 'game', 'capacity', 'taken', 'locked', 'closing',
        'state', 'metadata')
      if f[1] then
        redis.call('ZREMRANGEBYSCORE', key .. ':res', '-inf', now)
        table.insert(out, cjson.encode({id = tonumber(rid), node = id, url = url, game = f[1],
          capacity = tonumber(f[2]), taken = tonumber(f[3]),
          reserved = redis.call('ZCARD', key .. ':res'), locked = f[4] == '1',
          closing = f[5] == '1', state = f[6], metadata = f[7]}))
      end
    end
  end
end
return out
"#,
    )
});

/// The directory as one node uses it: a Redis connection that reconnects by itself, the node's
/// id and its current epoch.
#[derive(Clone)]
pub struct Directory {
    settings: Settings,
    conn: ConnectionManager,
}

/// A fresh random epoch.
pub fn new_epoch() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// A fresh ticket: 128 random bits, so it cannot be guessed within its few seconds.
pub fn new_ticket() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A fresh candidate id for a room (never 0); the script refuses it if it is taken.
pub fn new_room_id() -> RoomId {
    RoomId(rand::random::<u32>().max(1))
}

impl Directory {
    /// Connects to Redis at `url` (fails if it cannot be reached now; the caller retries).
    pub async fn connect(url: &str, settings: Settings) -> Result<Directory, DirectoryError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(settings.timeout)
            .set_response_timeout(settings.timeout)
            // The node retries on its own schedule (each upkeep round); a connect that backs off
            // inside would only delay the round.
            .set_number_of_retries(0)
            .set_max_delay(settings.timeout.as_millis().try_into().unwrap_or(u64::MAX));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Directory { settings, conn })
    }

    /// Whether Redis answers.
    pub async fn ping(&self) -> Result<(), DirectoryError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn invocation<'a>(&self, script: &'a Script) -> redis::ScriptInvocation<'a> {
        let mut inv = script.prepare_invoke();
        inv.arg(&self.settings.prefix);
        inv
    }

    fn lease_ms(&self) -> u64 {
        self.settings
            .lease
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX)
    }

    fn ttl_ms(&self) -> u64 {
        self.settings
            .ticket_ttl
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX)
    }

    /// Takes the lease under `epoch`, dropping what an earlier life of this node left.
    pub async fn register(&self, epoch: &str, info: &NodeInfo) -> Result<(), DirectoryError> {
        let mut inv = self.invocation(&REGISTER);
        inv.arg(&self.settings.node)
            .arg(epoch)
            .arg(self.lease_ms())
            .arg(json(info));
        let reply: String = inv.invoke_async(&mut self.conn.clone()).await?;
        expect_ok(&reply)
    }

    /// Renews the lease; `Fenced` if it lapsed. Answers every live node.
    pub async fn renew(
        &self,
        epoch: &str,
        info: &NodeInfo,
    ) -> Result<Vec<LiveNode>, DirectoryError> {
        let mut inv = self.invocation(&RENEW);
        inv.arg(&self.settings.node)
            .arg(epoch)
            .arg(self.lease_ms())
            .arg(json(info));
        let reply: Vec<String> = inv.invoke_async(&mut self.conn.clone()).await?;
        if reply.first().map(String::as_str) == Some("GONE") {
            return Err(DirectoryError::Fenced);
        }
        reply
            .chunks(3)
            .map(|triple| match triple {
                [id, rooms, url] => rooms
                    .parse()
                    .map(|rooms| LiveNode {
                        id: id.clone(),
                        rooms,
                        url: url.clone(),
                    })
                    .map_err(|_| DirectoryError::Reply(format!("room count {rooms}"))),
                _ => Err(DirectoryError::Reply(
                    "renew reply of the wrong length".into(),
                )),
            })
            .collect()
    }

    /// Publishes a room this node runs. `Ok(false)`: another live node owns that id (a clash of
    /// random ids after the directory was rebuilt); the room stays reachable here only.
    pub async fn publish(
        &self,
        epoch: &str,
        room: RoomId,
        record: &RoomRecord,
    ) -> Result<bool, DirectoryError> {
        let mut inv = self.invocation(&PUBLISH);
        inv.arg(&self.settings.node)
            .arg(epoch)
            .arg(room.0)
            .arg(&record.game)
            .arg(record.capacity)
            .arg(record.taken)
            .arg(u8::from(record.locked))
            .arg(metadata_json(&record.metadata));
        let reply: String = inv.invoke_async(&mut self.conn.clone()).await?;
        match reply.as_str() {
            "CONFLICT" => Ok(false),
            _ => expect_ok(&reply).map(|()| true),
        }
    }

    /// Lock, metadata and capacity of a room of this node changed.
    pub async fn update(
        &self,
        epoch: &str,
        room: RoomId,
        record: &RoomRecord,
    ) -> Result<(), DirectoryError> {
        let mut inv = self.invocation(&UPDATE);
        inv.arg(&self.settings.node)
            .arg(epoch)
            .arg(room.0)
            .arg(u8::from(record.locked))
            .arg(metadata_json(&record.metadata))
            .arg(record.capacity);
        let reply: String = inv.invoke_async(&mut self.conn.clone()).await?;
        expect_ok_or_missing(&reply)
    }

    /// The owner's count of seats taken in one of its rooms.
    pub async fn set_taken(
        &self,
        epoch: &str,
        room: RoomId,
        taken: u32,
    ) -> Result<(), DirectoryError> {
        let mut inv = self.invocation(&SET_TAKEN);
        inv.arg(&self.settings.node)
            .arg(epoch)
            .arg(room.0)
            .arg(taken);
        let reply: String = inv.invoke_async(&mut self.conn.clone()).await?;
        expect_ok_or_missing(&reply)
    }

    /// A room of this node closed.
    pub async fn remove(&self, room: RoomId) -> Result<(), DirectoryError> {
        let mut inv = self.invocation(&REMOVE);
        inv.arg(&self.settings.node).arg(room.0);
        let reply: String = inv.invoke_async(&mut self.conn.clone()).await?;
        expect_ok_or_missing(&reply)
    }

    /// Marks an empty room closing: `Ok(true)` if it may close, `Ok(false)` if a seat was taken
    /// or reserved in it meanwhile.
    pub async fn close(&self, epoch: &str, room: RoomId) -> Result<bool, DirectoryError> {
        let mut inv = self.invocation(&CLOSE);
        inv.arg(&self.settings.node).arg(epoch).arg(room.0);
        let reply: String = inv.invoke_async(&mut self.conn.clone()).await?;
        match reply.as_str() {
            "BUSY" => Ok(false),
            _ => expect_ok(&reply).map(|()| true),
        }
    }

    /// Places a seat for a quick match (`create` false) or in a new room (`create` true) of
    /// `game`; a new room gets `capacity` until its owner publishes the real one.
    pub async fn place(
        &self,
        game: &str,
        filter: &BTreeMap<String, String>,
        capacity: u32,
        options: Option<&rmpv::Value>,
        create: bool,
    ) -> Result<Result<Placement, Denial>, DirectoryError> {
        // A random id can clash with a live room; the script says so and another is drawn.
        for _ in 0..8 {
            let room = new_room_id();
            let ticket = new_ticket();
            let mut inv = self.invocation(&PLACE);
            inv.arg(&self.settings.node)
                .arg(game)
                .arg(metadata_json(filter))
                .arg(capacity)
                .arg(room.0)
                .arg(encode_options(options))
                .arg(&ticket)
                .arg(self.ttl_ms())
                .arg(if create { "create" } else { "match" });
            let reply: Vec<redis::Value> = inv.invoke_async(&mut self.conn.clone()).await?;
            match parse_seat(&reply, ticket)? {
                Answer::Retry => continue,
                Answer::Seat(result) => return Ok(result),
            }
        }
        Err(DirectoryError::Reply(
            "no free room id after 8 draws".into(),
        ))
    }

    /// Places a seat in room `room`.
    pub async fn reserve(&self, room: RoomId) -> Result<Result<Placement, Denial>, DirectoryError> {
        let ticket = new_ticket();
        let mut inv = self.invocation(&RESERVE);
        inv.arg(&self.settings.node)
            .arg(room.0)
            .arg(&ticket)
            .arg(self.ttl_ms());
        let reply: Vec<redis::Value> = inv.invoke_async(&mut self.conn.clone()).await?;
        match parse_seat(&reply, ticket)? {
            Answer::Retry => Err(DirectoryError::Reply("RETRY from reserve".into())),
            Answer::Seat(result) => Ok(result),
        }
    }

    /// Redeems a ticket presented to this node: the seat is now counted as taken here.
    pub async fn redeem(
        &self,
        epoch: &str,
        ticket: &str,
    ) -> Result<Result<Placement, Denial>, DirectoryError> {
        let mut inv = self.invocation(&REDEEM);
        inv.arg(&self.settings.node).arg(epoch).arg(ticket);
        let reply: Vec<redis::Value> = inv.invoke_async(&mut self.conn.clone()).await?;
        match parse_seat(&reply, String::new())? {
            Answer::Retry => Err(DirectoryError::Reply("RETRY from redeem".into())),
            Answer::Seat(result) => Ok(result),
        }
    }

    /// The URL of the node that runs `room`, and the node's id.
    pub async fn locate(
        &self,
        room: RoomId,
    ) -> Result<Result<(String, String), Denial>, DirectoryError> {
        let mut inv = self.invocation(&LOCATE);
        inv.arg(room.0);
        let reply: Vec<redis::Value> = inv.invoke_async(&mut self.conn.clone()).await?;
        let words = strings(&reply)?;
        match words.first().map(String::as_str) {
            Some("REMOTE") if words.len() == 4 => Ok(Ok((words[2].clone(), words[3].clone()))),
            Some(other) => refusal(other).map(Err),
            None => Err(DirectoryError::Reply("empty reply from locate".into())),
        }
    }

    /// Drops nodes whose lease lapsed and pending rooms nobody created; answers how many nodes.
    pub async fn reap(&self) -> Result<u64, DirectoryError> {
        let mut inv = self.invocation(&REAP);
        inv.arg(self.ttl_ms().saturating_mul(2)).arg(TOMBSTONE_MS);
        Ok(inv.invoke_async(&mut self.conn.clone()).await?)
    }

    /// Stops taking seats: the node is draining and its rooms closing.
    pub async fn drain(&self, epoch: &str, info: &NodeInfo) -> Result<(), DirectoryError> {
        let mut inv = self.invocation(&DRAIN);
        inv.arg(&self.settings.node).arg(epoch).arg(json(info));
        let reply: String = inv.invoke_async(&mut self.conn.clone()).await?;
        expect_ok(&reply)
    }

    /// Leaves the cluster.
    pub async fn deregister(&self, epoch: &str) -> Result<(), DirectoryError> {
        let mut inv = self.invocation(&DEREGISTER);
        inv.arg(&self.settings.node).arg(epoch);
        let reply: String = inv.invoke_async(&mut self.conn.clone()).await?;
        expect_ok(&reply)
    }

    /// Every room of every live node.
    pub async fn list(&self) -> Result<Vec<ListedRoom>, DirectoryError> {
        let inv = self.invocation(&LIST);
        let reply: Vec<String> = inv.invoke_async(&mut self.conn.clone()).await?;
        reply.iter().map(|room| parse_listed(room)).collect()
    }
}

fn json(info: &NodeInfo) -> String {
    // A struct of strings, numbers and bools always serializes.
    serde_json::to_string(info).expect("NodeInfo serializes")
}

/// Metadata as a JSON object (cjson reads it in the scripts).
fn metadata_json(map: &BTreeMap<String, String>) -> String {
    // A map of strings always serializes.
    serde_json::to_string(map).expect("a string map serializes")
}

fn encode_options(options: Option<&rmpv::Value>) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(options) = options {
        // Writing to a Vec cannot fail.
        rmpv::encode::write_value(&mut bytes, options).expect("writing to a Vec");
    }
    bytes
}

fn decode_options(bytes: &[u8]) -> Result<Option<rmpv::Value>, DirectoryError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    rmpv::decode::read_value(&mut &bytes[..])
        .map(Some)
        .map_err(|e| DirectoryError::Reply(format!("stored options do not decode: {e}")))
}

fn expect_ok(reply: &str) -> Result<(), DirectoryError> {
    match reply {
        "OK" => Ok(()),
        "FENCED" => Err(DirectoryError::Fenced),
        other => Err(DirectoryError::Reply(other.to_owned())),
    }
}

fn expect_ok_or_missing(reply: &str) -> Result<(), DirectoryError> {
    match reply {
        "MISSING" => Ok(()),
        other => expect_ok(other),
    }
}

enum Answer {
    Retry,
    Seat(Result<Placement, Denial>),
}

/// The bulk strings of a script reply, as bytes (options are binary).
fn bulks(reply: &[redis::Value]) -> Result<Vec<Vec<u8>>, DirectoryError> {
    reply
        .iter()
        .map(|v| match v {
            redis::Value::BulkString(b) => Ok(b.clone()),
            redis::Value::SimpleString(s) => Ok(s.clone().into_bytes()),
            redis::Value::Int(i) => Ok(i.to_string().into_bytes()),
            other => Err(DirectoryError::Reply(format!(
                "unexpected element {other:?}"
            ))),
        })
        .collect()
}

fn strings(reply: &[redis::Value]) -> Result<Vec<String>, DirectoryError> {
    Ok(bulks(reply)?
        .into_iter()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect())
}

fn refusal(word: &str) -> Result<Denial, DirectoryError> {
    Ok(match word {
        "NOTFOUND" => Denial::NotFound,
        "LOST" => Denial::Lost,
        "LOCKED" => Denial::Locked,
        "FULL" => Denial::Full,
        "BADTICKET" => Denial::BadTicket,
        "NONODES" => Denial::NoNodes,
        "FENCED" => return Err(DirectoryError::Fenced),
        other => return Err(DirectoryError::Reply(other.to_owned())),
    })
}

fn parse_room(word: &[u8]) -> Result<RoomId, DirectoryError> {
    std::str::from_utf8(word)
        .ok()
        .and_then(|s| s.parse().ok())
        .map(RoomId)
        .ok_or_else(|| DirectoryError::Reply("a room id that is not a number".into()))
}

/// `LOCAL rid state game options` | `REMOTE rid url` (for `ticket`, which the caller drew) | a
/// refusal word.
fn parse_seat(reply: &[redis::Value], ticket: String) -> Result<Answer, DirectoryError> {
    let parts = bulks(reply)?;
    let word = parts
        .first()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .unwrap_or_default();
    match (word.as_str(), parts.len()) {
        ("RETRY", _) => Ok(Answer::Retry),
        ("LOCAL", 5) => {
            let room = parse_room(&parts[1])?;
            let pending = (parts[2] == b"pending")
                .then(|| {
                    Ok::<_, DirectoryError>(Pending {
                        game: String::from_utf8_lossy(&parts[3]).into_owned(),
                        options: decode_options(&parts[4])?,
                    })
                })
                .transpose()?;
            Ok(Answer::Seat(Ok(Placement::Local { room, pending })))
        }
        ("REMOTE", 3) => {
            let room = parse_room(&parts[1])?;
            Ok(Answer::Seat(Ok(Placement::Remote {
                room,
                url: String::from_utf8_lossy(&parts[2]).into_owned(),
                ticket,
            })))
        }
        (other, _) => refusal(other).map(|r| Answer::Seat(Err(r))),
    }
}

/// A listed room; metadata comes as a JSON string inside the object.
fn parse_listed(text: &str) -> Result<ListedRoom, DirectoryError> {
    #[derive(Deserialize)]
    struct Raw {
        id: u32,
        node: String,
        url: String,
        game: String,
        capacity: u32,
        taken: u32,
        reserved: u32,
        locked: bool,
        closing: bool,
        state: String,
        metadata: String,
    }
    let raw: Raw = serde_json::from_str(text)
        .map_err(|e| DirectoryError::Reply(format!("listed room {text}: {e}")))?;
    // cjson writes an empty table as {}, which is the empty map we want.
    let metadata = serde_json::from_str(&raw.metadata).unwrap_or_default();
    Ok(ListedRoom {
        id: RoomId(raw.id),
        node: raw.node,
        url: raw.url,
        game: raw.game,
        capacity: raw.capacity,
        taken: raw.taken,
        reserved: raw.reserved,
        locked: raw.locked,
        closing: raw.closing,
        state: raw.state,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::Value as R;

    fn bulk(s: &[u8]) -> R {
        R::BulkString(s.to_vec())
    }

    #[test]
    fn seat_replies_parse() {
        let options = rmpv::Value::Map(vec![("size".into(), 3.into())]);
        let local = [
            bulk(b"LOCAL"),
            bulk(b"42"),
            bulk(b"pending"),
            bulk(b"arena"),
            bulk(&encode_options(Some(&options))),
        ];
        let Answer::Seat(Ok(placement)) = parse_seat(&local, String::new()).unwrap() else {
            panic!("a local seat");
        };
        let pending = Pending {
            game: "arena".into(),
            options: Some(options),
        };
        assert_eq!(
            placement,
            Placement::Local {
                room: RoomId(42),
                pending: Some(pending)
            }
        );
        let open = [
            bulk(b"LOCAL"),
            bulk(b"7"),
            bulk(b"open"),
            bulk(b"arena"),
            bulk(b""),
        ];
        assert!(matches!(
            parse_seat(&open, String::new()).unwrap(),
            Answer::Seat(Ok(Placement::Local {
                room: RoomId(7),
                pending: None
            }))
        ));
        let remote = [bulk(b"REMOTE"), bulk(b"7"), bulk(b"ws://b:1/ws")];
        let Answer::Seat(Ok(Placement::Remote { room, url, ticket })) =
            parse_seat(&remote, "t".into()).unwrap()
        else {
            panic!("a remote seat");
        };
        assert_eq!(
            (room, url.as_str(), ticket.as_str()),
            (RoomId(7), "ws://b:1/ws", "t")
        );
        for (word, denial) in [
            ("FULL", Denial::Full),
            ("LOCKED", Denial::Locked),
            ("LOST", Denial::Lost),
            ("NOTFOUND", Denial::NotFound),
            ("BADTICKET", Denial::BadTicket),
            ("NONODES", Denial::NoNodes),
        ] {
            assert!(matches!(
                parse_seat(&[bulk(word.as_bytes())], String::new()).unwrap(),
                Answer::Seat(Err(d)) if d == denial
            ));
        }
        assert!(matches!(
            parse_seat(&[bulk(b"RETRY")], String::new()).unwrap(),
            Answer::Retry
        ));
        assert!(matches!(
            parse_seat(&[bulk(b"FENCED")], String::new()),
            Err(DirectoryError::Fenced)
        ));
        assert!(parse_seat(&[bulk(b"LOCAL"), bulk(b"x")], String::new()).is_err());
    }

    #[test]
    fn listed_rooms_parse_with_empty_metadata_as_cjson_writes_it() {
        let text = r#"{"id":5,"node":"a","url":"ws://a:1/ws","game":"arena","capacity":50,"taken":3,"reserved":1,"locked":false,"closing":false,"state":"open","metadata":"{}"}"#;
        let room = parse_listed(text).unwrap();
        assert_eq!((room.id, room.taken, room.reserved), (RoomId(5), 3, 1));
        assert!(room.metadata.is_empty());
        let text = text.replace(
            r#""metadata":"{}""#,
            r#""metadata":"{\"mode\":\"ranked\"}""#,
        );
        assert_eq!(parse_listed(&text).unwrap().metadata["mode"], "ranked");
    }

    #[test]
    fn tickets_and_room_ids_are_fresh() {
        assert_ne!(new_ticket(), new_ticket());
        assert_eq!(new_ticket().len(), 32);
        assert!((0..1000).all(|_| new_room_id().0 != 0));
    }
}
