//! The web client served at `/`: a folder given with `--static-dir`, else files a binary compiled
//! into itself ([`Assets`], passed to [`crate::run_with`]), else a placeholder page that says
//! the client was not built.
//!
//! The engine names no game and so embeds no client: the binary that bundles games embeds their
//! front-ends and hands them over as [`Assets`]. An explicit `--static-dir` wins, so a developer
//! can serve a client being rebuilt without rebuilding the binary.
//!
//! Every file is served with `Cache-Control: no-cache` and an `ETag`: the client's file names do
//! not change with their content (`app.js`), so a browser must ask on every load, and the ETag
//! makes that a bodiless 304 when nothing changed. Bodies are gzip-compressed when the browser
//! accepts it (images excepted, by actix-web's `Compress`).
//!
//! `/admin` is the client's admin page ([`ADMIN_PAGE`]); its data comes from the access-checked
//! `/api/admin/*` endpoints ([`crate::admin`]), so the page itself is as public as the game.

use actix_web::http::header::{self, EntityTag, IfNoneMatch};
use actix_web::http::Method;
use actix_web::middleware::Compress;
use actix_web::mime::{self, Mime};
use actix_web::{web, HttpMessage as _, HttpRequest, HttpResponse};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

/// The file served at `/admin`: the admin page's entry point (its room view is
/// `/admin#room=ID`).
pub const ADMIN_PAGE: &str = "admin.html";

/// Files to serve at `/`, looked up by their path below it.
pub trait Assets: Send + Sync + 'static {
    /// The file at `path`: relative, `/`-separated, without a leading slash (`index.html`,
    /// `app.js`); `None` if there is none.
    fn get(&self, path: &str) -> Option<Asset>;
}

/// One file of [`Assets`].
#[derive(Clone, Debug)]
pub struct Asset {
    /// Its content.
    pub data: Cow<'static, [u8]>,
    /// A strong validator of the content, such as a hash in hex: served as the `ETag`, so a
    /// browser that has this version gets 304 instead of the body. Only `!` and `#` to `~`
    /// (RFC 9110 etagc) are allowed; an invalid one is served without an ETag.
    pub version: String,
}

/// What is served at `/`.
#[derive(Clone)]
pub enum WebClient {
    /// A built client in a folder (`--static-dir`).
    Dir(PathBuf),
    /// Files compiled into the binary.
    Embedded(Arc<dyn Assets>),
    /// No client: a page saying so at `/`, nothing else.
    Placeholder,
}

impl std::fmt::Debug for WebClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebClient::Dir(dir) => f.debug_tuple("Dir").field(dir).finish(),
            WebClient::Embedded(_) => f.write_str("Embedded"),
            WebClient::Placeholder => f.write_str("Placeholder"),
        }
    }
}

impl WebClient {
    /// Chooses what to serve: the `--static-dir` folder when one is given, else the embedded
    /// files; either only if it has an `index.html`, else the placeholder (with a warning,
    /// since a player opening the page would find no game).
    pub fn choose(static_dir: Option<PathBuf>, embedded: Option<Arc<dyn Assets>>) -> WebClient {
        match (static_dir, embedded) {
            (Some(dir), _) if dir.join("index.html").is_file() => WebClient::Dir(dir),
            (Some(dir), _) => {
                tracing::warn!(dir = %dir.display(), "no index.html in --static-dir; serving a placeholder at /");
                WebClient::Placeholder
            }
            (None, Some(assets)) if assets.get("index.html").is_some() => {
                WebClient::Embedded(assets)
            }
            (None, Some(_)) => {
                tracing::warn!(
                    "this binary was built without the web client; serving a placeholder at /"
                );
                WebClient::Placeholder
            }
            (None, None) => {
                tracing::warn!("no web client given (--static-dir); serving a placeholder at /");
                WebClient::Placeholder
            }
        }
    }

    /// Adds the client's routes. Register it after every other route: it answers all paths
    /// the others leave (404 for files it does not have).
    pub fn mount(&self, cfg: &mut web::ServiceConfig) {
        match self {
            WebClient::Dir(dir) => {
                let page = dir.join(ADMIN_PAGE);
                cfg.service(
                    web::scope("")
                        .wrap(Compress::default())
                        .route(
                            "/admin",
                            web::get().to(move |req: HttpRequest| {
                                let page = page.clone();
                                async move { serve_file(&page, &req).await }
                            }),
                        )
                        .service(
                            actix_files::Files::new("", dir)
                                .index_file("index.html")
                                .use_etag(true),
                        ),
                );
            }
            WebClient::Embedded(assets) => {
                let admin = assets.clone();
                let assets = assets.clone();
                cfg.service(
                    web::scope("")
                        .wrap(Compress::default())
                        .route(
                            "/admin",
                            web::get().to(move |req: HttpRequest| {
                                let assets = admin.clone();
                                async move { serve_path(&*assets, &req, ADMIN_PAGE.to_owned()) }
                            }),
                        )
                        .default_service(web::to(move |req: HttpRequest| {
                            let assets = assets.clone();
                            async move { serve(&*assets, &req) }
                        })),
                );
            }
            WebClient::Placeholder => {
                cfg.route("/", web::get().to(placeholder));
                cfg.route("/admin", web::get().to(placeholder));
            }
        }
    }
}

