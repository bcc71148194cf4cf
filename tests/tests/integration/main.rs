//! Every integration test of tickroom, in one binary (one link, parallel tests).
//!
//! Each module covers one area; every test starts its own server on a free loopback port.

mod admin;
mod agones;
mod bad_input;
mod budgets;
mod bundled;
mod close_handshake;
mod cluster;
mod commands;
mod control_traffic;
mod deadlines;
mod hardening;
mod join;
mod on_change;
mod operator;
mod replays;
mod replica;
mod room_end;
mod rooms;
mod slow_consumer;
mod spectators;
mod tls;
mod visibility;
mod web_client;
