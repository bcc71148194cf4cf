//! The web client at `/` and its admin page at `/admin`: files a binary embeds ([`Assets`])
//! with their content types, ETags and compression; an explicit `--static-dir` over them; the
//! placeholder when there is no client. (The real binary with the real client:
//! `games/tests/process.rs`.)

use std::borrow::Cow;
use std::sync::Arc;
use tickroom_server::{Asset, Assets, Games, ServerHandle};
use tickroom_tests::{games, test_config};

/// A small client: a page, a script big enough to be worth compressing, and a file named like
/// an API route.
struct Fake {
    with_index: bool,
}

const PAGE: &[u8] = b"<!doctype html><title>embedded</title>";
const ADMIN: &[u8] = b"<!doctype html><title>admin</title>";

impl Assets for Fake {
    fn get(&self, path: &str) -> Option<Asset> {
        let (data, version): (Cow<'static, [u8]>, &str) = match path {
            "index.html" if self.with_index => (Cow::Borrowed(PAGE), "page-1"),
            "admin.html" => (Cow::Borrowed(ADMIN), "admin-1"),
            "app.js" => (
                Cow::Owned("console.log('tickroom');\n".repeat(200).into_bytes()),
                "script-1",
            ),
            "healthz" => (Cow::Borrowed(b"not the health check"), "h"),
            // Quotes cannot stand in an ETag: served without one.
            "odd.css" => (Cow::Borrowed(b"body{}"), "a\"b"),
            _ => return None,
        };
        Some(Asset {
            data,
            version: version.to_owned(),
        })
    }
}

fn start(static_dir: Option<std::path::PathBuf>, assets: Option<Fake>) -> ServerHandle {
    let config = tickroom_server::Config {
        static_dir,
        ..test_config()
    };
    let assets = assets.map(|a| Arc::new(a) as Arc<dyn Assets>);
    tickroom_server::spawn_with(config, Games::new().with::<games::Lab>(), assets)
        .expect("a test server starts")
}

/// One response: status, the headers asked for, body.
struct Answer {
    status: u16,
    headers: Vec<Option<String>>,
    body: Vec<u8>,
}

