//! tidings: a feed aggregator daemon.
//!
//! The modules are the stages of the flow, listed here from the bottom floor
//! up: each imports only the ones above it in this list (a test holds the
//! code to that order; `docs/architecture.md` says why each stands where it
//! does). Feeds and pages are fetched, read into entries, made articles,
//! grouped into stories, stored, and emitted; the daemon runs that flow on
//! a schedule and serves what it stored.

// Text of HTML, whitespace, XML-safe characters: what every stage shares.
pub mod text;

// HTTP and file fetching, conditional and bounded; the private-address guard.
pub mod fetch;

// Bytes to entries: charsets, feeds (strict, then repaired), dates, list pages and APIs.
pub mod read;

// Stories: text fingerprints, the window of recent articles, matching.
pub mod cluster;

// Entries to articles: the model, normalizing, rewrite rules, article pages, identity.
pub mod article;

// The typed `config.toml`, recipes and OPML.
pub mod config;

// SQLite or PostgreSQL, one interface.
pub mod store;

// Atom feeds and Hexo posts.
pub mod emit;

// The HTTP server of the merged feeds, metrics and health.
pub mod serve;

// Polling: one poll, the daemon, the schedule.
pub mod run;

// Tools for measuring, not stages: the workload generator, the stories
// evaluation, the properties the fuzzers check.
pub mod tools;

// The command line: one function per subcommand.
pub mod cli;
