//! Per-address budgets as plain code: how many open rooms one client IP created, how fast it may
//! create more, and how many seats it holds. Time is passed in (`now`), so every rule is tested
//! without sockets or sleeps; the lobby only calls these methods.
//!
//! Why per address, on top of the connection cap: one connection can create room after room
//! (each join that fails or leaves frees the connection for the next), and a seat held for a
//! reconnect outlives its connection. Without these budgets one address took every room of
//! `--max-rooms`, or held seats by the thousand with two sockets at a time (issue 9).
//!
//! What counts:
//! - a **room** counts against the address whose join created it (a create, or a quick match
//!   that found no room), from its creation until the lobby forgets it (closed idle, ended, or
//!   failed);
//! - a **creation** takes one token from the address's bucket whether or not the room then
//!   seats anyone, so creating and abandoning rooms in a loop is bounded by the rate;
//! - a **seat** counts against the address whose join the lobby routed, from the moment it is
//!   routed (a join in flight) while it is taken and while it is held for a reconnect, until the
//!   room frees it or closes. A seat resumed with its token from another address still counts
//!   against the address that took it: a resume never needs budget, so a player whose phone
//!   switched networks gets back in even when the new address is at its limit.
//!
//! Behind a reverse proxy every client shares the proxy's address: raise or disable the limits
//! there. A connection without a known peer address is neither counted nor limited.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tickroom_shared::RoomId;

/// The limits, each per client IP address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most open rooms created from one address (0 = no limit).
    pub rooms: u32,
    /// Most seats one address holds: taken, held for a reconnect, or promised to a join in
    /// flight (0 = no limit).
    pub seats: u32,
    /// Room creations per minute, on average (0 = no limit).
    pub creates_per_minute: u32,
    /// Creations allowed at once before the rate applies (taken as 1 when 0).
    pub create_burst: u32,
}

impl Limits {
    /// No limit at all.
    pub const NONE: Limits = Limits {
        rooms: 0,
        seats: 0,
        creates_per_minute: 0,
        create_burst: 1,
    };
}

/// Why an address may not have what it asked for. Shown to the client as the error's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exceeded {
    /// The address has `limit` open rooms it created.
    Rooms {
        /// [`Limits::rooms`].
        limit: u32,
    },
    /// The address created rooms faster than its creation budget allows.
    Creations {
        /// When the next creation would be allowed, from now.
        retry_after: Duration,
    },
    /// The address holds `limit` seats.
    Seats {
        /// [`Limits::seats`].
        limit: u32,
    },
}

impl Exceeded {
    /// The label used in metrics (`tickroom_joins_refused_total{reason}`).
    pub fn label(self) -> &'static str {
        match self {
            Exceeded::Rooms { .. } => "ip_rooms",
            Exceeded::Creations { .. } => "ip_creates",
            Exceeded::Seats { .. } => "ip_seats",
        }
    }
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exceeded::Rooms { limit } => write!(
                f,
                "your address already has {limit} open rooms it created (the most per address); \
                 join one or wait until one closes"
            ),
            Exceeded::Creations { retry_after } => {
                // Rounded up: a client that waits the number it was told is not refused again.
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                write!(
                    f,
                    "your address creates rooms too fast; try again in {} s",
                    secs.max(1)
                )
            }
            Exceeded::Seats { limit } => write!(
                f,
                "your address already holds {limit} seats, counting seats held for reconnects \
                 (the most per address); leave one or wait for held seats to expire"
            ),
        }
    }
}

/// What one address holds.
#[derive(Debug, Default)]
struct Usage {
    /// Open rooms it created.
    rooms: u32,
    /// Seats it holds, in every room.
    seats: u32,
    /// The creation bucket (GCRA): the time at which the bucket is full again. `None` (or a time
    /// already past) is a full bucket.
    refilled_at: Option<Instant>,
}

impl Usage {
    fn idle(&self, now: Instant) -> bool {
        self.rooms == 0 && self.seats == 0 && self.refilled_at.is_none_or(|t| t <= now)
    }
}

