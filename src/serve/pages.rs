//! The news pages: stories newest first (all, a label's, a search's hits)
//! fifty at a time, and the page of one story.

use std::sync::Arc;

use super::site::{Format, HTML, Rendered, Shown, Site};
use crate::emit::last_changed;
use crate::emit::page::{self, Frame, Here};
use crate::store::{ArticleFilter, StoreError};

/// Stories on one page; the next page starts after the last (a key, not an
/// offset, so the thousandth page costs what the first does).
pub const PAGE_STORIES: usize = 50;

impl Site {
    /// A page of the stories of a label (`None`: everything), after
    /// article `before`; `None` when the label has no articles.
    pub async fn page(
        &self,
        label: Option<&str>,
        before: Option<i64>,
    ) -> Result<Option<Arc<Rendered>>, StoreError> {
        self.cached(Shown::Page(label.map(String::from), before), || async {
            let labels = self.labels().await?;
            let filter = ArticleFilter {
                label,
                // One more than a page: whether there is a next one.
                limit: Some(PAGE_STORIES + 1),
                stories: true,
                story_leads: true,
                before,
                ..ArticleFilter::default()
            };
            let mut stories = self.store.articles_by_id(&filter).await?;
            let more_to_come = stories.len() > PAGE_STORIES;
            stories.truncate(PAGE_STORIES);
            if let Some(label) = label
                && stories.is_empty()
                && !labels.iter().any(|(known, _)| known == label)
            {
                return Ok(None);
            }
            let more = more_to_come
                .then(|| stories.last().map(|(id, _)| format!("?before={id}")))
                .flatten();
            let frame = Frame {
                root: &self.root,
                title: label.unwrap_or("全部").to_string(),
                labels: &labels,
                here: label.map_or(Here::All, Here::Label),
                feeds: Some((
                    self.feed_url(label, Format::Atom),
                    self.feed_url(label, Format::Json),
                )),
                zone: self.zone,
            };
            let html = page::stories(&frame, &stories, more.as_deref());
            let changed = last_changed(stories.iter().map(|(_, article)| article));
            Ok(Some(Rendered::new(html, HTML, changed)))
        })
        .await
    }

    /// The page of a search's hits, each with the passage that matched;
    /// built on each request, like the search's feed.
    pub async fn search_page(&self, query: &str, limit: usize) -> Result<Rendered, StoreError> {
        let stories = self.search_hits(query, limit).await?;
        let labels = self.labels().await?;
        let frame = Frame {
            root: &self.root,
            title: format!("搜索：{query}"),
            labels: &labels,
            here: Here::Search(query),
            feeds: Some((
                self.search_url(query, Format::Atom),
                self.search_url(query, Format::Json),
            )),
            zone: self.zone,
        };
        let html = page::stories(&frame, &stories, None);
        let changed = last_changed(stories.iter().map(|(_, article)| article));
        Ok(Rendered::new(html, HTML, changed))
    }

    /// The page of the story of article `id`: its first article in full and
    /// every copy with why it joined; `None` when there is no such article.
    pub async fn story_page(&self, id: i64) -> Result<Option<Arc<Rendered>>, StoreError> {
        self.cached(Shown::Story(id), || async {
            let Some(members) = self.store.story(id).await? else {
                return Ok(None);
            };
            let Some(first) = members.first() else {
                return Ok(None);
            };
            let ids = [first.id];
            let filter = ArticleFilter {
                ids: Some(&ids),
                stories: true,
                ..ArticleFilter::default()
            };
            let Some((_, lead)) = self.store.articles_by_id(&filter).await?.pop() else {
                return Ok(None);
            };
            let labels = self.labels().await?;
            let frame = Frame {
                root: &self.root,
                title: lead.title.clone(),
                labels: &labels,
                here: Here::Story,
                feeds: None,
                zone: self.zone,
            };
            let html = page::story(&frame, &lead, &members);
            // A copy that joined later changes the page too.
            let joined = members.iter().map(|member| member.published).max();
            let changed = last_changed([&lead]).max(joined.unwrap_or_default());
            Ok(Some(Rendered::new(html, HTML, changed)))
        })
        .await
    }
}
