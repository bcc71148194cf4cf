//! `tickroom-raw-floor`: the raw duplex floor the benchmark compares tickroom against.
//!
//! A bare tokio-tungstenite server that accepts WebSocket clients (echoing the tickroom
//! subprotocol so the same bots can connect) and, every tick, writes one pre-encoded binary frame
//! of a fixed size to each of them. Whatever a client sends is read (unmasked, as any server
//! must) and discarded. Driven by the bots in listen mode, which send their arena inputs (the
//! same encoded messages, about 10 bytes, at 30 Hz) without joining, every client-tick is one
//! small read and one write of a delta-sized frame, and nothing else: no rooms, no simulation, no
//! decoding, no encoding. Its CPU per client-tick is what any server pays at the kernel and in a
//! WebSocket layer for that traffic over loopback, so tickroom's figures divided by it survive
//! machine noise. Idle listening bots (`--behavior idle`) give the older write-only floor.

use anyhow::Context as _;
use bytes::Bytes;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tickroom_shared::SUBPROTOCOL;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// Write one pre-encoded frame per client per tick and read what clients send: the duplex floor.
#[derive(Debug, Parser)]
#[command(name = "tickroom-raw-floor", version)]
struct Args {
    /// Address to listen on (WebSocket at any path).
    #[arg(long, default_value = "127.0.0.1:8090")]
    bind: SocketAddr,
    /// Payload bytes of the frame written every tick (set it to the measured delta size).
    #[arg(long, default_value_t = 700)]
    frame_bytes: usize,
    /// Ticks per second.
    #[arg(long, default_value_t = 30)]
    tick_rate: u32,
    /// Worker threads (0 = one per core, like the tickroom server's default).
    #[arg(long, default_value_t = 0)]
    workers: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if args.workers > 0 {
        builder.worker_threads(args.workers);
    }
    let runtime = builder
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    // Arbitrary bytes: the clients count frames, they do not decode them.
    let frame = Bytes::from((0..args.frame_bytes).map(|i| i as u8).collect::<Vec<u8>>());
    // A lagging client skips frames (like a slow client of the real server); 16 is half a second.
    let (tx, _) = broadcast::channel::<Bytes>(16);
    let ticker = tx.clone();
    let period = Duration::from_secs_f64(1.0 / f64::from(args.tick_rate.max(1)));
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
        loop {
            interval.tick().await;
            // No receivers yet is fine: nobody to write to.
            let _ = ticker.send(frame.clone());
        }
    });
    eprintln!(
        "tickroom-raw-floor listening on {} ({} bytes per frame, {} Hz)",
        listener.local_addr()?,
        args.frame_bytes,
        args.tick_rate
    );
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    // Running out of descriptors or a reset during accept: keep serving the others.
                    Err(_) => continue,
                };
                tokio::spawn(client(stream, tx.subscribe()));
            }
            () = &mut shutdown => return Ok(()),
        }
    }
}

/// Handshake callback: echoes the tickroom subprotocol when offered, as the real server does.
// The signature is tungstenite's `Callback`; its error type is large by design.
#[allow(clippy::result_large_err)]
fn echo_subprotocol(req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    if req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == SUBPROTOCOL))
    {
        resp.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    Ok(resp)
}

/// One client: write every tick's frame, read and discard what it sends, end when it closes.
async fn client(stream: TcpStream, mut frames: broadcast::Receiver<Bytes>) {
    // Same as a well-configured game server: small frames go out at once.
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let Ok(mut ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, echo_subprotocol, Some(config))
            .await
    else {
        return;
    };
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(bytes) => {
                    if ws.send(Message::Binary(bytes)).await.is_err() {
                        return;
                    }
                }
                // Fell behind: skip to the newest frame.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = ws.next() => match incoming {
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    // Without SIGTERM handling only Ctrl-C stops it; an error there leaves nothing to wait for.
    let _ = tokio::signal::ctrl_c().await;
}
