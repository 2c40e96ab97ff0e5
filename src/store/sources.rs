//! The sources table against the config: made to match it as every poll
//! starts, and listed for `tidings sources`; and what a source's last
//! reading was, for its next one.

use hashbrown::{HashMap, HashSet};
use sqlx::AssertSqlSafe;

use super::engine::{Store, reading, writing};
use super::sql::{Dialect, SourceRow, state_columns};
use super::types::{SourceState, SourceSummary, StoreError, cadence};
use crate::article::recall::EntryMemory;
use crate::config::SourceConfig;

impl Store {
    /// The source's last reading, entry by entry (see `article::recall`);
    /// nothing when none is stored.
    pub async fn entry_memory(&self, source_id: i64) -> Result<EntryMemory, StoreError> {
        let stored: Option<Option<Vec<u8>>> = reading!(self, |pool, _dialect| {
            sqlx::query_scalar("SELECT entry_memory FROM sources WHERE id = $1")
                .bind(source_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(stored.flatten().map_or_else(EntryMemory::default, |bytes| {
            EntryMemory::from_bytes(&bytes)
        }))
    }

    /// Makes the `sources` table match the config: new sources are added, changed
    /// ones updated, and ones no longer configured marked inactive (their
    /// articles stay). A source marked gone (HTTP 410) is tried again only once
    /// its config entry changes. Returns the state of each configured source, in
    /// order. Every poller of one PostgreSQL database should read the same
    /// sources: a poller marks inactive what its config lacks.
    ///
    /// Most starts find the config as it was, so the rows are read first and
    /// only what differs is written: a warm poll of a thousand feeds then
    /// writes nothing before its first fetch.
    pub async fn sync_sources(
        &self,
        sources: &[SourceConfig],
    ) -> Result<Vec<SourceState>, StoreError> {
        let fingerprints: Vec<String> = sources.iter().map(SourceConfig::fingerprint).collect();
        let rows: Vec<SourceRow> = writing!(self, |tx, dialect, engine| {
            engine::lock_sources(&mut tx).await?;
            let known: Vec<KnownRow> =
                sqlx::query_as("SELECT id, url, config_hash, active FROM sources")
                    .fetch_all(&mut *tx)
                    .await?;
            let sql = format!("SELECT {} FROM sources", state_columns(dialect, ""));
            let states: Vec<SourceRow> = sqlx::query_as(AssertSqlSafe(sql))
                .fetch_all(&mut *tx)
                .await?;
            let sync = Sync::compare(sources, &fingerprints, known, states);
            if !sync.retired.is_empty() {
                let sql = format!(
                    "UPDATE sources SET active = FALSE WHERE id IN ({})",
                    dialect.id_list(1)
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(serde_json::to_string(&sync.retired).expect("a list of numbers is JSON"))
                    .execute(&mut *tx)
                    .await?;
            }
            let upsert = upsert_sql(dialect);
            let mut rows = Vec::with_capacity(sources.len());
            for ((source, fingerprint), kept) in sources.iter().zip(&fingerprints).zip(sync.kept) {
                let row = match kept {
                    Some(row) => row,
                    None => {
                        sqlx::query_as(AssertSqlSafe(upsert.as_str()))
                            .bind(source.url.as_str())
                            .bind(&source.name)
                            .bind(&source.category)
                            .bind(&source.channel)
                            .bind(fingerprint)
                            .fetch_one(&mut *tx)
                            .await?
                    }
                };
                rows.push(row);
            }
            engine::note_hosts(&mut tx, sources).await?;
            rows
        });
        Ok(rows.into_iter().map(SourceState::from).collect())
    }

    /// Every source, configured ones first, for `tidings sources`.
    pub async fn list_sources(&self) -> Result<Vec<SourceSummary>, StoreError> {
        type Row = (
            String,
            String,
            Option<String>,
            bool,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<Row> = reading!(self, |pool, dialect| {
            let sql = format!(
                "SELECT name, url, channel, active, last_status, last_error, {}, articles,
                        last_warnings, interval_seconds, interval_reason
                   FROM source_overview ORDER BY active DESC, id",
                dialect.time_text("next_due")
            );
            sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| SourceSummary {
                name: r.0,
                url: r.1,
                channel: r.2,
                active: r.3,
                last_status: r.4,
                last_error: r.5,
                next_due: r.6,
                articles: r.7,
                last_warnings: r.8,
                cadence: cadence(r.9, r.10),
            })
            .collect())
    }
}

/// A stored source as the sync compares it: id, url, config hash, whether
/// active.
type KnownRow = (i64, String, Option<String>, bool);

/// What the config asks of the stored sources.
struct Sync {
    /// Each configured source's row where it is stored as configured and
    /// active; `None` where it must be written.
    kept: Vec<Option<SourceRow>>,
    /// Active sources the config no longer has.
    retired: Vec<i64>,
}

impl Sync {
    /// Compares the config (each source with its fingerprint, which covers
    /// its name, category and channel) with the stored sources and their
    /// states.
    fn compare(
        sources: &[SourceConfig],
        fingerprints: &[String],
        known: Vec<KnownRow>,
        states: Vec<SourceRow>,
    ) -> Sync {
        let configured: HashSet<&str> = sources.iter().map(|s| s.url.as_str()).collect();
        let states: HashMap<i64, SourceRow> = states.into_iter().map(|row| (row.0, row)).collect();
        let mut retired = Vec::new();
        let mut unchanged: HashMap<String, (String, i64)> = HashMap::new();
        for (id, url, hash, active) in known {
            if !configured.contains(url.as_str()) {
                if active {
                    retired.push(id);
                }
            } else if let (Some(hash), true) = (hash, active) {
                unchanged.insert(url, (hash, id));
            }
        }
        let kept = sources
            .iter()
            .zip(fingerprints)
            .map(
                |(source, fingerprint)| match unchanged.get(source.url.as_str()) {
                    Some((hash, id)) if hash == fingerprint => states.get(id).cloned(),
                    _ => None,
                },
            )
            .collect();
        Sync { kept, retired }
    }
}

/// Adds a source, or makes a stored one match its config entry.
fn upsert_sql(dialect: Dialect) -> String {
    format!(
        "INSERT INTO sources (url, name, category, channel, config_hash)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (url) DO UPDATE SET name = $2, category = $3, channel = $4, active = TRUE,
            last_status = CASE WHEN sources.last_status = 'gone'
                                AND sources.config_hash IS DISTINCT FROM $5
                               THEN NULL ELSE sources.last_status END,
            next_due = CASE WHEN sources.last_status = 'gone'
                             AND sources.config_hash IS DISTINCT FROM $5
                            THEN NULL ELSE sources.next_due END,
            body_hash = CASE WHEN sources.config_hash IS DISTINCT FROM $5
                             THEN NULL ELSE sources.body_hash END,
            entry_memory = CASE WHEN sources.config_hash IS DISTINCT FROM $5
                                THEN NULL ELSE sources.entry_memory END,
            config_hash = $5
         RETURNING {}",
        state_columns(dialect, "")
    )
}
