//! The database: where polls are written and feeds, searches and stories
//! are read. SQLite (`sqlite`) is the default, one file beside the config,
//! written by one process; PostgreSQL (`postgres`) is shared by several
//! pollers and readers on other machines. [`Store`] is one interface over
//! both: the pipeline never asks which it has. What happens to each entry
//! of a poll is decided the same way for both (`plan`), and what feeds,
//! searches and commands read and change is one SQL for both (`reads`,
//! `stories`, `contents`, `refilter`); each engine keeps only what is its own: opening,
//! the poll's write, claims, search candidates, change notices, and what
//! only PostgreSQL stores (band keys, hosts). The rooms, bottom up: `sql`
//! and `types`, `plan`, the engines, `engine` (the enum), the shared SQL.

mod contents;
mod engine;
mod group;
mod plan;
mod postgres;
mod reads;
mod refilter;
mod sources;
mod sql;
mod sqlite;
mod stories;
mod types;

pub use contents::{NewContent, StoredContent};
pub use engine::Store;
pub use reads::DuePage;
pub use refilter::StoredEntry;
pub use stories::{ArticleText, Regrouping, StoryError, StoryMember, Why};
pub use types::{
    ArticleFilter, Cadence, Claim, Counts, HostLimit, Outcome, PollRecord, SearchHit, SourceState,
    SourceSummary, StoreError, Turn, Wanted,
};
