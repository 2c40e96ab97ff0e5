//! `tidings run`: the background service.
//!
//! Polls each source when it is due, for as long as it runs, and serves the
//! merged feeds. The schedule lives in the database, so a restart resumes
//! where the last run stopped. SIGTERM and Ctrl-C stop it cleanly (no new
//! fetches; polls in flight finish and commit); SIGHUP or an edit of the
//! config file reloads the sources without a restart.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{Config, SourceConfig};
use crate::fetch::Fetcher;
use crate::fetch::host_key;
use crate::run::poll::{Poller, SourceReport};
use crate::run::schedule::HostGate;
use crate::run::service::{Signals, Status, notify, raise_open_files_limit};
use crate::serve::site::Site;
use crate::store::{Outcome, SourceState, Store, StoreError, Wanted};

/// How often the config file is checked for edits, and the longest sleep.
const CONFIG_CHECK: Duration = Duration::from_secs(2);
/// Longest delay between a change and the output folder showing it.
const OUTPUT_DELAY: Duration = Duration::from_secs(10);
/// Retry delay for a source whose poll could not be written.
const STORE_RETRY: Duration = Duration::from_secs(60);

/// Runs the daemon until SIGTERM or Ctrl-C.
pub async fn run(config_path: &Path) -> anyhow::Result<()> {
    let signals = Signals::listen()?;
    raise_open_files_limit();
    let config = Config::load(config_path)?;
    let store = Store::open(&config.storage).await?;
    let (site, server, stop) = serve_feeds(&config, &store).await?;
    let mut daemon = Daemon::start(config_path, config, store.clone(), site).await?;
    notify(Status::Ready);
    let result = daemon.run(signals).await;
    let _ = stop.send(true);
    server.await??;
    store.close().await;
    tracing::info!("stopped");
    result
}

/// `tidings serve`: serves the merged feeds of a database that others poll
/// (PostgreSQL, from any host), until SIGTERM or Ctrl-C.
pub async fn serve(config_path: &Path) -> anyhow::Result<()> {
    let mut signals = Signals::listen()?;
    raise_open_files_limit();
    let config = Config::load(config_path)?;
    let store = Store::open(&config.storage).await?;
    let (_site, server, stop) = serve_feeds(&config, &store).await?;
    notify(Status::Ready);
    loop {
        tokio::select! {
            _ = signals.hangup.recv() => tracing::info!(
                "SIGHUP: `tidings serve` has no sources to reload; restart it to change its address"
            ),
            _ = signals.terminate.recv() => break,
            _ = signals.interrupt.recv() => break,
        }
    }
    notify(Status::Stopping);
    let _ = stop.send(true);
    server.await??;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// How often served feeds are rebuilt when no change was heard of: the
/// fallback for lost notifications, and all SQLite has for other processes.
const CHANGES_FALLBACK: Duration = Duration::from_secs(30);

/// Starts the HTTP server on the config's address, and a task that drops
/// the served feeds whenever another process changes the database. Send
/// `true` to stop it.
async fn serve_feeds(
    config: &Config,
    store: &Store,
) -> anyhow::Result<(
    Arc<Site>,
    tokio::task::JoinHandle<std::io::Result<()>>,
    watch::Sender<bool>,
)> {
    let site = Arc::new(Site::new(store.clone(), config));
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    tracing::info!(
        "serving the news page at {url}/ and feeds at {url}/feeds/ ({sources} sources)",
        url = config.server.public_url(),
        sources = config.sources.len()
    );
    let (stop, stopped) = watch::channel(false);
    let mut stopped_server = stopped.clone();
    let server = axum::serve(listener, crate::serve::router(site.clone())).with_graceful_shutdown(
        async move {
            let _ = stopped_server.wait_for(|stop| *stop).await;
        },
    );
    let server = tokio::spawn(std::future::IntoFuture::into_future(server));
    tokio::spawn(invalidate_on_changes(store.clone(), site.clone(), stopped));
    Ok((site, server, stop))
}

/// Drops the served feeds at each change another process makes, until stopped.
async fn invalidate_on_changes(store: Store, site: Arc<Site>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            changed = store.changed(CHANGES_FALLBACK) => {
                if let Err(error) = changed {
                    tracing::warn!("cannot hear of changes: {error}");
                    tokio::time::sleep(CHANGES_FALLBACK).await;
                }
                site.invalidate();
            }
            _ = stopped.changed() => return,
        }
    }
}

