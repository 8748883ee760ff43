//! `DIR/tree-state`: the tree the sequencer has made durable.
//!
//! ```text
//! rget-log-state/v1
//! size <decimal>
//! root <base64 RFC 6962 root>
//! ```
//! It is written (atomically, fsynced) after the entry bundles and tiles of a batch are durable and
//! before the checkpoint for it is signed. On restart it is the authority: the tree is rebuilt from the
//! entry bundles up to `size` and must hash to `root`, and a checkpoint is only ever signed for this
//! (size, root), so the log can never sign two different roots for one size, even across crashes.

use rget_core::digest::Hash;

const HEADER: &str = "rget-log-state/v1";

/// The durable tree state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeState {
    /// The number of entries made durable.
    pub size: u64,
    /// The RFC 6962 root hash of the tree of those entries.
    pub root: Hash,
}

impl TreeState {
    /// Formats the state file.
    pub fn format(&self) -> String {
        format!(
            "{HEADER}\nsize {}\nroot {}\n",
            self.size,
            self.root.to_base64()
        )
    }

    /// Parses the state file; `None` if it is not exactly what [`TreeState::format`] writes.
    pub fn parse(text: &str) -> Option<TreeState> {
        let mut lines = text.strip_suffix('\n')?.split('\n');
        if lines.next()? != HEADER {
            return None;
        }
        let size: u64 = lines.next()?.strip_prefix("size ")?.parse().ok()?;
        let root = Hash::from_base64(lines.next()?.strip_prefix("root ")?)?;
        if lines.next().is_some() {
            return None;
        }
        let state = TreeState { size, root };
        // Only one spelling: what we would write.
        (state.format() == text).then_some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::digest::sha256;

    #[test]
    fn round_trip_and_strictness() {
        let s = TreeState {
            size: 12345,
            root: sha256(b"r"),
        };
        assert_eq!(TreeState::parse(&s.format()), Some(s));
        let t = s.format();
        assert_eq!(TreeState::parse(&t.replace("12345", "012345")), None);
        assert_eq!(TreeState::parse(&t.replace("v1", "v2")), None);
        assert_eq!(TreeState::parse(t.trim_end()), None);
        assert_eq!(TreeState::parse(&format!("{t}x\n")), None);
        assert_eq!(TreeState::parse(""), None);
    }
}
