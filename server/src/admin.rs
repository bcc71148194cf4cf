//! The admin page's endpoints: its live stream, a room's detail, and the operator's actions.
//!
//! | endpoint | what |
//! | --- | --- |
//! | `GET /api/admin/stream` | server-sent events: `history` (the last five minutes of samples) at once, then an `update` (sample, room table, totals) every second ([`crate::monitor`]) |
//! | `GET /api/admin/rooms/{id}` | one room and its seats: name, connection, RTT, queue state, skips, resyncs |
//! | `POST /api/admin/rooms/{id}/close` | closes the room: its members get 1000 "closed by the operator" |
//! | `POST /api/admin/rooms/{id}/kick/{player}` | closes the player's connection with 4007 and frees its seat |
//!
//! Access is that of the operator views ([`crate::api::operator_grant`]: loopback, or the
//! `--admin-token` as a bearer token), with two more checks, because a browser on the
//! operator's machine may be running someone else's page:
//!
//! - a request let in only for coming from loopback must name this server in `Host` (one of its
//!   names or addresses, on its port): a DNS-rebinding page reaches loopback under its own name;
//! - an action (POST) that carries an `Origin` must come from this server's own pages (or an
//!   origin listed in `--allowed-origins`; `*` does not count): a cross-site form or script
//!   cannot close rooms through the operator's browser. Browsers always send `Origin` on POST;
//!   tools such as curl send none and are judged by address or token alone.
//!
//! The page itself (`/admin`) is a static file of the web client, public like the rest of it:
//! it holds no data and asks for the token when the stream refuses it.

use crate::api::{json_response, operator_grant, Denied, Grant};
use crate::messages::{Inspect, Kick, OperatorClose, OperatorRoom};
use crate::monitor::Subscribe;
use crate::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use std::convert::Infallible;
use tickroom_shared::{PlayerId, RoomId};
use tokio::sync::broadcast::error::RecvError;

/// Why an admin request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// Neither loopback nor the token (as for the operator views).
    Access(Denied),
    /// Let in for its address, but its `Host` is not this server: a DNS-rebinding page.
    Host,
    /// An action whose `Origin` is another site.
    CrossSite,
}

impl Refusal {
    fn response(self) -> HttpResponse {
        let reason = match self {
            Refusal::Access(denied) => return denied.response(),
            Refusal::Host => "admin endpoint: the Host header does not name this server",
            Refusal::CrossSite => "admin action: only from this server's own pages",
        };
        HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body(format!("tickroom: {reason}\n"))
    }
}

/// Whether the request is a read or an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    Read,
    Act,
}

/// The refusal to send for an admin request, if any (counted in `tickroom_api_refused_total`;
/// the token never appears in a log).
fn refuse(req: &HttpRequest, state: &AppState, use_: Use) -> Option<HttpResponse> {
    let refusal = check(req, state, use_).err()?;
    state.stats.api_refused.inc();
    tracing::debug!(peer = ?req.peer_addr(), ?refusal, path = req.path(), "admin request refused");
    Some(refusal.response())
}

fn check(req: &HttpRequest, state: &AppState, use_: Use) -> Result<(), Refusal> {
    let headers = req.headers();
    let config = &state.config;
    let grant = operator_grant(
        req.peer_addr().map(|a| a.ip()),
        headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()),
        config.admin_token.as_ref(),
        config.admin_loopback,
    )
    .map_err(Refusal::Access)?;
    if grant == Grant::Loopback && !crate::api::names_this_server(req, state) {
        return Err(Refusal::Host);
    }
    if use_ == Use::Act {
        if let Some(origin) = headers.get(header::ORIGIN) {
            let listed: Vec<String> = config
                .allowed_origins
                .iter()
                .filter(|o| o.as_str() != "*")
                .cloned()
                .collect();
            let origin = origin.to_str().unwrap_or("");
            if !state.admission.own_origin(origin, &listed) {
                return Err(Refusal::CrossSite);
            }
        }
    }
    Ok(())
}

