//! The second reading of a feed: broken XML made well-formed, and the
//! vocabulary feed-rs does not know mapped onto the one it does.
//!
//! `parse` reads every feed strictly first; only a feed that fails, or that
//! reads as less than it says (no entries from a body that has some, entries
//! without a title or a link that the document may supply), comes here. The
//! document is tokenized by a loose lexer (see `lexer`) and written back out
//! as well-formed XML, the way error-recovering XML parsers build their tree:
//!
//! - junk before the root element (a PHP warning) and after it is cut;
//! - a bare `&` is escaped, HTML entities XML lacks are decoded, a `<` that
//!   opens no tag is text;
//! - an end tag closes every element up to the matching open one; an end tag
//!   that matches nothing is ignored; whatever is open at the end is closed;
//! - tags inside text elements (`<title>`, `<description>`, Atom `type="html"`)
//!   are that element's text, so unescaped HTML is read as HTML;
//! - a document that ends mid-entry keeps every complete entry and the cut
//!   one; when the cut one's link or id had not arrived whole, the output
//!   says which it is (`incomplete`), as stored without its identity it would
//!   come back as a second story once the feed is whole;
//! - namespace prefixes used without a declaration are declared.
//!
//! And the vocabulary: Atom 0.3 becomes Atom 1.0 (namespace, `issued`,
//! `modified`, `tagline`, `copyright`, `mode="base64"` and `mode="escaped"`,
//! MIME types on text constructs), RSS of any version or none is read as
//! RSS 2.0, RSS 0.90's namespace as RSS 1.0's, a bare `<channel>` root is
//! wrapped, RSS 1.1 (a `<Channel>` root holding its `<items>`) is RSS 2.0; per entry, `dc:title` stands in for a missing title, `dcterms`
//! dates for missing dates, the guid (unless `isPermaLink="false"`), the
//! RSS 1.0 `rdf:about` or the Atom id for a missing link when it is an http(s)
//! URL; text constructs of unknown type are text.
//!
//! The output records where each entry is, so that `parse` can read them one
//! by one when one of them still fails: one bad entry never costs its siblings.

mod atom03;
mod entry;
mod escape;
mod facts;
pub mod json;
mod lexer;
mod names;
mod repairs;
mod writer;
mod xml;

use std::ops::Range;

use lexer::Lexer;
use writer::Writer;

/// A document written back out.
#[derive(Debug)]
pub struct Rewritten {
    /// Well-formed XML in the vocabulary feed-rs reads.
    pub xml: String,
    /// Where each entry is in `xml`, in document order.
    pub entries: Vec<Range<usize>>,
    /// The index (in `entries`) of an entry the end of the body cut off
    /// before its link or id arrived.
    pub incomplete: Option<usize>,
    /// What had to be repaired, for the source's warnings; empty for a
    /// document that was well-formed.
    pub repairs: Vec<String>,
}

/// Repairs a feed document; see the module doc for what changes.
pub fn repair(text: &str) -> Rewritten {
    let mut writer = Writer::new(text.len());
    let mut lexer = Lexer::new(text);
    loop {
        let open = writer.stack.last().map(|e| e.source_name.as_str());
        let before = lexer.position();
        let Some(token) = lexer.next_token(open) else {
            break;
        };
        if writer.finished {
            writer.count_trailing(&token, lexer.position() - before);
            continue;
        }
        writer.token(token, lexer.position() - before);
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every construct the writer handles, sloppily, in one document.
    const SLOPPY: &str = r#"<br /><b>Warning</b>: junk<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY x "y">]>
<rss version="0.94" xmlns:dcterms="http://purl.org/dc/terms/"><channel><title>A & B &nbsp; &bogus; &#20013; &#0;</title>
<item><dc:title>标题 <b>一</b></dc:title><guid>https://a.example/1?a=1&b=2</guid>
<description><![CDATA[<p>正文</p></description><dcterms:issued>2022-01-26</dcterms:issued></item>
<item><title>二<br>行 < 3</title><link>https://a.example/2</link><description><p>段<p>落</description>
<item x=1 y='2' y=3 z><title a="<&>">三</title></item></channel></rss>trailing"#;

    fn assert_well_formed(xml: &str) {
        let mut reader = quick_xml::Reader::from_str(xml);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => return,
                Ok(_) => {}
                Err(error) => panic!("{error} in {xml}"),
            }
        }
    }

    #[test]
    fn every_cut_of_a_sloppy_document_is_rewritten_well_formed() {
        for (at, _) in SLOPPY.char_indices() {
            let rewritten = repair(&SLOPPY[..at]);
            assert_well_formed(&rewritten.xml);
            for range in &rewritten.entries {
                assert!(rewritten.xml[range.clone()].starts_with("<item"));
                assert!(rewritten.xml[range.clone()].ends_with("</item>"));
            }
        }
    }

    #[test]
    fn the_sloppy_document_reads_as_meant() {
        let rewritten = repair(SLOPPY);
        let xml = &rewritten.xml;
        assert!(
            xml.starts_with("<rss ") && xml.contains(" version=\"2.0\">"),
            "{xml}"
        );
        assert!(
            xml.contains("<title>A &amp; B \u{A0} &amp;bogus; &#20013; &amp;#0;</title>"),
            "{xml}"
        );
        // dc:title stands in for the title, the permalink guid for the link,
        // dcterms:issued for the date; the open CDATA ends with its element.
        assert!(xml.contains("<title>标题 &lt;b>一&lt;/b></title>"), "{xml}");
        assert!(
            xml.contains("<link>https://a.example/1?a=1&amp;b=2</link>"),
            "{xml}"
        );
        assert!(xml.contains("<pubDate>2022-01-26</pubDate>"), "{xml}");
        assert!(
            xml.contains("<![CDATA[<p>正文</p>]]></description>"),
            "{xml}"
        );
        assert!(
            xml.contains("<title>二&lt;br&gt;行 &lt; 3</title>"),
            "{xml}"
        );
        assert!(xml.contains("<item x=\"1\" y=\"2\" z=\"z\">"), "{xml}");
        assert!(xml.ends_with("</channel></rss>"), "{xml}");
        assert_eq!(rewritten.entries.len(), 3);
        let said = rewritten.repairs.join("; ");
        for repair in [
            "bare '&'",
            "before the root",
            "after the root",
            "CDATA",
            "repeated attributes",
            "dc",
        ] {
            assert!(said.contains(repair), "{repair} not in {said}");
        }
    }

    #[test]
    fn atom_03_becomes_atom_10() {
        let rewritten = repair(
            r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><tagline>t</tagline>
            <entry><title type="text/plain" mode="xml">一</title><issued>2022-01-26T00:00:00Z</issued>
            <content type="text/html" mode="base64">PHA+5LqMPC9wPg==</content></entry></feed>"#,
        );
        let xml = &rewritten.xml;
        assert!(
            xml.contains(r#"xmlns="http://www.w3.org/2005/Atom""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<subtitle type="text">t</subtitle>"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<title type="text">一</title>"#), "{xml}");
        assert!(
            xml.contains("<published>2022-01-26T00:00:00Z</published>"),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<content type="html">&lt;p&gt;二&lt;/p&gt;</content>"#),
            "{xml}"
        );
        assert!(rewritten.repairs.is_empty(), "{:?}", rewritten.repairs);
    }
}
