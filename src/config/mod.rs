//! The typed `config.toml`.
//!
//! Every value is checked while it is deserialized, so a mistake is reported by
//! the TOML parser itself with the file, line, column and key, before anything
//! touches the database. Unknown keys are errors too: a typo in a key must not
//! silently fall back to a default.

pub mod opml;
mod recipes;
mod source;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};
use url::Url;

pub use recipes::{RecipeInfo, all as recipes};
pub use source::{FullContent, SourceConfig};

/// The category of OPML feeds outside any folder.
pub const UNCATEGORIZED: &str = "未分类";

/// The whole configuration, with defaults filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub storage: Storage,
    #[serde(default)]
    pub poll: PollDefaults,
    #[serde(default)]
    pub server: Server,
    #[serde(default)]
    pub output: Output,
    /// OPML files whose feed outlines become sources too.
    #[serde(default)]
    pub opml: Vec<PathBuf>,
    /// The `[[sources]]` tables as written, before recipes complete them.
    #[serde(default, rename = "sources")]
    written_sources: Vec<toml::Spanned<source::WrittenSource>>,
    #[serde(skip)]
    pub sources: Vec<SourceConfig>,
}

/// Where the database lives. Relative paths are read from the config file's folder,
/// so `tidings --config /etc/tidings/config.toml` works from any directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    #[serde(default = "default_database")]
    pub database: Database,
    /// How long a poller on PostgreSQL holds a source it claimed: a poller
    /// that dies releases its sources this long after it claimed them, and
    /// a poll that takes longer is not written.
    #[serde(with = "humantime_serde", default = "default_lease")]
    pub lease: Duration,
    /// How long to wait for another process that holds the database before
    /// reporting it locked.
    #[serde(with = "humantime_serde", default = "default_busy_timeout")]
    pub busy_timeout: Duration,
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            database: default_database(),
            lease: default_lease(),
            busy_timeout: default_busy_timeout(),
        }
    }
}

/// The database: a SQLite file (a path, or `sqlite:PATH`), the default, or
/// a PostgreSQL server (`postgres://…`), which several pollers and readers
/// on other machines can share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Display for Database {
    /// The database as people name it; a PostgreSQL URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => match Url::parse(url) {
                Ok(mut url) if url.password().is_some() => {
                    let _ = url.set_password(Some("***"));
                    write!(f, "{url}")
                }
                _ => write!(f, "{url}"),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Database {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(
            if text.starts_with("postgres://") || text.starts_with("postgresql://") {
                Database::Postgres(text)
            } else {
                let path = text
                    .strip_prefix("sqlite://")
                    .or_else(|| text.strip_prefix("sqlite:"));
                Database::Sqlite(PathBuf::from(path.unwrap_or(&text)))
            },
        )
    }
}

fn default_lease() -> Duration {
    Duration::from_secs(300)
}

fn default_busy_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_database() -> Database {
    Database::Sqlite(PathBuf::from("tidings.db"))
}

/// Defaults for every source, and the limits that keep polling polite and bounded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollDefaults {
    /// How often a source is polled: a duration, or `auto` to follow how often
    /// the feed publishes (see `schedule::auto_interval`).
    pub interval: Interval,
    /// The bounds of `auto`.
    #[serde(with = "humantime_serde")]
    pub min_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub max_interval: Duration,
    /// Fetches in flight at once, over all hosts.
    pub concurrency: usize,
    /// Fetches in flight at once to one host.
    pub per_host: usize,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Largest feed body accepted, after decompression.
    pub max_body_bytes: u64,
    /// Most entries a feed may have: more is a flood, refused before parsing.
    pub max_entries: usize,
    pub max_redirects: usize,
    /// Article pages one poll of a source fetches at most (see `full_content`).
    pub pages_per_poll: usize,
    pub user_agent: String,
    #[serde(deserialize_with = "timezone")]
    pub timezone: Tz,
    /// Query parameters that never change what a link points at.
    pub tracking_params: Vec<String>,
    /// Rules every source's entries pass before they are stored (see
    /// `article::filter`).
    pub filter: Vec<crate::article::filter::Rule>,
}

