//! `tidings discover URL`: the feeds a site offers, or, where it offers
//! none, a `list` table that reads the page, and what it reads.
//!
//! The page is fetched; the feeds it advertises (`<link rel="alternate">`)
//! and those at the usual places (`/feed`, `/rss.xml`, `/atom.xml`,
//! `/index.xml`, ...) are fetched in turn and kept when they read as feeds.
//! When there is none, `scrape::discover` proposes a `list` table, and what
//! it reads is shown. No JavaScript runs: a page that builds its list in the
//! browser has nothing to propose.

use chrono::Utc;
use futures::StreamExt;
use url::Url;

use std::path::Path;

use crate::article::dedup::TrackingParams;
use crate::article::normalize::{self, SourceContext};
use crate::config::{Config, PollDefaults};
use crate::fetch::{FetchError, Fetched, Fetcher, Validators};
use crate::read::charset::{self, Labels};
use crate::read::parse::{self, ParseHints};
use crate::read::scrape::discover::{Proposal, advertised_feeds, propose, usual_places};

/// A feed found for a page.
#[derive(Debug, Clone)]
struct FoundFeed {
    url: Url,
    /// RSS, Atom, JSON Feed.
    kind: &'static str,
    title: Option<String>,
    entries: usize,
}

/// What `discover` found for a page.
#[derive(Debug)]
struct Discovery {
    /// The page itself, when it is a feed.
    itself: Option<FoundFeed>,
    /// The feeds the page advertises.
    advertised: Vec<FoundFeed>,
    /// Feeds at the usual places of the site, not advertised.
    usual: Vec<FoundFeed>,
    /// A `list` table for the page, when it has no feed.
    proposal: Option<Proposal>,
    /// The page, for reading the proposal with.
    page: Option<Fetched>,
}

/// Looks for the feeds of the page at `url`.
async fn find(url: &Url, poll: &PollDefaults) -> Result<Discovery, FetchError> {
    let fetcher = Fetcher::new(&poll.fetch_limits())
        .map_err(|error| FetchError::Network(error.to_string()))?;
    let fetched = fetcher.fetch(url, &Validators::default(), &[]).await?;
    let Fetched::Body {
        url: page_url,
        bytes,
        charset,
        ..
    } = &fetched
    else {
        return Err(FetchError::Status(304));
    };
    let itself = as_feed(page_url, bytes, charset.as_deref(), poll);
    let text = charset::decode(
        bytes,
        Labels {
            forced: None,
            http: charset.as_deref(),
            host: page_url.host_str(),
        },
    )
    .text
    .into_owned();
    if itself.is_some() {
        return Ok(Discovery {
            itself,
            advertised: Vec::new(),
            usual: Vec::new(),
            proposal: None,
            page: None,
        });
    }
    let advertised_urls = advertised_feeds(&text, page_url);
    let usual_urls: Vec<Url> = usual_places(page_url)
        .into_iter()
        .filter(|place| place != page_url && !advertised_urls.contains(place))
        .collect();
    let advertised = feeds_at(&fetcher, advertised_urls, poll).await;
    let mut usual = feeds_at(&fetcher, usual_urls, poll).await;
    // `/feed` and `/feed/` are often one feed: keep the first of a redirect's ends.
    usual.retain(|feed| !advertised.iter().any(|a| a.url == feed.url));
    let proposal = (advertised.is_empty() && usual.is_empty())
        .then(|| propose(&text, poll.timezone, Utc::now()))
        .flatten();
    Ok(Discovery {
        itself,
        advertised,
        usual,
        proposal,
        page: Some(fetched),
    })
}

/// The feeds among `urls`, fetched a few at a time.
async fn feeds_at(fetcher: &Fetcher, urls: Vec<Url>, poll: &PollDefaults) -> Vec<FoundFeed> {
    let fetches = urls.into_iter().map(|url| async move {
        match fetcher.fetch(&url, &Validators::default(), &[]).await {
            Ok(Fetched::Body {
                url: found,
                bytes,
                charset,
                ..
            }) => as_feed(&found, &bytes, charset.as_deref(), poll),
            _ => None,
        }
    });
    let mut found: Vec<FoundFeed> = futures::stream::iter(fetches)
        .buffered(poll.per_host.max(1))
        .filter_map(|feed| async move { feed })
        .collect()
        .await;
    found.dedup_by(|a, b| a.url == b.url);
    found
}

