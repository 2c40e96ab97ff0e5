//! `tidings parse`: a feed, list page or API as tidings reads it, as JSON,
//! without the database: the tool to reach for when a source looks wrong.

use anyhow::Context;
use url::Url;

use crate::article::dedup::TrackingParams;
use crate::article::normalize::{self, SourceContext};
use crate::config::{Config, SourceConfig};
use crate::fetch::{Fetched, Fetcher, Validators};
use crate::read::parse::{self, ParseHints};
use crate::read::scrape::Matches;

/// What `tidings parse` is told of the body and its source.
#[derive(clap::Args)]
pub(super) struct Options {
    /// A file path or an http(s) URL.
    feed: String,
    /// Read it as this source of the config does (its list or json table,
    /// headers, timezone, encoding, rewrite rules): a name, `NAME/CHANNEL`,
    /// a recipe or the source's URL.
    #[arg(long)]
    source: Option<String>,
    /// The source name (default: the source's, else the feed's title).
    #[arg(long)]
    name: Option<String>,
    #[arg(long, default_value = "")]
    category: String,
    #[arg(long)]
    channel: Option<String>,
    /// Zone of dates that carry none (default: the source's, the config's,
    /// else Asia/Shanghai).
    #[arg(long)]
    timezone: Option<String>,
    /// Force a charset, as a source's `encoding` does.
    #[arg(long)]
    encoding: Option<String>,
}

/// Prints the body at `options.feed` as its articles (and, for a list page
/// or an API, what each field matched).
pub(super) async fn parse(config: &Config, options: Options) -> anyhow::Result<()> {
    let configured = options
        .source
        .as_deref()
        .map(|wanted| find_source(config, wanted, &options.feed))
        .transpose()?;
    let timezone = match &options.timezone {
        Some(name) => crate::config::parse_timezone(name).map_err(anyhow::Error::msg)?,
        None => configured.map_or(config.poll.timezone, |s| config.timezone_of(s)),
    };
    let encoding = options
        .encoding
        .as_deref()
        .map(|label| {
            crate::read::charset::encoding_for_label(label)
                .with_context(|| format!("unknown encoding `{label}`"))
        })
        .transpose()?
        .or(configured.and_then(|s| s.encoding));
    let url = url_of(&options.feed)?;
    let headers = configured.map_or(&[][..], |s| s.headers.as_slice());
    let fetched = Fetcher::new(&config.poll.fetch_limits())?
        .fetch(&url, &Validators::default(), headers)
        .await?;
    let Fetched::Body {
        url: found_at,
        bytes,
        charset,
        ..
    } = fetched
    else {
        anyhow::bail!("{url} answered 304 Not Modified to an unconditional request");
    };
    let hints = ParseHints {
        forced_encoding: encoding,
        http_charset: charset.as_deref(),
        host: found_at.host_str(),
        timezone,
        max_entries: config.poll.max_entries,
    };
    let reading = configured.map(|s| s.reading.clone()).unwrap_or_default();
    let mut context = SourceContext {
        name: options
            .name
            .clone()
            .or(configured.map(|s| s.name.clone()))
            .unwrap_or_default(),
        url: url.clone(),
        category: match configured {
            Some(source) if options.category.is_empty() => source.category.clone(),
            _ => options.category.clone(),
        },
        channel: options
            .channel
            .clone()
            .or(configured.and_then(|s| s.channel.clone())),
        timezone,
        tracking: TrackingParams::new(&config.poll.tracking_params),
        rewrite: configured.map(|s| s.rewrite.clone()).unwrap_or_default(),
        now: chrono::Utc::now(),
        last_reading: Default::default(),
    };
    if context.name.is_empty() {
        // Without a name, the feed's own title names the source.
        let parsed = parse::read(&bytes, hints, &reading, &found_at, context.now)?;
        context.name = parsed
            .feed
            .title
            .as_ref()
            .map(|t| crate::text::html_to_text(&t.content))
            .unwrap_or_else(|| url.host_str().unwrap_or("feed").to_string());
    }
    let read = normalize::read_body(&bytes, hints, &reading, &found_at, &context)?;
    if let Some(matches) = &read.feed.matches {
        eprintln!("{}", describe_matches(matches));
    }
    println!("{}", serde_json::to_string_pretty(&read.feed)?);
    Ok(())
}

/// The source `--source` names: by URL (the one being parsed, or the one
/// given), `NAME/CHANNEL`, recipe or name. Of several of one name, the first,
/// with a note saying how to name another.
fn find_source<'a>(
    config: &'a Config,
    wanted: &str,
    parsing: &str,
) -> anyhow::Result<&'a SourceConfig> {
    let sources = &config.sources;
    let named = |s: &&SourceConfig| {
        s.name == wanted
            || s.recipe.as_deref() == Some(wanted)
            || s.channel
                .as_ref()
                .is_some_and(|channel| format!("{}/{channel}", s.name) == wanted)
    };
    let candidates: Vec<&SourceConfig> = sources.iter().filter(named).collect();
    let parsing = Url::parse(parsing).ok();
    if let Some(source) = sources
        .iter()
        .find(|s| s.url.as_str() == wanted)
        .or_else(|| {
            candidates
                .iter()
                .copied()
                .find(|s| Some(&s.url) == parsing.as_ref())
        })
    {
        return Ok(source);
    }
    match candidates.as_slice() {
        [] => anyhow::bail!("no source named `{wanted}` in the config"),
        [one] => Ok(one),
        [first, ..] => {
            eprintln!(
                "note: {} sources are named `{wanted}`; reading as the first ({}); name another as {}",
                candidates.len(),
                first.url,
                candidates
                    .iter()
                    .filter_map(|s| s.channel.as_ref().map(|c| format!("`{}/{c}`", s.name)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(first)
        }
    }
}

/// A file path or URL as a URL.
pub(super) fn url_of(feed: &str) -> anyhow::Result<Url> {
    match Url::parse(feed) {
        Ok(url) if matches!(url.scheme(), "http" | "https" | "file") => Ok(url),
        _ => {
            let path =
                std::fs::canonicalize(feed).with_context(|| format!("cannot open {feed}"))?;
            Url::from_file_path(&path).map_err(|_| anyhow::anyhow!("cannot open {feed}"))
        }
    }
}

/// How many items each field matched, for a person writing selectors.
pub(super) fn describe_matches(matches: &Matches) -> String {
    let fields: Vec<String> = matches
        .fields
        .iter()
        .map(|f| format!("{} {}/{}", f.field, f.matched, matches.items))
        .collect();
    format!("{} items; {}", matches.items, fields.join(", "))
}
