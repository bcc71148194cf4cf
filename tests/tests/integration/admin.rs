//! The admin page's endpoints (issue 11, "Live monitor page"): the live stream (history, then an
//! update a second), a room's detail (players with RTT and queue state), and the operator's
//! actions (close a room, kick a player), refused without access or from another site.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;
use tickroom_server::{Config, ServerHandle};
use tickroom_shared::ErrorCode;
use tickroom_tests::games::LabInput;
use tickroom_tests::{eventually, http_json, start_lab, test_config, Client, Join, PATIENCE};
use tokio::sync::mpsc;

/// One server-sent event.
#[derive(Debug)]
struct Event {
    name: String,
    data: serde_json::Value,
}

/// The admin stream, read on a thread of its own (the reads block) and handed over as events.
struct EventStream {
    events: mpsc::UnboundedReceiver<Event>,
}

impl EventStream {
    /// Opens `/api/admin/stream`; checks it answers 200 with `text/event-stream`.
    fn open(server: &ServerHandle) -> EventStream {
        let response = ureq::get(&format!("http://{}/api/admin/stream", server.addr))
            .call()
            .expect("the stream answers");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert_eq!(content_type, "text/event-stream");
        let mut lines = BufReader::new(response.into_body().into_reader()).lines();
        let (tx, events) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            let mut name = String::new();
            while let Some(Ok(line)) = lines.next() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(data) = line.strip_prefix("data: ") {
                    let data = serde_json::from_str(data).expect("each data line is JSON");
                    let event = Event {
                        name: std::mem::take(&mut name),
                        data,
                    };
                    if tx.send(event).is_err() {
                        return; // the test is done with it
                    }
                }
            }
        });
        EventStream { events }
    }

    async fn next(&mut self) -> Event {
        tokio::time::timeout(PATIENCE, self.events.recv())
            .await
            .expect("an event within the patience")
            .expect("the stream stays open")
    }

    /// Reads updates until one satisfies `check` (bounded).
    async fn update_where(
        &mut self,
        what: &str,
        mut check: impl FnMut(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        for _ in 0..30 {
            let event = self.next().await;
            assert_eq!(event.name, "update", "after the history, only updates");
            if check(&event.data) {
                return event.data;
            }
        }
        panic!("no update within 30 where {what}");
    }
}

