//! The writer: tokens of the loose lexer in, well-formed XML in the
//! vocabulary feed-rs reads out, with every entry's place.

use std::fmt::Write as _;
use std::ops::Range;

use super::Rewritten;
use super::atom03::{TextType, renamed, text_construct_type};
use super::facts::{EntryFacts, Field};
use super::lexer::{Attribute, Token};
use super::names::{
    ATOM, ATOM_03, Flavour, RSS_10, RSS_11, RSS_090, Vocabulary, WELL_KNOWN_PREFIXES, is_http,
    is_root, is_text_only, is_valid_name, local_name, prefix_of, qualified_name, vocabulary_of,
};
use super::repairs::Repairs;
use super::xml::{escape_attribute, unescape};

#[derive(Debug)]
pub(super) struct OpenElement {
    /// As written in the input, to match its end tag.
    pub(super) source_name: String,
    /// As written in the output; empty for an element whose tags are left
    /// out and whose content stays (RSS 1.1's `<items>`).
    pub(super) name: String,
    /// Tags inside are text: the element holds text or escaped HTML.
    pub(super) text_only: bool,
    /// Namespace bindings this element declared.
    pub(super) bindings: usize,
    pub(super) field: Option<Field>,
    /// The element's text, unescaped, when it is a field.
    pub(super) captured: String,
    /// Output offset where the content starts, for base64 content.
    pub(super) base64_from: Option<usize>,
}

impl OpenElement {
    /// An element the writer opened itself or whose tags it leaves out
    /// (`name` empty): no field, no bindings.
    fn unwritten(source_name: &str, name: &str) -> OpenElement {
        OpenElement {
            source_name: source_name.into(),
            name: name.into(),
            text_only: false,
            bindings: 0,
            field: None,
            captured: String::new(),
            base64_from: None,
        }
    }
}

pub(super) struct Writer {
    pub(super) out: String,
    pub(super) stack: Vec<OpenElement>,
    pub(super) bindings: Vec<(String, String)>,
    pub(super) flavour: Option<Flavour>,
    /// A `<channel>` root, wrapped in `<rss>`.
    pub(super) wrapped_channel: bool,
    /// RSS 1.1: its `<Channel>` root is read as RSS 2.0's channel, its
    /// `<items>` list unwrapped, its namespace left out.
    pub(super) rss11: bool,
    pub(super) entry: Option<EntryFacts>,
    pub(super) entries: Vec<Range<usize>>,
    /// Output offset just before the root start tag's `>`, for declarations.
    pub(super) root_attributes_end: usize,
    pub(super) finished: bool,
    pub(super) repairs: Repairs,
}

impl Writer {
    pub(super) fn new(capacity: usize) -> Self {
        Writer {
            out: String::with_capacity(capacity + capacity / 16 + 64),
            stack: Vec::new(),
            bindings: Vec::new(),
            flavour: None,
            wrapped_channel: false,
            rss11: false,
            entry: None,
            entries: Vec::new(),
            root_attributes_end: 0,
            finished: false,
            repairs: Repairs::default(),
        }
    }

