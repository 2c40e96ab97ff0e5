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

pub mod json;
mod lexer;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::ops::Range;

use base64::Engine as _;

use lexer::{Attribute, Lexer, Token};

const ATOM: &str = "http://www.w3.org/2005/Atom";
const ATOM_03: &str = "http://purl.org/atom/ns#";
const RSS_10: &str = "http://purl.org/rss/1.0/";
const RSS_090: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS_11: &str = "http://purl.org/net/rss1.1#";
const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const DC: &str = "http://purl.org/dc/elements/1.1/";
const DCTERMS: &str = "http://purl.org/dc/terms/";
const CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";

/// Prefixes publishers use without declaring them, and what they mean.
const WELL_KNOWN_PREFIXES: [(&str, &str); 11] = [
    ("dc", DC),
    ("dcterms", DCTERMS),
    ("content", CONTENT),
    ("atom", ATOM),
    ("rdf", RDF),
    ("media", "http://search.yahoo.com/mrss/"),
    ("itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd"),
    ("slash", "http://purl.org/rss/1.0/modules/slash/"),
    ("wfw", "http://wellformedweb.org/CommentAPI/"),
    ("sy", "http://purl.org/rss/1.0/modules/syndication/"),
    ("georss", "http://www.georss.org/georss"),
];

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

/// Rewrites a feed document; see the module doc for what changes.
pub fn rewrite(text: &str) -> Rewritten {
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

/// Which vocabulary an element belongs to, by its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vocabulary {
    Rss,
    Atom,
    Atom03,
    Rdf,
    DublinCore,
    DcTerms,
    Content,
    Other,
}

/// What kind of feed the root element says this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Rss2,
    Rss1,
    Atom,
}

/// An entry's child that the entry's end may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    DcTitle,
    Link,
    Guid { permalink: bool },
    AtomId,
    Date,
    Updated,
    Issued,
    Created,
    Modified,
}

/// How an Atom text construct (title, summary, content...) is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TextType {
    /// The Atom 1.0 `type` to write, or `None` to keep the element's own
    /// (a MIME type of inline media).
    kind: Option<&'static str>,
    /// Atom 0.3 `mode="base64"`: the content is decoded.
    base64: bool,
    /// False for a type Atom does not know, which is read as text.
    known: bool,
}

#[derive(Debug)]
struct OpenElement {
    /// As written in the input, to match its end tag.
    source_name: String,
    /// As written in the output; empty for an element whose tags are left
    /// out and whose content stays (RSS 1.1's `<items>`).
    name: String,
    /// Tags inside are text: the element holds text or escaped HTML.
    text_only: bool,
    /// Namespace bindings this element declared.
    bindings: usize,
    field: Option<Field>,
    /// The element's text, unescaped, when it is a field.
    captured: String,
    /// Output offset where the content starts, for base64 content.
    base64_from: Option<usize>,
}

/// What an entry has so far, to supply what it lacks at its end.
#[derive(Debug, Default)]
struct EntryFacts {
    /// Output offset of the entry's start tag.
    start: usize,
    /// Depth of the entry element on the stack.
    depth: usize,
    title: bool,
    dc_title: Option<String>,
    link: bool,
    link_candidate: Option<String>,
    date: bool,
    updated: bool,
    issued: Option<String>,
    created: Option<String>,
    modified: Option<String>,
    /// A link or id arrived whole: the entry's identity is known.
    identified: bool,
}

#[derive(Debug, Default)]
struct Repairs {
    junk_before_root: usize,
    junk_after_root: usize,
    bare_ampersands: usize,
    stray_angles: usize,
    forbidden_chars: usize,
    tags_in_text: usize,
    closed_implicitly: BTreeSet<String>,
    closed_count: usize,
    stray_end_tags: usize,
    unclosed_cdata: usize,
    bad_attributes: usize,
    cut_tags: usize,
    truncated_unidentified: usize,
    truncated_identified: usize,
    undeclared: BTreeSet<String>,
    base64_failed: usize,
    unknown_types: usize,
    channel_added: bool,
}

struct Writer {
    out: String,
    stack: Vec<OpenElement>,
    bindings: Vec<(String, String)>,
    dialect: Option<Dialect>,
    /// A `<channel>` root, wrapped in `<rss>`.
    wrapped_channel: bool,
    /// RSS 1.1: its `<Channel>` root is read as RSS 2.0's channel, its
    /// `<items>` list unwrapped, its namespace left out.
    rss11: bool,
    entry: Option<EntryFacts>,
    entries: Vec<Range<usize>>,
    /// Output offset just before the root start tag's `>`, for declarations.
    root_attributes_end: usize,
    finished: bool,
    repairs: Repairs,
}

