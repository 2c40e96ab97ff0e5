//! HTTP (and file) fetching: conditional GET, bounded bodies, honest errors.
//!
//! Politeness is built in: every request carries the validators of the last
//! response (an unchanged feed costs a 304 and no parsing), a user agent naming
//! tidings, a timeout, a redirect limit and a cap on the decompressed body, so a
//! slow, huge or compressed-bomb response ends in a clear error, not in memory.

pub mod guard;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, redirect};
use tokio::sync::OnceCell;
use url::Url;

/// The validators a previous response gave for this URL.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a response says about when to ask again.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheHints {
    /// `Cache-Control: max-age`, or `Expires` minus now.
    pub fresh_for: Option<Duration>,
}

/// A successful fetch.
#[derive(Debug)]
pub enum Fetched {
    /// 304: nothing changed since the validators were issued.
    NotModified { cache: CacheHints },
    /// A body, at most `max_body_bytes` long after decompression.
    Body {
        /// Where the body was found, after redirects: relative links in a
        /// list page are relative to it.
        url: Url,
        status: u16,
        bytes: Vec<u8>,
        /// The Content-Type charset, for the decoder.
        charset: Option<String>,
        validators: Validators,
        cache: CacheHints,
    },
}

/// Why a fetch failed. The message is what `tidings sources` shows.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// 429 or 503: the host asks us to slow down, maybe saying for how long.
    #[error("HTTP {status}: the server asks to retry later{}", retry_after.map(|d| format!(" (in {}s)", d.as_secs())).unwrap_or_default())]
    Throttled {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// 410: the feed is gone for good.
    #[error("HTTP 410 Gone: the feed was removed")]
    Gone,
    #[error("HTTP {0}")]
    Status(u16),
    /// A redirect reqwest would not follow: to another scheme, or without a usable Location.
    #[error("HTTP {status}: will not follow the redirect to `{location}`")]
    Redirect { status: u16, location: String },
    #[error("body larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Network(String),
    #[error("cannot read {path}: {message}")]
    File { path: String, message: String },
    /// A page tidings will not fetch: another scheme, or a private address
    /// (see `guard`).
    #[error("refused: {0}")]
    Refused(String),
}

impl FetchError {
    /// The HTTP status behind the error, for the fetch log.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            FetchError::Throttled { status, .. }
            | FetchError::Status(status)
            | FetchError::Redirect { status, .. } => Some(*status),
            FetchError::Gone => Some(410),
            _ => None,
        }
    }
}

/// The politeness key of a URL: host and port, so two sites never share limits
/// and a site's own ports (8080, 443) are one site each.
pub fn host_key(url: &url::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => String::new(),
    }
}

/// An article page, as fetched for full content.
#[derive(Debug)]
pub struct Page {
    /// Where the page was found, after redirects: relative links are relative to it.
    pub url: Url,
    pub bytes: Vec<u8>,
    /// The Content-Type charset, for the decoder.
    pub charset: Option<String>,
}

/// The HTTP client every poll shares (it pools connections per host).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body_bytes: u64,
    max_redirects: usize,
    /// The clients of article pages, made when the first page is fetched:
    /// most configs fetch none, and making a client reads the system's root
    /// certificates.
    pages: Arc<OnceCell<PageClients>>,
    limits: Arc<Limits>,
}

/// Article pages follow redirects one at a time, so each hop is checked.
struct PageClients {
    /// For the feed's own origin, and for sources that allow private pages.
    open: reqwest::Client,
    /// For everything else: resolves names to public addresses only, and
    /// never through a proxy (which would resolve them where we cannot check).
    public: reqwest::Client,
}

/// What keeps fetching polite and bounded, from the config's `[poll]`.
#[derive(Debug, Clone)]
pub struct Limits {
    pub user_agent: String,
    /// The whole request, body included.
    pub timeout: Duration,
    /// Fetches in flight to one host: idle connections kept per host.
    pub per_host: usize,
    /// Largest body accepted, after decompression.
    pub max_body_bytes: u64,
    pub max_redirects: usize,
}

/// The client settings feeds and pages share.
fn client_builder(poll: &Limits) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(&poll.user_agent)
        .timeout(poll.timeout)
        .connect_timeout(poll.timeout.min(Duration::from_secs(10)))
        .gzip(true)
        .brotli(true)
        .deflate(true)
        .pool_max_idle_per_host(poll.per_host)
}