/// The resource of an action at `path`, answering POST with `handler` and other methods with
/// 405 (`Allow: POST`).
pub fn action<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::post().to(handler))
        .default_service(web::to(|| async {
            HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, "POST"))
                .content_type("text/plain; charset=utf-8")
                .body("tickroom: admin actions are POST requests\n")
        }))
}

fn not_found(what: String) -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body(format!("tickroom: {what}\n"))
}

fn json<T: serde::Serialize>(value: &T) -> HttpResponse {
    match crate::api::json(value) {
        Ok(body) => json_response(body),
        Err(e) => e.error_response(),
    }
}

/// `GET /api/admin/stream`: the history at once, then an update every second, as server-sent
/// events, until the page goes away or the server shuts down.
pub async fn stream(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(refused) = refuse(&req, &state, Use::Read) {
        return refused;
    }
    if *state.shutdown.borrow() {
        return HttpResponse::ServiceUnavailable().body("tickroom: the server is shutting down\n");
    }
    let Ok(subscription) = state.monitor.send(Subscribe).await else {
        return HttpResponse::ServiceUnavailable().body("tickroom: the monitor has stopped\n");
    };
    let first = [Some(subscription.history), subscription.latest];
    let first = futures_util::stream::iter(first.into_iter().flatten().map(Ok::<_, Infallible>));
    let live = futures_util::stream::unfold(
        (subscription.updates, state.shutdown.clone()),
        |(mut updates, mut shutdown)| async move {
            loop {
                let update = tokio::select! {
                    update = updates.recv() => update,
                    // Shutting down (or the sender is gone with the server): end the stream,
                    // so the connection can close.
                    _ = shutdown.wait_for(|stopping| *stopping) => return None,
                };
                match update {
                    Ok(bytes) => return Some((Ok(bytes), (updates, shutdown))),
                    // A page that fell behind skips to the newest update.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    let events = futures_util::StreamExt::chain(first, live);
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Reverse proxies (nginx) would otherwise hold the events back in a buffer.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(events)
}

/// `GET /api/admin/rooms/{id}`: the room and its seats (404 if it does not run here).
pub async fn room(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<u32>,
) -> HttpResponse {
    if let Some(refused) = refuse(&req, &state, Use::Read) {
        return refused;
    }
    let id = RoomId(path.into_inner());
    let handles = state.lobby.send(OperatorRoom(id)).await.ok().flatten();
    let detail = match handles {
        Some(handles) => handles.inspect.send(Inspect).await.ok(),
        None => None,
    };
    match detail {
        Some(detail) => json(&detail),
        // Not listed, or it stopped between the lobby's answer and ours.
        None => not_found(format!("no room {id} on this server")),
    }
}

/// `POST /api/admin/rooms/{id}/close`: closes the room now (404 if it does not run here).
pub async fn close(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<u32>,
) -> HttpResponse {
    if let Some(refused) = refuse(&req, &state, Use::Act) {
        return refused;
    }
    let id = RoomId(path.into_inner());
    match state.lobby.send(OperatorClose(id)).await {
        Ok(true) => json(&serde_json::json!({ "room": id, "closed": true })),
        // A lobby that does not answer has stopped with the server: the room is gone too.
        Ok(false) | Err(_) => not_found(format!("no room {id} on this server")),
    }
}

/// `POST /api/admin/rooms/{id}/kick/{player}`: closes the player's connection with 4007 and
/// frees its seat (404 if there is no such room or seat).
pub async fn kick(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(u32, u32)>,
) -> HttpResponse {
    if let Some(refused) = refuse(&req, &state, Use::Act) {
        return refused;
    }
    let (room, player) = path.into_inner();
    let (room, player) = (RoomId(room), PlayerId(player));
    let Some(handles) = state.lobby.send(OperatorRoom(room)).await.ok().flatten() else {
        return not_found(format!("no room {room} on this server"));
    };
    match handles.kick.send(Kick { player }).await {
        Ok(true) => json(&serde_json::json!({ "room": room, "player": player, "kicked": true })),
        Ok(false) => not_found(format!("no player {player} in room {room}")),
        Err(_) => not_found(format!("no room {room} on this server")),
    }
}