/// A configured source and, when no poll of it is in flight, its state.
struct Slot {
    config: SourceConfig,
    idle: Option<SourceState>,
}

/// A poll's end: the source, its state for the next poll, and the report
/// (`None` when another poller had it).
type Finished = (
    String,
    SourceState,
    Result<Option<SourceReport>, StoreError>,
);

struct Daemon {
    config_path: PathBuf,
    config_stamp: Option<SystemTime>,
    config: Arc<Config>,
    store: Store,
    site: Arc<Site>,
    hosts: HostGate,
    poller: Poller,
    slots: HashMap<String, Slot>,
    in_flight: JoinSet<Finished>,
    changed_since_output: bool,
    last_output: Instant,
}

impl Daemon {
    async fn start(
        path: &Path,
        config: Config,
        store: Store,
        site: Arc<Site>,
    ) -> anyhow::Result<Daemon> {
        let config = Arc::new(config);
        crate::run::poll::compile_patterns();
        let hosts = HostGate::new(config.poll.per_host);
        let mut daemon = Daemon {
            config_path: path.to_path_buf(),
            config_stamp: modified(path),
            poller: Poller::new(
                config.clone(),
                store.clone(),
                hosts.clone(),
                Fetcher::new(&config.poll.fetch_limits())?,
            ),
            config,
            store,
            site,
            hosts,
            slots: HashMap::new(),
            in_flight: JoinSet::new(),
            changed_since_output: false,
            last_output: Instant::now(),
        };
        daemon.load_sources().await?;
        Ok(daemon)
    }

