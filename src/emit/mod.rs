//! Outputs built from stored articles: merged Atom feeds and Hexo posts.
//!
//! Pure: articles in, bytes out. Serving and writing files is `serve` and `daemon`.

pub mod atom;
pub mod hexo;
