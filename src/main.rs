//! The `tidings` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tidings::config::{Config, ConfigError, SourceConfig};
use tidings::fetch::{Fetched, Fetcher, Validators};
use tidings::normalize::{self, SourceContext};
use tidings::parse::{self, ParseHints};
use tidings::poll::{Poller, SourceReport};
use tidings::store::{Outcome, Store};
use url::Url;

#[derive(Parser)]
#[command(name = "tidings", version, about = "A feed aggregator daemon")]
struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "config.toml")]
    config: PathBuf,
    /// How log lines are written to stderr: text for people, json (one object
    /// a line) for log shippers.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run as a service: poll each source when due, serve the merged feeds.
    Run,
    /// Poll every source once, store what is new or changed, print a summary.
    Poll,
    /// Serve the merged feeds without polling: a reader of a database that
    /// other machines poll (PostgreSQL).
    Serve,
    /// Print a feed (or a list page or API, with --source) as tidings
    /// normalizes it (JSON), without touching the database.
    Parse {
        /// A file path or an http(s) URL.
        feed: String,
        /// Read it as this source of the config does (its list or json table,
        /// headers, timezone, encoding, rewrite rules): a name, `NAME/CHANNEL`,
        /// a recipe or the source's URL.
        #[arg(long)]
        source: Option<String>,
        /// The source name (default: the feed's title).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "")]
        category: String,
        #[arg(long)]
        channel: Option<String>,
        /// Zone of dates that carry none (default: the config's, else Asia/Shanghai).
        #[arg(long)]
        timezone: Option<String>,
        /// Force a charset, as a source's `encoding` does.
        #[arg(long)]
        encoding: Option<String>,
    },
    /// Find the feeds a site offers; where it offers none, propose a `list`
    /// table that reads the page.
    Discover {
        /// The page: a site's home or a section's list page.
        url: String,
    },
    /// List the recipes: sources shipped for known sites without feeds.
    Recipes,
    /// List the sources with their last status, error, article count and next poll.
    Sources {
        /// Print the sources as OPML 2.0 instead, for other readers.
        #[arg(long)]
        opml: bool,
    },
    /// Export articles.
    Export {
        #[command(subcommand)]
        format: ExportFormat,
    },
    /// Show the story of an article: its articles, when, and why each joined.
    Story {
        /// The id of any article of the story (`articles.id`).
        article: i64,
    },
    /// Take an article out of its story, for good.
    Split { article: i64 },
    /// Put the stories of two articles together, for good.
    Merge { a: i64, b: i64 },
    /// Fingerprint every stored article again and group them all anew,
    /// honouring every split and merge: for articles stored before stories
    /// existed, or after a change of how texts are compared.
    Regroup,
    /// Score stories on a generated corpus of reprints and traps: pairwise
    /// precision and recall of long stories and of flash news.
    EvalStories {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 1000)]
        stories: usize,
    },
    /// Apply the sources' current rewrite rules to the articles they stored.
    Reprocess {
        /// Only the sources of this name.
        #[arg(long)]
        source: Option<String>,
    },
    /// Search every word of every stored article, newest first, with the
    /// passage that matched.
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Write a workload of Chinese finance feeds with its ground truth, for
    /// tests and benchmarks (see `src/workload.rs`).
    Workload {
        /// The folder to write to.
        out: PathBuf,
        #[command(flatten)]
        options: tidings::workload::Options,
    },
}

