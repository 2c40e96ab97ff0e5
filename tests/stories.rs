//! Stories end to end: one story reprinted by other outlets under their own
//! URLs, with their prefixes and footers, served over real HTTP on
//! 127.0.0.1; the traps that must stay apart; the merged feeds, the
//! commands and the database as a user sees them.

mod common;

use common::*;

const ORIGINAL: &str = "证券时报记者获悉，国家统计局20日发布数据显示，10月份社会消费品零售总额同比增长4.8%，比上月加快0.3个百分点。\
    其中，除汽车以外的消费品零售额增长5.1%。分析人士表示，随着促消费政策持续发力，消费市场继续恢复向好，服务零售额增长较快。\
    从渠道看，实物商品网上零售额占社会消费品零售总额的比重继续提高，乡村市场销售增速快于城镇。展望四季度，专家预计消费将保持平稳增长态势。";

const FLASH: &str = "央行今日开展2000亿元7天期逆回购操作，中标利率为1.50%，与此前持平。";

fn item<'a>(
    title: &'a str,
    link: &'a str,
    date: &'a str,
    body: &'a str,
) -> (&'a str, &'a str, &'a str, &'a str) {
    (title, link, date, body)
}

/// Three outlets: the original, and two that reprint it (one with the flash
/// of the day, one with the same flash template the next day, and another
/// company's announcement from a shared template).
fn serve(server: &FeedServer, with_late_reprint: bool) {
    let stcn = rss(
        "证券时报网 - 要闻",
        &[
            item(
                "10月社零同比增长4.8%",
                "https://www.stcn.com/article/detail/1.html",
                "2026-11-20 10:00:00",
                ORIGINAL,
            ),
            item(
                "央行开展2000亿元逆回购",
                "https://www.stcn.com/article/detail/2.html",
                "2026-11-20 09:20:00",
                FLASH,
            ),
            item(
                "平安银行拟回购不超过20亿元股份",
                "https://www.stcn.com/article/detail/3.html",
                "2026-11-20 08:00:00",
                "平安银行公告，公司拟以集中竞价方式回购股份，回购金额不低于10亿元且不超过20亿元。",
            ),
        ],
    );
    let sina_story = format!("【新浪财经讯】{ORIGINAL}（来源：证券时报网） 责任编辑：王一");
    let sina_flash = format!("【财联社11月20日电】{FLASH}");
    let sina = rss(
        "新浪财经 - 滚动",
        &[
            item(
                "重磅！10月社零同比增长4.8%",
                "https://finance.sina.com.cn/a/1.shtml",
                "2026-11-20 10:09:00",
                &sina_story,
            ),
            item(
                "央行开展2000亿元逆回购操作",
                "https://finance.sina.com.cn/a/2.shtml",
                "2026-11-20 09:25:00",
                &sina_flash,
            ),
            item(
                "央行开展3000亿元逆回购",
                "https://finance.sina.com.cn/a/3.shtml",
                "2026-11-21 09:20:00",
                "央行今日开展3000亿元7天期逆回购操作，中标利率为1.50%，与此前持平。",
            ),
            item(
                "招商银行拟回购不超过20亿元股份",
                "https://finance.sina.com.cn/a/4.shtml",
                "2026-11-20 08:30:00",
                "招商银行公告，公司拟以集中竞价方式回购股份，回购金额不低于10亿元且不超过20亿元。",
            ),
        ],
    );
    let east_story = format!("本报讯（记者 张三）{ORIGINAL}声明：本文仅供参考，不构成投资建议。");
    let mut east_items = vec![item(
        "国家统计局：10月社零同比增长4.8%",
        "https://finance.eastmoney.com/a/1.html",
        "2026-11-20 10:41:00",
        &east_story,
    )];
    let late = format!("据证券时报网报道，{ORIGINAL}");
    if with_late_reprint {
        east_items.push(item(
            "10月社会消费品零售总额同比增长4.8%",
            "https://finance.eastmoney.com/a/2.html",
            "2026-11-20 11:30:00",
            &late,
        ));
    }
    server.set("/stcn.xml", Reply::feed(stcn));
    server.set("/sina.xml", Reply::feed(sina));
    server.set(
        "/east.xml",
        Reply::feed(rss("东方财富网 - 要闻", &east_items)),
    );
}

