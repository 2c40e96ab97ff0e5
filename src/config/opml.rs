//! OPML 2.0, the subscription list every reader imports and exports, so users
//! move between tidings, Miniflux, FreshRSS and newsboat in one step.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::text::xml_escape;

/// A feed outline, with the category and channel its nesting or its
/// `category` attribute gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    pub name: String,
    pub xml_url: String,
    pub category: Option<String>,
    pub channel: Option<String>,
}

/// The feed outlines of an OPML document. Folder outlines (no `xmlUrl`) name the
/// category of what they contain, and a nested folder its channel; a
/// `category="金融/要闻"` attribute says the same more precisely and wins.
pub fn read(text: &str) -> Result<Vec<Outline>, String> {
    let mut reader = Reader::from_str(text);
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut outlines = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not OPML: {e} at byte {}", reader.error_position()))?;
        match event {
            Event::Start(element) if element.local_name().as_ref() == "outline" => {
                match feed_outline(&element, &folders)? {
                    Some(outline) => {
                        outlines.push(outline);
                        folders.push(None);
                    }
                    None => {
                        folders.push(attribute(&element, "text")?.or(attribute(&element, "title")?))
                    }
                }
            }
            Event::Empty(element) if element.local_name().as_ref() == "outline" => {
                outlines.extend(feed_outline(&element, &folders)?);
            }
            Event::End(element) if element.local_name().as_ref() == "outline" => {
                folders.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(outlines)
}

fn feed_outline(
    element: &BytesStart,
    folders: &[Option<String>],
) -> Result<Option<Outline>, String> {
    let Some(xml_url) = attribute(element, "xmlUrl")? else {
        return Ok(None);
    };
    let name = attribute(element, "title")?
        .or(attribute(element, "text")?)
        .unwrap_or_else(|| xml_url.clone());
    let (category, channel) = match attribute(element, "category")? {
        Some(path) => {
            let mut parts = path
                .split('/')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from);
            (parts.next(), parts.next())
        }
        None => {
            let mut parts = folders.iter().flatten().cloned();
            (parts.next(), parts.next())
        }
    };
    Ok(Some(Outline {
        name,
        xml_url,
        category,
        channel,
    }))
}

fn attribute(element: &BytesStart, name: &str) -> Result<Option<String>, String> {
    for attribute in element.attributes().with_checks(false) {
        let attribute = attribute.map_err(|e| format!("not OPML: {e}"))?;
        if attribute.key.as_ref() == name {
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| format!("not OPML: {e}"))?;
            let value = value.trim();
            return Ok((!value.is_empty()).then(|| value.to_string()));
        }
    }
    Ok(None)
}

/// An OPML 2.0 document of the given feeds, a folder per category.
pub fn write(title: &str, outlines: &[Outline]) -> String {
    let mut categories: Vec<Option<&str>> = Vec::new();
    for outline in outlines {
        if !categories.contains(&outline.category.as_deref()) {
            categories.push(outline.category.as_deref());
        }
    }
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head><title>{}</title></head>\n  <body>\n",
        xml_escape(title)
    );
    for category in categories {
        let indent = if category.is_some() { "      " } else { "    " };
        if let Some(category) = category {
            out += &format!(
                "    <outline text=\"{0}\" title=\"{0}\">\n",
                xml_escape(category)
            );
        }
        for outline in outlines
            .iter()
            .filter(|o| o.category.as_deref() == category)
        {
            let path = [outline.category.as_deref(), outline.channel.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("/");
            out += &format!(
                "{indent}<outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\" category=\"{2}\"/>\n",
                xml_escape(&outline.name),
                xml_escape(&outline.xml_url),
                xml_escape(&path)
            );
        }
        if category.is_some() {
            out += "    </outline>\n";
        }
    }
    out + "  </body>\n</opml>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_and_category_attributes_give_category_and_channel() {
        let text = r#"<?xml version="1.0"?><opml version="2.0"><head/><body>
            <outline text="金融"><outline text="要闻">
              <outline type="rss" text="证券时报网" xmlUrl="https://rsshub.app/stcn/yw"/>
            </outline>
              <outline type="rss" title="财联社" text="cls" xmlUrl="https://rsshub.app/cls/telegraph"/>
            </outline>
            <outline type="rss" text="x" xmlUrl="http://127.0.0.1/1.xml" category="时政/财经"/>
            <outline type="rss" text="loose" xmlUrl="http://127.0.0.1/2.xml"/>
            </body></opml>"#;
        let outlines = read(text).unwrap();
        let summary: Vec<(&str, Option<&str>, Option<&str>)> = outlines
            .iter()
            .map(|o| (o.name.as_str(), o.category.as_deref(), o.channel.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("证券时报网", Some("金融"), Some("要闻")),
                ("财联社", Some("金融"), None),
                ("x", Some("时政"), Some("财经")),
                ("loose", None, None),
            ]
        );
    }

    #[test]
    fn written_opml_reads_back_the_same() {
        let outlines = vec![
            Outline {
                name: "证券时报网 & co".into(),
                xml_url: "https://rsshub.app/stcn/yw?a=1&b=2".into(),
                category: Some("金融".into()),
                channel: Some("要闻".into()),
            },
            Outline {
                name: "新华社".into(),
                xml_url: "http://www.news.cn/f.xml".into(),
                category: Some("时政".into()),
                channel: None,
            },
        ];
        assert_eq!(read(&write("tidings", &outlines)).unwrap(), outlines);
    }

    #[test]
    fn broken_opml_is_an_error() {
        assert!(read("<opml><body><outline xmlUrl=\"a\"></body>").is_err());
    }
}