impl Fetcher {
    pub fn new(poll: &Limits) -> Result<Fetcher, reqwest::Error> {
        let max_redirects = poll.max_redirects;
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                attempt.error(format!("more than {max_redirects} redirects"))
            } else if !matches!(attempt.url().scheme(), "http" | "https") {
                let scheme = attempt.url().scheme().to_string();
                attempt.error(format!("redirect to a non-HTTP scheme `{scheme}`"))
            } else {
                attempt.follow()
            }
        });
        let client = client_builder(poll).redirect(policy).build()?;
        Ok(Fetcher {
            client,
            max_body_bytes: poll.max_body_bytes,
            max_redirects,
            pages: Arc::default(),
            limits: Arc::new(poll.clone()),
        })
    }

    /// Fetches a source's body, conditionally when validators are known,
    /// with the source's own request `headers`.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
        headers: &[(String, String)],
    ) -> Result<Fetched, FetchError> {
        if url.scheme() == "file" {
            return self.fetch_file(url, validators).await;
        }
        let mut request = self.client.get(url.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(etag) = &validators.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &validators.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, modified);
        }
        let response = request.send().await.map_err(network_error)?;
        self.read(response).await
    }

    /// Fetches an article page that `feed` links to, following redirects
    /// itself so that every hop is checked: only http(s), and only the feed's
    /// own origin or public addresses unless `allow_private` (see `guard`).
    pub async fn fetch_page(
        &self,
        url: &Url,
        feed: &Url,
        allow_private: bool,
    ) -> Result<Page, FetchError> {
        let clients = self.page_clients().await?;
        let mut url = url.clone();
        for _ in 0..=self.max_redirects {
            let client = page_client(clients, &url, feed, allow_private)?;
            let response = client
                .get(url.clone())
                .send()
                .await
                .map_err(network_error)?;
            let status = response.status();
            let next = response
                .headers()
                .get(header::LOCATION)
                .and_then(|location| location.to_str().ok())
                .and_then(|location| url.join(location).ok());
            match next {
                Some(next) if status.is_redirection() && status != StatusCode::NOT_MODIFIED => {
                    url = next;
                }
                _ => {
                    return match self.read(response).await? {
                        Fetched::Body { bytes, charset, .. } => Ok(Page {
                            url,
                            bytes,
                            charset,
                        }),
                        Fetched::NotModified { .. } => Err(FetchError::Status(304)),
                    };
                }
            }
        }
        Err(FetchError::Refused(format!(
            "more than {} redirects",
            self.max_redirects
        )))
    }

    async fn page_clients(&self) -> Result<&PageClients, FetchError> {
        self.pages
            .get_or_try_init(|| async {
                let poll = self.limits.clone();
                let build = move || -> Result<PageClients, reqwest::Error> {
                    let builder = || client_builder(&poll).redirect(redirect::Policy::none());
                    Ok(PageClients {
                        open: builder().build()?,
                        public: builder()
                            .no_proxy()
                            .dns_resolver(Arc::new(crate::fetch::guard::PublicOnly))
                            .build()?,
                    })
                };
                tokio::task::spawn_blocking(build)
                    .await
                    .map_err(|error| FetchError::Network(error.to_string()))?
                    .map_err(network_error)
            })
            .await
    }

    /// Reads a response: its status as an error or a 304, else its body up
    /// to the size limit.
    async fn read(&self, mut response: reqwest::Response) -> Result<Fetched, FetchError> {
        let status = response.status();
        let url = response.url().clone();
        let headers = response.headers().clone();
        let cache = cache_hints(&headers);
        match status {
            StatusCode::NOT_MODIFIED => return Ok(Fetched::NotModified { cache }),
            StatusCode::GONE => return Err(FetchError::Gone),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                return Err(FetchError::Throttled {
                    status: status.as_u16(),
                    retry_after: retry_after(&headers),
                });
            }
            s if s.is_redirection() => {
                let location = headers
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect();
                return Err(FetchError::Redirect {
                    status: s.as_u16(),
                    location,
                });
            }
            s if !s.is_success() => return Err(FetchError::Status(s.as_u16())),
            _ => {}
        }
        let declared = response.content_length().unwrap_or(0);
        if declared > self.max_body_bytes {
            return Err(FetchError::TooLarge(self.max_body_bytes));
        }
        let mut bytes = Vec::with_capacity(declared as usize);
        while let Some(chunk) = response.chunk().await.map_err(network_error)? {
            if bytes.len() as u64 + chunk.len() as u64 > self.max_body_bytes {
                return Err(FetchError::TooLarge(self.max_body_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        let text_header = |name| {
            headers
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
                .map(String::from)
        };
        Ok(Fetched::Body {
            url,
            status: status.as_u16(),
            bytes,
            charset: text_header(header::CONTENT_TYPE)
                .as_deref()
                .and_then(charset_of_content_type)
                .map(String::from),
            validators: Validators {
                etag: text_header(header::ETAG),
                last_modified: text_header(header::LAST_MODIFIED),
            },
            cache,
        })
    }

    /// A local file, for feeds kept on disk; its mtime plays the part of Last-Modified.
    async fn fetch_file(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        let shown = url.path().to_string();
        let file_error = |e: std::io::Error| FetchError::File {
            path: shown.clone(),
            message: e.to_string(),
        };
        let path = url.to_file_path().map_err(|_| FetchError::File {
            path: url.to_string(),
            message: "not a local file path".into(),
        })?;
        let metadata = tokio::fs::metadata(&path).await.map_err(file_error)?;
        if metadata.len() > self.max_body_bytes {
            return Err(FetchError::TooLarge(self.max_body_bytes));
        }
        let modified = metadata.modified().ok().map(httpdate::fmt_http_date);
        if modified.is_some() && modified == validators.last_modified {
            return Ok(Fetched::NotModified {
                cache: CacheHints::default(),
            });
        }
        Ok(Fetched::Body {
            url: url.clone(),
            status: 200,
            bytes: tokio::fs::read(&path).await.map_err(file_error)?,
            charset: None,
            validators: Validators {
                etag: None,
                last_modified: modified,
            },
            cache: CacheHints::default(),
        })
    }
}

/// The client a page hop may use, or why it may not be fetched.
fn page_client<'a>(
    clients: &'a PageClients,
    url: &Url,
    feed: &Url,
    allow_private: bool,
) -> Result<&'a reqwest::Client, FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Refused(format!("{url} is not an http(s) page")));
    }
    if allow_private || url.origin() == feed.origin() {
        return Ok(&clients.open);
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(address)) => Some(address.into()),
        Some(url::Host::Ipv6(address)) => Some(address.into()),
        _ => None,
    };
    match literal {
        Some(address) if !crate::fetch::guard::is_public(address) => Err(FetchError::Refused(
            format!("{url} is at a private or reserved address, and not at the feed's own origin"),
        )),
        _ => Ok(&clients.public),
    }
}