/// The three outlets' feeds served (without the late reprint) and polled
/// once into a new instance, `east_extra` added to 东方财富网's source.
async fn polled(east_extra: &str) -> (FeedServer, Instance) {
    let server = FeedServer::start().await;
    serve(&server, false);
    let mut east = Source::new("东方财富网", server.url("/east.xml"), "金融", "要闻");
    east.extra = east_extra;
    let app = Instance::new(
        "[output]\ndir = \"public\"\n",
        &[
            Source::new("证券时报网", server.url("/stcn.xml"), "金融", "要闻"),
            Source::new("新浪财经", server.url("/sina.xml"), "金融", "滚动"),
            east,
        ],
    );
    app.poll().await;
    (server, app)
}

fn id_of(app: &Instance, link: &str) -> i64 {
    app.db()
        .query_row("SELECT id FROM articles WHERE link = ?1", [link], |row| {
            row.get(0)
        })
        .unwrap()
}

fn story_of(app: &Instance, link: &str) -> i64 {
    app.db()
        .query_row(
            "SELECT story_id FROM articles WHERE link = ?1",
            [link],
            |row| row.get(0),
        )
        .unwrap()
}

fn all_feed(app: &Instance) -> feed_rs::model::Feed {
    let bytes = std::fs::read(app.dir.path().join("public/all.atom")).unwrap();
    feed_rs::parser::parse(&bytes[..]).unwrap()
}

#[tokio::test]
async fn reprints_are_one_story_and_traps_stay_apart() {
    let (_server, app) = polled("").await;

    // The story's id is its first stored article's (the feeds are polled at
    // once: which outlet's copy is stored first varies).
    let copies = [
        "https://www.stcn.com/article/detail/1.html",
        "https://finance.sina.com.cn/a/1.shtml",
        "https://finance.eastmoney.com/a/1.html",
    ];
    let story = copies.iter().map(|link| id_of(&app, link)).min().unwrap();
    for copy in copies {
        assert_eq!(story_of(&app, copy), story, "{copy}");
    }
    let flash = story_of(&app, "https://www.stcn.com/article/detail/2.html");
    assert_eq!(
        story_of(&app, "https://finance.sina.com.cn/a/2.shtml"),
        flash
    );
    // The next day's operation and another company's buyback stand alone.
    for alone in [
        "https://finance.sina.com.cn/a/3.shtml",
        "https://finance.sina.com.cn/a/4.shtml",
    ] {
        assert_eq!(story_of(&app, alone), id_of(&app, alone), "{alone}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM stories"),
        5,
        "two stories of several articles and three alone"
    );
    let evidence = app.strings(&format!(
        "SELECT method || ' ' || numbers_agree || ' ' || (overlap > 0.9) || ' ' || (minutes_apart IN (9, 32, 41))
           FROM story_evidence WHERE story_id = {story}"
    ));
    assert_eq!(evidence, ["text 1 1 1", "text 1 1 1"]);

    // One entry per story: its id and link are the original's, the
    // reprints are related links and named in the content.
    let feed = all_feed(&app);
    assert_eq!(feed.entries.len(), 5);
    let entry = feed
        .entries
        .iter()
        .find(|e| {
            e.links
                .iter()
                .any(|l| l.href == "https://www.stcn.com/article/detail/1.html")
        })
        .expect("the story's entry");
    assert_eq!(
        entry.links[0].href,
        "https://www.stcn.com/article/detail/1.html"
    );
    let related: Vec<&str> = entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("related"))
        .map(|l| l.href.as_str())
        .collect();
    assert_eq!(
        related,
        [
            "https://finance.sina.com.cn/a/1.shtml",
            "https://finance.eastmoney.com/a/1.html"
        ]
    );
    let content = entry.content.as_ref().unwrap().body.as_deref().unwrap();
    assert!(content.contains("亦见于："), "{content}");
    // The other two outlets, each at its time in Beijing: which copy leads
    // the story depends on which feed was stored first.
    let named = [
        "\">证券时报网</a> 10:00",
        "\">新浪财经</a> 10:09",
        "\">东方财富网</a> 10:41",
    ]
    .into_iter()
    .filter(|line| content.contains(line))
    .count();
    assert_eq!(named, 2, "{content}");

    let out = app.run(&["story", &story.to_string()]).await;
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.starts_with(&format!("story {story} · 3 articles")),
        "{shown}"
    );
    assert!(shown.contains("文本重合"), "{shown}");
    assert!(shown.contains("数字一致，相隔"), "{shown}");
}

