//! Tests of the real `tickroom-server` binary as a separate process: signals and leaks are
//! properties of a process, so they are checked on one.
//!
//! They live here because the binary does (it bundles every game); the rest of the integration
//! tests live in the `tickroom-tests` crate's single binary.

use futures_util::{SinkExt, StreamExt};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tickroom_shared::rmpv::Value;
use tickroom_shared::{ClientMsg, ServerMsg, PROTOCOL_VERSION, SUBPROTOCOL};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A bare protocol client: enough to join, leave and see the close code.
struct Connection(Ws);

enum Incoming {
    Msg(ServerMsg),
    Closed(Option<u16>),
}

impl Connection {
    async fn connect(url: &str) -> Result<Connection, String> {
        let mut req = url.into_client_request().map_err(|e| e.to_string())?;
        // A static, valid header value.
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            SUBPROTOCOL.parse().expect("valid header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Connection(ws))
    }

    async fn send(&mut self, msg: &ClientMsg<Value, Value>) -> Result<(), String> {
        let bytes = tickroom_shared::encode(msg).map_err(|e| e.to_string())?;
        self.0
            .send(Message::Binary(bytes.into()))
            .await
            .map_err(|e| e.to_string())
    }

    async fn recv(&mut self) -> Result<Incoming, String> {
        loop {
            match self.0.next().await {
                None => return Ok(Incoming::Closed(None)),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(Message::Binary(b))) => {
                    let msg = tickroom_shared::decode(&b, &Default::default())
                        .map_err(|e| e.to_string())?;
                    return Ok(Incoming::Msg(msg));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Ok(Incoming::Closed(frame.map(|f| u16::from(f.code))))
                }
                Some(Ok(_)) => continue,
            }
        }
    }
}

/// How long to wait for any one expected event (generous: CI machines are shared).
const PATIENCE: Duration = Duration::from_secs(20);

/// The server process; killed by its PID when dropped (if still running).
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        // Pick a free port; the tiny window before the server binds it is acceptable in tests.
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_tickroom-server"))
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--static-dir",
                "/nonexistent",
            ])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("server starts");
        let server = Server { child, port };
        let deadline = Instant::now() + PATIENCE;
        while server.get("/healthz").is_none() {
            assert!(Instant::now() < deadline, "server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn get(&self, path: &str) -> Option<String> {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        ureq::get(&url)
            .call()
            .ok()?
            .body_mut()
            .read_to_string()
            .ok()
    }

    fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&self.get("/api/stats").expect("stats answer")).expect("json")
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    /// Resident set size in KiB, from /proc (reported, not asserted: allocators keep freed pages).
    fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("procfs");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS line")
    }

    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("procfs")
            .count()
    }

    /// Polls `done` until it holds, failing with `what` after the patience runs out.
    fn wait_until(&self, what: &str, mut done: impl FnMut(&Server) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(self) {
            assert!(Instant::now() < deadline, "{what}: stats {}", self.stats());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Our own child, by its PID; an error means it already exited.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn join(url: &str) -> Connection {
    let mut conn = Connection::connect(url).await.expect("connects");
    let join: ClientMsg<Value, Value> = ClientMsg::Join {
        version: PROTOCOL_VERSION,
        name: "cycle".into(),
        game: None,
        room: None,
        create: false,
        options: None,
        filter: None,
        token: None,
    };
    conn.send(&join).await.expect("send");
    loop {
        match tokio::time::timeout(PATIENCE, conn.recv())
            .await
            .expect("in time")
            .expect("ok")
        {
            Incoming::Msg(ServerMsg::Snapshot { .. }) => return conn,
            Incoming::Msg(..) => continue,
            Incoming::Closed(c) => panic!("closed while joining: {c:?}"),
        }
    }
}

async fn close_code(conn: &mut Connection) -> Option<u16> {
    loop {
        match tokio::time::timeout(PATIENCE, conn.recv())
            .await
            .expect("a close in time")
        {
            Ok(Incoming::Closed(close)) => return close,
            Ok(Incoming::Msg(..)) => continue,
            Err(e) => panic!("no close frame: {e}"),
        }
    }
}

/// SIGTERM: every client, seated or not, gets 1001 and the process exits with status 0.
#[tokio::test]
async fn sigterm_closes_clients_with_1001_and_exits_zero() {
    let mut server = Server::start(&[]);
    let mut seated = join(&server.url()).await;
    let mut waiting = Connection::connect(&server.url()).await.expect("connects");
    let pid = libc::pid_t::try_from(server.child.id()).expect("pid fits");
    // SAFETY: kill(2) on our own child's PID with a valid signal has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert_eq!(close_code(&mut seated).await, Some(1001));
    assert_eq!(close_code(&mut waiting).await, Some(1001));
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
}

/// 1,000 join-and-disconnect cycles (half leave cleanly, half just drop the socket) leave no
/// session, no room and no file descriptor behind.
#[tokio::test]
async fn connect_disconnect_cycles_leak_nothing() {
    // Every cycle may create a room (the previous one closes 0.1 s after it empties), all from
    // 127.0.0.1: lift the per-address creation budget, which a slow machine would reach.
    let server = Server::start(&[
        "--reconnect-grace",
        "0",
        "--empty-room-grace",
        "0.1",
        "--room-creates-per-minute",
        "0",
    ]);
    let settled = |s: &Server| {
        let stats = s.stats();
        stats["sessions_open"] == 0 && stats["rooms_open"] == 0
    };
    // Warm up once so lazily created resources (thread-local buffers, timers) exist.
    drop(join(&server.url()).await);
    server.wait_until("gauges back to zero after warm-up", settled);
    let baseline = server.open_fds();
    let rss_before = server.rss_kib();
    for i in 0..1000u32 {
        let mut conn = join(&server.url()).await;
        if i % 2 == 0 {
            conn.send(&ClientMsg::<Value, Value>::Leave)
                .await
                .expect("send leave");
            assert_eq!(close_code(&mut conn).await, Some(1000));
        }
    }
    server.wait_until("gauges back to zero after 1,000 cycles", settled);
    assert_eq!(server.stats()["sessions_total"], 1001);
    server.wait_until("file descriptors back to the baseline", |s| {
        s.open_fds() <= baseline
    });
    eprintln!(
        "1,000 cycles: fds {baseline} before, {} after; RSS {rss_before} KiB before, {} KiB after",
        server.open_fds(),
        server.rss_kib()
    );
}
