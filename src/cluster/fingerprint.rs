//! The fingerprint of an article's text: a MinHash signature of its
//! character 3-grams, cheap to compare and to index by bands.
//!
//! One hash a shingle (one-permutation hashing into [`BINS`] bins, empty bins
//! filled by optimal densification), with xxh3 and fixed seeds: the same text
//! has the same signature on every run, machine and rebuilt database, which a
//! randomly seeded hasher would not give. Two signatures agree in a share of
//! their bins that estimates the Jaccard similarity of the two shingle sets;
//! two texts that share a band (four bins) are candidates for the exact check
//! of `matching`. Chinese needs no word segmentation: characters are shingled.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::text::Comparable;

/// Bins of a signature.
pub const BINS: usize = 64;
/// Bins of a band: 21 bands of 3 (the last bin is in none). Two texts whose
/// shingle sets have a Jaccard similarity of 0.5 share a band with
/// probability 0.94, of 0.3 with 0.44, of 0.1 with 0.02: a flash and its
/// reprint with a sentence added are found, unrelated texts rarely checked.
const BAND_BINS: usize = 3;
pub const BANDS: usize = BINS / BAND_BINS;

/// Characters of a shingle.
const SHINGLE: usize = 3;

const SEED: u64 = 0x7469_6469_6e67_7321; // "tidings!"
const EMPTY: u32 = u32::MAX;
/// The version byte and the character count.
const HEADER: usize = 5;

/// A text's signature and the numbers it states; stored with the article
/// (`articles.fingerprint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub signature: [u32; BINS],
    /// Comparable characters of the text: too few and there is nothing to compare.
    pub chars: u32,
    /// The numbers the text states, hashed, sorted: two texts whose numbers
    /// disagree are not compared further.
    pub numbers: Vec<u32>,
    /// Its telling sentences ([`is_telling`]), hashed, sorted: a reprint that
    /// reorders, cuts or adds to the text keeps most of them whole.
    pub sentences: Vec<u32>,
    /// The figures it states with their units, hashed, sorted: what another
    /// outlet's write-up of the same event shares with it.
    pub figures: Vec<u32>,
}

/// Sentences shorter than this are formulas (`公司表示`), not the story.
const SENTENCE_CHARS: usize = 8;

/// Whether a sentence tells this story rather than any: long enough, and
/// stating a number. Formulas, disclaimers and stock phrases state none, and
/// many articles share them: as keys they would make every article a
/// candidate of every other.
fn is_telling(sentence: &[char]) -> bool {
    sentence.len() >= SENTENCE_CHARS && sentence.iter().any(char::is_ascii_digit)
}

/// The layout version of a stored fingerprint: a change of the method must
/// not be compared with fingerprints made by the old one. Version 1 had no
/// sentences and figures; it is still read, without them.
const VERSION: u8 = 2;

impl Fingerprint {
    pub fn of(text: &Comparable) -> Fingerprint {
        let mut signature = [EMPTY; BINS];
        let width = SHINGLE.min(text.chars.len().max(1));
        for shingle in text.chars.windows(width) {
            // A character is 21 bits: three fit one word.
            let packed = shingle
                .iter()
                .fold(0u64, |word, c| word << 21 | u64::from(u32::from(*c)));
            let hash = xxh3_64_with_seed(&packed.to_le_bytes(), SEED);
            let bin = (hash >> 58) as usize;
            signature[bin] = signature[bin].min(hash as u32);
        }
        densify(&mut signature);
        let mut sentences: Vec<u32> = text
            .sentences()
            .filter(|sentence| is_telling(sentence))
            .map(|sentence| {
                let packed: Vec<u8> = sentence
                    .iter()
                    .flat_map(|c| u32::from(*c).to_le_bytes())
                    .collect();
                xxh3_64_with_seed(&packed, SEED) as u32
            })
            .collect();
        sentences.sort_unstable();
        sentences.dedup();
        let mut fingerprint = Fingerprint {
            signature,
            chars: text.chars.len() as u32,
            numbers: Vec::new(),
            sentences,
            figures: Vec::new(),
        };
        fingerprint.add_stated(&text.numbers, &text.figures);
        fingerprint
    }

    /// Adds numbers and figures the article states (its title's, to its body's).
    pub fn add_stated(&mut self, numbers: &[String], figures: &[String]) {
        for (hashed, stated) in [(&mut self.numbers, numbers), (&mut self.figures, figures)] {
            hashed.extend(
                stated
                    .iter()
                    .map(|text| xxh3_64_with_seed(text.as_bytes(), SEED) as u32),
            );
            hashed.sort_unstable();
            hashed.dedup();
        }
    }

    /// The keys of the signature's bands, each tagged with its band's number.
    pub fn bands(&self) -> [u64; BANDS] {
        let mut keys = [0; BANDS];
        for (band, key) in keys.iter_mut().enumerate() {
            let bins = &self.signature[band * BAND_BINS..(band + 1) * BAND_BINS];
            let mut bytes = [0u8; BAND_BINS * 4];
            for (slot, bin) in bytes.chunks_mut(4).zip(bins) {
                slot.copy_from_slice(&bin.to_le_bytes());
            }
            *key = xxh3_64_with_seed(&bytes, SEED ^ band as u64);
        }
        keys
    }