fn request(
    server: &ServerHandle,
    method: &str,
    path: &str,
    send: &[(&str, &str)],
    read: &[&str],
) -> Answer {
    let url = format!("http://{}{path}", server.addr);
    let mut builder = ureq::http::Request::builder().method(method).uri(&url);
    for (name, value) in send {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(()).expect("a valid request");
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut response = agent.run(request).expect("the server answers");
    let headers = read
        .iter()
        .map(|name| {
            response
                .headers()
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .collect();
    let body = response.body_mut().read_to_vec().expect("a body");
    Answer {
        status: response.status().as_u16(),
        headers,
        body,
    }
}

fn get(server: &ServerHandle, path: &str, read: &[&str]) -> Answer {
    request(server, "GET", path, &[], read)
}

/// Embedded files are served with their content type, `no-cache` and their ETag, and a
/// matching `If-None-Match` gets a bodiless 304; `/` is `index.html`; unknown files are 404;
/// the API routes come first; HEAD has the length and no body; other methods get 405.
#[test]
fn embedded_files_with_types_etags_and_304() {
    let server = start(None, Some(Fake { with_index: true }));
    let headers = ["content-type", "cache-control", "etag"];
    let page = get(&server, "/", &headers);
    assert_eq!(page.status, 200);
    assert_eq!(page.body, PAGE);
    assert_eq!(
        page.headers,
        [
            Some("text/html; charset=utf-8".to_owned()),
            Some("no-cache".to_owned()),
            Some("\"page-1\"".to_owned())
        ]
    );
    assert_eq!(get(&server, "/index.html", &[]).body, PAGE);
    let script = get(&server, "/app.js", &headers);
    assert_eq!(script.status, 200);
    let content_type = script.headers[0].clone().unwrap_or_default();
    assert!(
        content_type == "text/javascript; charset=utf-8"
            || content_type == "application/javascript; charset=utf-8",
        "{content_type}"
    );
    assert_eq!(script.headers[2].as_deref(), Some("\"script-1\""));

    let again = request(
        &server,
        "GET",
        "/app.js",
        &[("If-None-Match", "\"script-1\"")],
        &["etag"],
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.headers[0].as_deref(), Some("\"script-1\""));
    let changed = request(
        &server,
        "GET",
        "/app.js",
        &[("If-None-Match", "\"script-0\"")],
        &[],
    );
    assert_eq!(changed.status, 200, "another version gets the body");
    assert_eq!(changed.body, script.body);

    let odd = get(&server, "/odd.css", &["content-type", "etag"]);
    assert_eq!(odd.status, 200);
    assert_eq!(
        odd.headers,
        [Some("text/css; charset=utf-8".to_owned()), None]
    );

    assert_eq!(get(&server, "/missing.js", &[]).status, 404);
    assert_eq!(get(&server, "/../app.js", &[]).status, 404);
    assert_eq!(get(&server, "/healthz", &[]).body, b"ok\n", "routes first");
    assert_eq!(get(&server, "/api/info", &[]).status, 200);

    let head = request(&server, "HEAD", "/app.js", &[], &["content-length"]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.headers[0].as_deref(),
        Some(script.body.len().to_string().as_str())
    );
    assert_eq!(request(&server, "POST", "/app.js", &[], &[]).status, 405);
}

/// A browser that accepts gzip gets the files gzip-compressed.
#[test]
fn embedded_files_are_compressed() {
    let server = start(None, Some(Fake { with_index: true }));
    let plain = get(&server, "/app.js", &[]);
    let gzipped = request(
        &server,
        "GET",
        "/app.js",
        &[("Accept-Encoding", "gzip")],
        &["content-encoding"],
    );
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.headers[0].as_deref(), Some("gzip"));
    assert!(gzipped.body.starts_with(&[0x1f, 0x8b]), "a gzip stream");
    assert!(gzipped.body.len() < plain.body.len());
}

/// An explicit `--static-dir` wins over the embedded client; one without `index.html` gives
/// the placeholder (not the embedded client), as does an embedded client without one.
#[test]
fn static_dir_overrides_the_embedded_client() {
    let dir = std::env::temp_dir().join(format!("tickroom-web-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>folder</title>",
    )
    .expect("write index.html");
    let server = start(Some(dir.clone()), Some(Fake { with_index: true }));
    let page = get(&server, "/", &["content-type"]);
    assert_eq!(page.body, b"<!doctype html><title>folder</title>");
    assert_eq!(page.headers[0].as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(
        get(&server, "/app.js", &[]).status,
        404,
        "the folder's files only"
    );
    drop(server);
    // Only our own folder; a failure leaves it in the temp dir.
    let _ = std::fs::remove_dir_all(&dir);

    let placeholder = "The web client is not built";
    let server = start(Some("/nonexistent".into()), Some(Fake { with_index: true }));
    let page = String::from_utf8(get(&server, "/", &[]).body).expect("text");
    assert!(page.contains(placeholder), "{page}");
    drop(server);

    let server = start(None, Some(Fake { with_index: false }));
    let page = String::from_utf8(get(&server, "/", &[]).body).expect("text");
    assert!(page.contains(placeholder), "{page}");
    assert_eq!(get(&server, "/app.js", &[]).status, 404);
    drop(server);

    let server = start(None, None);
    let page = String::from_utf8(get(&server, "/", &[]).body).expect("text");
    assert!(page.contains(placeholder), "{page}");
}

/// `/admin` is the client's `admin.html`, embedded or from `--static-dir` (a folder without one
/// answers 404); without a client it is the placeholder.
#[test]
fn admin_is_the_clients_admin_page() {
    let server = start(None, Some(Fake { with_index: true }));
    let page = get(&server, "/admin", &["content-type", "etag"]);
    assert_eq!(page.status, 200);
    assert_eq!(page.body, ADMIN);
    assert_eq!(
        page.headers,
        [
            Some("text/html; charset=utf-8".to_owned()),
            Some("\"admin-1\"".to_owned())
        ]
    );
    drop(server);

    let dir = std::env::temp_dir().join(format!("tickroom-admin-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    std::fs::write(dir.join("index.html"), PAGE).expect("write index.html");
    let server = start(Some(dir.clone()), None);
    assert_eq!(get(&server, "/admin", &[]).status, 404, "no admin.html yet");
    std::fs::write(dir.join("admin.html"), ADMIN).expect("write admin.html");
    let page = get(&server, "/admin", &["content-type"]);
    assert_eq!((page.status, page.body.as_slice()), (200, ADMIN));
    assert_eq!(page.headers[0].as_deref(), Some("text/html; charset=utf-8"));
    drop(server);
    // Only our own folder; a failure leaves it in the temp dir.
    let _ = std::fs::remove_dir_all(&dir);

    let server = start(None, None);
    let page = String::from_utf8(get(&server, "/admin", &[]).body).expect("text");
    assert!(page.contains("The web client is not built"), "{page}");
}