impl Writer {
    fn new(capacity: usize) -> Self {
        Writer {
            out: String::with_capacity(capacity + capacity / 16 + 64),
            stack: Vec::new(),
            bindings: Vec::new(),
            dialect: None,
            wrapped_channel: false,
            rss11: false,
            entry: None,
            entries: Vec::new(),
            root_attributes_end: 0,
            finished: false,
            repairs: Repairs::default(),
        }
    }

    fn token(&mut self, token: Token<'_>, len: usize) {
        if self.dialect.is_none() {
            match token {
                Token::Start {
                    name, attributes, ..
                } if is_root(name) => self.root(name, &attributes),
                Token::Text(text) if text.trim().is_empty() => {}
                _ => self.repairs.junk_before_root += len,
            }
            return;
        }
        let text_only = self.stack.last().is_some_and(|e| e.text_only);
        match token {
            Token::Text(text) => {
                if text == "<" {
                    self.repairs.stray_angles += 1;
                }
                self.text(text);
            }
            Token::CData { content, closed } => {
                if !closed {
                    self.repairs.unclosed_cdata += 1;
                }
                self.cdata(content);
            }
            Token::Start {
                name,
                attributes,
                self_closing,
                raw,
            } => {
                if self.is_entry_name(name) && self.entry.is_some() {
                    // Entries do not nest: this one's predecessor was never closed.
                    let depth = self.entry.as_ref().map_or(0, |e| e.depth);
                    self.close_to(depth, true);
                } else if text_only {
                    self.repairs.tags_in_text += 1;
                    self.escaped_markup(raw);
                    return;
                }
                self.start(name, &attributes, self_closing);
            }
            Token::End { name, raw } => match self.find_open(name) {
                Some(depth) => self.close_to(depth, false),
                None if text_only => {
                    self.repairs.tags_in_text += 1;
                    self.escaped_markup(raw);
                }
                None => self.repairs.stray_end_tags += 1,
            },
            Token::Truncated => self.repairs.cut_tags += 1,
        }
    }

    fn count_trailing(&mut self, token: &Token<'_>, len: usize) {
        if !matches!(token, Token::Text(text) if text.trim().is_empty()) {
            self.repairs.junk_after_root += len;
        }
    }

