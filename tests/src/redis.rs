//! A real `redis-server` for the cluster tests: started on a free loopback port, stopped (by its
//! PID, through the child handle) when dropped. `.ci/run` installs Debian's `redis-server`; when it
//! is missing, [`RedisServer::start`] says so and the test skips, unless `TICKROOM_REQUIRE_REDIS`
//! is set (CI sets it), in which case a missing server fails the test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` this process started.
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free loopback port, without persistence (a restart starts empty), or
    /// `None` (with a message) when `redis-server` is not installed and not required.
    pub fn start() -> Option<RedisServer> {
        let port = free_port();
        match RedisServer::start_on(port) {
            Ok(server) => Some(server),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::env::var_os("TICKROOM_REQUIRE_REDIS").is_some() {
                    panic!("redis-server is not installed (apt-get install redis-server), and TICKROOM_REQUIRE_REDIS is set");
                }
                eprintln!("SKIPPED: redis-server is not installed (apt-get install redis-server); the cluster test did not run");
                None
            }
            Err(e) => panic!("cannot start redis-server: {e}"),
        }
    }

    fn start_on(port: u16) -> std::io::Result<RedisServer> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = RedisServer { child, port };
        server.wait_ready();
        Ok(server)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: everything it held is lost) and waits for it to exit.
    pub fn kill(&mut self) {
        // An error means it already exited, which is what is wanted.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server and starts an empty one on the same port.
    pub fn restart_empty(&mut self) {
        self.kill();
        let started = RedisServer::start_on(self.port).expect("redis-server starts again");
        // The new child replaces the old; the old one was reaped above.
        let old = std::mem::replace(self, started);
        std::mem::forget(old);
    }

    /// Sends one inline command and returns the raw reply (enough for the tests' checks).
    pub fn command(&self, line: &str) -> String {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("redis-server accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a timeout can be set");
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("redis-server reads");
        let mut reply = Vec::new();
        let mut buf = [0u8; 4096];
        // Replies the tests read are small; one read after a short pause gets them whole.
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(n) = stream.read(&mut buf) {
            reply.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&reply).into_owned()
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut buf = [0u8; 16];
                if s.write_all(b"PING\r\n").is_ok()
                    && matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
                {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
