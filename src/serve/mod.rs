//! The HTTP server of the daemon: the news pages, the merged feeds, their
//! index, health and metrics.
//!
//! `GET /` (stories newest first, `?before=ID` for the next page),
//! `GET /c/{label}`, `GET /story/{id}`; `GET /feeds/all.atom`,
//! `GET /feeds/{label}.atom` and `.json` (labels percent-encoded),
//! `GET /feeds/`; `GET /search?q=...` (the page of a search for a browser,
//! else its Atom feed, to subscribe to) and `GET /search.json?q=...`;
//! `GET /health` (503 when the database does not answer) and `GET /metrics`
//! (Prometheus). Feeds and pages carry ETag and Last-Modified and a
//! conditional request for an unchanged one gets 304 without a body.

pub mod feeds;
pub mod metrics;
pub mod pages;
pub mod site;

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use crate::emit::page::STYLESHEET;
use crate::serve::metrics::{RequestLabels, metrics};
use crate::serve::site::{ALL, Format, HTML, Rendered, Site};

/// The routes, over the shared builder of feeds and pages.
pub fn router(site: Arc<Site>) -> Router {
    Router::new()
        .route("/", get(front_page))
        .route("/c/{label}", get(label_page))
        .route("/story/{id}", get(story_page))
        .route("/tidings.css", get(stylesheet))
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/feeds", get(index))
        .route("/feeds/", get(index))
        .route("/feeds/{file}", get(feed))
        .route("/search", get(search))
        .route("/search.json", get(search_json))
        .layer(axum::middleware::from_fn(count_request))
        .with_state(site)
}

/// Counts each answered request by its route as declared, not its path, so
/// that neither feeds nor scanners multiply the series.
async fn count_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics()
        .http_requests
        .get_or_create(&RequestLabels { route, status })
        .inc();
    response
}

async fn health(State(site): State<Arc<Site>>) -> Response {
    match site.database_bytes().await {
        Ok(_) => "ok\n".into_response(),
        Err(error) => unavailable(error),
    }
}

/// OpenMetrics for who asks for it (Prometheus does), else the classic text format.
async fn metrics_text(State(site): State<Arc<Site>>, request: HeaderMap) -> Response {
    if let Ok(bytes) = site.database_bytes().await {
        metrics().database_bytes.set(bytes);
    }
    let openmetrics = request
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    let content_type = if openmetrics {
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    } else {
        "text/plain; version=0.0.4; charset=utf-8"
    };
    (
        [(header::CONTENT_TYPE, content_type)],
        metrics().render(openmetrics),
    )
        .into_response()
}

async fn index(State(site): State<Arc<Site>>) -> Response {
    match site.labels().await {
        Ok(labels) => Html(site.index_html(&labels)).into_response(),
        Err(error) => unavailable(error),
    }
}

async fn feed(
    State(site): State<Arc<Site>>,
    Path(file): Path<String>,
    request: HeaderMap,
) -> Response {
    let (name, format) = match file.rsplit_once('.') {
        Some((name, "atom")) => (name, Format::Atom),
        Some((name, "json")) => (name, Format::Json),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let label = (name != ALL).then_some(name);
    found(site.feed(label, format).await, "no such feed\n", &request)
}

/// The query of the pages of stories: the article the page starts after.
#[derive(serde::Deserialize)]
struct PageQuery {
    before: Option<i64>,
}

async fn front_page(
    State(site): State<Arc<Site>>,
    Query(query): Query<PageQuery>,
    request: HeaderMap,
) -> Response {
    found(
        site.page(None, query.before).await,
        "no such page\n",
        &request,
    )
}

async fn label_page(
    State(site): State<Arc<Site>>,
    Path(label): Path<String>,
    Query(query): Query<PageQuery>,
    request: HeaderMap,
) -> Response {
    found(
        site.page(Some(&label), query.before).await,
        "no such category\n",
        &request,
    )
}

async fn story_page(
    State(site): State<Arc<Site>>,
    Path(id): Path<i64>,
    request: HeaderMap,
) -> Response {
    found(site.story_page(id).await, "no such story\n", &request)
}

async fn stylesheet(request: HeaderMap) -> Response {
    static RENDERED: std::sync::LazyLock<Rendered> = std::sync::LazyLock::new(|| {
        Rendered::new(
            STYLESHEET.to_string(),
            "text/css; charset=utf-8",
            DateTime::UNIX_EPOCH,
        )
    });
    respond(&RENDERED, &request)
}

/// A feed or page that may not exist, answered as such.
fn found(
    built: Result<Option<Arc<Rendered>>, crate::store::StoreError>,
    missing: &'static str,
    request: &HeaderMap,
) -> Response {
    match built {
        Ok(Some(rendered)) => respond(&rendered, request),
        Ok(None) => (StatusCode::NOT_FOUND, missing).into_response(),
        Err(error) => unavailable(error),
    }
}

/// The query of `GET /search`.
#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
    limit: Option<usize>,
}