impl Default for PollDefaults {
    fn default() -> Self {
        Self {
            interval: Interval::Every(Duration::from_secs(30 * 60)),
            min_interval: Duration::from_secs(5 * 60),
            max_interval: Duration::from_secs(24 * 60 * 60),
            concurrency: 32,
            per_host: 2,
            timeout: Duration::from_secs(30),
            max_body_bytes: 16 * 1024 * 1024,
            max_entries: 5_000,
            max_redirects: 5,
            pages_per_poll: 10,
            user_agent: concat!(
                "tidings/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/tidings/tidings)"
            )
            .to_string(),
            timezone: chrono_tz::Asia::Shanghai,
            tracking_params: [
                "utm_*", "spm", "from", "fbclid", "gclid", "yclid", "mc_cid", "mc_eid",
            ]
            .map(String::from)
            .to_vec(),
            filter: Vec::new(),
        }
    }
}

impl PollDefaults {
    /// What the fetcher keeps to.
    pub fn fetch_limits(&self) -> crate::fetch::Limits {
        crate::fetch::Limits {
            user_agent: self.user_agent.clone(),
            timeout: self.timeout,
            per_host: self.per_host,
            max_body_bytes: self.max_body_bytes,
            max_redirects: self.max_redirects,
        }
    }
}

/// The HTTP server of `tidings run`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    pub listen: String,
    /// The public address of the server, for the feeds' self links
    /// (default: `http://` + `listen`).
    pub base_url: Option<String>,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_string(),
            base_url: None,
        }
    }
}

impl Server {
    /// Where the generated feeds are reachable, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }
}

/// The generated feeds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Output {
    /// Entries per generated feed.
    pub entries: usize,
    /// Folder the feeds are also written to, for static hosting.
    pub dir: Option<PathBuf>,
}

impl Default for Output {
    fn default() -> Self {
        Self {
            entries: 100,
            dir: None,
        }
    }
}

