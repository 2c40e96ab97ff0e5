//! Atom 0.3 read as Atom 1.0: its element names, and its text constructs'
//! `mode` (escaped, base64) and MIME types.

/// How an Atom text construct (title, summary, content...) is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TextType {
    /// The Atom 1.0 `type` to write, or `None` to keep the element's own
    /// (a MIME type of inline media).
    pub(super) kind: Option<&'static str>,
    /// Atom 0.3 `mode="base64"`: the content is decoded.
    pub(super) base64: bool,
    /// False for a type Atom does not know, which is read as text.
    pub(super) known: bool,
}

/// How to read a text construct with these attributes: its `type` (Atom 1.0
/// names, Atom 0.3 MIME types, anything else) and Atom 0.3 `mode`.
pub(super) fn text_construct_type(attributes: &[(String, String)], is_content: bool) -> TextType {
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

/// The Atom 1.0 name of an Atom 0.3 element that was renamed.
pub(super) fn renamed(local: &str) -> Option<&'static str> {
    match local {
        "issued" => Some("published"),
        "modified" => Some("updated"),
        "tagline" => Some("subtitle"),
        "copyright" => Some("rights"),
        "url" => Some("uri"),
        _ => None,
    }
}
