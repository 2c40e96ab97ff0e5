//! The command line: `tidings COMMAND`, one function per subcommand, each
//! in the room of what it works on. Commands that read the database open it
//! through `with_store`, which closes it whatever the command returns, so
//! a finished command leaves one self-contained SQLite file.

mod discover;
mod export;
mod parse;
mod poll;
mod refilter;
mod regroup;
mod reprocess;
mod sources;
mod stories;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigError};
use crate::store::Store;

/// `tidings`, as the shell calls it.
#[derive(Parser)]
#[command(name = "tidings", version, about = "A feed aggregator daemon")]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "config.toml")]
    config: PathBuf,
    /// How log lines are written to stderr: text for people, json (one object
    /// a line) for log shippers.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run as a service: poll each source when due, serve the news page and
    /// the merged feeds.
    Run,
    /// Poll every source once, store what is new or changed, print a summary.
    Poll,
    /// Serve the news page and the merged feeds without polling: a reader of a database that
    /// other machines poll (PostgreSQL).
    Serve,
    /// Print a feed (or a list page or API, with --source) as tidings
    /// normalizes it (JSON), without touching the database.
    Parse(parse::Options),
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
        format: export::Format,
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
    /// Apply the current filters to the articles already stored: say how
    /// many they block, and with --yes delete them.
    Refilter {
        /// Only the articles this source carries.
        #[arg(long)]
        source: Option<String>,
        /// Delete what the filters block (else only count it).
        #[arg(long)]
        yes: bool,
    },
    /// Search every word of every stored article, newest first, with the
    /// passage that matched.
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Write a workload of Chinese finance feeds with its ground truth, for
    /// tests and benchmarks (see `src/tools/workload.rs`).
    Workload {
        /// The folder to write to.
        out: PathBuf,
        #[command(flatten)]
        options: crate::tools::workload::Options,
    },
}

impl Cli {
    /// Whether the command runs until stopped and answers SIGHUP (`run`,
    /// `serve`); the others take the signals' default actions.
    pub fn is_daemon(&self) -> bool {
        matches!(self.command, Command::Run | Command::Serve)
    }
}

/// Runs the command `cli` names.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let path = cli.config.as_path();
    match cli.command {
        Command::Run => crate::run::daemon::run(path).await,
        Command::Serve => crate::run::daemon::serve(path).await,
        Command::Poll => poll::poll(&Config::load(path)?).await,
        Command::Parse(options) => parse::parse(&config_or_defaults(path)?, options).await,
        Command::Discover { url } => discover::discover(&config_or_defaults(path)?, &url).await,
        Command::Recipes => sources::recipes(),
        Command::Sources { opml: true } => sources::opml(&Config::load(path)?),
        Command::Sources { opml: false } => with_store(path, sources::sources).await,
        Command::Export { format } => export::export(path, format).await,
        Command::Story { article } => {
            with_store(path, async |config, store| {
                stories::story(config, store, article).await
            })
            .await
        }
        Command::Split { article } => {
            with_store(path, async |_, store| stories::split(store, article).await).await
        }
        Command::Merge { a, b } => {
            with_store(path, async |config, store| {
                stories::merge(config, store, a, b).await
            })
            .await
        }
        Command::Regroup => with_store(path, regroup::command).await,
        Command::EvalStories { seed, stories } => {
            stories::evaluate(seed, stories);
            Ok(())
        }
        Command::Reprocess { source } => {
            with_store(path, async |config, store| {
                reprocess::command(config, store, source.as_deref()).await
            })
            .await
        }
        Command::Refilter { source, yes } => {
            with_store(path, async |config, store| {
                refilter::command(config, store, source.as_deref(), yes).await
            })
            .await
        }
        Command::Search { query, limit } => {
            with_store(path, async |_, store| search(store, &query, limit).await).await
        }
        Command::Workload { out, options } => workload(&out, &options),
    }
}

/// Loads the config, opens its database, runs `command` on both and closes
/// the database, whatever `command` returned.
async fn with_store<T>(
    path: &Path,
    command: impl AsyncFnOnce(&Config, &Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let config = Config::load(path)?;
    let store = Store::open(&config.storage).await?;
    let result = command(&config, &store).await;
    store.close().await;
    result
}

/// The config at `path`, or the defaults when there is no file there (for
/// `parse` and `discover`, which need no database); a file that exists but
/// is broken is still an error.
fn config_or_defaults(path: &Path) -> anyhow::Result<Config> {
    match Config::load(path) {
        Err(ConfigError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(Config::from_toml("", Path::new(".")).expect("the empty config is valid"))
        }
        other => Ok(other?),
    }
}

/// `tidings search`: each hit with its date, title, link and passage.
async fn search(store: &Store, query: &str, limit: usize) -> anyhow::Result<()> {
    for hit in store.search(query, limit).await? {
        let article = hit.article;
        println!(
            "{}  {}  {}\n    {}",
            crate::read::dates::to_db(article.published),
            article.title,
            article.link.unwrap_or_default(),
            hit.passage
        );
    }
    Ok(())
}

/// `tidings workload`: the feeds and their truth, written to `out`.
fn workload(out: &Path, options: &crate::tools::workload::Options) -> anyhow::Result<()> {
    let truth = crate::tools::workload::generate(out, options)
        .with_context(|| format!("cannot write the workload to {}", out.display()))?;
    println!(
        "{} feeds x {} entries, {} unique articles",
        truth.feeds, truth.entries_per_feed, truth.unique_articles
    );
    Ok(())
}
