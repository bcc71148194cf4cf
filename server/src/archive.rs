//! The `--record` folder over HTTP: `GET /api/replays` lists the recordings, and
//! `GET /api/replays/{name}` serves one as a spectator's playback stream (PROTOCOL.md,
//! "Replays"), which the web client plays with the game's own renderer.
//!
//! Public like `/api/rooms`: a playback holds only what a spectator sees (never a player's
//! private scope), and the raw files, which hold every input, are not served. The work is
//! bounded: names are checked before they touch the disk (no path leaves the folder), files
//! above [`MAX_FILE_BYTES`] and recordings above [`MAX_TICKS`] are refused, reading and
//! re-simulating run on the blocking pool (never on an HTTP worker), at most
//! [`MAX_PLAYBACKS_BUILDING`] at once (others get 503), and the last few streams and every
//! listing are cached by file size and modification time.

use crate::recording::{valid_name, Recording, Tail};
use crate::registry::Games;
use crate::replay::{PlaybackLimits, ReplayError};
use crate::AppState;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use bytes::Bytes;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// Largest recording served, bytes (about an hour of a busy 50-player arena room).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Most ticks a playback re-simulates: an hour at 30 Hz.
pub const MAX_TICKS: u64 = 108_000;

/// Most recordings listed (the newest).
pub const MAX_LISTED: usize = 200;

/// Playback streams built at once; more requests meanwhile get 503.
pub const MAX_PLAYBACKS_BUILDING: usize = 2;

/// Playback streams kept in memory.
const CACHED_STREAMS: usize = 4;

/// Seconds of play between keyframes of a playback (what a seek replays at most).
const KEYFRAME_SECS: u64 = 5;

/// A recording in `GET /api/replays`.
#[derive(Clone, Debug, Serialize)]
pub struct Listing {
    /// The file name (the `{name}` of its playback).
    pub name: String,
    /// The game.
    pub game: String,
    /// The room's id.
    pub room: u32,
    /// Ticks recorded.
    pub ticks: u64,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Seconds of play.
    pub duration_secs: f64,
    /// Bytes of the file.
    pub size: u64,
    /// When the room started, milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// The room closed and the file was finished (false: still recording, or cut short).
    pub complete: bool,
}

/// What the file's identity is for the caches: its size and modification time.
type Stamp = (u64, Option<SystemTime>);

/// The recordings folder and its caches, part of the app state.
pub struct Archive {
    dir: Option<PathBuf>,
    listings: Mutex<HashMap<String, (Stamp, Option<Listing>)>>,
    streams: Mutex<Vec<(String, Stamp, Bytes)>>,
    building: tokio::sync::Semaphore,
}

impl Archive {
    /// The archive of `dir` (`None`: the server records nothing, and lists nothing).
    pub fn new(dir: Option<PathBuf>) -> Archive {
        Archive {
            dir,
            listings: Mutex::default(),
            streams: Mutex::default(),
            building: tokio::sync::Semaphore::new(MAX_PLAYBACKS_BUILDING),
        }
    }
}

fn stamp(meta: &std::fs::Metadata) -> Stamp {
    (meta.len(), meta.modified().ok())
}

/// Reads the summary of one file; `None` for a file that is not a readable recording.
fn summarize(name: &str, path: &Path, size: u64) -> Option<Listing> {
    if size > MAX_FILE_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let recording = Recording::parse(&bytes).ok()?;
    let summary = recording.summary().ok()?;
    let h = &recording.header;
    Some(Listing {
        name: name.to_owned(),
        game: h.game.clone(),
        room: h.room,
        ticks: summary.ticks,
        tick_rate: h.hz(),
        duration_secs: summary.ticks as f64 / f64::from(h.hz()),
        size,
        started_ms: h.started_ms,
        complete: summary.tail == Tail::Ended,
    })
}

/// Lists the folder (newest first), reading only files that changed since the last listing.
fn list(archive: &Archive) -> std::io::Result<Vec<Listing>> {
    let Some(dir) = &archive.dir else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        // Nothing recorded yet: the folder is created with the first room.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !valid_name(&name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            files.push((name, stamp(&meta)));
        }
    }
    // Newest first; the cap keeps a folder of thousands from costing a read of each.
    files.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then_with(|| a.0.cmp(&b.0)));
    files.truncate(MAX_LISTED);
    let mut cache = archive
        .listings
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (name, stamp) in files {
        let listing = match cache.get(&name) {
            Some((s, listing)) if *s == stamp => listing.clone(),
            _ => summarize(&name, &dir.join(&name), stamp.0),
        };
        out.extend(listing.clone());
        seen.insert(name, (stamp, listing));
    }
    *cache = seen;
    Ok(out)
}