    /// The stored form: a version byte, then little-endian words: the
    /// character count, how many numbers, sentences and figures follow the
    /// bins, the bins, then those.
    pub fn to_bytes(&self) -> Vec<u8> {
        let lists = [&self.numbers, &self.sentences, &self.figures];
        let words = BINS + 3 + lists.iter().map(|list| list.len()).sum::<usize>();
        let mut bytes = Vec::with_capacity(HEADER + words * 4);
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.chars.to_le_bytes());
        let counts = lists.map(|list| list.len() as u32);
        let words = counts
            .iter()
            .chain(&self.signature)
            .chain(lists.into_iter().flatten());
        for word in words {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        bytes
    }

    /// A stored fingerprint (of this version or the first), or `None`.
    pub fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        if bytes.len() < HEADER || !(bytes.len() - HEADER).is_multiple_of(4) {
            return None;
        }
        let words: Vec<u32> = bytes[HEADER..]
            .chunks_exact(4)
            .map(|word| u32::from_le_bytes(word.try_into().expect("4 bytes")))
            .collect();
        let chars = u32::from_le_bytes(bytes[1..HEADER].try_into().expect("4 bytes"));
        let (counts, rest): ([usize; 3], &[u32]) = match bytes[0] {
            1 => ([words.len().checked_sub(BINS)?, 0, 0], &words),
            VERSION => {
                let counts = words.get(..3)?;
                ([0, 1, 2].map(|n| counts[n] as usize), &words[3..])
            }
            _ => return None,
        };
        if rest.len() != BINS + counts.iter().sum::<usize>() {
            return None;
        }
        let signature: [u32; BINS] = rest[..BINS].try_into().expect("BINS words");
        let mut lists = rest[BINS..].to_vec();
        let figures = lists.split_off(counts[0] + counts[1]);
        let sentences = lists.split_off(counts[0]);
        Some(Fingerprint {
            signature,
            chars,
            numbers: lists,
            sentences,
            figures,
        })
    }
}

/// Fills each empty bin from a non-empty one chosen by a hash of the empty
/// bin's number and the attempt (Shrivastava's optimal densification), so
/// that short texts, which leave bins empty, still compare bin by bin.
fn densify(signature: &mut [u32; BINS]) {
    if signature.iter().all(|bin| *bin == EMPTY) {
        return;
    }
    let filled = *signature;
    for (bin, slot) in signature.iter_mut().enumerate() {
        let mut attempt = 0u64;
        while *slot == EMPTY {
            let probe = xxh3_64_with_seed(&(bin as u64).to_le_bytes(), SEED + attempt);
            *slot = filled[(probe % BINS as u64) as usize];
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::text::comparable;

    #[test]
    fn the_same_text_has_the_same_signature_everywhere() {
        let a = Fingerprint::of(&comparable("央行今日开展2000亿元7天期逆回购操作"));
        // Fixed by the hash and its seed: a different value here means stored
        // fingerprints no longer compare with new ones.
        assert_eq!(
            a.signature[..4],
            [2_705_599_082, 2_255_384_596, 425_197_149, 1_429_592_590]
        );
        assert_eq!(Fingerprint::from_bytes(&a.to_bytes()), Some(a.clone()));
    }

    #[test]
    fn similar_texts_share_bins_and_bands_unrelated_ones_do_not() {
        let story = "国家统计局20日发布数据显示，10月份社会消费品零售总额同比增长4.8%，比上月加快0.3个百分点，消费市场继续恢复向好，服务零售额增长较快。";
        let reprint = format!("{story}业内人士认为，促消费政策效果持续显现。");
        let other = "证监会今日发布上市公司监管指引，进一步规范上市公司现金分红行为，引导上市公司提高分红水平，增强投资者回报。";
        let [a, b, c] = [story, &reprint, other].map(|t| Fingerprint::of(&comparable(t)));
        // The share of bins two signatures agree in estimates the Jaccard
        // similarity of their shingle sets.
        let agree = |x: &Fingerprint, y: &Fingerprint| {
            x.signature
                .iter()
                .zip(&y.signature)
                .filter(|(p, q)| p == q)
                .count() as f64
                / BINS as f64
        };
        assert!(agree(&a, &b) > 0.5, "{}", agree(&a, &b));
        assert!(agree(&a, &c) < 0.2, "{}", agree(&a, &c));
        let shared = |x: &Fingerprint, y: &Fingerprint| {
            x.bands()
                .iter()
                .zip(y.bands())
                .filter(|(p, q)| **p == *q)
                .count()
        };
        assert!(shared(&a, &b) > 0);
        assert_eq!(shared(&a, &c), 0);
    }
}
