//! `tidings export hexo`: one Markdown post per article in a folder.
//!
//! Running it again rewrites only the posts whose text changed and never
//! writes an article twice: a post whose date moved replaces its old file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::emit::hexo;
use crate::serve::feeds::write_atomically;
use crate::store::{ArticleFilter, Store};

/// What `tidings export` writes.
#[derive(clap::Subcommand)]
pub(super) enum Format {
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

/// `tidings export hexo`: the posts, and how many were written.
pub(super) async fn export(config_path: &Path, format: Format) -> anyhow::Result<()> {
    let Format::Hexo {
        out,
        category,
        since,
    } = format;
    super::with_store(config_path, async |config, store| {
        let since = since
            .map(|text| {
                crate::read::dates::parse_date(&text, config.poll.timezone)
                    .with_context(|| format!("--since {text}: not a date"))
            })
            .transpose()?;
        let filter = ArticleFilter {
            label: category.as_deref(),
            since,
            ..Default::default()
        };
        let done = hexo(store, &out, &filter).await?;
        println!(
            "{} posts written, {} unchanged, {} replaced (in {})",
            done.written,
            done.unchanged,
            done.replaced,
            out.display()
        );
        Ok(())
    })
    .await
}

/// What an export did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct ExportSummary {
    written: usize,
    unchanged: usize,
    /// Old files of articles whose file name changed.
    replaced: usize,
}

/// Writes the posts of the articles `filter` selects into `dir`.
async fn hexo(
    store: &Store,
    dir: &Path,
    filter: &ArticleFilter<'_>,
) -> anyhow::Result<ExportSummary> {
    tokio::fs::create_dir_all(dir).await?;
    let existing = existing_posts(dir)?;
    let mut summary = ExportSummary::default();
    for article in store.articles(filter).await? {
        let name = hexo::file_name(&article);
        let path = dir.join(&name);
        let post = hexo::render(&article);
        if let Some(old) = existing
            .get(&hexo::article_tag(&article.key))
            .filter(|old| **old != path)
        {
            tokio::fs::remove_file(old).await?;
            summary.replaced += 1;
        }
        if tokio::fs::read(&path).await.ok().as_deref() == Some(post.as_bytes()) {
            summary.unchanged += 1;
        } else {
            write_atomically(&path, post.as_bytes()).await?;
            summary.written += 1;
        }
    }
    Ok(summary)
}

/// The posts already in `dir`, by the article tag in their name.
fn existing_posts(dir: &Path) -> std::io::Result<HashMap<String, PathBuf>> {
    let mut posts = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        // `YYYY-MM-DD-<tag>.md`
        if let Some((_, tag)) = stem
            .rsplit_once('-')
            .filter(|_| path.extension().is_some_and(|e| e == "md"))
        {
            posts.insert(tag.to_string(), path.clone());
        }
    }
    Ok(posts)
}
