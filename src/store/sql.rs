//! The bottom of the store: how the two engines' SQL differs (`Dialect`),
//! and the columns a source's state is read with and how they decode, which
//! every engine and the shared SQL use.

use super::types::{SourceState, cadence};

/// How the engines differ in the SQL below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A time column as tidings' text form (`2026-11-20T02:00:00Z`), as
    /// SQLite stores it.
    pub(super) fn time_text(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => column.to_string(),
            Dialect::Postgres => {
                format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
            }
        }
    }

    /// Parameter `$n`, bound as tidings' text form of a time.
    pub(super) fn time_param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("${n}"),
            Dialect::Postgres => format!("${n}::timestamptz"),
        }
    }

    /// The ids of parameter `$n`, a JSON list bound as text, as a
    /// subquery of one column, `value`: any number of ids, one statement.
    pub(super) fn id_list(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("SELECT value FROM json_each(${n})"),
            Dialect::Postgres => format!(
                "SELECT CAST(value AS BIGINT) AS value FROM json_array_elements_text(CAST(${n} AS json))"
            ),
        }
    }
}

/// The columns a source's state is read with, `prefix` naming `sources`
/// (see [`SourceRow`]).
pub(super) fn state_columns(dialect: Dialect, prefix: &str) -> String {
    format!(
        "{prefix}id, {prefix}etag, {prefix}last_modified, {prefix}body_hash, {prefix}error_count, {},
         {prefix}last_status,
         {prefix}interval_seconds, {prefix}interval_reason, {prefix}entry_memory IS NOT NULL",
        dialect.time_text(&format!("{prefix}next_due"))
    )
}

/// A source's state as both engines read it ([`state_columns`]): id,
/// etag, last_modified, body_hash, error_count, next_due as text,
/// last_status, interval_seconds, interval_reason, whether it has an entry
/// memory.
pub(super) type SourceRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    bool,
);

impl From<SourceRow> for SourceState {
    fn from(row: SourceRow) -> SourceState {
        let (id, etag, last_modified, body_hash, errors, next_due, status, seconds, reason, memory) =
            row;
        SourceState {
            id,
            etag,
            last_modified,
            body_hash,
            error_count: errors as u32,
            next_due: next_due.as_deref().and_then(crate::read::dates::from_db),
            gone: status.as_deref() == Some("gone"),
            cadence: cadence(seconds, reason),
            lease: None,
            remembers_entries: memory,
        }
    }
}