/// A config that could not be used, with everything the user needs to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads and validates a config file, resolving relative paths against its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let mut config = Config::from_toml(&text, base).map_err(invalid)?;
        if let Database::Sqlite(path) = &mut config.storage.database {
            *path = base.join(&path);
        }
        for file in config.opml.clone() {
            let file = base.join(file);
            let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                path: file.clone(),
                source,
            })?;
            let outlines =
                crate::config::opml::read(&text).map_err(|message| ConfigError::Invalid {
                    path: file.clone(),
                    message,
                })?;
            config.add_outlines(outlines);
        }
        config.output.dir = config.output.dir.map(|dir| base.join(dir));
        Ok(config)
    }

    /// Parses config text; the error names the line and key of the first mistake.
    /// Relative `file:` URLs are read from `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Config, String> {
        let mut config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        let line = |span: std::ops::Range<usize>| text[..span.start].lines().count().max(1);
        config.sources = std::mem::take(&mut config.written_sources)
            .into_iter()
            .map(|table| {
                let span = table.span();
                let written = table.into_inner();
                let written = match written.recipe() {
                    Some(name) => {
                        let recipe = recipes::recipe(name)
                            .map_err(|e| format!("line {}: {e}", line(span.clone())))?;
                        written.over(recipe)
                    }
                    None => written,
                };
                written.resolve(span, base, &line)
            })
            .collect::<Result<_, _>>()?;
        // Collected in the place of the written tables, seven times larger
        // each: without this, 5,000 sources would keep 13 MB for 2.
        config.sources.shrink_to_fit();
        config.validate(&line)?;
        Ok(config)
    }

    /// Adds OPML feeds as sources; a feed the config lists itself keeps its table.
    fn add_outlines(&mut self, outlines: Vec<crate::config::opml::Outline>) {
        for outline in outlines {
            let Ok(url) = feed_url(&outline.xml_url, Path::new("/")) else {
                tracing::warn!("skipping OPML outline {}: not a feed URL", outline.xml_url);
                continue;
            };
            if self.sources.iter().any(|s| s.url == url) {
                continue;
            }
            self.sources.push(SourceConfig::feed(
                outline.name,
                url,
                outline
                    .category
                    .unwrap_or_else(|| UNCATEGORIZED.to_string()),
                outline.channel,
            ));
        }
    }

    /// The configured sources as OPML outlines, for `tidings sources --opml`.
    pub fn outlines(&self) -> Vec<crate::config::opml::Outline> {
        self.sources
            .iter()
            .map(|s| crate::config::opml::Outline {
                name: s.name.clone(),
                xml_url: s.url.to_string(),
                category: Some(s.category.clone()),
                channel: s.channel.clone(),
            })
            .collect()
    }

    /// Checks that span several values, which serde cannot check one value at a time.
    fn validate(&self, line: &dyn Fn(std::ops::Range<usize>) -> usize) -> Result<(), String> {
        let positive = [
            ("poll.concurrency", self.poll.concurrency),
            ("poll.per_host", self.poll.per_host),
            ("poll.max_entries", self.poll.max_entries),
            ("output.entries", self.output.entries),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("{key} must be at least 1"));
        }
        if self.poll.max_body_bytes == 0 {
            return Err("poll.max_body_bytes must be at least 1".into());
        }
        let mut seen = HashSet::new();
        for source in &self.sources {
            // Counted only for an error: counting lines for every source of a
            // long config would cost time quadratic in its length.
            let at = || line(source.span.clone());
            if !seen.insert(source.url.as_str()) {
                return Err(format!(
                    "line {}, key sources.url: {} is listed twice",
                    at(),
                    source.url
                ));
            }
            if source.name.trim().is_empty() || source.category.trim().is_empty() {
                return Err(format!(
                    "line {}: the source {} needs a name and a category",
                    at(),
                    source.url
                ));
            }
        }
        Ok(())
    }

    /// The timezone a source's zone-less dates are read in.
    pub fn timezone_of(&self, source: &SourceConfig) -> Tz {
        source.timezone.unwrap_or(self.poll.timezone)
    }

    /// How often a source is polled.
    pub fn interval_of(&self, source: &SourceConfig) -> Interval {
        source.interval.unwrap_or(self.poll.interval)
    }
}

/// A polling interval as the config gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Every(Duration),
    /// Follow how often the feed publishes, within `[poll] min_interval` and `max_interval`.
    Auto,
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim() == "auto" {
            return Ok(Interval::Auto);
        }
        humantime::parse_duration(text.trim())
            .map(Interval::Every)
            .map_err(|e| {
                serde::de::Error::custom(format!("`{text}` is not a duration or \"auto\": {e}"))
            })
    }
}

/// Reads an IANA zone name, with an error that says what is expected.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown timezone `{name}` (use an IANA name such as Asia/Shanghai)"))
}

fn timezone<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    parse_timezone(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn optional_timezone<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Tz>, D::Error> {
    timezone(d).map(Some)
}

fn optional_encoding<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<&'static encoding_rs::Encoding>, D::Error> {
    let label = String::deserialize(d)?;
    crate::read::charset::encoding_for_label(&label)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown encoding `{label}`")))
}