#[tokio::test]
async fn a_late_reprint_changes_neither_the_entry_id_nor_updated() {
    let (server, app) = polled("").await;
    let original = "https://www.stcn.com/article/detail/1.html";
    let entry_of = |feed: &feed_rs::model::Feed| {
        feed.entries
            .iter()
            .find(|e| e.links.iter().any(|l| l.href == original))
            .map(|e| (e.id.clone(), e.updated, e.links.len()))
            .unwrap()
    };
    let before = entry_of(&all_feed(&app));
    serve(&server, true);
    app.poll().await;
    assert_eq!(
        story_of(&app, "https://finance.eastmoney.com/a/2.html"),
        story_of(&app, original)
    );
    let after = entry_of(&all_feed(&app));
    assert_eq!((&after.0, after.1), (&before.0, before.1));
    assert_eq!(
        after.2,
        before.2 + 1,
        "the late reprint is one more related link"
    );
}

#[tokio::test]
async fn split_and_merge_hold_across_polls_restarts_and_regroup() {
    let (server, app) = polled("").await;
    let original = "https://www.stcn.com/article/detail/1.html";
    let sina = id_of(&app, "https://finance.sina.com.cn/a/1.shtml");
    let (ping_an, china_merchants) = (
        id_of(&app, "https://www.stcn.com/article/detail/3.html"),
        id_of(&app, "https://finance.sina.com.cn/a/4.shtml"),
    );

    let out = app.run(&["split", &sina.to_string()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        story_of(&app, "https://finance.sina.com.cn/a/1.shtml"),
        sina
    );
    let out = app
        .run(&["merge", &ping_an.to_string(), &china_merchants.to_string()])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("merged by hand"));
    let again = app.run(&["split", &sina.to_string()]).await;
    assert!(String::from_utf8_lossy(&again.stderr).contains("alone in its story"));

    let check = |app: &Instance| {
        assert_eq!(
            story_of(app, "https://finance.sina.com.cn/a/1.shtml"),
            sina,
            "the split came undone"
        );
        assert_eq!(
            story_of(app, "https://finance.eastmoney.com/a/1.html"),
            story_of(app, original),
            "the rest of the story stays together"
        );
        assert_eq!(
            story_of(app, "https://finance.sina.com.cn/a/4.shtml"),
            story_of(app, "https://www.stcn.com/article/detail/3.html"),
            "the merge came undone"
        );
    };
    check(&app);
    // A poll with every feed unchanged, one with a new reprint, then a regroup.
    app.poll().await;
    check(&app);
    serve(&server, true);
    app.poll().await;
    check(&app);
    let out = app.run(&["regroup"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("fingerprinted"));
    check(&app);
    // The late reprint is a copy of both the original and the article split
    // from it: it joins one of them, whichever was stored first.
    let late = "https://finance.eastmoney.com/a/2.html";
    assert_ne!(story_of(&app, late), id_of(&app, late));
}

#[tokio::test]
async fn a_source_that_keeps_out_of_stories_stands_alone_and_articles_before_stories_are_regrouped()
{
    let (_server, app) = polled("cluster = false\n").await;
    let east = "https://finance.eastmoney.com/a/1.html";
    assert_eq!(story_of(&app, east), id_of(&app, east));
    assert_eq!(
        story_of(&app, "https://finance.sina.com.cn/a/1.shtml"),
        story_of(&app, "https://www.stcn.com/article/detail/1.html")
    );

    assert_eq!(window_times_astray(&app), 0, "a poll's window times");

    // Articles stored before stories have no fingerprint: regroup gives them one.
    app.db()
        .execute_batch(
            "DELETE FROM article_fingerprints; UPDATE articles SET story_id = id; DELETE FROM story_evidence;",
        )
        .unwrap();
    let out = app.run(&["regroup"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        story_of(&app, "https://finance.sina.com.cn/a/1.shtml"),
        story_of(&app, "https://www.stcn.com/article/detail/1.html")
    );
    assert_eq!(
        story_of(&app, east),
        id_of(&app, east),
        "cluster = false holds in a regroup"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM articles WHERE id NOT IN (SELECT article_id FROM article_fingerprints)"),
        1
    );
    assert_eq!(window_times_astray(&app), 0, "regroup's window times");
    // A date changed by hand (as a feed's new date is) moves the window's copy.
    app.db()
        .execute_batch("UPDATE articles SET published = '2020-02-02T02:02:02Z'")
        .unwrap();
    assert_eq!(window_times_astray(&app), 0, "a changed date's window time");
}

/// Fingerprints whose window times (docs/schema.md) are not their article's.
fn window_times_astray(app: &Instance) -> i64 {
    app.count(
        "SELECT count(*) FROM article_fingerprints f JOIN articles a ON a.id = f.article_id
          WHERE f.published IS NOT unixepoch(a.published) OR f.stored IS NOT unixepoch(a.first_seen)",
    )
}

const RESULTS: &str = "宁德时代晚间公告，公司前三季度实现营业收入2831.2亿元，同比增长12.5%；\
    归属于上市公司股东的净利润490.3亿元，同比增长25.8%；基本每股收益11.2元。";

const LONG: &str = "宁德时代晚间发布三季度报告，前三季度实现营业收入2831.2亿元，同比增长12.5%。\
    归属于上市公司股东的净利润490.3亿元，同比增长25.8%。公司表示，业绩增长主要得益于储能业务订单增加以及成本控制成效显现。\
    报告期内，公司在福建新建的生产基地已经投产，产能利用率达到89%。与此同时，公司研发投入152亿元，占营业收入的比重进一步提高。\
    截至9月末，公司在手订单金额约2100亿元，为全年业绩提供支撑。";

#[tokio::test]
async fn an_excerpt_under_its_own_title_and_another_outlets_write_up_join_the_story() {
    let server = FeedServer::start().await;
    let stcn = rss(
        "证券时报网 - 公司",
        &[
            item(
                "宁德时代：前三季度营收2831.2亿元 同比增长12.5%",
                "https://www.stcn.com/article/detail/11.html",
                "2026-11-20 18:00:00",
                RESULTS,
            ),
            item(
                "宁德时代前三季度营收2831.2亿元 同比增长12.5%",
                "https://www.stcn.com/article/detail/12.html",
                "2026-11-20 18:30:00",
                LONG,
            ),
        ],
    );
    let cls = rss(
        "财联社 - 电报",
        &[item(
            "宁德时代三季报：净利490.3亿元 营收增12.5%",
            "https://www.cls.cn/detail/1",
            "2026-11-20 21:00:00",
            "11月20日晚间，宁德时代披露三季报。报告显示，前三季度公司营收达2831.2亿元，较上年同期增长12.5%，\
             净利润为490.3亿元。多家机构随后发布点评，普遍看好公司后续表现。",
        )],
    );
    let excerpt: String = LONG.split_inclusive('。').take(3).collect();
    let sina = rss(
        "新浪财经 - 滚动",
        &[
            item(
                "重磅！宁德时代披露重要进展",
                "https://finance.sina.com.cn/a/11.shtml",
                "2026-11-20 19:00:00",
                &format!("{excerpt}……（点击查看全文）"),
            ),
            // The same announcement for another company, with the same figures.
            item(
                "比亚迪：前三季度营收2831.2亿元 同比增长12.5%",
                "https://finance.sina.com.cn/a/12.shtml",
                "2026-11-20 19:30:00",
                &RESULTS.replace("宁德时代", "比亚迪"),
            ),
        ],
    );
    server.set("/stcn.xml", Reply::feed(stcn));
    server.set("/cls.xml", Reply::feed(cls));
    server.set("/sina.xml", Reply::feed(sina));
    let app = Instance::new(
        "",
        &[
            Source::new("证券时报网", server.url("/stcn.xml"), "金融", "公司"),
            Source::new("财联社", server.url("/cls.xml"), "金融", "电报"),
            Source::new("新浪财经", server.url("/sina.xml"), "金融", "滚动"),
        ],
    );
    app.poll().await;
    let report = "https://www.stcn.com/article/detail/11.html";
    let write_up = "https://www.cls.cn/detail/1";
    let long = "https://www.stcn.com/article/detail/12.html";
    let excerpt = "https://finance.sina.com.cn/a/11.shtml";
    let other = "https://finance.sina.com.cn/a/12.shtml";
    let check = |app: &Instance| {
        assert_eq!(story_of(app, write_up), story_of(app, report));
        assert_eq!(story_of(app, excerpt), story_of(app, long));
        assert_eq!(
            story_of(app, other),
            id_of(app, other),
            "another company joined"
        );
    };
    check(&app);
    // Whichever of the two was stored first, the other joined it, and says
    // why: the subject and the figures the two share (three, or four when
    // the member it matched was the longer report, whose figures it also
    // states; which depends on the order the feeds were stored in).
    let events = app.strings(&format!(
        "SELECT e.event FROM story_evidence e JOIN articles a ON a.id = e.article_id
          WHERE a.link IN ('{write_up}', '{report}')"
    ));
    assert_eq!(events.len(), 1, "{events:?}");
    let shared: usize = events[0]
        .strip_prefix("同一事件：宁德时代，")
        .and_then(|rest| rest.strip_suffix(" 个数字一致"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{events:?}"));
    assert!((3..=4).contains(&shared), "{events:?}");
    let shown = app
        .run(&["story", &id_of(&app, write_up).to_string()])
        .await;
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains(&events[0]), "{shown}");

    // The new rules apply to what is stored, and a split holds.
    let out = app.run(&["split", &id_of(&app, excerpt).to_string()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = app.run(&["regroup"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        story_of(&app, excerpt),
        story_of(&app, long),
        "the split came undone"
    );
    assert_eq!(story_of(&app, write_up), story_of(&app, report));
}

/// A later poll reads the window from the database (each `tidings poll` is a
/// process of its own), and with it the source that first carried each
/// article: an outlet's own second copy of its story is no reprint, another
/// outlet's is.
#[tokio::test]
async fn a_later_poll_knows_which_outlet_carried_a_story_first() {
    let server = FeedServer::start().await;
    let original = item(
        "10月社零同比增长4.8%",
        "https://www.stcn.com/article/detail/1.html",
        "2026-11-20 10:00:00",
        ORIGINAL,
    );
    let own_copy = item(
        "（更新）10月社零同比增长4.8%",
        "https://www.stcn.com/article/detail/9.html",
        "2026-11-20 12:00:00",
        ORIGINAL,
    );
    let sina_story = format!("【新浪财经讯】{ORIGINAL}（来源：证券时报网）");
    let reprint = item(
        "重磅！10月社零同比增长4.8%",
        "https://finance.sina.com.cn/a/1.shtml",
        "2026-11-20 10:09:00",
        sina_story.as_str(),
    );
    let flash = item(
        "央行开展2000亿元逆回购操作",
        "https://finance.sina.com.cn/a/2.shtml",
        "2026-11-20 09:25:00",
        FLASH,
    );
    server.set("/stcn.xml", Reply::feed(rss("证券时报网", &[original])));
    server.set("/sina.xml", Reply::feed(rss("新浪财经", &[flash])));
    let app = Instance::new(
        "",
        &[
            Source::new("证券时报网", server.url("/stcn.xml"), "金融", "要闻"),
            Source::new("新浪财经", server.url("/sina.xml"), "金融", "滚动"),
        ],
    );
    app.poll().await;

    server.set(
        "/stcn.xml",
        Reply::feed(rss("证券时报网", &[original, own_copy])),
    );
    app.poll().await;
    let own = "https://www.stcn.com/article/detail/9.html";
    assert_eq!(
        story_of(&app, own),
        id_of(&app, own),
        "its own copy stands alone"
    );

    server.set("/sina.xml", Reply::feed(rss("新浪财经", &[flash, reprint])));
    app.poll().await;
    assert_eq!(
        story_of(&app, "https://finance.sina.com.cn/a/1.shtml"),
        story_of(&app, "https://www.stcn.com/article/detail/1.html"),
        "another outlet's copy joins the story"
    );
}
