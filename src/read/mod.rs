//! Reading: a fetched body to the entries it holds. The charset is decided
//! by evidence (`charset`); a feed is read strictly, then repaired
//! (`parse`, `repair`); a list page or a JSON API is read with its source's
//! selectors or paths (`scrape`); dates are read as sites write them
//! (`dates`). Pure: bytes in, feed-rs entries out.

pub mod charset;
pub mod css;
pub mod dates;
pub mod parse;
pub mod repair;
pub mod scrape;