#[derive(Subcommand)]
enum ExportFormat {
    /// One Markdown post per article, in the front-matter format of Hexo.
    Hexo {
        /// The folder the posts are written to.
        #[arg(long)]
        out: PathBuf,
        /// Only articles with this category label.
        #[arg(long)]
        category: Option<String>,
        /// Only articles published since this date (e.g. 2022-01-26), read in the config's timezone.
        #[arg(long)]
        since: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tidings=info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; a journal or a file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tidings: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run => tidings::daemon::run(&cli.config).await,
        Command::Serve => tidings::daemon::serve(&cli.config).await,
        Command::Workload { out, options } => {
            let truth = tidings::workload::generate(&out, &options)
                .with_context(|| format!("cannot write the workload to {}", out.display()))?;
            println!(
                "{} feeds x {} entries, {} unique articles",
                truth.feeds, truth.entries_per_feed, truth.unique_articles
            );
            Ok(())
        }
        Command::Poll => poll(&Config::load(&cli.config)?).await,
        Command::Parse {
            feed,
            source,
            name,
            category,
            channel,
            timezone,
            encoding,
        } => {
            let config = config_or_defaults(&cli.config)?;
            let configured = source
                .map(|wanted| find_source(&config, &wanted, &feed))
                .transpose()?;
            let timezone = match timezone {
                Some(name) => tidings::config::parse_timezone(&name).map_err(anyhow::Error::msg)?,
                None => configured
                    .map(|s| config.timezone_of(s))
                    .unwrap_or(config.poll.timezone),
            };
            let encoding = encoding
                .map(|label| {
                    tidings::charset::encoding_for_label(&label)
                        .with_context(|| format!("unknown encoding `{label}`"))
                })
                .transpose()?
                .or(configured.and_then(|s| s.encoding));
            let source = ParseSource {
                name: name.or(configured.map(|s| s.name.clone())),
                category: configured
                    .map(|s| s.category.clone())
                    .filter(|_| category.is_empty())
                    .unwrap_or(category),
                channel: channel.or(configured.and_then(|s| s.channel.clone())),
                timezone,
                encoding,
                configured: configured.cloned(),
            };
            parse_command(&config, source, &feed).await
        }
        Command::Discover { url } => {
            let config = config_or_defaults(&cli.config)?;
            discover_command(&config, &url).await
        }
        Command::Recipes => {
            println!("{:<16} {:<5} {:<8} URL", "RECIPE", "KIND", "CHANNEL");
            let mut site = String::new();
            for recipe in tidings::config::recipes() {
                if recipe.site != site {
                    site.clone_from(&recipe.site);
                    println!("# {site}");
                }
                println!(
                    "{:<16} {:<5} {:<8} {}",
                    recipe.name,
                    recipe.kind,
                    recipe.channel.as_deref().unwrap_or(""),
                    recipe.url.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
        Command::Sources { opml: true } => {
            let config = Config::load(&cli.config)?;
            print!(
                "{}",
                tidings::opml::write("tidings sources", &config.outlines())
            );
            Ok(())
        }
        Command::Sources { opml: false } => sources(&Config::load(&cli.config)?).await,
        Command::Export {
            format:
                ExportFormat::Hexo {
                    out,
                    category,
                    since,
                },
        } => {
            let config = Config::load(&cli.config)?;
            let since = since
                .map(|text| {
                    tidings::dates::parse_date(&text, config.poll.timezone)
                        .with_context(|| format!("--since {text}: not a date"))
                })
                .transpose()?;
            let store = Store::open(&config.storage).await?;
            let filter = tidings::store::ArticleFilter {
                label: category.as_deref(),
                since,
                ..Default::default()
            };
            let done = tidings::export::hexo(&store, &out, &filter).await?;
            println!(
                "{} posts written, {} unchanged, {} replaced (in {})",
                done.written,
                done.unchanged,
                done.replaced,
                out.display()
            );
            Ok(())
        }
        Command::Story { article } => {
            let config = Config::load(&cli.config)?;
            let store = Store::open(&config.storage).await?;
            let members = store
                .story(article)
                .await?
                .ok_or_else(|| anyhow::anyhow!("there is no article {article}"))?;
            print_story(&members, config.poll.timezone);
            Ok(())
        }
        Command::Split { article } => {
            let config = Config::load(&cli.config)?;
            let store = Store::open(&config.storage).await?;
            store.split(article, chrono::Utc::now()).await?;
            store.close().await;
            println!("article {article} now stands alone, and will not join that story again");
            Ok(())
        }
        Command::Merge { a, b } => {
            let config = Config::load(&cli.config)?;
            let store = Store::open(&config.storage).await?;
            store.merge(a, b, chrono::Utc::now()).await?;
            let members = store.story(a).await?.unwrap_or_default();
            store.close().await;
            print_story(&members, config.poll.timezone);
            Ok(())
        }
        Command::Regroup => {
            let config = Config::load(&cli.config)?;
            let store = Store::open(&config.storage).await?;
            let states = store.sync_sources(&config.sources).await?;
            let apart: Vec<i64> = config
                .sources
                .iter()
                .zip(&states)
                .filter(|(source, _)| !source.cluster)
                .map(|(_, state)| state.id)
                .collect();
            let done = tidings::regroup::regroup(&store, &apart).await?;
            store.close().await;
            println!(
                "{} articles fingerprinted, {} stories of several articles ({} articles joined one)",
                done.articles, done.stories, done.joined
            );
            Ok(())
        }
        Command::EvalStories { seed, stories } => {
            use tidings::cluster::evaluation;
            let corpus = evaluation::corpus(seed, stories);
            let scores = evaluation::score(&corpus);
            println!(
                "{} articles of {stories} stories (seed {seed})",
                corpus.len()
            );
            println!("| kind | pairs | precision | recall |\n|---|---|---|---|");
            for (kind, score) in [("long", scores.long), ("flash", scores.flash)] {
                println!(
                    "| {kind} | {} | {:.4} | {:.4} |",
                    score.pairs, score.precision, score.recall
                );
            }
            Ok(())
        }
        Command::Reprocess { source } => {
            let config = Config::load(&cli.config)?;
            let named = |s: &&tidings::config::SourceConfig| {
                source.as_ref().is_none_or(|name| &s.name == name)
            };
            if let Some(name) = &source
                && !config.sources.iter().any(|s| named(&s))
            {
                anyhow::bail!("no source named `{name}` in {}", cli.config.display());
            }
            let store = Store::open(&config.storage).await?;
            let states = store.sync_sources(&config.sources).await?;
            let ids: Vec<_> = config
                .sources
                .iter()
                .zip(&states)
                .filter(|(s, _)| named(s))
                .map(|(s, state)| (s, state.id))
                .collect();
            let done = tidings::reprocess::reprocess(&store, &ids).await?;
            store.close().await;
            println!(
                "{} articles of {} sources read, {} changed",
                done.read,
                ids.len(),
                done.changed
            );
            Ok(())
        }
        Command::Search { query, limit } => {
            let config = Config::load(&cli.config)?;
            let store = Store::open(&config.storage).await?;
            for hit in store.search(&query, limit).await? {
                let article = hit.article;
                println!(
                    "{}  {}  {}\n    {}",
                    tidings::dates::to_db(article.published),
                    article.title,
                    article.link.unwrap_or_default(),
                    hit.passage
                );
            }
            Ok(())
        }
    }
}

/// `parse` works without a config file; one that exists but is broken is still an error.
fn config_or_defaults(path: &Path) -> anyhow::Result<Config> {
    match Config::load(path) {
        Err(ConfigError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(Config::from_toml("", Path::new(".")).expect("the empty config is valid"))
        }
        other => Ok(other?),
    }
}

async fn poll(config: &Config) -> anyhow::Result<()> {
    let clock = Instant::now();
    let defaults = config.poll.clone();
    let fetcher = tokio::task::spawn_blocking(move || Fetcher::new(&defaults));
    let store = Store::open(&config.storage).await?;
    let mut states = store.sync_sources(&config.sources).await?;
    let hosts = tidings::schedule::HostGate::new(config.poll.per_host);
    let poller = Poller::new(
        Arc::new(config.clone()),
        store.clone(),
        hosts,
        fetcher.await??,
    );
    let gone = states.iter().filter(|s| s.gone).count();
    // Progress on a terminal only: logs and pipes get the summary alone.
    let progress = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new((states.len() - gone) as u64).with_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} sources, {elapsed}")
                .expect("a valid progress template"),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    let reports = poller
        .poll_all(&config.sources, &mut states, || progress.inc(1))
        .await?;
    progress.finish_and_clear();
    let changed = reports.iter().any(SourceReport::changed);
    if let (true, Some(dir)) = (changed, &config.output.dir) {
        let feeds = tidings::feeds::Feeds::new(
            store.clone(),
            config.output.entries,
            config.server.public_url(),
        );
        feeds.write_to(dir).await?;
    }
    store.close().await;
    print_summary(&reports, gone, clock.elapsed());
    Ok(())
}

fn print_summary(reports: &[SourceReport], gone: usize, elapsed: std::time::Duration) {
    let failed: Vec<&SourceReport> = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Error | Outcome::Gone))
        .collect();
    let not_modified = reports
        .iter()
        .filter(|r| r.outcome == Outcome::NotModified)
        .count();
    let mut counts = tidings::store::Counts::default();
    let mut pages = tidings::pages::PageCounts::default();
    for report in reports {
        counts += report.counts;
        pages += report.pages;
    }
    let bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    println!(
        "sources: {} ok ({} not modified), {} failed{}",
        reports.len() - failed.len(),
        not_modified,
        failed.len(),
        if gone > 0 {
            format!(", {gone} gone (HTTP 410, not polled until their config changes)")
        } else {
            String::new()
        }
    );
    println!(
        "articles: {} new, {} updated, {} unchanged",
        counts.new, counts.updated, counts.unchanged
    );
    if pages != Default::default() {
        println!(
            "article pages: {} read, {} kept the feed's content, {} to try again",
            pages.read, pages.kept_feed, pages.retry
        );
    }
    println!(
        "fetched {:.1} KiB in {:.2}s",
        bytes as f64 / 1024.0,
        elapsed.as_secs_f64()
    );
    for report in failed {
        println!(
            "failed: {} <{}>: {}",
            report.name,
            report.url,
            report.error.as_deref().unwrap_or("")
        );
    }
    for report in reports {
        for warning in &report.warnings {
            println!("warning: {} <{}>: {warning}", report.name, report.url);
        }
    }
}

