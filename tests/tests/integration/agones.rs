//! Issue 10, Agones: a node run with `--agones` reports to the Agones SDK sidecar's REST API.
//! Here the sidecar is a fake, a real HTTP server on a free loopback port that records every
//! request (and, for `/ready` and `/shutdown`, what the node looked like at that moment).

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tickroom_server::stats::AgonesLabels;
use tickroom_server::{Config, Stats};
use tickroom_tests::games::STALL;
use tickroom_tests::{eventually, start_lab, test_config, Client, Join, PATIENCE};

/// One request the fake sidecar received.
#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    body: Value,
    /// For `/ready`: the status the node's `/healthz` answered right then.
    healthz: Option<u16>,
    /// For `/shutdown`: the WebSocket sessions the node had open right then.
    sessions_open: Option<i64>,
    /// Answered 500, as asked by [`Sidecar::fail`].
    refused: bool,
}

/// What the fake sidecar shares with its handler.
#[derive(Default)]
struct Log {
    requests: Mutex<Vec<Request>>,
    /// The node under test, once started (its address and counters).
    node: OnceLock<(SocketAddr, Arc<Stats>)>,
    /// Requests whose path starts with this are answered 500.
    failing: Mutex<Option<String>>,
}

impl Log {
    /// The node, once the test registered it (a `/ready` may come before); `None` if it never
    /// does.
    async fn node(&self) -> Option<(SocketAddr, Arc<Stats>)> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::time::Instant::now() < deadline {
            if let Some(node) = self.node.get() {
                return Some(node.clone());
            }
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Request>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Records the request as it arrives, then answers `{}` (or 500, see [`Sidecar::fail`]).
async fn record(req: HttpRequest, body: web::Bytes, log: web::Data<Log>) -> HttpResponse {
    let path = req.path().to_owned();
    let refused = log
        .failing
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .is_some_and(|prefix| path.starts_with(prefix.as_str()));
    let sessions_open = (path == "/shutdown")
        .then(|| log.node.get().map(|(_, stats)| stats.sessions_open.get()))
        .flatten();
    let index = {
        let mut requests = log.lock();
        requests.push(Request {
            method: req.method().to_string(),
            path: path.clone(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            healthz: None,
            sessions_open,
            refused,
        });
        requests.len() - 1
    };
    if path == "/ready" {
        if let Some((addr, _)) = log.node().await {
            let status = web::block(move || {
                ureq::get(&format!("http://{addr}/healthz"))
                    .call()
                    .map_or(0, |r| r.status().as_u16())
            })
            .await;
            log.lock()[index].healthz = Some(status.unwrap_or(0));
        }
    }
    if refused {
        return HttpResponse::InternalServerError().json(json!({"error": "asked to fail"}));
    }
    HttpResponse::Ok().json(json!({}))
}

/// A fake Agones SDK sidecar on its own thread; stops when dropped.
struct Sidecar {
    port: u16,
    log: web::Data<Log>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sidecar {
    fn start() -> Sidecar {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port binds");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let log = web::Data::new(Log::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn({
            let log = log.clone();
            move || {
                actix_web::rt::System::new().block_on(async move {
                    let server = HttpServer::new(move || {
                        App::new()
                            .app_data(log.clone())
                            .default_service(web::to(record))
                    })
                    .workers(1)
                    .disable_signals()
                    .listen(listener)
                    .expect("the fake sidecar listens")
                    .run();
                    // The receiver waits for this handle.
                    let _ = tx.send(server.handle());
                    // Errors at teardown have nowhere to go.
                    let _ = server.await;
                });
            }
        });
        let handle = rx.recv().expect("the fake sidecar started");
        Sidecar {
            port,
            log,
            handle,
            thread: Some(thread),
        }
    }

    /// Lets `/ready` see the node under test.
    fn register(&self, node: &tickroom_server::ServerHandle) {
        // Registered once per sidecar; a second registration is a bug in the test.
        assert!(self.log.node.set((node.addr, node.stats.clone())).is_ok());
    }

    fn fail(&self, prefix: Option<&str>) {
        *self
            .log
            .failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = prefix.map(str::to_owned);
    }

    fn requests(&self) -> Vec<Request> {
        self.log.lock().clone()
    }

    fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    /// The body of the last accepted request to `path`.
    fn last(&self, path: &str) -> Option<Value> {
        self.requests()
            .into_iter()
            .rev()
            .find(|r| r.path == path && !r.refused)
            .map(|r| r.body)
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        // Stopping is requested at once; the returned future only reports completion.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            // A panic in the fake's thread was already reported by the test that caused it.
            let _ = thread.join();
        }
    }
}

/// A test node reporting to `sidecar`, beating fast so tests do not wait.
fn agones_config(sidecar: &Sidecar) -> Config {
    Config {
        agones: true,
        agones_sdk_port: sidecar.port,
        agones_health_interval: Duration::from_millis(50),
        ..test_config()
    }
}

const ROOMS: &str = "/v1beta1/counters/rooms";
const PLAYERS: &str = "/v1beta1/lists/players";

/// `ROOM.PLAYER` of a seated client.
fn seat(client: &Client) -> String {
    format!("{}.{}", client.room(), client.player())
}

fn errors(stats: &Stats, call: &'static str) -> u64 {
    stats
        .agones_errors
        .get_or_create(&AgonesLabels { call })
        .get()
}

/// Ready arrives once, when the node already serves, and Health beats after it.
#[tokio::test]
async fn ready_once_serving_then_health_beats() {
    let sidecar = Sidecar::start();
    let server = start_lab(agones_config(&sidecar));
    sidecar.register(&server);
    eventually("three Health beats", || sidecar.count("/health") >= 3).await;
    let requests = sidecar.requests();
    let ready: Vec<&Request> = requests.iter().filter(|r| r.path == "/ready").collect();
    assert_eq!(ready.len(), 1, "Ready is said once it was accepted");
    assert_eq!(ready[0].method, "POST");
    assert_eq!(ready[0].body, json!({}));
    assert_eq!(
        ready[0].healthz,
        Some(200),
        "the node served when it said Ready"
    );
    assert_eq!(requests[0].path, "/ready", "Ready comes first");
    let beat = requests
        .iter()
        .find(|r| r.path == "/health")
        .expect("a beat");
    assert_eq!((beat.method.as_str(), &beat.body), ("POST", &json!({})));
}

/// A node that cannot start (here: a TLS key that does not exist) never says Ready.
#[tokio::test]
async fn a_node_that_fails_to_start_never_says_ready() {
    let sidecar = Sidecar::start();
    let mut config = agones_config(&sidecar);
    config.tls_cert = Some("/nonexistent/cert.pem".into());
    config.tls_key = Some("/nonexistent/key.pem".into());
    let server = start_lab(config);
    let stopped = tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("the stopping task ran");
    assert!(stopped.is_err(), "the node cannot serve without its key");
    assert!(sidecar.requests().is_empty(), "{:?}", sidecar.requests());
}

/// The `rooms` counter follows rooms opening and closing, and the `players` list holds
/// `ROOM.PLAYER` for every seat: added on join, removed on leave.
#[tokio::test]
async fn rooms_counter_and_players_list_follow_joins_and_leaves() {
    let sidecar = Sidecar::start();
    let mut config = agones_config(&sidecar);
    // An empty room closes at once, so the counter goes back down.
    config.empty_room_grace = Duration::ZERO;
    let server = start_lab(config);
    sidecar.register(&server);
    eventually("the counter starts at 0", || {
        sidecar.last(ROOMS) == Some(json!({"count": "0"}))
    })
    .await;
    eventually("the list starts empty", || {
        sidecar.last(PLAYERS) == Some(json!({"values": []}))
    })
    .await;

    let mut a = Client::join(&server, Join::create("a")).await;
    let mut b = Client::join(&server, Join::room("b", a.room())).await;
    let both = json!({ "values": [seat(&a), seat(&b)] });
    eventually("one room", || {
        sidecar.last(ROOMS) == Some(json!({"count": "1"}))
    })
    .await;
    eventually("both players listed", || {
        sidecar.last(PLAYERS) == Some(both.clone())
    })
    .await;

    a.leave().await;
    let only_b = json!({ "values": [seat(&b)] });
    eventually("a is gone from the list", || {
        sidecar.last(PLAYERS) == Some(only_b.clone())
    })
    .await;
    assert_eq!(sidecar.last(ROOMS), Some(json!({"count": "1"})));

    b.leave().await;
    eventually("the list is empty again", || {
        sidecar.last(PLAYERS) == Some(json!({"values": []}))
    })
    .await;
    eventually("the room closed", || {
        sidecar.last(ROOMS) == Some(json!({"count": "0"}))
    })
    .await;
    for r in sidecar.requests() {
        if r.path == ROOMS || r.path == PLAYERS {
            assert_eq!(r.method, "PATCH", "{r:?}");
        }
    }
}

/// Shutdown is said once, last, after the server's shutdown future resolved and the drain
/// ended: no session was open any more (this client did not answer the close, so the drain
/// waited for the server to give up on it).
#[tokio::test]
async fn shutdown_comes_after_the_drain() {
    let sidecar = Sidecar::start();
    let server = start_lab(agones_config(&sidecar));
    sidecar.register(&server);
    let mut client = Client::join(&server, Join::quick("stays")).await;
    eventually("the player is listed", || {
        sidecar.last(PLAYERS) == Some(json!({ "values": [seat(&client)] }))
    })
    .await;
    assert_eq!(sidecar.count("/shutdown"), 0, "no Shutdown while serving");
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("the stopping task ran")
        .expect("the server stopped cleanly");
    let requests = sidecar.requests();
    let last = requests.last().expect("requests were made");
    assert_eq!(last.path, "/shutdown", "Shutdown is the last word");
    assert_eq!((last.method.as_str(), &last.body), ("POST", &json!({})));
    assert_eq!(sidecar.count("/shutdown"), 1);
    assert_eq!(last.sessions_open, Some(0), "said only after the drain");
    assert_eq!(client.until_closed().await.map(|c| c.0), Some(1001));
}

/// Clears [`STALL`] however the test ends, so the stuck room thread is let go.
struct Unstall;

impl Drop for Unstall {
    fn drop(&mut self) {
        STALL.store(false, Relaxed);
    }
}

/// Health beats only while rooms tick: a room stuck in its game withholds them (Agones then
/// marks the node Unhealthy), and they resume once it ticks again.
#[tokio::test]
async fn health_is_withheld_while_a_room_is_stuck() {
    let sidecar = Sidecar::start();
    let mut config = agones_config(&sidecar);
    config.agones_stall_limit = Duration::from_millis(200);
    let server = start_lab(config);
    sidecar.register(&server);
    let mut client = Client::join(&server, Join::quick("stuck")).await;
    eventually("beats while the room ticks", || {
        sidecar.count("/health") >= 2
    })
    .await;
    assert_eq!(server.stats.agones_withheld.get(), 0);

    let _unstall = Unstall;
    STALL.store(true, Relaxed);
    client.command(json!({"type": "stall"})).await;
    eventually("a beat withheld", || {
        server.stats.agones_withheld.get() >= 1
    })
    .await;
    let beats = sidecar.count("/health");
    let withheld = server.stats.agones_withheld.get();
    eventually("three more beats withheld", || {
        server.stats.agones_withheld.get() >= withheld + 3
    })
    .await;
    assert_eq!(
        sidecar.count("/health"),
        beats,
        "no Health while a room is stuck"
    );
    assert!(tickroom_tests::http_get(&server, "/metrics")
        .contains("tickroom_agones_health_withheld_total"));

    STALL.store(false, Relaxed);
    eventually("beats resume", || sidecar.count("/health") > beats + 1).await;
    client.ticks(3).await;
}

/// With nothing on the sidecar's port the node still serves joins, counts the failures, and
/// keeps trying; its shutdown does not hang on the missing sidecar either.
#[tokio::test]
async fn a_dead_sidecar_does_not_stop_the_node() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port binds");
        listener.local_addr().expect("a bound address").port()
        // Dropped here: nothing listens on the port any more.
    };
    let config = Config {
        agones: true,
        agones_sdk_port: port,
        agones_health_interval: Duration::from_millis(50),
        ..test_config()
    };
    let server = start_lab(config);
    let mut client = Client::join(&server, Join::quick("plays")).await;
    client.ticks(3).await;
    eventually("Ready retried", || errors(&server.stats, "ready") >= 2).await;
    assert!(errors(&server.stats, "health") >= 1);
    let metrics = tickroom_tests::http_get(&server, "/metrics");
    assert!(
        metrics.contains("tickroom_agones_errors_total{call=\"ready\"}"),
        "{metrics}"
    );
    let stats = server.stats.clone();
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("the stopping task ran")
        .expect("the server stopped cleanly");
    assert!(errors(&stats, "shutdown") >= 1);
}

/// A call the sidecar refuses is counted and tried again until it is accepted.
#[tokio::test]
async fn refused_updates_are_retried_until_accepted() {
    let sidecar = Sidecar::start();
    sidecar.fail(Some("/v1beta1/"));
    let server = start_lab(agones_config(&sidecar));
    sidecar.register(&server);
    let client = Client::join(&server, Join::quick("waits")).await;
    eventually("refusals counted", || {
        errors(&server.stats, "rooms") >= 2 && errors(&server.stats, "players") >= 2
    })
    .await;
    assert_eq!(errors(&server.stats, "health"), 0);
    sidecar.fail(None);
    let listed = json!({ "values": [seat(&client)] });
    eventually("the list arrives", || {
        sidecar.last(PLAYERS) == Some(listed.clone())
    })
    .await;
    eventually("the counter arrives", || {
        sidecar.last(ROOMS) == Some(json!({"count": "1"}))
    })
    .await;
    // Accepted: not sent again while nothing changes.
    let sent = sidecar.count(PLAYERS);
    let beats = sidecar.count("/health");
    eventually("a few more turns", || sidecar.count("/health") >= beats + 3).await;
    assert_eq!(
        sidecar.count(PLAYERS),
        sent,
        "an accepted list is not sent again"
    );
}
