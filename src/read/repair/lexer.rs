//! A tokenizer for XML that is not well-formed: it never fails.
//!
//! It reads what publishers send, the way the loose parsers of browsers and
//! feedparser do: a `<` that opens no markup is text, an attribute may lack
//! quotes or a value, a tag cut off by the end of input is dropped, comments,
//! processing instructions and doctypes are skipped, and a CDATA section that
//! is never closed ends where its element does. What the tokens mean (which
//! element an end tag closes, how text is escaped) is the writer's business.

/// One piece of the input. Slices borrow from it; nothing is unescaped here.
#[derive(Debug, PartialEq)]
pub enum Token<'a> {
    /// Character data as written: entities and stray `&` and `<` included.
    Text(&'a str),
    /// The inside of a CDATA section; `closed` is false when the document
    /// never closed it.
    CData {
        content: &'a str,
        closed: bool,
    },
    Start {
        name: &'a str,
        attributes: Vec<Attribute<'a>>,
        self_closing: bool,
        /// The tag as written, for writing it back as text.
        raw: &'a str,
    },
    End {
        name: &'a str,
        raw: &'a str,
    },
    /// A tag the end of input cut off.
    Truncated,
}

/// An attribute as written; `value` is still escaped (or not, as the case may be).
#[derive(Debug, PartialEq)]
pub struct Attribute<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

pub struct Lexer<'a> {
    input: &'a str,
    at: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(input: &'a str) -> Self {
        Lexer { input, at: 0 }
    }

    /// Where the next token starts.
    pub fn position(&self) -> usize {
        self.at
    }

    /// The next token; `open` is the name of the innermost open element,
    /// where an unclosed CDATA section ends.
    pub fn next_token(&mut self, open: Option<&str>) -> Option<Token<'a>> {
        let input = self.input;
        // Comments, processing instructions and declarations are skipped.
        let rest = loop {
            let rest = &input[self.at..];
            let skipped = if let Some(comment) = rest.strip_prefix("<!--") {
                comment.find("-->").map_or(rest.len(), |end| 4 + end + 3)
            } else if rest.starts_with("<?") {
                rest.find("?>").map_or(rest.len(), |end| end + 2)
            } else if rest.starts_with("<!") && !rest.starts_with("<![CDATA[") {
                declaration_len(rest)
            } else {
                break rest;
            };
            self.at += skipped;
        };
        if rest.is_empty() {
            return None;
        }
        if !rest.starts_with('<') {
            let end = memchr::memchr(b'<', rest.as_bytes()).unwrap_or(rest.len());
            self.at += end;
            return Some(Token::Text(&rest[..end]));
        }
        if let Some(inside) = rest.strip_prefix("<![CDATA[") {
            return Some(self.cdata(inside, open));
        }
        if let Some(after) = rest.strip_prefix("</") {
            let name_len = name_len(after);
            if name_len > 0 {
                let Some(close) = after.find('>') else {
                    self.at = input.len();
                    return Some(Token::Truncated);
                };
                self.at += 2 + close + 1;
                return Some(Token::End {
                    name: &after[..name_len],
                    raw: &rest[..2 + close + 1],
                });
            }
        } else if name_len(&rest[1..]) > 0 {
            return Some(self.start_tag(rest));
        }
        // A `<` that opens nothing: `a < b`, `<<`, `< p>`.
        self.at += 1;
        Some(Token::Text("<"))
    }

    fn cdata(&mut self, inside: &'a str, open: Option<&str>) -> Token<'a> {
        let closing = inside.find("]]>");
        // A section that runs past its element's end tag was never closed:
        // end it there, or it would swallow the rest of the document.
        let element_end = open.and_then(|name| {
            let mut from = 0;
            while let Some(at) = inside[from..].find("</") {
                let tag = &inside[from + at + 2..];
                if tag.starts_with(name) && !tag[name.len()..].starts_with(is_name_char) {
                    return Some(from + at);
                }
                from += at + 2;
            }
            None
        });
        let (content, consumed, closed) = match (closing, element_end) {
            (Some(end), Some(cut)) if cut < end => (&inside[..cut], cut, false),
            (Some(end), _) => (&inside[..end], end + 3, true),
            (None, Some(cut)) => (&inside[..cut], cut, false),
            (None, None) => (inside, inside.len(), false),
        };
        self.at += "<![CDATA[".len() + consumed;
        Token::CData { content, closed }
    }

    fn start_tag(&mut self, rest: &'a str) -> Token<'a> {
        let name_end = 1 + name_len(&rest[1..]);
        let name = &rest[1..name_end];
        let mut attributes = Vec::new();
        let mut at = name_end;
        let bytes = rest.as_bytes();
        loop {
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            // Where the tag ends (a tag that runs into the next one never had
            // its `>`), and whether it closes itself.
            let end = match bytes.get(at) {
                None => {
                    self.at += rest.len();
                    return Token::Truncated;
                }
                Some(b'>') => Some((at + 1, false)),
                Some(b'/') if bytes.get(at + 1) == Some(&b'>') => Some((at + 2, true)),
                Some(b'<') => Some((at, false)),
                Some(_) => None,
            };
            if let Some((len, self_closing)) = end {
                self.at += len;
                return Token::Start {
                    name,
                    attributes,
                    self_closing,
                    raw: &rest[..len],
                };
            }
            let attribute_name_len = rest[at..]
                .find(|c: char| c.is_ascii_whitespace() || "=/<>\"'".contains(c))
                .unwrap_or(rest.len() - at)
                .max(1);
            let attribute_name = &rest[at..at + attribute_name_len];
            at += attribute_name_len;
            let mut value_at = at;
            while value_at < bytes.len() && bytes[value_at].is_ascii_whitespace() {
                value_at += 1;
            }
            if bytes.get(value_at) != Some(&b'=') {
                // A bare attribute (`<input checked>`): its value is its name.
                attributes.push(Attribute {
                    name: attribute_name,
                    value: attribute_name,
                });
                continue;
            }
            value_at += 1;
            while value_at < bytes.len() && bytes[value_at].is_ascii_whitespace() {
                value_at += 1;
            }
            let (value, next) = match bytes.get(value_at) {
                Some(&quote @ (b'"' | b'\'')) => {
                    match memchr::memchr(quote, &bytes[value_at + 1..]) {
                        Some(len) => (
                            &rest[value_at + 1..value_at + 1 + len],
                            value_at + 1 + len + 1,
                        ),
                        None => {
                            self.at += rest.len();
                            return Token::Truncated;
                        }
                    }
                }
                _ => {
                    let len = rest[value_at..]
                        .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '<')
                        .unwrap_or(rest.len() - value_at);
                    (&rest[value_at..value_at + len], value_at + len)
                }
            };
            attributes.push(Attribute {
                name: attribute_name,
                value,
            });
            at = next;
        }
    }
}

