//! What the second reading repaired, counted as it goes and said as
//! warnings on the source.

use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub(super) struct Repairs {
    pub(super) junk_before_root: usize,
    pub(super) junk_after_root: usize,
    pub(super) bare_ampersands: usize,
    pub(super) stray_angles: usize,
    pub(super) forbidden_chars: usize,
    pub(super) tags_in_text: usize,
    pub(super) closed_implicitly: BTreeSet<String>,
    pub(super) closed_count: usize,
    pub(super) stray_end_tags: usize,
    pub(super) unclosed_cdata: usize,
    pub(super) bad_attributes: usize,
    pub(super) cut_tags: usize,
    pub(super) truncated_unidentified: usize,
    pub(super) truncated_identified: usize,
    pub(super) undeclared: BTreeSet<String>,
    pub(super) base64_failed: usize,
    pub(super) unknown_types: usize,
    pub(super) channel_added: bool,
}

impl Repairs {
    /// What was repaired, one message a kind of repair.
    // Long on purpose: a table of messages, one a kind of repair, reads best whole.
    pub(super) fn describe(&self) -> Vec<String> {
        let closed: Vec<&str> = self.closed_implicitly.iter().map(String::as_str).collect();
        let prefixes: Vec<&str> = self.undeclared.iter().map(String::as_str).collect();
        let messages = [
            (
                self.junk_before_root,
                format!(
                    "cut {} bytes before the root element (a server message or other junk)",
                    self.junk_before_root
                ),
            ),
            (
                self.bare_ampersands,
                format!("escaped {} bare '&'", self.bare_ampersands),
            ),
            (
                self.stray_angles,
                format!("escaped {} '<' that opened no tag", self.stray_angles),
            ),
            (
                self.tags_in_text,
                format!(
                    "read {} tags inside text elements as text (unescaped HTML)",
                    self.tags_in_text
                ),
            ),
            (
                self.closed_count,
                format!(
                    "closed {} elements left open ({})",
                    self.closed_count,
                    closed.join(", ")
                ),
            ),
            (
                self.stray_end_tags,
                format!(
                    "ignored {} end tags that closed nothing",
                    self.stray_end_tags
                ),
            ),
            (
                self.unclosed_cdata,
                format!("closed {} CDATA sections left open", self.unclosed_cdata),
            ),
            (
                self.cut_tags,
                format!(
                    "dropped {} tags cut off by the end of the body",
                    self.cut_tags
                ),
            ),
            (
                self.truncated_unidentified,
                "the body ends mid-entry, before the last entry's link: that entry is not stored"
                    .to_string(),
            ),
            (
                self.truncated_identified,
                "the body ends mid-entry: the last entry is cut short".to_string(),
            ),
            (
                self.bad_attributes,
                format!(
                    "dropped {} malformed or repeated attributes",
                    self.bad_attributes
                ),
            ),
            (
                self.forbidden_chars,
                format!("dropped {} characters XML forbids", self.forbidden_chars),
            ),
            (
                prefixes.len(),
                format!(
                    "declared namespace prefixes used undeclared: {}",
                    prefixes.join(", ")
                ),
            ),
            (
                self.junk_after_root,
                format!(
                    "ignored {} bytes after the root element",
                    self.junk_after_root
                ),
            ),
            (
                usize::from(self.channel_added),
                "put the elements found right under <rss> into a <channel>".to_string(),
            ),
            (
                self.unknown_types,
                format!(
                    "read {} text constructs of unknown type as text",
                    self.unknown_types
                ),
            ),
            (
                self.base64_failed,
                format!(
                    "kept {} base64 contents that do not decode as they were",
                    self.base64_failed
                ),
            ),
        ];
        messages
            .into_iter()
            .filter(|(count, _)| *count > 0)
            .map(|(_, message)| message)
            .collect()
    }
}
