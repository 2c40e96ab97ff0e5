//! `tidings sources` and `tidings recipes`: what is configured, and how
//! each source fared.

use crate::config::Config;
use crate::store::Store;

/// `tidings sources`: each source's status, counts, schedule and messages.
pub(super) async fn sources(config: &Config, store: &Store) -> anyhow::Result<()> {
    store.sync_sources(&config.sources).await?;
    println!(
        "{:<13} {:>8}  {:<20}  {:<24}  URL / LAST ERROR",
        "STATUS", "ARTICLES", "NEXT DUE", "SOURCE"
    );
    for source in store.list_sources().await? {
        let status = match (source.active, source.last_status.as_deref()) {
            (false, _) => "removed",
            (true, Some(status)) => status,
            (true, None) => "never polled",
        };
        let name = match &source.channel {
            Some(channel) => format!("{} / {}", source.name, channel),
            None => source.name.clone(),
        };
        println!(
            "{:<13} {:>8}  {:<20}  {:<24}  {}",
            status,
            source.articles,
            source.next_due.as_deref().unwrap_or("now"),
            name,
            source.url
        );
        let cadence = source.cadence.as_ref().map(ToString::to_string);
        let cadence = cadence.iter().map(|c| ("interval", c.as_str()));
        let error = source.last_error.iter().map(|e| ("error", e.as_str()));
        let warnings = source
            .last_warnings
            .iter()
            .flat_map(|w| w.lines())
            .map(|w| ("warning", w));
        for (kind, message) in cadence.chain(error).chain(warnings) {
            println!(
                "{:<13} {:>8}  {:<20}  {:<24}  {kind}: {message}",
                "", "", "", ""
            );
        }
    }
    Ok(())
}

/// `tidings sources --opml`: the sources as OPML 2.0, for other readers.
pub(super) fn opml(config: &Config) -> anyhow::Result<()> {
    print!(
        "{}",
        crate::config::opml::write("tidings sources", &config.outlines())
    );
    Ok(())
}

/// `tidings recipes`: the shipped recipes, a site's under its description.
pub(super) fn recipes() -> anyhow::Result<()> {
    println!("{:<16} {:<5} {:<8} URL", "RECIPE", "KIND", "CHANNEL");
    let mut site = String::new();
    for recipe in crate::config::recipes() {
        if recipe.site != site {
            site.clone_from(&recipe.site);
            println!("# {site}");
        }
        println!(
            "{:<16} {:<5} {:<8} {}",
            recipe.name,
            recipe.kind,
            recipe.channel.as_deref().unwrap_or(""),
            recipe.url.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
