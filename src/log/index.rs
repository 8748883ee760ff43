//! The log's in-memory indexes: leaf hash → index (duplicate submissions get their existing index)
//! and URL → records (`GET /lookup`).
//!
//! Both are derived data. They are rebuilt from the entry bundles every time the log opens (the bundles
//! are the source of truth, and the rebuild also re-checks every entry against the durable tree root),
//! so there is no index file that could be missing, stale or damaged.

use rget_core::digest::Hash;
use rget_core::record;
use std::collections::HashMap;

/// The log's indexes by leaf hash and by canonical URL, rebuilt from the entry bundles on open.
#[derive(Default)]
pub struct Index {
    by_leaf: HashMap<Hash, u64>,
    by_url: HashMap<String, Vec<(u64, Hash)>>,
}

impl Index {
    /// Adds the entry at `index`. Entries are added in index order, so each URL's list stays oldest
    /// first. Only the record header is read: the log validated every record on the way in, and on
    /// reopening, the durable root check covers every byte. An entry that is not a record (impossible
    /// for entries this log wrote) is indexed by leaf only.
    pub fn insert(&mut self, index: u64, leaf: Hash, entry: &[u8]) {
        self.by_leaf.entry(leaf).or_insert(index);
        if let Ok(r) = record::parse_header(entry) {
            // Keyed by canonical form, as lookups are: a record made under another spelling of the
            // URL (by a log that normalised less) is listed with the URL's other records, so a
            // respelling cannot hide a second record from clients.
            let url = record::canonical_url(r.url).unwrap_or_else(|_| r.url.to_owned());
            self.by_url
                .entry(url)
                .or_default()
                .push((index, r.sums_sha256));
        }
    }

    /// The index of an entry with this leaf hash, if the log has one.
    pub fn leaf_index(&self, leaf: &Hash) -> Option<u64> {
        self.by_leaf.get(leaf).copied()
    }

    /// Every record for this canonical URL, oldest first.
    pub fn lookup(&self, url: &str) -> &[(u64, Hash)] {
        self.by_url.get(url).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Number of indexed entries.
    pub fn len(&self) -> usize {
        self.by_leaf.len()
    }

    /// Whether no entry is indexed.
    pub fn is_empty(&self) -> bool {
        self.by_leaf.is_empty()
    }
}

/// The body of a `GET /lookup` answer: `<index> <sha256 hex>` lines.
pub fn format_lookup(entries: &[(u64, Hash)]) -> String {
    entries
        .iter()
        .map(|(i, h)| format!("{i} {}\n", h.to_hex()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::digest::sha256;
    use rget_core::merkle::leaf_hash;

    #[test]
    fn indexes_by_leaf_and_url() {
        let sums = |i: u8| format!("{}  f\n", sha256(&[i])).into_bytes();
        let mut ix = Index::default();
        let r0 = record::build("https://a.example/SHA256SUMS", &sums(0)).unwrap();
        let r1 = record::build("https://b.example/SHA256SUMS", &sums(1)).unwrap();
        let r2 = record::build("https://a.example/SHA256SUMS", &sums(2)).unwrap();
        for (i, r) in [&r0, &r1, &r2].iter().enumerate() {
            ix.insert(i as u64, leaf_hash(r), r);
        }
        assert_eq!(ix.leaf_index(&leaf_hash(&r1)), Some(1));
        assert_eq!(ix.leaf_index(&sha256(b"x")), None);
        let a = ix.lookup("https://a.example/SHA256SUMS");
        assert_eq!(a, &[(0, sha256(&sums(0))), (2, sha256(&sums(2)))]);
        assert_eq!(
            format_lookup(a),
            format!("0 {}\n2 {}\n", sha256(&sums(0)), sha256(&sums(2)))
        );
        assert!(ix.lookup("https://c.example/SHA256SUMS").is_empty());
        assert_eq!(ix.len(), 3);
        // A record written under an older spelling of a URL is listed under its canonical form.
        let r3 =
            String::from_utf8(record::build("https://a.example/SHA256SUMS", &sums(3)).unwrap())
                .unwrap()
                .replace(
                    "url https://a.example/SHA256SUMS",
                    "url https://a.example/%53HA256SUMS",
                );
        assert!(r3.contains("url https://a.example/%53HA256SUMS\n"), "{r3}");
        ix.insert(3, leaf_hash(r3.as_bytes()), r3.as_bytes());
        assert_eq!(ix.lookup("https://a.example/SHA256SUMS").len(), 3);
    }
}
