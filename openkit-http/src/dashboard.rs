//! The web dashboard, embedded at compile time (`build.rs` builds `dashboard/` and
//! generates the file table) and served for every path outside `/api/`.
//!
//! - `GET /` and `GET /index.html` answer the page; any other `GET`/`HEAD` path that is
//!   not one of its files and does not look like a file (no `.` in its last segment)
//!   answers the page too (single-page app fallback). The page's URLs are relative; below
//!   the top level a `<base>` pointing back to the root keeps them right.
//! - Hashed build output (`assets/…`) is cached for a year (`immutable`); the page and any
//!   other file must be revalidated (`no-cache`, with an `ETag`).
//! - Every answer carries `X-Content-Type-Options: nosniff`, a strict
//!   `Content-Security-Policy` (scripts, styles, fonts, images and connections from this
//!   server only: `connect-src` names this host's `ws:`/`wss:` for the terminal sockets;
//!   inline styles are allowed because xterm.js writes its own `<style>` elements) and
//!   `frame-ancestors 'none'`.
//! - `/api/...` is never answered here: unknown API paths keep their JSON 404, and other
//!   methods than `GET`/`HEAD` outside `/api/` get the same envelope.
//!
//! With a UI directory (`openkit serve --ui-dir DIR`, [`AppState::with_ui_dir`]) another
//! web UI's build (the original OpenKit UI) is served from it instead, the same way (its
//! `index.html` for app paths, never a file outside `DIR`), revalidated on every load.
//!
//! The Host/Origin checks of [`crate::security`] run before this, as for the API.

use std::sync::OnceLock;

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));

/// The page every route of the app is served from.
const INDEX: &str = "index.html";

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Path inside the build (`index.html`, `assets/index-<hash>.js`).
    pub path: &'static str,
    /// Contents.
    pub bytes: &'static [u8],
}

/// Every embedded file, sorted by path.
pub fn assets() -> impl Iterator<Item = Asset> {
    ASSETS.iter().map(|&(path, bytes)| Asset { path, bytes })
}

/// The embedded file at `path` (relative, no leading `/`).
pub fn asset(path: &str) -> Option<Asset> {
    ASSETS
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .map(|i| Asset {
            path: ASSETS[i].0,
            bytes: ASSETS[i].1,
        })
}

/// The `Content-Type` of a file, by its extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Hashed build output, which never changes under its name.
fn immutable(path: &str) -> bool {
    path.starts_with("assets/")
}

/// A strong validator for `bytes` (FNV-1a, 64 bit).
fn etag_of(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

/// The `ETag` of each asset, computed once.
fn etag(asset: Asset) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| ASSETS.iter().map(|(_, b)| etag_of(b)).collect());
    let i = ASSETS
        .binary_search_by(|(p, _)| (*p).cmp(asset.path))
        .expect("an embedded asset");
    &tags[i]
}

/// The Content-Security-Policy of the page; `host` is the request's (already checked)
/// `Host`, named for the terminal WebSockets.
pub fn content_security_policy(host: Option<&str>) -> String {
    let sockets = host
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'{sockets}; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// How many directories below the root `path` is (`/a` → 0, `/a/b` and `/a/` → 1).
fn depth(path: &str) -> usize {
    path.trim_start_matches('/').matches('/').count()
}

/// The page, with a `<base>` back to the root when served below the top level.
fn page(index: Asset, depth: usize) -> Body {
    if depth == 0 {
        return Body::from(index.bytes);
    }
    let html = String::from_utf8_lossy(index.bytes);
    let base = format!("<head>\n    <base href=\"{}\" />", "../".repeat(depth));
    Body::from(html.replacen("<head>", &base, 1))
}

/// Answers every request no API route took: the dashboard (or the UI directory the
/// server was given), or the JSON 404/405.
pub async fn fallback(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return crate::error::not_found(method, uri).await.into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{method} is not allowed on {path}: the dashboard is read with GET"),
        )
        .into_response();
    }
    if let Some(dir) = state.ui_dir() {
        return from_directory(dir, method, uri, &headers).await;
    }
    let relative = path.trim_start_matches('/');
    let (found, spa_depth) = match asset(relative).filter(|_| !relative.is_empty()) {
        Some(found) => (found, None),
        None => {
            let last = relative.rsplit('/').next().unwrap_or("");
            let looks_like_file = last.contains('.') && relative != INDEX;
            match asset(INDEX) {
                Some(index) if !looks_like_file && !relative.starts_with("assets/") => {
                    (index, Some(depth(path)))
                }
                _ => {
                    return crate::error::not_found(method, uri).await.into_response();
                }
            }
        }
    };
    let tag = etag(found);
    let mut response: Response = match spa_depth {
        Some(d) if d > 0 => Response::new(page(found, d)),
        _ if headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*")) =>
        {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        }
        _ => Response::new(Body::from(found.bytes)),
    };
    if method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    let h = response.headers_mut();
    let cache = if immutable(found.path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    page_headers(h, content_type(found.path), cache, &headers);
    if spa_depth.is_none_or(|d| d == 0) {
        h.insert(header::ETAG, HeaderValue::from_str(tag).expect("hex etag"));
    }
    response
}