/// The charset parameter of a Content-Type header value.
pub fn charset_of_content_type(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

fn network_error(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        if let Some(not_public) = cause.downcast_ref::<crate::fetch::guard::NotPublic>() {
            return FetchError::Refused(not_public.to_string());
        }
        source = cause.source();
    }
    // reqwest's own message repeats the URL; the causes say what really happened
    // (refused, reset, DNS, TLS, too many redirects...).
    let mut causes: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.iter().any(|c| c.contains(&text)) {
            causes.push(text);
        }
        source = cause.source();
    }
    if causes.is_empty() {
        causes.push(error.to_string());
    }
    FetchError::Network(causes.join(": "))
}

fn cache_hints(headers: &HeaderMap) -> CacheHints {
    let max_age = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|directive| {
            let (name, value) = directive.trim().split_once('=')?;
            (name.eq_ignore_ascii_case("max-age"))
                .then(|| value.trim().parse().ok())
                .flatten()
                .map(Duration::from_secs)
        });
    let expires = || {
        let at = httpdate::parse_http_date(headers.get(header::EXPIRES)?.to_str().ok()?).ok()?;
        at.duration_since(std::time::SystemTime::now()).ok()
    };
    CacheHints {
        fresh_for: max_age.or_else(expires),
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    (at - Utc::now()).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_charset() {
        assert_eq!(
            charset_of_content_type("application/rss+xml; charset=\"GBK\""),
            Some("GBK")
        );
        assert_eq!(charset_of_content_type("text/xml"), None);
    }
}
