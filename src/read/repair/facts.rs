//! What the writer learns of an entry as it goes: the fields it has met,
//! and where the entry is.

/// An entry's child that the entry's end may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
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

/// What an entry has so far, to supply what it lacks at its end.
#[derive(Debug, Default)]
pub(super) struct EntryFacts {
    /// Output offset of the entry's start tag.
    pub(super) start: usize,
    /// Depth of the entry element on the stack.
    pub(super) depth: usize,
    pub(super) title: bool,
    pub(super) dc_title: Option<String>,
    pub(super) link: bool,
    pub(super) link_candidate: Option<String>,
    pub(super) date: bool,
    pub(super) updated: bool,
    pub(super) issued: Option<String>,
    pub(super) created: Option<String>,
    pub(super) modified: Option<String>,
    /// A link or id arrived whole: the entry's identity is known.
    pub(super) identified: bool,
}