    fn root(&mut self, name: &str, attributes: &[Attribute<'_>]) {
        let mut local = local_name(name);
        self.dialect = Some(match local {
            "feed" => Dialect::Atom,
            "RDF" => Dialect::Rss1,
            _ => Dialect::Rss2,
        });
        if local == "Channel" && attributes.iter().any(|a| a.value.trim() == RSS_11) {
            self.rss11 = true;
            local = "channel";
        }
        let name = if self.rss11 { "channel" } else { name };
        if local == "channel" {
            self.wrapped_channel = true;
            self.out.push_str("<rss version=\"2.0\">");
        }
        let is_rss = local == "rss";
        let attributes: Vec<Attribute<'_>> = attributes
            .iter()
            .filter(|a| !(is_rss && a.name == "version"))
            .map(|a| Attribute {
                name: a.name,
                value: a.value,
            })
            .collect();
        self.start(name, &attributes, false);
        if is_rss {
            // Any version, or none: RSS 0.9x and 2.0 read alike.
            self.out.truncate(self.root_attributes_end);
            self.out.push_str(" version=\"2.0\">");
        }
    }

    fn is_entry_name(&self, name: &str) -> bool {
        matches!(
            (self.dialect, local_name(name)),
            (Some(Dialect::Atom), "entry") | (Some(Dialect::Rss1 | Dialect::Rss2), "item")
        )
    }

    /// The stack index of the innermost open element this end tag closes.
    fn find_open(&self, name: &str) -> Option<usize> {
        self.stack
            .iter()
            .rposition(|e| e.source_name == name)
            .or_else(|| {
                self.stack
                    .iter()
                    .rposition(|e| e.source_name.eq_ignore_ascii_case(name))
            })
    }

    fn vocabulary(&self, name: &str) -> Vocabulary {
        let prefix = prefix_of(name).unwrap_or("");
        match self.resolve(prefix) {
            Some(uri) => vocabulary_of(uri),
            None if prefix.is_empty() => match self.dialect {
                Some(Dialect::Atom) => Vocabulary::Atom,
                _ => Vocabulary::Rss,
            },
            None => WELL_KNOWN_PREFIXES
                .iter()
                .find(|(known, _)| *known == prefix)
                .map_or(Vocabulary::Other, |(_, uri)| vocabulary_of(uri)),
        }
    }

    fn resolve(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some("http://www.w3.org/XML/1998/namespace");
        }
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| uri.as_str())
    }

    fn start(&mut self, source_name: &str, attributes: &[Attribute<'_>], self_closing: bool) {
        if self.rss11 && self.stack.len() == 1 && local_name(source_name) == "items" {
            if !self_closing {
                self.stack.push(OpenElement {
                    source_name: source_name.into(),
                    name: String::new(),
                    text_only: false,
                    bindings: 0,
                    field: None,
                    captured: String::new(),
                    base64_from: None,
                });
            }
            return;
        }
        // RSS whose channel elements stand right under `<rss>`: give them their channel.
        if self.dialect == Some(Dialect::Rss2)
            && self.stack.len() == 1
            && local_name(&self.stack[0].name) == "rss"
            && local_name(source_name) != "channel"
        {
            self.repairs.channel_added = true;
            self.out.push_str("<channel>");
            self.stack.push(OpenElement {
                source_name: "channel".into(),
                name: "channel".into(),
                text_only: false,
                bindings: 0,
                field: None,
                captured: String::new(),
                base64_from: None,
            });
        }
        let mut name = qualified_name(source_name);
        // Declarations first: they decide what this element's name means.
        let mut bindings = 0;
        let mut seen: Vec<&str> = Vec::with_capacity(attributes.len());
        let mut kept: Vec<(String, String)> = Vec::with_capacity(attributes.len());
        for attribute in attributes {
            if !is_valid_name(attribute.name) || seen.contains(&attribute.name) {
                self.repairs.bad_attributes += 1;
                continue;
            }
            seen.push(attribute.name);
            let mut value = String::with_capacity(attribute.value.len());
            self.escape_text(attribute.value, &mut value, true);
            if attribute.name == "xmlns" || attribute.name.starts_with("xmlns:") {
                let prefix = attribute.name.strip_prefix("xmlns:").unwrap_or("");
                let uri = unescape(&value).trim().to_string();
                if uri.is_empty() && !prefix.is_empty() {
                    self.repairs.bad_attributes += 1;
                    continue;
                }
                if uri == RSS_11 {
                    // RSS 1.1's elements are RSS 2.0's, which have no namespace.
                    continue;
                }
                // Atom 0.3 and RSS 0.90 are read as their successors; the
                // binding keeps the original, so renames know where a name came from.
                value = escape_attribute(match uri.as_str() {
                    ATOM_03 => ATOM,
                    RSS_090 => RSS_10,
                    other => other,
                });
                self.bindings.push((prefix.to_string(), uri));
                bindings += 1;
            }
            kept.push((attribute.name.to_string(), value));
        }
        let vocabulary = self.vocabulary(&name);
        let atom03 = vocabulary == Vocabulary::Atom03;
        for prefix in prefix_of(&name)
            .into_iter()
            .chain(kept.iter().filter_map(|(n, _)| prefix_of(n)))
        {
            if prefix != "xmlns" && self.resolve(prefix).is_none() {
                self.repairs.undeclared.insert(prefix.to_string());
            }
        }
        let mut local = local_name(&name).to_string();
        if atom03 {
            let renamed = match local.as_str() {
                "issued" => Some("published"),
                "modified" => Some("updated"),
                "tagline" => Some("subtitle"),
                "copyright" => Some("rights"),
                "url" => Some("uri"),
                _ => None,
            };
            if let Some(renamed) = renamed {
                local = renamed.to_string();
                name = match prefix_of(&name) {
                    Some(prefix) => format!("{prefix}:{renamed}"),
                    None => renamed.to_string(),
                };
            }
        }
        let vocabulary = if atom03 { Vocabulary::Atom } else { vocabulary };
        let is_atom = vocabulary == Vocabulary::Atom;
        let mut text_only = is_text_only(vocabulary, &local);
        let mut base64 = false;
        if is_atom
            && matches!(
                local.as_str(),
                "title" | "subtitle" | "summary" | "content" | "rights"
            )
        {
            let TextType {
                kind,
                base64: is_base64,
                known,
            } = text_construct_type(&kept, local == "content");
            self.repairs.unknown_types += usize::from(!known);
            base64 = is_base64;
            kept.retain(|(n, _)| n != "mode" && (n != "type" || kind.is_none()));
            if let Some(kind) = kind {
                kept.push(("type".to_string(), kind.to_string()));
                text_only = kind != "xhtml";
            }
        }

        let is_entry = self.is_entry_name(&name) && self.entry.is_none();
        if is_entry {
            self.entry = Some(EntryFacts {
                start: self.out.len(),
                depth: self.stack.len(),
                ..EntryFacts::default()
            });
        }
        let field = self.field_of(vocabulary, atom03, &local, &kept);
        if let (Some(Dialect::Rss1), true) = (self.dialect, is_entry)
            && let Some((_, about)) = kept.iter().find(|(n, _)| n == "rdf:about")
        {
            let about = unescape(about).trim().to_string();
            if let Some(entry) = &mut self.entry
                && is_http(&about)
            {
                entry.link_candidate = Some(about);
            }
        }
        if is_atom && local == "link" && self.is_entry_child() {
            let rel = kept
                .iter()
                .find(|(n, _)| n == "rel")
                .map(|(_, v)| v.as_str());
            let has_href = kept
                .iter()
                .any(|(n, v)| n == "href" && !v.trim().is_empty());
            if has_href
                && rel.is_none_or(|r| r == "alternate")
                && let Some(entry) = &mut self.entry
            {
                entry.link = true;
                entry.identified = true;
            }
        }

        self.out.push('<');
        self.out.push_str(&name);
        for (attribute, value) in &kept {
            let _ = write!(self.out, " {attribute}=\"{value}\"");
        }
        if self.stack.is_empty() {
            self.root_attributes_end = self.out.len();
        }
        if self_closing {
            self.out.push_str("/>");
            self.bindings.truncate(self.bindings.len() - bindings);
            if is_entry {
                self.end_entry();
            }
            return;
        }
        self.out.push('>');
        self.stack.push(OpenElement {
            source_name: source_name.to_string(),
            base64_from: base64.then_some(self.out.len()),
            name,
            text_only,
            bindings,
            field,
            captured: String::new(),
        });
    }

    fn is_entry_child(&self) -> bool {
        self.entry
            .as_ref()
            .is_some_and(|entry| self.stack.len() == entry.depth + 1)
    }

    fn field_of(
        &self,
        vocabulary: Vocabulary,
        atom03: bool,
        local: &str,
        attributes: &[(String, String)],
    ) -> Option<Field> {
        if !self.is_entry_child() {
            return None;
        }
        Some(match (vocabulary, local) {
            (Vocabulary::Rss | Vocabulary::Atom, "title") => Field::Title,
            (Vocabulary::DublinCore, "title") => Field::DcTitle,
            (Vocabulary::Rss, "link") => Field::Link,
            (Vocabulary::Rss, "guid") => Field::Guid {
                permalink: !attributes.iter().any(|(n, v)| {
                    n.eq_ignore_ascii_case("isPermaLink") && v.trim().eq_ignore_ascii_case("false")
                }),
            },
            (Vocabulary::Atom, "id") => Field::AtomId,
            (Vocabulary::Rss, "pubDate") | (Vocabulary::DublinCore, "date") => Field::Date,
            (Vocabulary::Atom, "published") => Field::Date,
            (Vocabulary::Atom | Vocabulary::Rss, "updated") => Field::Updated,
            (Vocabulary::DcTerms, "issued" | "date" | "available") => Field::Issued,
            (Vocabulary::DcTerms, "created") => Field::Created,
            (Vocabulary::Atom, "created") if atom03 => Field::Created,
            (Vocabulary::DcTerms, "modified") => Field::Modified,
            _ => return None,
        })
    }

    fn text(&mut self, raw: &str) {
        let from = self.out.len();
        let mut out = std::mem::take(&mut self.out);
        self.escape_text(raw, &mut out, false);
        self.out = out;
        if let Some(open) = self.stack.last_mut()
            && open.field.is_some()
        {
            open.captured.push_str(&unescape(&self.out[from..]));
        }
    }

    fn cdata(&mut self, content: &str) {
        let mut clean = String::new();
        let content = match self.drop_forbidden(content, &mut clean) {
            true => clean.as_str(),
            false => content,
        };
        // The lexer ends a section at `]]>`, but one can appear where a
        // forbidden character was dropped: split the section there.
        self.out.push_str("<![CDATA[");
        self.out
            .push_str(&content.replace("]]>", "]]]]><![CDATA[>"));
        self.out.push_str("]]>");
        if let Some(open) = self.stack.last_mut()
            && open.field.is_some()
        {
            open.captured.push_str(content);
        }
    }

    /// Drops characters XML 1.0 forbids; true when `clean` holds the result.
    fn drop_forbidden(&mut self, text: &str, clean: &mut String) -> bool {
        if !text.chars().any(is_forbidden) {
            return false;
        }
        clean.extend(text.chars().filter(|&c| {
            let forbidden = is_forbidden(c);
            self.repairs.forbidden_chars += usize::from(forbidden);
            !forbidden
        }));
        true
    }

    /// A tag inside a text element, written as the text it is.
    fn escaped_markup(&mut self, raw: &str) {
        let escaped = escape_attribute(raw).replace('>', "&gt;");
        self.out.push_str(&escaped);
        if let Some(open) = self.stack.last_mut()
            && open.field.is_some()
        {
            open.captured.push_str(raw);
        }
    }

    /// Writes character data as XML: valid references kept, HTML entities
    /// decoded, a bare `&` or `<` escaped, forbidden characters dropped.
    fn escape_text(&mut self, raw: &str, out: &mut String, in_attribute: bool) {
        let mut clean = String::new();
        let raw = match self.drop_forbidden(raw, &mut clean) {
            true => clean.as_str(),
            false => raw,
        };
        let mut rest = raw;
        while let Some(at) = rest.find(['&', '<', '>', '"']) {
            out.push_str(&rest[..at]);
            let special = rest.as_bytes()[at];
            rest = &rest[at + 1..];
            match special {
                b'<' => out.push_str("&lt;"),
                b'>' => out.push_str("&gt;"),
                b'"' if in_attribute => out.push_str("&quot;"),
                b'"' => out.push('"'),
                _ => match reference(rest) {
                    Some(Reference::Xml(len)) => {
                        out.push('&');
                        out.push_str(&rest[..len]);
                        rest = &rest[len..];
                    }
                    Some(Reference::Html(len, decoded)) => {
                        out.push_str(&escape_attribute(&decoded));
                        rest = &rest[len..];
                    }
                    None => {
                        self.repairs.bare_ampersands += 1;
                        out.push_str("&amp;");
                    }
                },
            }
        }
        out.push_str(rest);
    }

    /// Closes the open elements down to stack index `depth`, that one
    /// included. `implied` is true when no end tag in the input named it.
    fn close_to(&mut self, depth: usize, implied: bool) {
        while self.stack.len() > depth {
            let innermost = self.stack.len() - 1;
            if implied || innermost > depth {
                let name = &self.stack[innermost].source_name;
                self.repairs.closed_count += 1;
                if self.repairs.closed_implicitly.len() < 6 {
                    self.repairs.closed_implicitly.insert(name.clone());
                }
            }
            self.end_element();
        }
    }

    fn end_element(&mut self) {
        let Some(element) = self.stack.pop() else {
            return;
        };
        if let Some(from) = element.base64_from {
            self.decode_base64(from);
        }
        self.bindings
            .truncate(self.bindings.len() - element.bindings);
        let ends_entry = self
            .entry
            .as_ref()
            .is_some_and(|entry| entry.depth == self.stack.len());
        if ends_entry {
            self.supply_missing();
        }
        if !element.name.is_empty() {
            let _ = write!(self.out, "</{}>", element.name);
        }
        if let Some(field) = element.field {
            self.record(field, element.captured);
        }
        if ends_entry {
            self.end_entry();
        }
        if self.stack.is_empty() {
            if self.wrapped_channel {
                self.out.push_str("</rss>");
            }
            self.finished = true;
        }
    }

    fn end_entry(&mut self) {
        if let Some(entry) = self.entry.take() {
            self.entries.push(entry.start..self.out.len());
        }
    }

    fn record(&mut self, field: Field, text: String) {
        let Some(entry) = &mut self.entry else {
            return;
        };
        let text = text.trim().to_string();
        let present = !text.is_empty();
        match field {
            Field::Title => entry.title |= present,
            Field::DcTitle if present => entry.dc_title = Some(text),
            Field::Link => {
                entry.link |= present;
                entry.identified |= present;
            }
            Field::Guid { permalink } => {
                entry.identified |= present;
                if permalink && is_http(&text) {
                    entry.link_candidate = Some(text);
                }
            }
            Field::AtomId => {
                entry.identified |= present;
                if is_http(&text) {
                    entry.link_candidate = Some(text);
                }
            }
            Field::Date => entry.date |= present,
            Field::Updated => entry.updated |= present,
            Field::Issued if present => entry.issued = Some(text),
            Field::Created if present => entry.created = Some(text),
            Field::Modified if present => entry.modified = Some(text),
            _ => {}
        }
    }

    /// Before an entry's end tag: the title, link and dates it lacks, from
    /// the elements that say the same in other vocabularies.
    fn supply_missing(&mut self) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        let dialect = self.dialect.unwrap_or(Dialect::Rss2);
        if !entry.title
            && let Some(title) = &entry.dc_title
        {
            self.element(dialect, "title", title);
        }
        if !entry.link {
            match (&entry.link_candidate, dialect) {
                (Some(link), Dialect::Atom) => {
                    let _ = write!(
                        self.out,
                        "<link xmlns=\"{ATOM}\" rel=\"alternate\" href=\"{}\"/>",
                        escape_attribute(link)
                    );
                }
                (Some(link), _) => self.element(dialect, "link", link),
                // feed-rs drops RSS 1.0 items without a link; a link that
                // is not http(s) keeps the item and is never used as one.
                (None, Dialect::Rss1) => self.element(dialect, "link", "about:blank"),
                (None, _) => {}
            }
        }
        let published = entry.issued.as_ref().or(entry.created.as_ref());
        if !entry.date {
            match (published, dialect) {
                (Some(date), Dialect::Atom) => self.element(dialect, "published", date),
                (Some(date), Dialect::Rss2) => self.element(dialect, "pubDate", date),
                (Some(date), Dialect::Rss1) => {
                    let _ = write!(
                        self.out,
                        "<dc:date xmlns:dc=\"{DC}\">{}</dc:date>",
                        escape_attribute(date)
                    );
                }
                (None, _) => {}
            }
        }
        if !entry.updated
            && let Some(modified) = &entry.modified
            && dialect != Dialect::Rss1
        {
            self.element(dialect, "updated", modified);
        }
        self.entry = Some(entry);
    }

    /// An element of the feed's own vocabulary, with text content.
    fn element(&mut self, dialect: Dialect, local: &str, text: &str) {
        let namespace = match dialect {
            Dialect::Rss2 => String::new(),
            Dialect::Rss1 => format!(" xmlns=\"{RSS_10}\""),
            Dialect::Atom => format!(" xmlns=\"{ATOM}\""),
        };
        let _ = write!(
            self.out,
            "<{local}{namespace}>{}</{local}>",
            escape_attribute(text)
        );
    }

    fn decode_base64(&mut self, from: usize) {
        let encoded: String = unescape(&self.out[from..])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let cdata_free = encoded
            .strip_prefix("<![CDATA[")
            .and_then(|e| e.strip_suffix("]]>"))
            .unwrap_or(&encoded);
        match base64::engine::general_purpose::STANDARD.decode(cdata_free) {
            Ok(bytes) => {
                self.out.truncate(from);
                let decoded = String::from_utf8_lossy(&bytes).into_owned();
                let mut out = std::mem::take(&mut self.out);
                self.escape_text(&decoded, &mut out, false);
                self.out = out;
            }
            Err(_) => self.repairs.base64_failed += 1,
        }
    }

    fn finish(mut self) -> Rewritten {
        let mut incomplete = None;
        if let Some(entry) = &self.entry {
            if entry.identified {
                self.repairs.truncated_identified += 1;
            } else {
                self.repairs.truncated_unidentified += 1;
                incomplete = Some(self.entries.len());
            }
        }
        if !self.stack.is_empty() {
            self.close_to(0, true);
        }
        let mut entries = self.entries;
        if !self.repairs.undeclared.is_empty() {
            let mut declarations = String::new();
            for prefix in &self.repairs.undeclared {
                let uri = WELL_KNOWN_PREFIXES
                    .iter()
                    .find(|(known, _)| known == prefix)
                    .map_or_else(
                        || format!("urn:x-undeclared:{prefix}"),
                        |(_, uri)| uri.to_string(),
                    );
                let _ = write!(
                    declarations,
                    " xmlns:{prefix}=\"{}\"",
                    escape_attribute(&uri)
                );
            }
            self.out.insert_str(self.root_attributes_end, &declarations);
            for range in &mut entries {
                *range = range.start + declarations.len()..range.end + declarations.len();
            }
        }
        Rewritten {
            xml: self.out,
            entries,
            incomplete,
            repairs: self.repairs.describe(),
        }
    }
}