/// Results a search carries unless `limit` asks for fewer, and at most.
const SEARCH_RESULTS: usize = 20;
const MAX_SEARCH_RESULTS: usize = 100;

/// A search: its page for a browser, else its Atom feed.
async fn search(
    State(site): State<Arc<Site>>,
    Query(query): Query<SearchQuery>,
    request: HeaderMap,
) -> Response {
    let format = (!wants_html(&request)).then_some(Format::Atom);
    let mut response = answer_search(&site, query, format, &request).await;
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

async fn search_json(
    State(site): State<Arc<Site>>,
    Query(query): Query<SearchQuery>,
    request: HeaderMap,
) -> Response {
    answer_search(&site, query, Some(Format::Json), &request).await
}

/// A search as a feed in `format`, or as a page (`None`).
async fn answer_search(
    site: &Site,
    query: SearchQuery,
    format: Option<Format>,
    request: &HeaderMap,
) -> Response {
    let Some(text) = query.q.filter(|q| !q.trim().is_empty()) else {
        return (StatusCode::BAD_REQUEST, "search what? /search?q=...\n").into_response();
    };
    let limit = query.limit.unwrap_or(match format {
        Some(_) => SEARCH_RESULTS,
        None => pages::PAGE_STORIES,
    });
    let limit = limit.clamp(1, MAX_SEARCH_RESULTS);
    let rendered = match format {
        Some(format) => site.search(&text, limit, format).await,
        None => site.search_page(&text, limit).await,
    };
    match rendered {
        Ok(rendered) => respond(&rendered, request),
        Err(error) => unavailable(error),
    }
}

/// Whether the client prefers HTML to a feed: a browser says text/html
/// first; a feed reader that also takes HTML (SimplePie, FreshRSS's) ranks
/// it below Atom.
fn wants_html(request: &HeaderMap) -> bool {
    let Some(accept) = request.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut html: f32 = 0.0;
    let mut feed: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(quality),
            "application/atom+xml"
            | "application/rss+xml"
            | "application/xml"
            | "text/xml"
            | "application/feed+json"
            | "application/json" => feed = feed.max(quality),
            _ => {}
        }
    }
    html > 0.0 && html > feed
}

/// Pages may load their stylesheet and images, nothing else: no script runs
/// from them, whatever a feed carried past the sanitizer.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src http: https: data:; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn respond(feed: &Rendered, request: &HeaderMap) -> Response {
    let last_modified = httpdate::fmt_http_date(feed.last_modified.into());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&feed.etag).expect("hex etag"),
    );
    headers.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&last_modified).expect("http date"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if not_modified(feed, request) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(feed.content_type),
    );
    if feed.content_type == HTML {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        );
    }
    (headers, feed.body.clone()).into_response()
}

/// RFC 9110: If-None-Match decides when present; else If-Modified-Since.
fn not_modified(feed: &Rendered, request: &HeaderMap) -> bool {
    let text = |name| {
        request
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(tags) = text(header::IF_NONE_MATCH) {
        return tags
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == feed.etag);
    }
    text(header::IF_MODIFIED_SINCE)
        .and_then(|since| httpdate::parse_http_date(since).ok())
        // Stored times have whole seconds, as HTTP dates do.
        .is_some_and(|since| DateTime::<Utc>::from(since) >= feed.last_modified)
}

fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::error!("serving a feed failed: {error}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the database is not available\n",
    )
        .into_response()
}