const PLACEHOLDER_PAGE: &str = "<!doctype html><meta charset=utf-8><title>tickroom</title>\
<h1>tickroom is running</h1><p>The web client is not built. Run <code>make run</code> from the \
repository (it builds <code>client-web/</code> first and then the server, which embeds it), or \
point <code>--static-dir</code> at a built client. The WebSocket endpoint is <code>/ws</code>; \
rooms are listed at <a href=/api/rooms>/api/rooms</a>.</p>";

async fn placeholder() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(PLACEHOLDER_PAGE)
}

/// The asset path a request names: `index.html` for a folder (`/`), `None` for one that
/// tries to leave the root or name a hidden file.
fn asset_path(request_path: &str) -> Option<String> {
    let path = request_path.trim_start_matches('/');
    if path
        .split('/')
        .any(|segment| segment.starts_with('.') || segment.contains('\\'))
    {
        return None;
    }
    Some(if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    })
}

/// The content type for a file name, as actix-files serves it, with `charset=utf-8` for text
/// (the client's files are UTF-8).
fn content_type(path: &str) -> Mime {
    let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    let guessed = actix_files::file_extension_to_mime(ext);
    let text = guessed.type_() == mime::TEXT || guessed == mime::APPLICATION_JAVASCRIPT;
    if text && guessed.get_param(mime::CHARSET).is_none() {
        // A type and subtype from the table plus a fixed parameter always parse.
        format!("{guessed}; charset=utf-8")
            .parse()
            .unwrap_or(guessed)
    } else {
        guessed
    }
}

/// Whether `version` may stand inside an ETag's quotes (RFC 9110 etagc: `!`, `#` to `~`).
fn valid_etag(version: &str) -> bool {
    version
        .bytes()
        .all(|b| b == b'!' || (b'#'..=b'~').contains(&b))
}

/// Answers one request for an embedded file: GET or HEAD (actix-web sends no body for HEAD),
/// 304 when the browser already has this version.
fn serve(assets: &dyn Assets, req: &HttpRequest) -> HttpResponse {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "GET, HEAD"))
            .finish();
    }
    match asset_path(req.path()) {
        Some(path) => serve_path(assets, req, path),
        None => not_found(),
    }
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("not found\n")
}

/// A file of a `--static-dir` folder served under another path (`/admin`), as actix-files
/// serves the rest of the folder.
async fn serve_file(file: &std::path::Path, req: &HttpRequest) -> HttpResponse {
    match actix_files::NamedFile::open_async(file).await {
        Ok(file) => file.use_etag(true).into_response(req),
        Err(_) => not_found(),
    }
}

/// Answers a GET or HEAD for the embedded file at `path` (see [`serve`]).
fn serve_path(assets: &dyn Assets, req: &HttpRequest, path: String) -> HttpResponse {
    let Some(asset) = assets.get(&path) else {
        return not_found();
    };
    let etag = valid_etag(&asset.version).then(|| EntityTag::new_strong(asset.version));
    let unchanged = etag
        .as_ref()
        .is_some_and(|etag| match req.get_header::<IfNoneMatch>() {
            Some(IfNoneMatch::Any) => true,
            Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(etag)),
            None => false,
        });
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header((header::CACHE_CONTROL, "no-cache"));
    if let Some(etag) = etag {
        response.insert_header(header::ETag(etag));
    }
    if unchanged {
        return response.finish();
    }
    response.content_type(content_type(&path));
    match asset.data {
        Cow::Borrowed(data) => response.body(data),
        Cow::Owned(data) => response.body(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/` and folders mean their index.html; paths out of the root or to hidden files mean none.
    #[test]
    fn request_paths_map_to_asset_paths() {
        assert_eq!(asset_path("/").as_deref(), Some("index.html"));
        assert_eq!(asset_path("").as_deref(), Some("index.html"));
        assert_eq!(asset_path("/app.js").as_deref(), Some("app.js"));
        assert_eq!(asset_path("/games/").as_deref(), Some("games/index.html"));
        assert_eq!(
            asset_path("/games/arena.js").as_deref(),
            Some("games/arena.js")
        );
        assert_eq!(asset_path("/../secret"), None);
        assert_eq!(asset_path("/a/../../secret"), None);
        assert_eq!(asset_path("/.env"), None);
        assert_eq!(asset_path("/a\\..\\b"), None);
    }

    /// Text files say they are UTF-8; others keep the type actix-files gives them.
    #[test]
    fn content_types() {
        assert_eq!(
            content_type("index.html").as_ref(),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type("app.css").as_ref(), "text/css; charset=utf-8");
        let js = content_type("app.js");
        assert!(
            js.as_ref() == "text/javascript; charset=utf-8"
                || js.as_ref() == "application/javascript; charset=utf-8",
            "{js}"
        );
        assert_eq!(content_type("levels.json").as_ref(), "application/json");
        assert_eq!(content_type("icon.png").as_ref(), "image/png");
        assert_eq!(content_type("LICENSE").as_ref(), "application/octet-stream");
    }
}