/// What the budgets know of one open room, so that closing it gives everything back.
#[derive(Debug, Default)]
struct Ledger {
    /// The address whose join created it.
    creator: Option<IpAddr>,
    /// Seats counted in this room, per address.
    seats: HashMap<IpAddr, u32>,
}

/// Every address's rooms, creations and seats.
#[derive(Debug)]
pub struct Budgets {
    limits: Limits,
    usage: HashMap<IpAddr, Usage>,
    rooms: HashMap<RoomId, Ledger>,
}

impl Budgets {
    /// Empty budgets under `limits`.
    pub fn new(limits: Limits) -> Budgets {
        Budgets {
            limits,
            usage: HashMap::new(),
            rooms: HashMap::new(),
        }
    }

    /// May `ip` take one more seat? Checked before a join is routed (a resume with a token
    /// needs none: its seat is already counted).
    pub fn check_seat(&self, ip: Option<IpAddr>) -> Result<(), Exceeded> {
        let (Some(ip), limit @ 1..) = (ip, self.limits.seats) else {
            return Ok(());
        };
        match self.usage.get(&ip) {
            Some(u) if u.seats >= limit => Err(Exceeded::Seats { limit }),
            _ => Ok(()),
        }
    }

    /// May `ip` create a room at `now`? If so, one creation is taken from its bucket (whatever
    /// becomes of the room); [`Budgets::room_opened`] then counts the room itself.
    pub fn check_create(&mut self, ip: Option<IpAddr>, now: Instant) -> Result<(), Exceeded> {
        let Some(ip) = ip else { return Ok(()) };
        let limits = self.limits;
        let usage = self.usage.entry(ip).or_default();
        if limits.rooms > 0 && usage.rooms >= limits.rooms {
            return Err(Exceeded::Rooms {
                limit: limits.rooms,
            });
        }
        if limits.creates_per_minute == 0 {
            return Ok(());
        }
        // GCRA: each creation pushes the refill time one interval further; a creation is allowed
        // while the refill time is at most `burst - 1` intervals ahead of now.
        let interval = Duration::from_secs(60) / limits.creates_per_minute;
        let tolerance = interval * limits.create_burst.max(1).saturating_sub(1);
        let refilled_at = usage.refilled_at.map_or(now, |t| t.max(now));
        let allowed_until = now.checked_add(tolerance).unwrap_or(refilled_at);
        if refilled_at > allowed_until {
            return Err(Exceeded::Creations {
                retry_after: refilled_at - allowed_until,
            });
        }
        usage.refilled_at = Some(refilled_at + interval);
        Ok(())
    }