/// The headers every page and file of a web UI gets: its type and caching, `nosniff`,
/// the page's Content-Security-Policy (naming the request's host for the terminal
/// sockets), no referrer to other sites and no framing.
fn page_headers(
    h: &mut HeaderMap,
    content_type: &'static str,
    cache: &'static str,
    request: &HeaderMap,
) {
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let host = request.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(host)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// Serves another UI's build from `dir` (canonical): a file inside it, else (for app
/// paths, not file-like ones) its `index.html`. Nothing outside `dir` is ever read:
/// `..` segments are refused and the resolved file (symlinks followed) must lie in it.
async fn from_directory(dir: &Path, method: Method, uri: Uri, request: &HeaderMap) -> Response {
    let relative = uri.path().trim_start_matches('/');
    let confined = Path::new(relative)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    let inside = |candidate: PathBuf| {
        std::fs::canonicalize(candidate)
            .ok()
            .filter(|p| p.starts_with(dir) && p.is_file())
    };
    let last = relative.rsplit('/').next().unwrap_or("");
    let file = match (confined && !relative.is_empty())
        .then(|| inside(dir.join(relative)))
        .flatten()
    {
        Some(file) => Some(file),
        None if confined && !last.contains('.') => inside(dir.join(INDEX)),
        None => None,
    };
    let bytes = match file {
        Some(file) => tokio::fs::read(&file).await.ok().map(|b| (file, b)),
        None => None,
    };
    let Some((file, bytes)) = bytes else {
        return crate::error::not_found(method, uri).await.into_response();
    };
    let mut response = Response::new(if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    });
    let name = file.to_string_lossy();
    page_headers(
        response.headers_mut(),
        content_type(&name),
        "no-cache",
        request,
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_is_embedded_and_sorted() {
        let index = asset(INDEX).expect("index.html is embedded");
        let html = std::str::from_utf8(index.bytes).unwrap();
        assert!(html.contains("<div id=\"app\">"), "{html}");
        let paths: Vec<&str> = assets().map(|a| a.path).collect();
        let mut sorted = paths.clone();
        sorted.sort_unstable();
        assert_eq!(paths, sorted, "binary search needs a sorted table");
        // Every script and stylesheet the page names is embedded, by a relative URL.
        for url in html
            .split(['"', '\''])
            .filter(|s| s.starts_with("./assets/"))
        {
            assert!(asset(&url[2..]).is_some(), "{url} is not embedded");
        }
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no absolute URL: {html}"
        );
    }

    #[test]
    fn content_types_depths_and_policy() {
        assert_eq!(
            content_type("assets/a-1.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("assets/a.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("x.svg"), "image/svg+xml");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
        assert_eq!(depth("/"), 0);
        assert_eq!(depth("/tasks"), 0);
        assert_eq!(depth("/a/b"), 1);
        assert_eq!(depth("/a/b/"), 2);
        let csp = content_security_policy(Some("localhost:4040"));
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(
            csp.contains("connect-src 'self' ws://localhost:4040 wss://localhost:4040;"),
            "{csp}"
        );
        // Whatever is not a plain host name stays out of the header.
        let odd = content_security_policy(Some("evil; script-src *"));
        assert!(
            odd.contains("connect-src 'self';") && !odd.contains("evil"),
            "{odd}"
        );
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
    }
}