    pub(super) fn token(&mut self, token: Token<'_>, len: usize) {
        if self.flavour.is_none() {
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

    pub(super) fn count_trailing(&mut self, token: &Token<'_>, len: usize) {
        if !matches!(token, Token::Text(text) if text.trim().is_empty()) {
            self.repairs.junk_after_root += len;
        }
    }

    pub(super) fn root(&mut self, name: &str, attributes: &[Attribute<'_>]) {
        let mut local = local_name(name);
        self.flavour = Some(match local {
            "feed" => Flavour::Atom,
            "RDF" => Flavour::Rss1,
            _ => Flavour::Rss2,
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

    /// The stack index of the innermost open element this end tag closes.
    pub(super) fn find_open(&self, name: &str) -> Option<usize> {
        self.stack
            .iter()
            .rposition(|e| e.source_name == name)
            .or_else(|| {
                self.stack
                    .iter()
                    .rposition(|e| e.source_name.eq_ignore_ascii_case(name))
            })
    }

    pub(super) fn vocabulary(&self, name: &str) -> Vocabulary {
        let prefix = prefix_of(name).unwrap_or("");
        match self.resolve(prefix) {
            Some(uri) => vocabulary_of(uri),
            None if prefix.is_empty() => match self.flavour {
                Some(Flavour::Atom) => Vocabulary::Atom,
                _ => Vocabulary::Rss,
            },
            None => WELL_KNOWN_PREFIXES
                .iter()
                .find(|(known, _)| *known == prefix)
                .map_or(Vocabulary::Other, |(_, uri)| vocabulary_of(uri)),
        }
    }

    pub(super) fn resolve(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some("http://www.w3.org/XML/1998/namespace");
        }
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| uri.as_str())
    }

    /// A start tag: its declarations first (they decide what its name
    /// means), then its name in the vocabulary feed-rs reads, what it tells
    /// of its entry, and the tag written out.
    pub(super) fn start(
        &mut self,
        source_name: &str,
        attributes: &[Attribute<'_>],
        self_closing: bool,
    ) {
        if self.unwraps(source_name, self_closing) {
            return;
        }
        self.add_missing_channel(source_name);
        let (mut kept, bindings) = self.declare(attributes);
        let mut name = qualified_name(source_name);
        self.note_undeclared(&name, &kept);
        let mut vocabulary = self.vocabulary(&name);
        let atom03 = vocabulary == Vocabulary::Atom03;
        let mut local = local_name(&name).to_string();
        if atom03 {
            vocabulary = Vocabulary::Atom;
            if let Some(renamed) = renamed(&local) {
                local = renamed.to_string();
                name = match prefix_of(&name) {
                    Some(prefix) => format!("{prefix}:{renamed}"),
                    None => renamed.to_string(),
                };
            }
        }
        let (text_only, base64) = self.text_construct(vocabulary, &local, &mut kept);
        let is_entry = self.is_entry_name(&name) && self.entry.is_none();
        if is_entry {
            self.entry = Some(EntryFacts {
                start: self.out.len(),
                depth: self.stack.len(),
                ..EntryFacts::default()
            });
        }
        let field = self.field_of(vocabulary, atom03, &local, &kept);
        self.note_entry_link(vocabulary, &local, is_entry, &kept);
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

    /// RSS 1.1's `<items>` list: its tags are left out, its items stay, as
    /// RSS 2.0 has them right in the channel. Whether this start tag was one.
    fn unwraps(&mut self, source_name: &str, self_closing: bool) -> bool {
        if !(self.rss11 && self.stack.len() == 1 && local_name(source_name) == "items") {
            return false;
        }
        if !self_closing {
            self.stack.push(OpenElement::unwritten(source_name, ""));
        }
        true
    }

    /// RSS whose channel elements stand right under `<rss>`: gives them
    /// their channel.
    fn add_missing_channel(&mut self, source_name: &str) {
        if self.flavour == Some(Flavour::Rss2)
            && self.stack.len() == 1
            && local_name(&self.stack[0].name) == "rss"
            && local_name(source_name) != "channel"
        {
            self.repairs.channel_added = true;
            self.out.push_str("<channel>");
            self.stack
                .push(OpenElement::unwritten("channel", "channel"));
        }
    }

    /// The attributes as written out, and how many namespace bindings they
    /// declare: repeated and malformed ones dropped, values escaped, Atom
    /// 0.3's and RSS 0.90's namespaces read as their successors' (the
    /// binding keeps the original, so renames know where a name came from),
    /// RSS 1.1's left out (its elements are RSS 2.0's, which have none).
    fn declare(&mut self, attributes: &[Attribute<'_>]) -> (Vec<(String, String)>, usize) {
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
                    continue;
                }
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
        (kept, bindings)
    }

    /// Notes the prefixes of a name and its attributes that nothing declares
    /// (the writer declares them on the root at the end).
    fn note_undeclared(&mut self, name: &str, kept: &[(String, String)]) {
        for prefix in prefix_of(name)
            .into_iter()
            .chain(kept.iter().filter_map(|(n, _)| prefix_of(n)))
        {
            if prefix != "xmlns" && self.resolve(prefix).is_none() {
                self.repairs.undeclared.insert(prefix.to_string());
            }
        }
    }

    /// Whether the element holds only text, and whether its content is
    /// base64: Atom's text constructs say so by their `type` (and Atom 0.3's
    /// `mode`), rewritten into a type feed-rs reads.
    fn text_construct(
        &mut self,
        vocabulary: Vocabulary,
        local: &str,
        kept: &mut Vec<(String, String)>,
    ) -> (bool, bool) {
        let text_only = is_text_only(vocabulary, local);
        let constructs = ["title", "subtitle", "summary", "content", "rights"];
        if vocabulary != Vocabulary::Atom || !constructs.contains(&local) {
            return (text_only, false);
        }
        let TextType {
            kind,
            base64,
            known,
        } = text_construct_type(kept, local == "content");
        self.repairs.unknown_types += usize::from(!known);
        kept.retain(|(n, _)| n != "mode" && (n != "type" || kind.is_none()));
        match kind {
            Some(kind) => {
                kept.push(("type".to_string(), kind.to_string()));
                (kind != "xhtml", base64)
            }
            None => (text_only, base64),
        }
    }

    /// What a start tag tells of its entry's link: an RSS 1.0 item's
    /// `rdf:about`, an Atom entry's alternate link.
    fn note_entry_link(
        &mut self,
        vocabulary: Vocabulary,
        local: &str,
        is_entry: bool,
        kept: &[(String, String)],
    ) {
        let value = |name: &str| {
            kept.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        if let (Some(Flavour::Rss1), true) = (self.flavour, is_entry)
            && let Some(about) = value("rdf:about")
        {
            let about = unescape(about).trim().to_string();
            if let Some(entry) = &mut self.entry
                && is_http(&about)
            {
                entry.link_candidate = Some(about);
            }
        }
        if vocabulary == Vocabulary::Atom && local == "link" && self.is_entry_child() {
            let has_href = value("href").is_some_and(|href| !href.trim().is_empty());
            if has_href
                && value("rel").is_none_or(|r| r == "alternate")
                && let Some(entry) = &mut self.entry
            {
                entry.link = true;
                entry.identified = true;
            }
        }
    }

    /// Closes the open elements down to stack index `depth`, that one
    /// included. `implied` is true when no end tag in the input named it.
    pub(super) fn close_to(&mut self, depth: usize, implied: bool) {
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

    pub(super) fn end_element(&mut self) {
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

    pub(super) fn finish(mut self) -> Rewritten {
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
