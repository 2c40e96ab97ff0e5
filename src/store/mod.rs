//! The database: where polls are written and feeds, searches and stories
//! are read. SQLite (`sqlite`) is the default, one file beside the config.

mod sqlite;
mod types;

pub use sqlite::{
    DuePage, NewContent, Regrouping, Store, StoredContent, StoryError, StoryMember, Ungrouped, Why,
};
pub use types::{
    ArticleFilter, Counts, Outcome, PollRecord, SearchHit, SourceState, SourceSummary, StoreError,
};