impl Repairs {
    fn describe(&self) -> Vec<String> {
        let mut said = Vec::new();
        let mut say = |count: usize, what: String| {
            if count > 0 {
                said.push(what);
            }
        };
        say(
            self.junk_before_root,
            format!(
                "cut {} bytes before the root element (a server message or other junk)",
                self.junk_before_root
            ),
        );
        say(
            self.bare_ampersands,
            format!("escaped {} bare '&'", self.bare_ampersands),
        );
        say(
            self.stray_angles,
            format!("escaped {} '<' that opened no tag", self.stray_angles),
        );
        say(
            self.tags_in_text,
            format!(
                "read {} tags inside text elements as text (unescaped HTML)",
                self.tags_in_text
            ),
        );
        let names: Vec<&str> = self.closed_implicitly.iter().map(String::as_str).collect();
        say(
            self.closed_count,
            format!(
                "closed {} elements left open ({})",
                self.closed_count,
                names.join(", ")
            ),
        );
        say(
            self.stray_end_tags,
            format!(
                "ignored {} end tags that closed nothing",
                self.stray_end_tags
            ),
        );
        say(
            self.unclosed_cdata,
            format!("closed {} CDATA sections left open", self.unclosed_cdata),
        );
        say(
            self.cut_tags,
            format!(
                "dropped {} tags cut off by the end of the body",
                self.cut_tags
            ),
        );
        say(
            self.truncated_unidentified,
            "the body ends mid-entry, before the last entry's link: that entry is not stored"
                .to_string(),
        );
        say(
            self.truncated_identified,
            "the body ends mid-entry: the last entry is cut short".to_string(),
        );
        say(
            self.bad_attributes,
            format!(
                "dropped {} malformed or repeated attributes",
                self.bad_attributes
            ),
        );
        say(
            self.forbidden_chars,
            format!("dropped {} characters XML forbids", self.forbidden_chars),
        );
        let prefixes: Vec<&str> = self.undeclared.iter().map(String::as_str).collect();
        say(
            prefixes.len(),
            format!(
                "declared namespace prefixes used undeclared: {}",
                prefixes.join(", ")
            ),
        );
        say(
            self.junk_after_root,
            format!(
                "ignored {} bytes after the root element",
                self.junk_after_root
            ),
        );
        say(
            usize::from(self.channel_added),
            "put the elements found right under <rss> into a <channel>".to_string(),
        );
        say(
            self.unknown_types,
            format!(
                "read {} text constructs of unknown type as text",
                self.unknown_types
            ),
        );
        say(
            self.base64_failed,
            format!(
                "kept {} base64 contents that do not decode as they were",
                self.base64_failed
            ),
        );
        said
    }
}