    async fn run(&mut self, mut signals: Signals) -> anyhow::Result<()> {
        loop {
            self.start_due_polls();
            crate::serve::metrics::metrics()
                .sources_due
                .set(self.in_flight.len() as i64);
            let sleep = self.time_to_next_due().min(CONFIG_CHECK);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                Some(finished) = self.in_flight.join_next() => self.finish(finished?),
                _ = signals.hangup.recv() => self.reload("SIGHUP").await,
                _ = signals.terminate.recv() => break,
                _ = signals.interrupt.recv() => break,
            }
            if modified(&self.config_path) != self.config_stamp {
                self.reload("the config file changed").await;
            }
            self.write_output_if_due(false).await;
        }
        notify(Status::Stopping);
        tracing::info!(
            "stopping: waiting for {} polls in flight",
            self.in_flight.len()
        );
        while let Some(finished) = self.in_flight.join_next().await {
            self.finish(finished?);
        }
        self.write_output_if_due(true).await;
        Ok(())
    }

    /// Starts a poll of every idle source that is due and whose host is not held.
    fn start_due_polls(&mut self) {
        let now = Utc::now();
        for (url, slot) in &mut self.slots {
            let due = match &slot.idle {
                Some(state) => due_at(state, &self.hosts, &slot.config, now) <= now,
                None => false,
            };
            if !due {
                continue;
            }
            let mut state = slot.idle.take().expect("an idle slot has a state");
            let poller = self.poller.clone();
            let source = slot.config.clone();
            let url = url.clone();
            self.in_flight.spawn(async move {
                let result = poller.poll(&source, &mut state, Wanted::Due).await;
                (url, state, result)
            });
        }
    }

    fn time_to_next_due(&self) -> Duration {
        let now = Utc::now();
        self.slots
            .values()
            .filter_map(|slot| Some(due_at(slot.idle.as_ref()?, &self.hosts, &slot.config, now)))
            .min()
            .map_or(CONFIG_CHECK, |due| (due - now).to_std().unwrap_or_default())
    }

    fn finish(&mut self, (url, mut state, result): Finished) {
        match result {
            Ok(None) => tracing::debug!("{url}: another poller has it"),
            Ok(Some(report)) => {
                match report.outcome {
                    Outcome::Error | Outcome::Gone => tracing::warn!(
                        "{} <{}>: {} (next try {})",
                        report.name,
                        report.url,
                        report.error.as_deref().unwrap_or(""),
                        report.next_due
                    ),
                    _ if report.changed() => tracing::info!(
                        "{} <{}>: {} new, {} updated, {} read from their page, {} filtered out",
                        report.name,
                        report.url,
                        report.counts.new,
                        report.counts.updated,
                        report.pages.read,
                        report.counts.filtered
                    ),
                    _ => tracing::debug!("{} <{}>: nothing new", report.name, report.url),
                }
                if report.changed() {
                    self.site.invalidate();
                    self.changed_since_output = true;
                }
            }
            Err(error) => {
                tracing::error!("{url}: could not store the poll: {error}");
                state.next_due = Some(crate::run::schedule::after(Utc::now(), STORE_RETRY));
            }
        }
        // A source removed by a reload while in flight is simply dropped.
        if let Some(slot) = self.slots.get_mut(&url) {
            slot.idle = Some(state);
        }
    }

    /// Reloads the config, telling the service manager while it does.
    async fn reload(&mut self, why: &str) {
        notify(Status::Reloading);
        self.read_config(why).await;
        notify(Status::Ready);
    }

    /// Re-reads the config; a broken one is reported and the running one kept.
    async fn read_config(&mut self, why: &str) {
        self.config_stamp = modified(&self.config_path);
        let config = match Config::load(&self.config_path) {
            Ok(config) => config,
            Err(error) => {
                tracing::error!("not reloading ({why}): {error}");
                return;
            }
        };
        let config = Arc::new(config);
        match Fetcher::new(&config.poll.fetch_limits()) {
            Ok(fetcher) => {
                self.poller = Poller::new(
                    config.clone(),
                    self.store.clone(),
                    self.hosts.clone(),
                    fetcher,
                )
            }
            Err(error) => {
                tracing::error!("not reloading ({why}): {error}");
                return;
            }
        }
        self.config = config;
        match self.load_sources().await {
            Ok(()) => tracing::info!("reloaded ({why}): {} sources", self.slots.len()),
            Err(error) => tracing::error!("reloading ({why}) failed: {error:#}"),
        }
    }

    /// Syncs the configured sources into the database and takes their stored
    /// schedule. Sources with a poll in flight keep it; it reports back later.
    async fn load_sources(&mut self) -> anyhow::Result<()> {
        let states = self.store.sync_sources(&self.config.sources).await?;
        let mut slots = HashMap::with_capacity(states.len());
        for (config, state) in self.config.sources.iter().zip(states) {
            let url = config.url.to_string();
            let in_flight = self.slots.get(&url).is_some_and(|slot| slot.idle.is_none());
            let idle = (!in_flight).then_some(state);
            slots.insert(
                url,
                Slot {
                    config: config.clone(),
                    idle,
                },
            );
        }
        self.slots = slots;
        Ok(())
    }

    /// Writes the output folder when something changed and either nothing is
    /// in flight (a burst of polls is written once) or the last write is old.
    async fn write_output_if_due(&mut self, force: bool) {
        let Some(dir) = self.config.output.dir.clone() else {
            return;
        };
        let settled = self.in_flight.is_empty() || self.last_output.elapsed() >= OUTPUT_DELAY;
        if !self.changed_since_output || !(settled || force) {
            return;
        }
        match self.site.write_to(&dir).await {
            Ok(files) => tracing::debug!("wrote {files} files to {}", dir.display()),
            Err(error) => tracing::error!("cannot write feeds to {}: {error:#}", dir.display()),
        }
        self.changed_since_output = false;
        self.last_output = Instant::now();
    }
}

/// When a source may be polled next: its own due time, held back while its host
/// asked us to wait. A source that is gone is never due.
fn due_at(
    state: &SourceState,
    hosts: &HostGate,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    if state.gone {
        return DateTime::<Utc>::MAX_UTC;
    }
    let own = state.next_due.unwrap_or(DateTime::UNIX_EPOCH);
    hosts
        .held_until(&host_key(&source.url), now)
        .map_or(own, |held| own.max(held))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
