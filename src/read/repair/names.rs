//! What the writer knows of names: the namespaces of the feed formats and
//! their modules, which vocabulary an element belongs to, which elements hold
//! only text, and what makes a name usable in the output.

pub(super) const ATOM: &str = "http://www.w3.org/2005/Atom";
pub(super) const ATOM_03: &str = "http://purl.org/atom/ns#";
pub(super) const RSS_10: &str = "http://purl.org/rss/1.0/";
pub(super) const RSS_090: &str = "http://my.netscape.com/rdf/simple/0.9/";
pub(super) const RSS_11: &str = "http://purl.org/net/rss1.1#";
pub(super) const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
pub(super) const DC: &str = "http://purl.org/dc/elements/1.1/";
pub(super) const DCTERMS: &str = "http://purl.org/dc/terms/";
pub(super) const CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";

/// Prefixes publishers use without declaring them, and what they mean.
pub(super) const WELL_KNOWN_PREFIXES: [(&str, &str); 11] = [
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

/// Which vocabulary an element belongs to, by its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Vocabulary {
    Rss,
    Atom,
    Atom03,
    Rdf,
    DublinCore,
    DcTerms,
    Content,
    Other,
}

/// What kind of feed the root element says this is (not to be confused with
/// the store's SQL `Flavour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavour {
    Rss2,
    Rss1,
    Atom,
}

pub(super) fn vocabulary_of(uri: &str) -> Vocabulary {
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

pub(super) fn is_root(name: &str) -> bool {
    matches!(
        local_name(name),
        "rss" | "RDF" | "feed" | "channel" | "Channel"
    )
}

/// Elements whose content is text (or escaped HTML), never child elements.
pub(super) fn is_text_only(vocabulary: Vocabulary, local: &str) -> bool {
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

pub(super) fn is_http(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

pub(super) fn local_name(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

pub(super) fn prefix_of(name: &str) -> Option<&str> {
    name.split_once(':').map(|(prefix, _)| prefix)
}

/// A name XML namespaces accept: one colon at most, not at either end.
pub(super) fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(super::lexer::is_name_char)
        && name.matches(':').count() <= 1
        && !name.ends_with(':')
}

/// An element name as the output can carry it.
pub(super) fn qualified_name(name: &str) -> String {
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
