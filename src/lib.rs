//! tidings: a feed aggregator daemon.
//!
//! The flow of DESIGN.md, one module per stage:
//! `config` → `schedule` → `fetch` → `parse` → `normalize` → `dedup` + `store` → `emit`.
//! `poll` runs one pass of that flow over the configured sources.

pub mod article;
pub mod charset;
pub mod cluster;
pub mod config;
pub mod daemon;
pub mod dates;
pub mod dedup;
pub mod discover;
pub mod emit;
pub mod export;
pub mod extract;
pub mod feeds;
pub mod fetch;
pub mod fuzzing;
pub mod guard;
pub mod metrics;
pub mod normalize;
pub mod opml;
pub mod pages;
pub mod parse;
pub mod poll;
pub mod regroup;
pub mod repair;
pub mod reprocess;
pub mod rewrite;
pub mod schedule;
pub mod scrape;
pub mod serve;
pub mod store;
pub mod text;
pub mod workload;
