//! Recipes: named sources for known sites that publish no feed, shipped as
//! data (`recipes/SITE.toml`, compiled in), so that a user writes
//! `recipe = "stcn/yw"` and gets the URL, the list selectors, the channel,
//! the timezone, full content and rewrite rules that site needs.
//!
//! A site's file has a `[site]` table with the keys every recipe of the site
//! shares, and a `[recipes.NAME]` table per recipe with its own; a recipe's
//! keys win over the site's, and a source's own keys over both.

use serde::Deserialize;

use super::source::WrittenSource;

/// Every site's file, by the site's name.
const SITES: &[(&str, &str)] = &[("stcn", include_str!("../../recipes/stcn.toml"))];

/// A site's file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteFile {
    #[serde(default)]
    site: WrittenSource,
    recipes: std::collections::BTreeMap<String, WrittenSource>,
}

/// A recipe as `tidings recipes` lists it.
#[derive(Debug, Clone)]
pub struct RecipeInfo {
    /// `site/name`, as a source's `recipe` key names it.
    pub name: String,
    /// The first comment line of the site's file: what the site is.
    pub site: String,
    pub channel: Option<String>,
    pub url: Option<String>,
    /// `list`, `json` or `feed`.
    pub kind: &'static str,
}

fn site_file(site: &str, text: &str) -> Result<SiteFile, String> {
    toml::from_str(text).map_err(|e| format!("the recipes of `{site}` are broken: {e}"))
}

/// The source a recipe gives, its site's keys under its own.
pub(super) fn recipe(name: &str) -> Result<WrittenSource, String> {
    let unknown = || format!("there is no recipe `{name}` (`tidings recipes` lists them)");
    let (site, recipe) = name.split_once('/').ok_or_else(unknown)?;
    let (_, text) = SITES.iter().find(|(s, _)| *s == site).ok_or_else(unknown)?;
    let mut file = site_file(site, text)?;
    let own = file.recipes.remove(recipe).ok_or_else(unknown)?;
    Ok(own.over(file.site))
}

/// Every shipped recipe, in name order.
pub fn all() -> Vec<RecipeInfo> {
    let mut all = Vec::new();
    for (site, text) in SITES {
        let description = text
            .lines()
            .find_map(|line| line.strip_prefix('#'))
            .unwrap_or(site)
            .trim()
            .to_string();
        let Ok(file) = site_file(site, text) else {
            continue;
        };
        for name in file.recipes.keys() {
            let name = format!("{site}/{name}");
            let Ok(source) = recipe(&name) else {
                continue;
            };
            all.push(RecipeInfo {
                site: description.clone(),
                channel: source.channel().map(String::from),
                url: source.url().map(String::from),
                kind: source.kind(),
                name,
            });
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_recipe_makes_a_source() {
        let all = all();
        for name in [
            "stcn/yw",
            "stcn/gs",
            "stcn/company",
            "stcn/fund",
            "stcn/finance",
            "stcn/comment",
            "stcn/kcb",
            "stcn/kx",
        ] {
            assert!(all.iter().any(|r| r.name == name), "{name} is missing");
        }
        for info in &all {
            let text = format!("[[sources]]\nrecipe = \"{}\"\n", info.name);
            let config = crate::config::Config::from_toml(&text, std::path::Path::new("."))
                .unwrap_or_else(|e| panic!("{}: {e}", info.name));
            let source = &config.sources[0];
            assert_eq!(source.name, "证券时报网");
            assert_eq!(source.category, "金融");
            assert!(source.url.as_str().starts_with("https://www.stcn.com/"));
            assert_ne!(info.kind, "feed", "{}", info.name);
        }
    }

    #[test]
    fn a_sources_own_keys_win_over_its_recipes() {
        let text = "[[sources]]\nrecipe = \"stcn/yw\"\nurl = \"http://127.0.0.1:9/yw.html\"\ncategory = \"财经\"\n";
        let config = crate::config::Config::from_toml(text, std::path::Path::new(".")).unwrap();
        let source = &config.sources[0];
        assert_eq!(source.url.as_str(), "http://127.0.0.1:9/yw.html");
        assert_eq!(source.category, "财经");
        assert_eq!(source.channel.as_deref(), Some("要闻"));
        assert!(matches!(
            source.reading,
            crate::read::scrape::Reading::List(_)
        ));
        assert_eq!(
            source.content_selector.as_ref().map(|c| c.as_str()),
            Some("div.detail-content")
        );
        let err = crate::config::Config::from_toml(
            "[[sources]]\nrecipe = \"stcn/nothing\"\n",
            std::path::Path::new("."),
        )
        .unwrap_err();
        assert!(
            err.contains("line 1") && err.contains("tidings recipes"),
            "{err}"
        );
    }
}