/// `GET /api/replays`: the recordings, newest first (an empty list without `--record`).
pub async fn index(state: web::Data<AppState>) -> actix_web::Result<HttpResponse> {
    let state = state.into_inner();
    let listings = web::block(move || list(&state.archive))
        .await?
        .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(crate::api::json_response(crate::api::json(&listings)?))
}

/// Why a playback is not served.
#[derive(Debug, thiserror::Error)]
enum Unavailable {
    #[error("the server records nothing (no --record)")]
    NotRecording,
    #[error("not a recording's name")]
    BadName,
    #[error("no such recording")]
    NotFound,
    #[error("the recording is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Replay(ReplayError),
    #[error("cannot read the recording: {0}")]
    Io(std::io::Error),
    #[error("busy building other replays; try again in a moment")]
    Busy,
}

impl Unavailable {
    fn response(&self) -> HttpResponse {
        let mut b = match self {
            Unavailable::NotRecording | Unavailable::NotFound => HttpResponse::NotFound(),
            Unavailable::BadName => HttpResponse::BadRequest(),
            Unavailable::TooLarge => HttpResponse::PayloadTooLarge(),
            Unavailable::Replay(ReplayError::TooLong(_)) => HttpResponse::PayloadTooLarge(),
            Unavailable::Replay(ReplayError::NotWatchable) => HttpResponse::Forbidden(),
            Unavailable::Replay(_) => HttpResponse::UnprocessableEntity(),
            Unavailable::Io(_) => HttpResponse::InternalServerError(),
            Unavailable::Busy => {
                let mut b = HttpResponse::ServiceUnavailable();
                b.insert_header((header::RETRY_AFTER, "1"));
                b
            }
        };
        b.content_type("text/plain; charset=utf-8")
            .body(format!("tickroom: {self}\n"))
    }
}

/// Reads and replays one recording into its playback stream.
fn build(games: &Games, path: &Path) -> Result<Vec<u8>, Unavailable> {
    let bytes = std::fs::read(path).map_err(Unavailable::Io)?;
    let recording =
        Recording::parse(&bytes).map_err(|e| Unavailable::Replay(ReplayError::Recording(e)))?;
    let game = games.get(&recording.header.game).ok_or_else(|| {
        Unavailable::Replay(ReplayError::UnknownGame(recording.header.game.clone()))
    })?;
    let hz = u64::from(recording.header.hz());
    let limits = PlaybackLimits {
        max_ticks: MAX_TICKS,
        keyframe_every: hz * KEYFRAME_SECS,
    };
    game.playback(&recording, limits)
        .map_err(Unavailable::Replay)
}

async fn stream(state: &AppState, name: String) -> Result<Bytes, Unavailable> {
    let archive = &state.archive;
    let dir = archive.dir.clone().ok_or(Unavailable::NotRecording)?;
    if !valid_name(&name) {
        return Err(Unavailable::BadName);
    }
    let path = dir.join(&name);
    let meta = {
        let path = path.clone();
        web::block(move || std::fs::metadata(path))
            .await
            .map_err(|e| Unavailable::Io(std::io::Error::other(e.to_string())))?
    };
    let meta = match meta {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Err(Unavailable::NotFound),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unavailable::NotFound),
        Err(e) => return Err(Unavailable::Io(e)),
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(Unavailable::TooLarge);
    }
    let stamp = stamp(&meta);
    let cached = |archive: &crate::archive::Archive| {
        let streams = archive
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        streams
            .iter()
            .find(|(n, s, _)| *n == name && *s == stamp)
            .map(|(_, _, b)| b.clone())
    };
    if let Some(body) = cached(archive) {
        return Ok(body);
    }
    let _permit = archive
        .building
        .try_acquire()
        .map_err(|_| Unavailable::Busy)?;
    let games = state.games.clone();
    let body = web::block(move || build(&games, &path))
        .await
        .map_err(|e| Unavailable::Io(std::io::Error::other(e.to_string())))??;
    let body = Bytes::from(body);
    let mut streams = archive
        .streams
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    streams.retain(|(n, _, _)| *n != name);
    if streams.len() >= CACHED_STREAMS {
        streams.remove(0);
    }
    streams.push((name, stamp, body.clone()));
    Ok(body)
}

/// `GET /api/replays/{name}`: the playback stream of one recording (MessagePack).
pub async fn playback(state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    match stream(&state, name.into_inner()).await {
        Ok(body) => HttpResponse::Ok()
            .content_type("application/vnd.msgpack")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(body),
        Err(e) => {
            tracing::debug!(error = %e, "replay not served");
            e.response()
        }
    }
}
