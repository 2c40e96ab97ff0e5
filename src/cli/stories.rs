//! `tidings story`, `split`, `merge` and `eval-stories`: stories as people
//! see, mend and measure them.

use crate::config::Config;
use crate::store::Store;

/// `tidings story ARTICLE`: the story an article belongs to.
pub(super) async fn story(config: &Config, store: &Store, article: i64) -> anyhow::Result<()> {
    let members = store
        .story(article)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no article {article}"))?;
    print_story(&members, config.poll.timezone);
    Ok(())
}

/// `tidings split ARTICLE`: the article out of its story, for good.
pub(super) async fn split(store: &Store, article: i64) -> anyhow::Result<()> {
    store.split(article, chrono::Utc::now()).await?;
    println!("article {article} now stands alone, and will not join that story again");
    Ok(())
}

/// `tidings merge A B`: the two stories one, for good.
pub(super) async fn merge(config: &Config, store: &Store, a: i64, b: i64) -> anyhow::Result<()> {
    store.merge(a, b, chrono::Utc::now()).await?;
    let members = store.story(a).await?.unwrap_or_default();
    print_story(&members, config.poll.timezone);
    Ok(())
}

/// `tidings eval-stories`: pairwise precision and recall on a generated corpus.
pub(super) fn evaluate(seed: u64, stories: usize) {
    use crate::tools::evaluation;
    let corpus = evaluation::corpus(seed, stories);
    let scores = evaluation::score(&corpus);
    println!(
        "{} articles of {stories} stories (seed {seed})",
        corpus.len()
    );
    println!("| kind | pairs | precision | recall |\n|---|---|---|---|");
    let classes = scores
        .classes
        .iter()
        .map(|(class, score)| (class.name(), *score));
    for (kind, score) in classes.chain([("all", scores.all)]) {
        println!(
            "| {kind} | {} | {:.4} | {:.4} |",
            score.pairs, score.precision, score.recall
        );
    }
}

/// A story as `tidings story` prints it: each article with its time, outlet
/// and link, and why it joined.
fn print_story(members: &[crate::store::StoryMember], zone: chrono_tz::Tz) {
    let Some(first) = members.first() else {
        return;
    };
    println!("story {} · {} articles", first.id, members.len());
    for member in members {
        let when = member
            .published
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M");
        println!(
            "  {:<8} {when}  {}  {}  {}",
            member.id,
            member.outlet,
            member.title,
            member.link.as_deref().unwrap_or("")
        );
        let why = match &member.why {
            None => "first stored: its entry is the story's in the merged feeds".to_string(),
            Some(why) => why.to_string(),
        };
        println!("           {why}");
    }
}
