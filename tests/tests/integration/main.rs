//! Every integration test of tickroom, in one binary (one link, parallel tests).
//!
//! Each module covers one area; every test starts its own server on a free loopback port.

mod bad_input;
mod bindings;
mod bots_smoke;
mod golden;
mod hardening;
mod join;
mod replica;
mod rooms;
mod slow_consumer;
mod tls;