fn vocabulary_of(uri: &str) -> Vocabulary {
    match uri {
        "" => Vocabulary::Rss,
        RSS_10 | RSS_090 => Vocabulary::Rss,
        ATOM => Vocabulary::Atom,
        ATOM_03 => Vocabulary::Atom03,
        RDF => Vocabulary::Rdf,
        DC => Vocabulary::DublinCore,
        DCTERMS => Vocabulary::DcTerms,
        CONTENT => Vocabulary::Content,
        _ => Vocabulary::Other,
    }
}

fn is_root(name: &str) -> bool {
    matches!(
        local_name(name),
        "rss" | "RDF" | "feed" | "channel" | "Channel"
    )
}

/// Elements whose content is text (or escaped HTML), never child elements.
fn is_text_only(vocabulary: Vocabulary, local: &str) -> bool {
    match vocabulary {
        Vocabulary::Rss => !matches!(
            local.to_ascii_lowercase().as_str(),
            "rss" | "channel" | "item" | "image" | "textinput" | "skiphours" | "skipdays" | "items"
        ),
        Vocabulary::Atom | Vocabulary::Atom03 => matches!(
            local,
            "title"
                | "subtitle"
                | "summary"
                | "content"
                | "rights"
                | "id"
                | "updated"
                | "published"
                | "name"
                | "email"
                | "uri"
                | "icon"
                | "logo"
                | "generator"
                | "created"
                | "info"
        ),
        Vocabulary::DublinCore | Vocabulary::DcTerms | Vocabulary::Content => true,
        Vocabulary::Rdf | Vocabulary::Other => false,
    }
}