/// A request with full control of its headers: (status, body).
fn raw(server: &ServerHandle, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(server.addr).expect("the test server accepts");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("a read timeout can be set");
    let has_host = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n");
    if !has_host {
        request.push_str(&format!("Host: {}\r\n", server.addr));
    }
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut response = String::new();
    // The server closes after answering (Connection: close).
    stream
        .read_to_string(&mut response)
        .expect("a whole response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

fn get(server: &ServerHandle, path: &str) -> (u16, String) {
    raw(server, "GET", path, &[])
}

fn post(server: &ServerHandle, path: &str) -> (u16, String) {
    raw(server, "POST", path, &[])
}

fn detail(server: &ServerHandle, room: u32) -> serde_json::Value {
    let (status, body) = get(server, &format!("/api/admin/rooms/{room}"));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("the detail is JSON")
}

fn room_listed(server: &ServerHandle, room: u32) -> bool {
    http_json(server, "/api/rooms")
        .as_array()
        .expect("a list")
        .iter()
        .any(|r| r["id"] == room)
}

/// The stream opens with the history of samples, then sends an update every second with the
/// room table (game, players, tick rate, traffic, age) and the totals (sessions, CPU, RSS,
/// closes by code); a page opened later gets the samples taken meanwhile at once.
#[tokio::test]
async fn the_stream_sends_the_history_then_live_updates() {
    let server = start_lab(test_config());
    let mut stream = EventStream::open(&server);
    let history = stream.next().await;
    assert_eq!(history.name, "history");
    assert_eq!(history.data["interval_ms"], 1000);
    assert!(history.data["samples"].is_array());

    let mut a = Client::join(&server, Join::create("ann")).await;
    let room = a.room().0;
    let mut b = Client::join(&server, Join::room("bob", a.room())).await;
    for _ in 0..20 {
        a.input(LabInput { dx: 1, dy: 0 }).await;
        b.input(LabInput { dx: 0, dy: 1 }).await;
    }
    let update = stream
        .update_where("the room has two players and traffic both ways", |u| {
            u["rooms"].as_array().is_some_and(|rooms| {
                rooms.iter().any(|r| {
                    r["id"] == room
                        && r["players"] == 2
                        && r["bytes_in_per_s"].as_f64() > Some(0.0)
                        && r["bytes_out_per_s"].as_f64() > Some(0.0)
                })
            })
        })
        .await;
    let row = update["rooms"]
        .as_array()
        .and_then(|rooms| rooms.iter().find(|r| r["id"] == room))
        .expect("the room's row");
    assert_eq!(row["game"], "lab");
    assert_eq!(row["tick_rate"], 30);
    assert_eq!(row["capacity"], 8);
    assert!(
        row["age_s"].is_u64() && row["ticks"].as_u64() > Some(0),
        "{row}"
    );
    assert!(row["lateness_p99_us"].is_u64(), "{row}");
    let sample = &update["sample"];
    assert_eq!(
        (sample["rooms"].as_u64(), sample["players"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(sample["sessions"].as_i64() >= Some(2), "{sample}");
    assert!(sample["bytes_out_per_s"].as_f64() > Some(0.0), "{sample}");
    assert!(
        sample["lateness_p99_us"].is_u64(),
        "the room ticked: {sample}"
    );
    let totals = &update["totals"];
    assert!(totals["sessions_total"].as_u64() >= Some(2), "{totals}");
    assert!(totals["uptime_s"].is_u64());
    if cfg!(target_os = "linux") {
        assert!(totals["rss_bytes"].as_u64() > Some(0), "{totals}");
        assert!(totals["cpu_seconds"].as_f64() > Some(0.0), "{totals}");
    }
    let closes = totals["closes"].as_array().expect("closes by code");
    assert!(closes
        .iter()
        .any(|c| c["code"] == 4007 && c["label"] == "Kicked" && c["count"] == 0));

    // A page opened now draws the samples taken so far at once.
    let mut later = EventStream::open(&server);
    let history = later.next().await;
    assert_eq!(history.name, "history");
    let samples = history.data["samples"].as_array().expect("samples");
    assert!(samples.len() >= 2, "{} samples", samples.len());
    assert!(
        samples.iter().any(|s| s["players"] == 2),
        "the history holds the seconds with two players"
    );
    assert_eq!(
        later.next().await.name,
        "update",
        "then the last update at once"
    );
}

/// A room's detail lists its seats with name, id, connection, queue state and the RTT of the
/// WebSocket pings the server sends (here every 50 ms); an unknown room is 404.
#[tokio::test]
async fn a_rooms_detail_lists_its_players_with_their_rtt() {
    let server = start_lab(Config {
        heartbeat_interval: Duration::from_millis(50),
        ..test_config()
    });
    let mut a = Client::join(&server, Join::create("ann")).await;
    let room = a.room().0;
    let mut b = Client::join(&server, Join::room("bob", a.room())).await;
    let d = detail(&server, room);
    assert_eq!(
        (d["id"].as_u64(), d["game"].as_str()),
        (Some(room.into()), Some("lab"))
    );
    let players = d["players"].as_array().expect("players");
    assert_eq!(players.len(), 2);
    assert_eq!(
        (players[0]["player"].as_u64(), players[0]["name"].as_str()),
        (Some(a.player().0.into()), Some("ann"))
    );
    assert_eq!(players[1]["name"], "bob");
    for p in players {
        assert_eq!(p["connected"], true);
        assert_eq!(
            (p["pending"].as_u64(), p["skipped"].as_u64()),
            (Some(0), Some(0))
        );
        assert!(p["held_ms"].is_null());
    }
    // The clients answer pings while they read; each answer gives an RTT.
    let mut measured = false;
    for _ in 0..100 {
        a.ticks(2).await;
        b.ticks(2).await;
        let d = detail(&server, room);
        let players = d["players"].as_array().expect("players").clone();
        if players
            .iter()
            .all(|p| p["rtt_ms"].as_f64().is_some_and(|ms| ms > 0.0))
        {
            measured = true;
            break;
        }
    }
    assert!(measured, "both players have a measured RTT");
    let (status, body) = get(&server, "/api/admin/rooms/999");
    assert_eq!(status, 404, "{body}");
}

/// Kicking a player closes its connection with 4007 and frees its seat (its token no longer
/// resumes it); closing a room closes every member with 1000 "closed by the operator" and the
/// room leaves the list. Both are 404 for what does not exist.
#[tokio::test]
async fn the_operator_closes_rooms_and_kicks_players() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::create("ann")).await;
    let room = a.room().0;
    let mut b = Client::join(&server, Join::room("bob", a.room())).await;
    let token = b.welcomed().token.clone();
    let bob = b.player().0;

    let (status, body) = post(&server, &format!("/api/admin/rooms/{room}/kick/{bob}"));
    assert_eq!(status, 200, "{body}");
    let (code, reason) = b.until_closed().await.expect("a close frame");
    assert_eq!((code, reason.as_str()), (4007, "kicked by the operator"));
    let players = detail(&server, room)["players"].clone();
    assert_eq!(
        players.as_array().map(Vec::len),
        Some(1),
        "the seat is freed, not held"
    );
    let mut again = Client::connect(&server).await;
    assert_eq!(
        again.refused_join(Join::resume(&token)).await,
        ErrorCode::BadToken,
        "a kicked player's token resumes nothing"
    );
    a.until(|c| c.roster.len() == 1).await;
    let (status, _) = post(&server, &format!("/api/admin/rooms/{room}/kick/{bob}"));
    assert_eq!(status, 404, "no such player any more");

    let (status, body) = post(&server, &format!("/api/admin/rooms/{room}/close"));
    assert_eq!(status, 200, "{body}");
    let (code, reason) = a.until_closed().await.expect("a close frame");
    assert_eq!((code, reason.as_str()), (1000, "closed by the operator"));
    assert!(!room_listed(&server, room), "the room left the list");
    assert_eq!(get(&server, &format!("/api/admin/rooms/{room}")).0, 404);
    assert_eq!(
        post(&server, &format!("/api/admin/rooms/{room}/close")).0,
        404
    );
    assert_eq!(post(&server, "/api/admin/rooms/999/kick/1").0, 404);
    eventually("the kick and the close were counted", || {
        let count = |code: u16| {
            server
                .stats
                .closes
                .get_or_create(&tickroom_server::stats::CloseLabels { code })
                .get()
        };
        count(4007) == 1 && count(1000) >= 1
    })
    .await;
}

/// Without loopback trust, every admin endpoint needs the bearer token (401, or 403 without a
/// token configured), and a refused action changes nothing; actions are POST only.
#[tokio::test]
async fn admin_endpoints_need_loopback_or_the_token() {
    let mut config = test_config();
    config.admin_loopback = false;
    config.admin_token = Some("s3cret".parse().expect("a non-empty token"));
    let server = start_lab(config);
    let mut a = Client::join(&server, Join::create("ann")).await;
    let room = a.room().0;
    let player = a.player().0;
    let reads = [
        "/api/admin/stream".to_owned(),
        format!("/api/admin/rooms/{room}"),
    ];
    let acts = [
        format!("/api/admin/rooms/{room}/kick/{player}"),
        format!("/api/admin/rooms/{room}/close"),
    ];
    for path in &reads {
        let (status, body) = get(&server, path);
        assert_eq!(status, 401, "{path}: {body}");
        assert!(!body.contains("s3cret"), "the token never shows");
        assert_eq!(
            raw(&server, "GET", path, &[("Authorization", "Bearer wrong")]).0,
            401
        );
    }
    for path in &acts {
        assert_eq!(post(&server, path).0, 401, "{path}");
        assert_eq!(
            raw(&server, "POST", path, &[("Authorization", "Bearer nope")]).0,
            401
        );
        assert_eq!(
            raw(&server, "GET", path, &[("Authorization", "Bearer s3cret")]).0,
            405,
            "{path}: POST only"
        );
    }
    a.ticks(3).await;
    assert!(a.closed.is_none(), "refused actions changed nothing");
    assert!(room_listed(&server, room));
    let bearer = [("Authorization", "Bearer s3cret")];
    let (status, body) = raw(&server, "GET", &reads[1], &bearer);
    assert_eq!(status, 200, "{body}");
    let (status, body) = raw(&server, "POST", &acts[1], &bearer);
    assert_eq!(status, 200, "{body}");
    let (code, _) = a.until_closed().await.expect("a close frame");
    assert_eq!(code, 1000);

    let mut config = test_config();
    config.admin_loopback = false;
    let server = start_lab(config);
    let (status, body) = raw(
        &server,
        "GET",
        "/api/admin/stream",
        &[("Authorization", "Bearer s3cret")],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("loopback"), "{body}");
}

/// From loopback, a page of another site cannot act through the operator's browser (its
/// `Origin` is refused), and a DNS-rebinding page (another name in `Host`) cannot even read
/// (neither the admin endpoints nor `/api/stats` and `/metrics`); the server's own page can.
#[tokio::test]
async fn admin_actions_come_only_from_this_servers_pages() {
    let server = start_lab(test_config());
    let mut a = Client::join(&server, Join::create("ann")).await;
    let room = a.room().0;
    let close = format!("/api/admin/rooms/{room}/close");
    let port = server.addr.port();
    for origin in [
        "http://evil.example".to_owned(),
        format!("http://evil.example:{port}"),
        format!("http://localhost:{}", port.wrapping_add(1).max(1)),
        "null".to_owned(),
    ] {
        let (status, body) = raw(&server, "POST", &close, &[("Origin", origin.as_str())]);
        assert_eq!(status, 403, "{origin}: {body}");
    }
    let rebinding = format!("evil.example:{port}");
    let (status, body) = raw(
        &server,
        "GET",
        &format!("/api/admin/rooms/{room}"),
        &[("Host", rebinding.as_str())],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Host"), "{body}");
    // The operator views are protected the same way.
    for path in ["/api/stats", "/metrics"] {
        let (status, body) = raw(&server, "GET", path, &[("Host", rebinding.as_str())]);
        assert_eq!(status, 403, "{path}: {body}");
        let (status, _) = raw(&server, "GET", path, &[]);
        assert_eq!(status, 200, "{path} with this server's Host");
    }
    a.ticks(3).await;
    assert!(
        a.closed.is_none() && room_listed(&server, room),
        "nothing was closed"
    );
    assert_eq!(server.stats.api_refused.get(), 7);

    let own = format!("http://localhost:{port}");
    let (status, body) = raw(&server, "POST", &close, &[("Origin", own.as_str())]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(a.until_closed().await.map(|(code, _)| code), Some(1000));
}