fn feed_url(text: &str, base: &Path) -> Result<Url, String> {
    if let Some(relative) = text
        .strip_prefix("file:")
        .filter(|rest| !rest.starts_with('/'))
    {
        let absolute = std::path::absolute(base.join(relative)).map_err(|e| e.to_string())?;
        return Url::from_file_path(&absolute)
            .map_err(|_| format!("`{text}` is not a usable path"));
    }
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" | "file" => Ok(url),
        other => Err(format!(
            "`{text}`: scheme `{other}` is not supported (use http, https or file)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_a_path_or_a_postgres_url() {
        let database = |value: &str| {
            let text = format!("[storage]\ndatabase = \"{value}\"\n");
            Config::from_toml(&text, Path::new("."))
                .unwrap()
                .storage
                .database
        };
        assert_eq!(database("news.db"), Database::Sqlite("news.db".into()));
        assert_eq!(
            database("sqlite:/var/lib/tidings/news.db"),
            Database::Sqlite("/var/lib/tidings/news.db".into())
        );
        let url = "postgres://tidings:secret@db.internal:5432/tidings";
        assert_eq!(database(url), Database::Postgres(url.into()));
        assert_eq!(
            database(url).to_string(),
            "postgres://tidings:***@db.internal:5432/tidings",
            "the password stays out of messages"
        );
    }

    #[test]
    fn an_interval_is_a_duration_or_auto() {
        let text = "[poll]\ninterval = \"auto\"\nmin_interval = \"2m\"\n\n[[sources]]\nname = \"a\"\nurl = \"https://a.example/feed\"\ncategory = \"x\"\n\n[[sources]]\nname = \"b\"\nurl = \"https://b.example/feed\"\ncategory = \"x\"\ninterval = \"90s\"\n";
        let config = Config::from_toml(text, Path::new(".")).unwrap();
        assert_eq!(config.interval_of(&config.sources[0]), Interval::Auto);
        assert_eq!(
            config.interval_of(&config.sources[1]),
            Interval::Every(Duration::from_secs(90))
        );
        assert_eq!(config.poll.min_interval, Duration::from_secs(120));
        assert_eq!(config.poll.max_interval, Duration::from_secs(86_400));
        let err = Config::from_toml("[poll]\ninterval = \"often\"\n", Path::new(".")).unwrap_err();
        assert!(err.contains("not a duration or \"auto\""), "{err}");
    }

    #[test]
    fn defaults_fill_an_almost_empty_config() {
        let config = Config::from_toml(
            "[[sources]]\nname = \"证券时报网\"\nurl = \"https://rsshub.app/stcn/yw\"\ncategory = \"金融\"\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            config.poll.interval,
            Interval::Every(Duration::from_secs(1800))
        );
        assert_eq!(config.poll.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(
            config.timezone_of(&config.sources[0]),
            chrono_tz::Asia::Shanghai
        );
        assert_eq!(config.sources[0].channel, None);
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let text = "[poll]\ninterval = \"30m\"\n\n[[sources]]\nname = \"a\"\nurl = \"https://a.example/feed\"\ncategory = \"x\"\ntimezone = \"Mars/Olympus\"\n";
        let err = Config::from_toml(text, Path::new(".")).unwrap_err();
        assert!(err.contains("line 8"), "{err}");
        assert!(err.contains("timezone"), "{err}");
        assert!(err.contains("Mars/Olympus"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_urls_are_rejected() {
        let err = Config::from_toml("[poll]\nintervall = \"30m\"\n", Path::new(".")).unwrap_err();
        assert!(err.contains("intervall"), "{err}");
        let err = Config::from_toml(
            "[[sources]]\nname = \"a\"\nurl = \"ftp://x/y\"\ncategory = \"c\"\n",
            Path::new("."),
        )
        .unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("ftp"), "{err}");
    }

    #[test]
    fn relative_file_urls_are_read_from_the_config_folder() {
        let text = "[[sources]]\nname = \"a\"\nurl = \"file:samples/a.xml\"\ncategory = \"c\"\n";
        let config = Config::from_toml(text, Path::new("/etc/tidings")).unwrap();
        assert_eq!(
            config.sources[0].url.as_str(),
            "file:///etc/tidings/samples/a.xml"
        );
    }

    #[test]
    fn a_url_listed_twice_is_an_error() {
        let one = "[[sources]]\nname = \"a\"\nurl = \"https://a.example/f\"\ncategory = \"c\"\n";
        let err = Config::from_toml(&format!("{one}{one}"), Path::new(".")).unwrap_err();
        assert!(err.contains("line 7"), "{err}");
        assert!(err.contains("twice"), "{err}");
    }
}