/// How to read a text construct with these attributes: its `type` (Atom 1.0
/// names, Atom 0.3 MIME types, anything else) and Atom 0.3 `mode`.
fn text_construct_type(attributes: &[(String, String)], is_content: bool) -> TextType {
    let value = |name: &str| {
        attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    let (kind, mode) = (value("type"), value("mode"));
    let base64 = mode.as_deref() == Some("base64");
    let own_type = TextType {
        kind: None,
        base64,
        known: true,
    };
    if is_content && value("src").is_some() {
        return TextType {
            base64: false,
            ..own_type
        };
    }
    let mut known = true;
    let kind = match kind.as_deref() {
        None | Some("text" | "text/plain") => "text",
        Some("html" | "text/html") => "html",
        Some("xhtml" | "application/xhtml+xml") if mode.as_deref() == Some("escaped") => "html",
        Some("xhtml" | "application/xhtml+xml") => "xhtml",
        Some(other)
            if is_content
                && other.contains('/')
                && !other.starts_with("text/")
                && !other.ends_with("xml") =>
        {
            return own_type;
        }
        Some(_) => {
            known = false;
            "text"
        }
    };
    let kind = match (kind, mode.as_deref()) {
        ("text", Some("escaped")) if is_content => "html",
        ("xhtml", _) if base64 => "html",
        (kind, _) => kind,
    };
    TextType {
        kind: Some(kind),
        base64,
        known,
    }
}

/// A reference after `&`: its length up to and including `;`.
enum Reference {
    /// One XML knows: `&amp;`, `&#20013;`, `&#x4E2D;`.
    Xml(usize),
    /// An HTML entity XML lacks (`&nbsp;`), decoded.
    Html(usize, String),
}

fn reference(after_ampersand: &str) -> Option<Reference> {
    let end = after_ampersand.bytes().take(32).position(|b| b == b';')?;
    let body = &after_ampersand[..end];
    if let Some(number) = body.strip_prefix('#') {
        let value = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(value)
            .filter(|&c| !is_forbidden(c))
            .map(|_| Reference::Xml(end + 1));
    }
    if !body.chars().all(|c| c.is_ascii_alphanumeric()) || body.is_empty() {
        return None;
    }
    if matches!(body, "amp" | "lt" | "gt" | "quot" | "apos") {
        return Some(Reference::Xml(end + 1));
    }
    let entity = &after_ampersand[..end + 1];
    let decoded = html_escape::decode_html_entities(&format!("&{entity}")).into_owned();
    (decoded != format!("&{entity}")).then(|| Reference::Html(end + 1, decoded))
}

fn is_forbidden(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

fn is_http(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn local_name(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

fn prefix_of(name: &str) -> Option<&str> {
    name.split_once(':').map(|(prefix, _)| prefix)
}

/// A name XML namespaces accept: one colon at most, not at either end.
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(lexer::is_name_char)
        && name.matches(':').count() <= 1
        && !name.ends_with(':')
}

/// An element name as the output can carry it.
fn qualified_name(name: &str) -> String {
    if is_valid_name(name) {
        name.to_string()
    } else {
        let name = name.replace(':', "_");
        if name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            name
        } else {
            format!("_{name}")
        }
    }
}

fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            c if is_forbidden(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Text of XML character data that this module wrote (so well-formed).
fn unescape(escaped: &str) -> String {
    match quick_xml::escape::unescape(escaped) {
        Ok(text) => text.into_owned(),
        Err(_) => escaped.to_string(),
    }
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
            let rewritten = rewrite(&SLOPPY[..at]);
            assert_well_formed(&rewritten.xml);
            for range in &rewritten.entries {
                assert!(rewritten.xml[range.clone()].starts_with("<item"));
                assert!(rewritten.xml[range.clone()].ends_with("</item>"));
            }
        }
    }

    #[test]
    fn the_sloppy_document_reads_as_meant() {
        let rewritten = rewrite(SLOPPY);
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
        let rewritten = rewrite(
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