/// A story as `tidings story` prints it: each article with its time, outlet
/// and link, and why it joined.
fn print_story(members: &[tidings::store::StoryMember], zone: chrono_tz::Tz) {
    use tidings::store::Why;
    let Some(first) = members.first() else {
        return;
    };
    println!("story {} · {} articles", first.id, members.len());
    for member in members {
        let when = member
            .published
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M");
        println!(
            "  {:<8} {when}  {}  {}  {}",
            member.id,
            member.outlet,
            member.title,
            member.link.as_deref().unwrap_or("")
        );
        let why = match &member.why {
            None => "first stored: its entry is the story's in the merged feeds".to_string(),
            Some(Why::Alike {
                matched,
                matched_outlet,
                overlap,
                numbers_agree,
                minutes_apart,
            }) => format!(
                "与{matched_outlet}（{matched}）文本重合 {:.0}%，{}，相隔 {minutes_apart} 分钟",
                overlap * 100.0,
                if *numbers_agree {
                    "数字一致"
                } else {
                    "数字不一致"
                }
            ),
            Some(Why::Merged { at }) => format!("merged by hand (tidings merge) at {at}"),
        };
        println!("           {why}");
    }
}

/// What `parse` knows of the source, from its options and the config.
struct ParseSource {
    name: Option<String>,
    category: String,
    channel: Option<String>,
    timezone: chrono_tz::Tz,
    encoding: Option<&'static encoding_rs::Encoding>,
    /// The config's source named by `--source`: how it is read and edited.
    configured: Option<SourceConfig>,
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
    let by_url = |url: &str| sources.iter().find(|s| s.url.as_str() == url);
    let named = |s: &&SourceConfig| {
        s.name == wanted
            || s.recipe.as_deref() == Some(wanted)
            || s.channel
                .as_ref()
                .is_some_and(|channel| format!("{}/{channel}", s.name) == wanted)
    };
    let candidates: Vec<&SourceConfig> = sources.iter().filter(named).collect();
    if let Some(source) = by_url(wanted).or_else(|| {
        candidates
            .iter()
            .copied()
            .find(|s| Url::parse(parsing).is_ok_and(|url| url == s.url))
    }) {
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
fn url_of(feed: &str) -> anyhow::Result<Url> {
    match Url::parse(feed) {
        Ok(url) if matches!(url.scheme(), "http" | "https" | "file") => Ok(url),
        _ => {
            let path =
                std::fs::canonicalize(feed).with_context(|| format!("cannot open {feed}"))?;
            Url::from_file_path(&path).map_err(|_| anyhow::anyhow!("cannot open {feed}"))
        }
    }
}

async fn parse_command(config: &Config, source: ParseSource, feed: &str) -> anyhow::Result<()> {
    let url = url_of(feed)?;
    let configured = source.configured.as_ref();
    let headers = configured.map_or(&[][..], |s| s.headers.as_slice());
    let fetched = Fetcher::new(&config.poll)?
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
        forced_encoding: source.encoding,
        http_charset: charset.as_deref(),
        host: found_at.host_str(),
        timezone: source.timezone,
        max_entries: config.poll.max_entries,
    };
    let reading = configured.map(|s| s.reading.clone()).unwrap_or_default();
    let mut context = SourceContext {
        name: source.name.clone().unwrap_or_default(),
        url: url.clone(),
        category: source.category,
        channel: source.channel,
        timezone: source.timezone,
        tracking: tidings::dedup::TrackingParams::new(&config.poll.tracking_params),
        rewrite: configured.map(|s| s.rewrite.clone()).unwrap_or_default(),
        now: chrono::Utc::now(),
    };
    if source.name.is_none() {
        // Without a name, the feed's own title names the source.
        let parsed = parse::read(&bytes, hints, &reading, &found_at, context.now)?;
        context.name = parsed
            .feed
            .title
            .as_ref()
            .map(|t| tidings::text::html_to_text(&t.content))
            .unwrap_or_else(|| url.host_str().unwrap_or("feed").to_string());
    }
    let read = normalize::read_body(&bytes, hints, &reading, &found_at, &context)?;
    if let Some(matches) = &read.feed.matches {
        eprintln!("{}", describe_matches(matches));
    }
    println!("{}", serde_json::to_string_pretty(&read.feed)?);
    Ok(())
}

/// How many items each field matched, for a person writing selectors.
fn describe_matches(matches: &tidings::scrape::Matches) -> String {
    let fields: Vec<String> = matches
        .fields
        .iter()
        .map(|f| format!("{} {}/{}", f.field, f.matched, matches.items))
        .collect();
    format!("{} items; {}", matches.items, fields.join(", "))
}

async fn discover_command(config: &Config, page: &str) -> anyhow::Result<()> {
    let url = url_of(page)?;
    let found = tidings::discover::discover(&url, &config.poll).await?;
    if let Some(feed) = &found.itself {
        println!(
            "{url} is a feed:
  {}",
            feed.line()
        );
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
    let (
        Some(proposal),
        Some(Fetched::Body {
            bytes,
            charset,
            url: found_at,
            ..
        }),
    ) = (&found.proposal, &found.page)
    else {
        println!(
            "no feed found, and no list of headlines on the page to propose selectors for \
             (a page that builds its list with JavaScript cannot be read)"
        );
        return Ok(());
    };
    println!(
        "no feed found; a `list` table reads {} items from the page (check it with \
         `tidings parse {url} --source NAME`):\n",
        proposal.count
    );
    let host = url.host_str().unwrap_or("site");
    println!(
        "[[sources]]\nname = \"{host}\"\nurl = \"{url}\"\ncategory = \"CATEGORY\"\n{}\n",
        proposal.toml()
    );
    let text = format!(
        "[[sources]]\nname = \"x\"\nurl = \"{url}\"\ncategory = \"x\"\n{}\n",
        proposal.toml()
    );
    let proposed = Config::from_toml(&text, Path::new(".")).map_err(anyhow::Error::msg)?;
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
        tracking: tidings::dedup::TrackingParams::new(&config.poll.tracking_params),
        rewrite: Default::default(),
        now: chrono::Utc::now(),
    };
    let read = normalize::read_body(
        bytes,
        hints,
        &proposed.sources[0].reading,
        found_at,
        &context,
    )?;
    if let Some(matches) = &read.feed.matches {
        println!("what it reads: {}", describe_matches(matches));
    }
    for article in &read.feed.articles {
        let when = article
            .published
            .map(|d| {
                d.with_timezone(&config.poll.timezone)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "(no date)".into());
        println!(
            "  {when}  {}  {}",
            article.title,
            article.link.as_deref().unwrap_or("")
        );
    }
    for warning in &read.feed.warnings {
        println!("warning: {warning}");
    }
    Ok(())
}

async fn sources(config: &Config) -> anyhow::Result<()> {
    let store = Store::open(&config.storage).await?;
    store.sync_sources(&config.sources).await?;
    println!(
        "{:<13} {:>8}  {:<20}  {:<24}  URL / LAST ERROR",
        "STATUS", "ARTICLES", "NEXT DUE", "SOURCE"
    );
    for source in store.list_sources().await? {
        let status = match (source.active, source.last_status.as_deref()) {
            (false, _) => "removed",
            (true, Some(status)) => status,
            (true, None) => "never polled",
        };
        let name = match &source.channel {
            Some(channel) => format!("{} / {}", source.name, channel),
            None => source.name.clone(),
        };
        println!(
            "{:<13} {:>8}  {:<20}  {:<24}  {}",
            status,
            source.articles,
            source.next_due.as_deref().unwrap_or("now"),
            name,
            source.url
        );
        let cadence = source.cadence.as_ref().map(ToString::to_string);
        let cadence = cadence.iter().map(|c| ("interval", c.as_str()));
        let error = source.last_error.iter().map(|e| ("error", e.as_str()));
        let warnings = source
            .last_warnings
            .iter()
            .flat_map(|w| w.lines())
            .map(|w| ("warning", w));
        for (kind, message) in cadence.chain(error).chain(warnings) {
            println!(
                "{:<13} {:>8}  {:<20}  {:<24}  {kind}: {message}",
                "", "", "", ""
            );
        }
    }
    Ok(())
}

/// jemalloc instead of the system allocator: parsing and sanitizing allocate
/// millions of small strings across threads, and with glibc's malloc a cold
/// poll took 12% more CPU time.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: memory freed is given back to
/// the system half a second after it is freed, not ten. A cold poll frees
/// as much as it keeps (feed bodies, parsed entries), and with the default
/// its peak memory was 15 MB higher, at no gain in time.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: Option<&u8> = Some(&JEMALLOC_OPTIONS[0]);

const JEMALLOC_OPTIONS: [u8; 36] = *b"dirty_decay_ms:500,muzzy_decay_ms:0\0";