/// The body as a feed, when it reads as one.
fn as_feed(
    url: &Url,
    bytes: &[u8],
    charset: Option<&str>,
    poll: &PollDefaults,
) -> Option<FoundFeed> {
    let hints = ParseHints {
        forced_encoding: None,
        http_charset: charset,
        host: url.host_str(),
        timezone: poll.timezone,
        max_entries: poll.max_entries,
    };
    let parsed = parse::parse(bytes, hints).ok()?;
    let feed = &parsed.feed;
    Some(FoundFeed {
        url: url.clone(),
        kind: match feed.feed_type {
            feed_rs::model::FeedType::Atom => "Atom",
            feed_rs::model::FeedType::JSON => "JSON Feed",
            _ => "RSS",
        },
        title: feed
            .title
            .as_ref()
            .map(|t| crate::text::html_to_text(&t.content))
            .filter(|t| !t.is_empty()),
        entries: feed.entries.len(),
    })
}

impl FoundFeed {
    /// One line of `tidings discover`'s report.
    fn line(&self) -> String {
        format!(
            "{}  ({}, {} entries{})",
            self.url,
            self.kind,
            self.entries,
            self.title
                .as_ref()
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        )
    }
}

/// Prints the feeds of the page at `page`, or a `list` table for it and what
/// that reads.
pub(super) async fn discover(config: &Config, page: &str) -> anyhow::Result<()> {
    let url = super::parse::url_of(page)?;
    let found = find(&url, &config.poll).await?;
    if let Some(feed) = &found.itself {
        println!("{url} is a feed:\n  {}", feed.line());
        return Ok(());
    }
    for (heading, feeds) in [
        ("feeds the page advertises", &found.advertised),
        ("feeds at the usual places", &found.usual),
    ] {
        if !feeds.is_empty() {
            println!("{heading}:");
            for feed in feeds {
                println!("  {}", feed.line());
            }
        }
    }
    if !found.advertised.is_empty() || !found.usual.is_empty() {
        return Ok(());
    }
    match (&found.proposal, &found.page) {
        (Some(proposal), Some(page)) => show_proposal(config, &url, proposal, page),
        _ => {
            println!(
                "no feed found, and no list of headlines on the page to propose selectors for \
                 (a page that builds its list with JavaScript cannot be read)"
            );
            Ok(())
        }
    }
}

/// Prints a proposed `list` table as a source to paste, and the articles it
/// reads from `page`.
fn show_proposal(
    config: &Config,
    url: &Url,
    proposal: &Proposal,
    page: &Fetched,
) -> anyhow::Result<()> {
    let Fetched::Body {
        url: found_at,
        bytes,
        charset,
        ..
    } = page
    else {
        return Ok(());
    };
    let host = url.host_str().unwrap_or("site");
    println!(
        "no feed found; a `list` table reads {} items from the page (check it with \
         `tidings parse {url} --source NAME`):\n",
        proposal.count
    );
    let table = format!(
        "[[sources]]\nname = \"{host}\"\nurl = \"{url}\"\ncategory = \"CATEGORY\"\n{}\n",
        proposal.toml()
    );
    println!("{table}");
    let proposed = Config::from_toml(&table, Path::new(".")).map_err(anyhow::Error::msg)?;
    let hints = ParseHints {
        forced_encoding: None,
        http_charset: charset.as_deref(),
        host: found_at.host_str(),
        timezone: config.poll.timezone,
        max_entries: config.poll.max_entries,
    };
    let context = SourceContext {
        name: host.to_string(),
        url: url.clone(),
        category: String::new(),
        channel: None,
        timezone: config.poll.timezone,
        tracking: TrackingParams::new(&config.poll.tracking_params),
        rewrite: Default::default(),
        now: Utc::now(),
        last_reading: Default::default(),
    };
    let reading = &proposed.sources[0].reading;
    let read = normalize::read_body(bytes, hints, reading, found_at, &context)?;
    if let Some(matches) = &read.feed.matches {
        println!("what it reads: {}", super::parse::describe_matches(matches));
    }
    for article in &read.feed.articles {
        let when = article.published.map_or("(no date)".to_string(), |date| {
            let local = date.with_timezone(&config.poll.timezone);
            local.format("%Y-%m-%d %H:%M").to_string()
        });
        let link = article.link.as_deref().unwrap_or("");
        println!("  {when}  {}  {link}", article.title);
    }
    for warning in &read.feed.warnings {
        println!("warning: {warning}");
    }
    Ok(())
}