/// Length of a `<!DOCTYPE ...>` or other `<!...>` declaration, internal subset included.
fn declaration_len(rest: &str) -> usize {
    let mut depth = 0usize;
    for (at, c) in rest.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '>' if depth == 0 => return at + 1,
            _ => {}
        }
    }
    rest.len()
}

/// Length of the element name at the start of `text`: a letter, `_` or `:`
/// first, then name characters.
fn name_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, c)) if c.is_alphabetic() || c == '_' || c == ':' => {}
        _ => return 0,
    }
    chars
        .find(|&(_, c)| !is_name_char(c))
        .map_or(text.len(), |(at, _)| at)
}

pub fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.' | '\u{B7}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: &str) -> Vec<Token<'_>> {
        let mut lexer = Lexer::new(input);
        std::iter::from_fn(|| lexer.next_token(Some("description"))).collect()
    }

    #[test]
    fn loose_tags_and_stray_angles() {
        let got = tokens(r#"a < b<p class=x id='y' hidden><br/></p>"#);
        assert_eq!(got[0], Token::Text("a "));
        assert_eq!(got[1], Token::Text("<"));
        let Token::Start {
            name, attributes, ..
        } = &got[3]
        else {
            panic!("{got:?}")
        };
        assert_eq!(*name, "p");
        let pairs: Vec<_> = attributes.iter().map(|a| (a.name, a.value)).collect();
        assert_eq!(pairs, [("class", "x"), ("id", "y"), ("hidden", "hidden")]);
        assert!(matches!(
            got[4],
            Token::Start {
                name: "br",
                self_closing: true,
                ..
            }
        ));
        assert!(matches!(got[5], Token::End { name: "p", .. }));
    }

    #[test]
    fn unclosed_cdata_ends_with_its_element() {
        let got = tokens("<![CDATA[<p>正文</p></description><pubDate>x</pubDate>");
        assert_eq!(
            got[0],
            Token::CData {
                content: "<p>正文</p>",
                closed: false
            }
        );
        assert!(matches!(
            got[1],
            Token::End {
                name: "description",
                ..
            }
        ));
        let got = tokens("<![CDATA[a</descriptionx>]]>");
        assert_eq!(
            got[0],
            Token::CData {
                content: "a</descriptionx>",
                closed: true
            }
        );
    }

    #[test]
    fn comments_declarations_and_cut_tags() {
        let got = tokens("<!DOCTYPE rss [<!ENTITY a 'b'>]><!-- c --><?pi x?>t<item attr=\"cut");
        assert_eq!(got, [Token::Text("t"), Token::Truncated]);
    }
}
