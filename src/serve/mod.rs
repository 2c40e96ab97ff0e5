//! The HTTP server of the daemon: merged Atom feeds, their index, health and
//! metrics.
//!
//! `GET /feeds/all.atom`, `GET /feeds/{label}.atom` (labels percent-encoded),
//! `GET /feeds/`, `GET /search?q=...` (a search as an Atom feed, to subscribe
//! to), `GET /health` (503 when the database does not answer) and
//! `GET /metrics` (Prometheus). Feeds carry ETag and Last-Modified and a
//! conditional request for an unchanged feed gets 304 without a body.

pub mod feeds;
pub mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use crate::serve::feeds::{ALL, Feeds, RenderedFeed};
use crate::serve::metrics::{RequestLabels, metrics};

/// The routes, over the shared feed builder.
pub fn router(feeds: Arc<Feeds>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/feeds", get(index))
        .route("/feeds/", get(index))
        .route("/feeds/{file}", get(feed))
        .route("/search", get(search))
        .layer(axum::middleware::from_fn(count_request))
        .with_state(feeds)
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

async fn health(State(feeds): State<Arc<Feeds>>) -> Response {
    match feeds.database_bytes().await {
        Ok(_) => "ok\n".into_response(),
        Err(error) => unavailable(error),
    }
}

/// OpenMetrics for who asks for it (Prometheus does), else the classic text format.
async fn metrics_text(State(feeds): State<Arc<Feeds>>, request: HeaderMap) -> Response {
    if let Ok(bytes) = feeds.database_bytes().await {
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

async fn index(State(feeds): State<Arc<Feeds>>) -> Response {
    match feeds.labels().await {
        Ok(labels) => Html(feeds.index_html(&labels)).into_response(),
        Err(error) => unavailable(error),
    }
}

async fn feed(
    State(feeds): State<Arc<Feeds>>,
    Path(file): Path<String>,
    request: HeaderMap,
) -> Response {
    let Some(name) = file.strip_suffix(".atom") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let label = (name != ALL).then_some(name);
    match feeds.feed(label).await {
        Ok(Some(feed)) => respond(&feed, &request),
        Ok(None) => (StatusCode::NOT_FOUND, "no such feed\n").into_response(),
        Err(error) => unavailable(error),
    }
}

/// The query of `GET /search`.
#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
    limit: Option<usize>,
}

/// Results a search feed carries unless `limit` asks for fewer, and at most.
const SEARCH_RESULTS: usize = 20;
const MAX_SEARCH_RESULTS: usize = 100;

async fn search(
    State(feeds): State<Arc<Feeds>>,
    Query(query): Query<SearchQuery>,
    request: HeaderMap,
) -> Response {
    let Some(text) = query.q.filter(|q| !q.trim().is_empty()) else {
        return (StatusCode::BAD_REQUEST, "search what? /search?q=...\n").into_response();
    };
    let limit = query
        .limit
        .unwrap_or(SEARCH_RESULTS)
        .clamp(1, MAX_SEARCH_RESULTS);
    match feeds.search(&text, limit).await {
        Ok(feed) => respond(&feed, &request),
        Err(error) => unavailable(error),
    }
}

fn respond(feed: &RenderedFeed, request: &HeaderMap) -> Response {
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
        HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    (headers, feed.body.clone()).into_response()
}

/// RFC 9110: If-None-Match decides when present; else If-Modified-Since.
fn not_modified(feed: &RenderedFeed, request: &HeaderMap) -> bool {
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