    /// `room` was created by a join from `ip`.
    pub fn room_opened(&mut self, room: RoomId, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            self.usage.entry(ip).or_default().rooms += 1;
        }
        self.rooms.insert(
            room,
            Ledger {
                creator: ip,
                seats: HashMap::new(),
            },
        );
    }

    /// The lobby forgot `room`: its creator's room and every seat counted in it are given back.
    /// Seats freed later for this room are ignored.
    pub fn room_closed(&mut self, room: RoomId) {
        let Some(ledger) = self.rooms.remove(&room) else {
            return;
        };
        if let Some(u) = ledger.creator.and_then(|ip| self.usage.get_mut(&ip)) {
            u.rooms = u.rooms.saturating_sub(1);
        }
        for (ip, n) in ledger.seats {
            if let Some(u) = self.usage.get_mut(&ip) {
                u.seats = u.seats.saturating_sub(n);
            }
        }
    }

    /// A join from `ip` was routed to `room` (which must be open: see [`Budgets::room_opened`]).
    pub fn seat_taken(&mut self, room: RoomId, ip: Option<IpAddr>) {
        let (Some(ip), Some(ledger)) = (ip, self.rooms.get_mut(&room)) else {
            return;
        };
        *ledger.seats.entry(ip).or_default() += 1;
        self.usage.entry(ip).or_default().seats += 1;
    }

    /// `room` freed a seat counted against `ip` (a leave, an expired hold, a kick, a failed or
    /// bounced join). Ignored for a room already closed, whose seats were all given back.
    pub fn seat_freed(&mut self, room: RoomId, ip: Option<IpAddr>) {
        let (Some(ip), Some(ledger)) = (ip, self.rooms.get_mut(&room)) else {
            return;
        };
        let Some(n) = ledger.seats.get_mut(&ip) else {
            return;
        };
        *n -= 1;
        if *n == 0 {
            ledger.seats.remove(&ip);
        }
        if let Some(u) = self.usage.get_mut(&ip) {
            u.seats = u.seats.saturating_sub(1);
        }
    }

    /// Forgets addresses that hold nothing and whose creation bucket is full again at `now`, so
    /// the table does not grow with every address ever seen.
    pub fn prune(&mut self, now: Instant) {
        self.usage.retain(|_, u| !u.idle(now));
    }

    /// Open rooms created by `ip`.
    pub fn rooms_of(&self, ip: IpAddr) -> u32 {
        self.usage.get(&ip).map_or(0, |u| u.rooms)
    }

    /// Seats counted against `ip`.
    pub fn seats_of(&self, ip: IpAddr) -> u32 {
        self.usage.get(&ip).map_or(0, |u| u.seats)
    }

    /// Addresses remembered (for tests of [`Budgets::prune`]).
    pub fn addresses(&self) -> usize {
        self.usage.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    fn ip(addr: Option<IpAddr>) -> IpAddr {
        addr.expect("test addresses are Some")
    }

    fn limits(rooms: u32, seats: u32, per_minute: u32, burst: u32) -> Limits {
        Limits {
            rooms,
            seats,
            creates_per_minute: per_minute,
            create_burst: burst,
        }
    }

    /// Creates room `id` from `addr` at `now`, as the lobby does.
    fn create(
        b: &mut Budgets,
        id: u32,
        addr: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), Exceeded> {
        b.check_create(addr, now)?;
        b.room_opened(RoomId(id), addr);
        b.seat_taken(RoomId(id), addr);
        Ok(())
    }

    #[test]
    fn open_rooms_are_capped_per_address_and_a_closed_room_gives_its_place_back() {
        let now = Instant::now();
        let mut b = Budgets::new(limits(2, 0, 0, 1));
        create(&mut b, 1, A, now).expect("first room");
        create(&mut b, 2, A, now).expect("second room");
        assert_eq!(create(&mut b, 3, A, now), Err(Exceeded::Rooms { limit: 2 }));
        create(&mut b, 3, B, now).expect("another address has its own budget");
        b.room_closed(RoomId(1));
        assert_eq!(b.rooms_of(ip(A)), 1);
        create(&mut b, 4, A, now).expect("a closed room frees budget");
    }

    #[test]
    fn creations_follow_the_rate_with_a_burst() {
        let t0 = Instant::now();
        // 6 per minute: one every 10 s, 3 at once.
        let mut b = Budgets::new(limits(0, 0, 6, 3));
        for id in 1..=3 {
            create(&mut b, id, A, t0).expect("within the burst");
        }
        assert_eq!(
            b.check_create(A, t0),
            Err(Exceeded::Creations {
                retry_after: Duration::from_secs(10)
            })
        );
        b.check_create(B, t0)
            .expect("another address has its own bucket");
        // Closing rooms does not give creations back: only time does.
        for id in 1..=3 {
            b.room_closed(RoomId(id));
        }
        assert!(b.check_create(A, t0 + Duration::from_secs(9)).is_err());
        b.check_create(A, t0 + Duration::from_secs(10))
            .expect("one interval later, one more");
        assert!(b.check_create(A, t0 + Duration::from_secs(10)).is_err());
        // A long pause refills the burst, no more.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            b.check_create(A, later).expect("the burst again");
        }
        assert!(b.check_create(A, later).is_err());
    }

    #[test]
    fn the_creation_refusal_says_when_to_try_again_rounded_up() {
        let t0 = Instant::now();
        // 7 per minute: one every 8.57 s.
        let mut b = Budgets::new(limits(0, 0, 7, 1));
        b.check_create(A, t0).expect("the burst");
        let refusal = b.check_create(A, t0).expect_err("over the rate");
        assert_eq!(refusal.label(), "ip_creates");
        assert!(
            refusal.to_string().ends_with("try again in 9 s"),
            "{refusal}"
        );
    }

    #[test]
    fn a_refused_creation_takes_no_token() {
        let t0 = Instant::now();
        let mut b = Budgets::new(limits(1, 0, 6, 2));
        create(&mut b, 1, A, t0).expect("first");
        assert_eq!(b.check_create(A, t0), Err(Exceeded::Rooms { limit: 1 }));
        b.room_closed(RoomId(1));
        // The refusal above did not spend the burst's second token.
        create(&mut b, 2, A, t0).expect("the second token is still there");
    }

    #[test]
    fn seats_count_until_freed_or_their_room_closes() {
        let now = Instant::now();
        let mut b = Budgets::new(limits(0, 3, 0, 1));
        create(&mut b, 1, B, now).expect("B's room");
        for _ in 0..3 {
            b.check_seat(A).expect("under the limit");
            b.seat_taken(RoomId(1), A);
        }
        // Held seats are simply seats the room has not freed: they keep counting.
        assert_eq!(b.check_seat(A), Err(Exceeded::Seats { limit: 3 }));
        b.check_seat(B).expect("B holds one seat");
        b.seat_freed(RoomId(1), A);
        b.check_seat(A).expect("a freed seat gives its place back");
        b.seat_taken(RoomId(1), A);
        // The room closing (its game ended) frees every seat in it, of every address.
        b.room_closed(RoomId(1));
        assert_eq!((b.seats_of(ip(A)), b.seats_of(ip(B))), (0, 0));
        // A late SeatFreed from the closed room does not free a seat elsewhere.
        create(&mut b, 2, A, now).expect("A's room");
        b.seat_freed(RoomId(1), A);
        assert_eq!(b.seats_of(ip(A)), 1);
    }

    #[test]
    fn a_bounced_join_is_freed_in_one_room_and_taken_in_another() {
        let now = Instant::now();
        let mut b = Budgets::new(limits(0, 1, 0, 1));
        create(&mut b, 1, B, now).expect("room 1");
        create(&mut b, 2, B, now).expect("room 2");
        b.check_seat(A).expect("A holds nothing");
        b.seat_taken(RoomId(1), A);
        // Room 1 locked before the join arrived: the lobby frees it there and routes it again.
        b.seat_freed(RoomId(1), A);
        b.check_seat(A)
            .expect("the bounced join's own seat is not counted twice");
        b.seat_taken(RoomId(2), A);
        assert_eq!(b.seats_of(ip(A)), 1);
    }

    #[test]
    fn freeing_more_than_was_taken_never_underflows() {
        let now = Instant::now();
        let mut b = Budgets::new(limits(0, 2, 0, 1));
        create(&mut b, 1, A, now).expect("room");
        b.seat_freed(RoomId(1), A);
        b.seat_freed(RoomId(1), A);
        b.seat_freed(RoomId(1), B);
        assert_eq!(b.seats_of(ip(A)), 0);
        b.check_seat(A).expect("nothing held");
    }

    #[test]
    fn zero_means_no_limit_and_an_unknown_address_is_never_limited() {
        let now = Instant::now();
        let mut b = Budgets::new(Limits::NONE);
        for id in 1..=1000 {
            create(&mut b, id, A, now).expect("no limit");
        }
        b.check_seat(A).expect("no seat limit");
        let mut b = Budgets::new(limits(1, 1, 1, 1));
        for id in 1..=10 {
            create(&mut b, id, None, now).expect("no address, no budget");
            b.check_seat(None).expect("no address, no budget");
        }
        assert_eq!(b.addresses(), 0);
    }

    #[test]
    fn prune_forgets_only_addresses_that_hold_nothing_and_have_a_full_bucket() {
        let t0 = Instant::now();
        let mut b = Budgets::new(limits(0, 0, 60, 1));
        create(&mut b, 1, A, t0).expect("A creates");
        create(&mut b, 2, B, t0).expect("B creates");
        b.room_closed(RoomId(2));
        b.prune(t0);
        assert_eq!(b.addresses(), 2, "B's bucket is not full yet");
        b.prune(t0 + Duration::from_secs(1));
        assert_eq!(b.addresses(), 1, "B is forgotten; A still holds a room");
        assert_eq!(b.rooms_of(ip(A)), 1);
    }
}
