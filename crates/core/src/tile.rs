//! C2SP tlog-tiles: tile paths, hash tiles, entry bundles, and a [`HashSource`] over tiles.
//!
//! A tile-based log publishes its Merkle tree as immutable files of 256 hashes each ("tiles", height
//! 8): hash `i` of tile `n` at tile level `L` is the hash of the complete subtree of `256^L` leaves
//! starting at leaf `(n·256 + i)·256^L`, i.e. `subtree(8·L, n·256 + i)`. Tiles at the right edge of
//! the tree are *partial* (`.p/<W>`, 1..=255 hashes) and are named by their width, so a path always
//! names one immutable byte string. Clients compute every proof themselves from tiles.
//!
//! Tile paths arrive from hostile sources (HTTP requests to a log, files in a directory), so
//! [`Tile::parse_path`] accepts exactly one spelling per tile and rejects everything else.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

use crate::digest::Hash;
use crate::merkle::{HashSource, MerkleError, node_hash, subtree_end};

/// Tile height: every tile spans 8 levels of the tree (fixed by tlog-tiles, not in the path).
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Largest entry an entry bundle can carry (its length prefix is a uint16).
pub const MAX_ENTRY_SIZE: usize = 65_535;
/// Highest tile level a path may name.
pub const MAX_TILE_LEVEL: u8 = 63;

/// How many decoded tiles a [`TileHashSource`] keeps. A proof touches at most two tiles per tile
/// level (8 levels), a consistency proof twice that; 32 tiles are 256 KiB at most.
const CACHE_TILES: usize = 32;

/// Why a tile could not be named, read, or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// A tile path that is not the one canonical spelling of a tile.
    #[error("malformed tile path {path:?}: {reason}")]
    BadPath {
        /// The path as given (bounded).
        path: String,
        /// Which rule of the tile path grammar it breaks.
        reason: &'static str,
    },

    /// A tile level outside 0..=63.
    #[error("tile level {level} is out of range 0..=63")]
    BadLevel {
        /// The level given.
        level: u8,
    },

    /// A tile width outside 1..=256.
    #[error("tile width {width} is out of range 1..=256")]
    BadWidth {
        /// The width given.
        width: u16,
    },

    /// A hash tile whose length is not exactly 32 bytes per hash.
    #[error("hash tile of width {width} has {len} bytes, expected {expected}")]
    HashTileLength {
        /// The tile's width, in hashes.
        width: u16,
        /// The tile's length, in bytes.
        len: usize,
        /// `32 * width`.
        expected: usize,
    },

    /// An entry longer than a uint16 length prefix can describe.
    #[error("entry {entry} has {len} bytes, more than the maximum of 65535")]
    EntryTooLarge {
        /// The entry's position in the bundle, from 0.
        entry: usize,
        /// Its length, in bytes.
        len: usize,
    },

    /// A bundle asked to hold more entries than a tile has.
    #[error("entry bundle would hold {count} entries, expected 1..=256")]
    BundleCount {
        /// The number of entries given.
        count: usize,
    },

    /// The bundle ends inside the two-byte length prefix of an entry.
    #[error("entry bundle ends inside the length prefix of entry {entry}")]
    BundleTruncatedLength {
        /// The entry's position in the bundle, from 0.
        entry: usize,
    },

    /// The bundle ends inside an entry.
    #[error("entry bundle ends inside entry {entry}: it declares {len} bytes, {available} remain")]
    BundleTruncatedEntry {
        /// The entry's position in the bundle, from 0.
        entry: usize,
        /// The length its prefix declares, in bytes.
        len: usize,
        /// The bytes left in the bundle.
        available: usize,
    },

    /// The bundle has fewer entries than its width says.
    #[error("entry bundle has {got} entries, expected {expected}")]
    BundleTooFew {
        /// Entries in the bundle.
        got: usize,
        /// The tile's width.
        expected: usize,
    },

    /// The bundle has bytes after its last expected entry.
    #[error("entry bundle has {extra} trailing bytes after its {expected} entries")]
    BundleTrailing {
        /// Bytes after the last entry.
        extra: usize,
        /// The tile's width.
        expected: usize,
    },

    /// The tile does not exist (HTTP 404, missing file, missing map entry).
    #[error("tile {path} not found")]
    NotFound {
        /// The tile's path (`tile/...`).
        path: String,
    },

    /// Any other failure to read a tile (I/O, HTTP), for readers written elsewhere.
    #[error("reading tile {path}: {reason}")]
    Read {
        /// The tile's path (`tile/...`).
        path: String,
        /// What failed.
        reason: String,
    },
}

/// Which kind of tile: hash tiles of a level, or entry bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileLevel {
    /// Hash tile at this tile level, 0..=63 (level 0 holds leaf hashes).
    Hash(u8),
    /// Entry bundle (`tile/entries/...`), the data behind the level-0 hashes.
    Entries,
}

/// One tile: kind, index within its level, and width (1..=256; 256 = full tile).
///
/// The fields are public; a tile built by hand with a level above 63 or a width outside 1..=256 has
/// a [`Tile::path`] that [`Tile::parse_path`] rejects. [`Tile::new`] checks the ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// A hash tile level, or the entry bundles.
    pub level: TileLevel,
    /// The tile's index within its level (tile `N` covers positions `256·N` to `256·N + 255`).
    pub index: u64,
    /// How many hashes or entries the tile holds: 1..=256, 256 for a full tile.
    pub width: u16,
}

/// The full-tile width as a `u16`.
const FULL: u16 = TILE_WIDTH as u16;

impl Tile {
    /// A tile with its level and width checked.
    pub fn new(level: TileLevel, index: u64, width: u16) -> Result<Tile, TileError> {
        if let TileLevel::Hash(l) = level
            && l > MAX_TILE_LEVEL
        {
            return Err(TileError::BadLevel { level: l });
        }
        if width == 0 || width > FULL {
            return Err(TileError::BadWidth { width });
        }
        Ok(Tile {
            level,
            index,
            width,
        })
    }

    /// Whether this is a full tile (256 hashes or entries).
    pub fn is_full(&self) -> bool {
        self.width == FULL
    }

    /// The same tile at full width: what replaces a partial tile once the log has filled it (a
    /// log MAY delete partial tiles then, and a client reads the full one instead).
    pub fn full(&self) -> Tile {
        Tile {
            width: FULL,
            ..*self
        }
    }

    /// The entry bundle holding entry `index` of a tree of `size` entries, at the width that size
    /// implies (full, or partial at the right edge); `None` if the tree has no entry `index`.
    pub fn entry_bundle(index: u64, size: u64) -> Option<Tile> {
        if index >= size {
            return None;
        }
        let bundle = index / TILE_WIDTH;
        // size > index ≥ bundle·256, so the subtraction cannot underflow.
        let width = (size - bundle * TILE_WIDTH).min(TILE_WIDTH) as u16; // 1..=256
        Some(Tile {
            level: TileLevel::Entries,
            index: bundle,
            width,
        })
    }

    /// The index of the first entry (or level-0 hash) of this tile: `N·256`, saturating for an
    /// index no tree of `u64` size reaches.
    pub fn first_entry(&self) -> u64 {
        self.index.saturating_mul(TILE_WIDTH)
    }

    /// Whether the checkpoint of `size` covers this tile, i.e. its last hash (or entry) is inside
    /// that tree: `(N·256 + W)·256^L ≤ size` (entry bundles as level 0). Only such tiles are
    /// immutable: anything beyond may be a batch in flight or the leftovers of one lost in a crash,
    /// which the next batch rewrites with other content.
    pub fn is_covered_by(&self, size: u64) -> bool {
        let level = match self.level {
            TileLevel::Hash(l) => u32::from(l),
            TileLevel::Entries => 0,
        };
        let end = u128::from(self.index) * u128::from(TILE_WIDTH) + u128::from(self.width);
        // 256^L overflows u128 for L ≥ 16; such a tile needs more leaves than a u64 can count anyway.
        match u128::from(TILE_WIDTH)
            .checked_pow(level)
            .and_then(|p| end.checked_mul(p))
        {
            Some(leaves) => leaves <= u128::from(size),
            None => false,
        }
    }

    /// The tlog-tiles path: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, with `<N>` in
    /// 3-digit groups, all but the last prefixed with `x` (1234067 → `x001/x234/067`).
    pub fn path(&self) -> String {
        let mut out = String::from("tile/");
        // Writing to a String cannot fail; the results are ignored rather than unwrapped.
        match self.level {
            TileLevel::Hash(l) => {
                let _ = write!(out, "{l}/");
            }
            TileLevel::Entries => out.push_str("entries/"),
        }
        let mut groups = [0u64; 7]; // u64::MAX has 20 digits = 7 groups
        let mut count = 0;
        let mut n = self.index;
        for g in groups.iter_mut() {
            *g = n % 1000;
            n /= 1000;
            count += 1;
            if n == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().take(count).rev().enumerate() {
            if i + 1 < count {
                let _ = write!(out, "x{g:03}/");
            } else {
                let _ = write!(out, "{g:03}");
            }
        }
        if self.width < FULL {
            let _ = write!(out, ".p/{}", self.width);
        }
        out
    }

    /// Parses a tile path strictly: exactly the spelling [`Tile::path`] produces, nothing else.
    ///
    /// One tile, one path: a lenient parser would let distinct URLs name the same tile (cache
    /// poisoning, duplicate files in a log directory) or let a hostile request name a tile that
    /// cannot exist. Rejected: leading zeros in the level or width, `.p/0`, `.p/256`, index groups
    /// of the wrong length, `x` on the last group or missing elsewhere, a leading `x000` group,
    /// indexes beyond `u64`, empty or extra segments, anything but ASCII digits.
    pub fn parse_path(p: &str) -> Result<Tile, TileError> {
        let bad = |reason: &'static str| TileError::BadPath {
            path: p.chars().take(80).collect(),
            reason,
        };
        let rest = p
            .strip_prefix("tile/")
            .ok_or(bad("does not start with tile/"))?;
        let mut segs = rest.split('/');
        let level = match segs.next() {
            Some("entries") => TileLevel::Entries,
            Some(s) => TileLevel::Hash(parse_level(s).ok_or(bad("bad level"))?),
            None => return Err(bad("missing level")),
        };
        // At most 7 index groups and one width segment; stop reading early on hostile input.
        let segs: Vec<&str> = segs.take(9).collect();
        if segs.len() > 8 {
            return Err(bad("too many segments"));
        }
        let mut index: u64 = 0;
        let mut i = 0;
        while let Some(seg) = segs.get(i) {
            let Some(digits) = seg.strip_prefix('x') else {
                break;
            };
            let g = parse_group(digits).ok_or(bad("index group is not x and 3 digits"))?;
            if i == 0 && g == 0 {
                return Err(bad("leading zero index group"));
            }
            index = push_group(index, g).ok_or(bad("index overflows u64"))?;
            i += 1;
        }
        let last = segs.get(i).ok_or(bad("missing last index group"))?;
        i += 1;
        let (digits, partial) = match last.strip_suffix(".p") {
            Some(d) => (d, true),
            None => (*last, false),
        };
        let g = parse_group(digits).ok_or(bad("last index group is not 3 digits"))?;
        index = push_group(index, g).ok_or(bad("index overflows u64"))?;
        let width = if partial {
            let w = segs.get(i).ok_or(bad("missing partial width"))?;
            i += 1;
            parse_width(w).ok_or(bad("partial width is not 1..=255 without leading zeros"))?
        } else {
            FULL
        };
        if i != segs.len() {
            return Err(bad("extra segments"));
        }
        Ok(Tile {
            level,
            index,
            width,
        })
    }
}

/// `true` if `s` is non-empty ASCII decimal digits without a leading zero (except `"0"` itself).
fn canonical_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.iter().all(u8::is_ascii_digit) && (b.len() == 1 || b.first() != Some(&b'0'))
}

/// A tile level: `0`..=`63`, no leading zeros.
fn parse_level(s: &str) -> Option<u8> {
    if s.len() > 2 || !canonical_decimal(s) {
        return None;
    }
    s.parse::<u8>().ok().filter(|l| *l <= MAX_TILE_LEVEL)
}

/// A partial width: `1`..=`255`, no leading zeros.
fn parse_width(s: &str) -> Option<u16> {
    if s.len() > 3 || !canonical_decimal(s) {
        return None;
    }
    s.parse::<u16>().ok().filter(|w| (1..FULL).contains(w))
}

/// Exactly three ASCII digits.
fn parse_group(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 3 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.parse::<u64>().ok()
}

fn push_group(index: u64, group: u64) -> Option<u64> {
    index.checked_mul(1000)?.checked_add(group)
}

/// Width of the partial tile at tile level `level` for a tree of `size` leaves:
/// `floor(size / 256^level) mod 256`; 0 means that level has no partial tile.
pub fn partial_width(level: u8, size: u64) -> u64 {
    hashes_at(level, size) % TILE_WIDTH
}

/// The width tile `index` of `level` has in a tree of `size` leaves: 256 when that tree fills it,
/// 1..=255 when it is the partial tile at the right edge, 0 when the tree does not reach it.
pub fn width_at(level: TileLevel, index: u64, size: u64) -> u16 {
    let count = match level {
        TileLevel::Hash(l) => hashes_at(l, size),
        TileLevel::Entries => size,
    };
    let start = index.saturating_mul(TILE_WIDTH);
    // At most 256 after `min`, so the cast cannot truncate.
    count.saturating_sub(start).min(TILE_WIDTH) as u16
}

/// The indexes of the tiles of `level` whose width differs between trees of `old` and `new`
/// leaves: from the tile holding the first hash (or entry) `new` adds to the one holding its
/// last. Empty when `new` adds nothing at that level.
pub fn grown_tiles(level: TileLevel, old: u64, new: u64) -> std::ops::Range<u64> {
    let count = |size| match level {
        TileLevel::Hash(l) => hashes_at(l, size),
        TileLevel::Entries => size,
    };
    let (o, n) = (count(old), count(new));
    if n <= o {
        return 0..0;
    }
    o / TILE_WIDTH..(n - 1) / TILE_WIDTH + 1
}

/// Which partial versions of one tile a log deletes once a checkpoint of a size that gives the
/// tile width `published` (see [`width_at`]) is out. `present`: the partial widths on disk with
/// their sizes in bytes.
///
/// C2SP tlog-tiles lets a log delete any partial tile once the full tile is available, and clients
/// fall back to it (see [`TileHashSource`], [`read_entry_bundle`]): all partials go when
/// `published` is 256. Before that, every checkpoint the log signs implies another partial width,
/// and keeping them all costs the square of the tile's size on disk (N batches of one large record
/// each: N²/2 records). So a partial narrower than the published one (the checkpoint a client
/// fetches is the newest; its partial tiles are always kept) stays only while the narrower ones
/// kept, widest first, hold no more bytes than the published one: at least the previous
/// checkpoint's partial (a client that read that checkpoint just before the log moved on still
/// finds its tiles), and never more than twice the tile's bytes in all. Widths beyond `published`
/// belong to a tree not yet published (the witnesses' quorum is missing) and are kept.
pub fn removable_partials(present: &[(u16, u64)], published: u16) -> Vec<u16> {
    if published == 0 {
        return Vec::new();
    }
    if published >= FULL {
        return present
            .iter()
            .map(|(w, _)| *w)
            .filter(|w| *w < FULL)
            .collect();
    }
    let budget = present
        .iter()
        .find(|(w, _)| *w == published)
        .map_or(0, |(_, bytes)| *bytes);
    let mut narrower: Vec<(u16, u64)> = present
        .iter()
        .copied()
        .filter(|(w, _)| *w < published)
        .collect();
    narrower.sort_by_key(|(w, _)| std::cmp::Reverse(*w));
    let mut kept = 0u64;
    let mut out = Vec::new();
    for (w, bytes) in narrower {
        kept = kept.saturating_add(bytes);
        if kept > budget {
            out.push(w);
        }
    }
    out.sort_unstable();
    out
}

/// Number of complete level-`8·level` subtrees in a tree of `size` leaves (`size / 256^level`).
fn hashes_at(level: u8, size: u64) -> u64 {
    size.checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

/// The right-edge tiles a checkpoint of `size` implies: for every hash level that has hashes, the
/// last tile (partial if the level has a partial tile, otherwise the last full one), then the entry
/// bundle matching the level-0 tile. Empty for size 0.
///
/// Spec example: 70,000 → L0 tile 273 width 112, L1 tile 1 width 17, L2 tile 0 width 1.
pub fn tiles_for_size(size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    let mut level: u8 = 0;
    loop {
        let count = hashes_at(level, size);
        let Some(tile) = last_tile(TileLevel::Hash(level), count) else {
            break;
        };
        out.push(tile);
        level += 1; // count > 0 implies level ≤ 7, so this never overflows
    }
    if let Some(t) = last_tile(TileLevel::Entries, size) {
        out.push(t);
    }
    out
}

/// The entry bundles that hold entries `from..to` of a tree of `to` entries, in order, each at the
/// width `to` implies: full bundles, then a partial one if `to` is not a multiple of 256. Empty if
/// `from >= to`. The first bundle may also hold entries before `from` (see [`Tile::first_entry`]).
pub fn entry_bundles(from: u64, to: u64) -> impl Iterator<Item = Tile> {
    let first = from / TILE_WIDTH;
    // One past the last bundle (the one holding entry `to - 1`); none for an empty range.
    let end = if from < to {
        (to - 1) / TILE_WIDTH + 1
    } else {
        first
    };
    // b < end, so b·256 ≤ to − 1: no overflow, and always an entry of the tree.
    (first..end).filter_map(move |b| Tile::entry_bundle(b * TILE_WIDTH, to))
}

/// The bytes of hash tile `index` at tile level `level` with `width` hashes: hash `i` is the
/// complete subtree `(8·level, index·256 + i)` of `src`.
pub fn hash_tile<E>(
    level: u8,
    index: u64,
    width: u16,
    src: &mut impl HashSource<E>,
) -> Result<Vec<u8>, MerkleError<E>> {
    let start = index.saturating_mul(TILE_WIDTH);
    let hashes = (0..u64::from(width))
        .map(|i| src.subtree(level * TILE_HEIGHT, start + i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(encode_hash_tile(&hashes))
}

/// The rightmost tile of a level holding `count` hashes (or entries), if any.
fn last_tile(level: TileLevel, count: u64) -> Option<Tile> {
    let rem = count % TILE_WIDTH;
    if rem != 0 {
        Some(Tile {
            level,
            index: count / TILE_WIDTH,
            width: rem as u16, // < 256
        })
    } else if count > 0 {
        Some(Tile {
            level,
            index: count / TILE_WIDTH - 1,
            width: FULL,
        })
    } else {
        None
    }
}

/// Decodes a hash tile of `width` hashes: exactly `width · 32` bytes.
pub fn decode_hash_tile(bytes: &[u8], width: u16) -> Result<Vec<Hash>, TileError> {
    if width == 0 || width > FULL {
        return Err(TileError::BadWidth { width });
    }
    let expected = usize::from(width) * Hash::LEN;
    let length_error = TileError::HashTileLength {
        width,
        len: bytes.len(),
        expected,
    };
    if bytes.len() != expected {
        return Err(length_error);
    }
    bytes
        .chunks_exact(Hash::LEN)
        .map(|c| {
            <[u8; 32]>::try_from(c)
                .map(Hash)
                .map_err(|_| length_error.clone())
        })
        .collect()
}

/// Encodes hashes as a hash tile (their concatenation).
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * Hash::LEN);
    for h in hashes {
        out.extend_from_slice(&h.0);
    }
    out
}

/// Encodes an entry bundle: `uint16-BE length ‖ entry` for each of 1..=256 entries.
pub fn encode_bundle(entries: &[&[u8]]) -> Result<Vec<u8>, TileError> {
    if entries.is_empty() || entries.len() > FULL.into() {
        return Err(TileError::BundleCount {
            count: entries.len(),
        });
    }
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge {
            entry: i,
            len: e.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes an entry bundle that must hold exactly `expected` (1..=256) entries, with no bytes left
/// over. Entry numbers in errors count from 0 within the bundle.
pub fn decode_bundle(bytes: &[u8], expected: u16) -> Result<Vec<&[u8]>, TileError> {
    if expected == 0 || expected > FULL {
        return Err(TileError::BadWidth { width: expected });
    }
    let expected = usize::from(expected);
    let mut out = Vec::with_capacity(expected);
    let mut rest = bytes;
    for entry in 0..expected {
        if rest.is_empty() {
            return Err(TileError::BundleTooFew {
                got: entry,
                expected,
            });
        }
        let Some((prefix, tail)) = rest.split_first_chunk::<2>() else {
            return Err(TileError::BundleTruncatedLength { entry });
        };
        let len = usize::from(u16::from_be_bytes(*prefix));
        let Some((e, tail)) = tail.split_at_checked(len) else {
            return Err(TileError::BundleTruncatedEntry {
                entry,
                len,
                available: tail.len(),
            });
        };
        out.push(e);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(TileError::BundleTrailing {
            extra: rest.len(),
            expected,
        });
    }
    Ok(out)
}

impl TileError {
    /// Whether the tiles themselves are missing or are not tiles (HTTP 404, a hash tile of the
    /// wrong length), as opposed to unreachable. For the tiles of a tree size the log signed, that
    /// is the log failing its own commitment (a rollback, or a fork it cannot back with data), not
    /// the network.
    pub fn is_unserved(&self) -> bool {
        matches!(
            self,
            TileError::NotFound { .. } | TileError::HashTileLength { .. }
        )
    }
}

impl MerkleError<TileError> {
    /// Whether a proof over tiles failed because the tiles are not served
    /// ([`TileError::is_unserved`]).
    pub fn is_unserved(&self) -> bool {
        matches!(self, MerkleError::Source(e) if e.is_unserved())
    }
}

/// The entries of entry bundle `tile`: that bundle, or, when it is partial and gone (a log may
/// delete a partial bundle once the full one exists: C2SP tlog-tiles), the first `tile.width`
/// entries of the full bundle. The length of every entry is checked by decoding; that the entries
/// are the log's is for the caller to check against a signed root.
pub fn read_entry_bundle(
    reader: &mut impl TileReader,
    tile: &Tile,
) -> Result<Vec<Vec<u8>>, TileError> {
    let (bytes, width) = match reader.read_tile(tile) {
        Ok(b) => (b, tile.width),
        Err(TileError::NotFound { .. }) if !tile.is_full() => {
            (reader.read_tile(&tile.full())?, FULL)
        }
        Err(e) => return Err(e),
    };
    let entries = decode_bundle(&bytes, width)?;
    Ok(entries
        .into_iter()
        .take(usize::from(tile.width))
        .map(<[u8]>::to_vec)
        .collect())
}

/// Reads tiles by name: a directory, an HTTP client, or [`MemoryTiles`].
pub trait TileReader {
    /// The bytes of `tile`, or [`TileError::NotFound`] if it does not exist, [`TileError::Read`]
    /// if it cannot be read.
    fn read_tile(&mut self, tile: &Tile) -> Result<Vec<u8>, TileError>;
}

/// Tiles in memory, keyed by path.
#[derive(Debug, Clone, Default)]
pub struct MemoryTiles {
    tiles: HashMap<String, Vec<u8>>,
}

impl MemoryTiles {
    /// No tiles.
    pub fn new() -> Self {
        MemoryTiles::default()
    }
    /// Stores (or replaces) a tile's bytes.
    pub fn insert(&mut self, tile: &Tile, bytes: Vec<u8>) {
        self.tiles.insert(tile.path(), bytes);
    }
    /// A tile's bytes, if stored.
    pub fn get(&self, tile: &Tile) -> Option<&[u8]> {
        self.tiles.get(&tile.path()).map(Vec::as_slice)
    }
    /// Removes a tile, returning its bytes.
    pub fn remove(&mut self, tile: &Tile) -> Option<Vec<u8>> {
        self.tiles.remove(&tile.path())
    }
    /// Number of stored tiles.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }
    /// Whether no tile is stored.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
    /// All (path, bytes) pairs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.tiles.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }
}

impl TileReader for MemoryTiles {
    fn read_tile(&mut self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        self.get(tile)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| TileError::NotFound { path: tile.path() })
    }
}

/// A [`HashSource`] over the hash tiles of a tree of `tree_size` leaves.
///
/// Why untrusted tiles are safe here: tiles come from a log or a mirror we do not trust, and this
/// source does not authenticate them. It does not need to. Every proof computed from it is checked
/// by `verify_inclusion` / `verify_consistency` against a root from a *signed, cosigned* checkpoint,
/// and a proof only verifies if hashing it reproduces that root; forging tile contents that do so
/// would mean finding a SHA-256 second preimage. So a wrong tile can make a proof fail (denial of
/// service, which the caller reports) but can never make a wrong proof pass. Checking each tile's
/// length here just turns garbage into a precise error early.
///
/// Only tiles implied by `tree_size` are fetched: full tiles, and the partial tile of exactly the
/// width `tree_size` gives (tlog-tiles: clients MUST NOT fetch partial tiles not implied by a
/// checkpoint). If that partial tile is gone (logs MAY delete partial tiles once the full tile
/// exists), the full tile is fetched instead and its first hashes used, as tlog-tiles allows.
pub struct TileHashSource<R: TileReader> {
    reader: R,
    tree_size: u64,
    /// Recently decoded tiles, oldest first.
    cache: VecDeque<(Tile, Vec<Hash>)>,
}

impl<R: TileReader> TileHashSource<R> {
    /// A source for the tree of `tree_size` leaves (the size of a verified checkpoint).
    pub fn new(reader: R, tree_size: u64) -> Self {
        TileHashSource {
            reader,
            tree_size,
            cache: VecDeque::new(),
        }
    }

    /// The tree size tiles are chosen for.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// The reader back.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// The tile at tile level `level` with index `index`, at the width `tree_size` implies.
    fn implied_tile(&self, level: u8, index: u64) -> Option<Tile> {
        let count = hashes_at(level, self.tree_size);
        let full_tiles = count / TILE_WIDTH;
        let width = if index < full_tiles {
            FULL
        } else if index == full_tiles && !count.is_multiple_of(TILE_WIDTH) {
            (count % TILE_WIDTH) as u16 // < 256
        } else {
            return None;
        };
        Some(Tile {
            level: TileLevel::Hash(level),
            index,
            width,
        })
    }

    /// The decoded hashes of `tile`, from the cache or the reader.
    fn fetch(&mut self, tile: Tile) -> Result<Vec<Hash>, TileError> {
        if let Some((_, hashes)) = self.cache.iter().find(|(t, _)| *t == tile) {
            return Ok(hashes.clone());
        }
        let hashes = match self.reader.read_tile(&tile) {
            Ok(bytes) => decode_hash_tile(&bytes, tile.width)?,
            Err(TileError::NotFound { .. }) if !tile.is_full() => {
                let full = Tile {
                    width: FULL,
                    ..tile
                };
                let mut hashes = decode_hash_tile(&self.reader.read_tile(&full)?, FULL)?;
                hashes.truncate(usize::from(tile.width));
                hashes
            }
            Err(e) => return Err(e),
        };
        if self.cache.len() >= CACHE_TILES {
            self.cache.pop_front();
        }
        self.cache.push_back((tile, hashes.clone()));
        Ok(hashes)
    }
}

impl<R: TileReader> HashSource<TileError> for TileHashSource<R> {
    fn subtree(&mut self, level: u8, index: u64) -> Result<Hash, MerkleError<TileError>> {
        let incomplete = MerkleError::IncompleteSubtree {
            level,
            index,
            size: self.tree_size,
        };
        match subtree_end(level, index) {
            Some(end) if end <= self.tree_size => {}
            _ => return Err(incomplete),
        }
        // The subtree is 2^r hashes of tile level L (merkle level 8·L), all within one tile because
        // 2^r ≤ 128 divides 256 and the run is aligned.
        let tile_level = level / TILE_HEIGHT;
        let r = level % TILE_HEIGHT;
        let first = index << r; // ≤ end / 256^L, cannot overflow since end fits in u64
        let tile_index = first / TILE_WIDTH;
        let start = (first % TILE_WIDTH) as usize;
        let count = 1usize << r;
        let tile = self
            .implied_tile(tile_level, tile_index)
            .ok_or(incomplete.clone())?;
        let hashes = self.fetch(tile).map_err(MerkleError::Source)?;
        let mut row: Vec<Hash> = hashes
            .get(start..start + count)
            .ok_or(incomplete.clone())?
            .to_vec();
        // Hash the 2^r tile hashes up into the one subtree root (a perfect binary tree).
        while row.len() > 1 {
            row = row
                .chunks_exact(2)
                .filter_map(|pair| match pair {
                    [l, r] => Some(node_hash(l, r)),
                    _ => None,
                })
                .collect();
        }
        row.pop().ok_or(incomplete)
    }
}

/// Every hash tile (all levels) whose contents change when the tree grows from `old_size` to
/// `new_size`, at its width for `new_size` (full or partial), with its bytes. A log publishes these
/// after sequencing; tiles it published before stay valid (immutable paths). Asks `src` only for
/// complete subtrees of the new tree.
pub fn tiles_to_publish<E>(
    old_size: u64,
    new_size: u64,
    src: &mut impl HashSource<E>,
) -> Result<Vec<(Tile, Vec<u8>)>, MerkleError<E>> {
    if old_size > new_size {
        return Err(MerkleError::OldLargerThanNew {
            old: old_size,
            new: new_size,
        });
    }
    let mut out = Vec::new();
    let mut level: u8 = 0;
    loop {
        let new_count = hashes_at(level, new_size);
        let old_count = hashes_at(level, old_size);
        if new_count == 0 {
            break;
        }
        if new_count != old_count {
            // Tiles from the one holding the first new hash to the one holding the last.
            for n in old_count / TILE_WIDTH..=(new_count - 1) / TILE_WIDTH {
                let width = (new_count - n * TILE_WIDTH).min(TILE_WIDTH) as u16; // 1..=256
                let tile = Tile {
                    level: TileLevel::Hash(level),
                    index: n,
                    width,
                };
                out.push((tile, hash_tile(level, n, width, src)?));
            }
        }
        level += 1; // new_count > 0 implies level ≤ 7
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MemoryTree, leaf_hash, tree_hash};

    fn t(level: TileLevel, index: u64, width: u16) -> Tile {
        Tile {
            level,
            index,
            width,
        }
    }

    #[test]
    fn paths_from_the_spec() {
        use TileLevel::*;
        assert_eq!(t(Hash(0), 1234067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(t(Hash(0), 0, 256).path(), "tile/0/000");
        assert_eq!(t(Hash(1), 1000, 256).path(), "tile/1/x001/000");
        assert_eq!(t(Hash(63), 5, 17).path(), "tile/63/005.p/17");
        assert_eq!(t(Entries, 273, 112).path(), "tile/entries/273.p/112");
        assert_eq!(
            t(Hash(2), u64::MAX, 256).path(),
            "tile/2/x018/x446/x744/x073/x709/x551/615"
        );
        assert_eq!(
            Tile::parse_path("tile/2/x018/x446/x744/x073/x709/x551/615"),
            Ok(t(Hash(2), u64::MAX, 256))
        );
        assert_eq!(
            Tile::parse_path("tile/entries/x001/x234/067.p/255"),
            Ok(t(Entries, 1234067, 255))
        );
    }

    #[test]
    fn parser_rejects_other_spellings() {
        for p in [
            "",
            "tile",
            "tile/",
            "/tile/0/000",
            "tiles/0/000",
            "tile/0",
            "tile/0/",
            "tile/00/000",
            "tile/01/000",
            "tile/64/000",
            "tile/+1/000",
            "tile/Entries/000",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/x000/001",
            "tile/0/x000/000",
            "tile/0/001/x002",
            "tile/0/x001",
            "tile/0/x01/000",
            "tile/0/001/002",
            "tile/0/000/",
            "tile/0/000.p",
            "tile/0/000.p/",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/01",
            "tile/0/000.p/1/",
            "tile/0/000.p/1/000",
            "tile/0/000.q/1",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/x001/x018/x446/x744/x073/x709/x551/615",
            "tile/0/x١٢٣/000",
            "tile/0//000",
            "tile/0/ 00",
        ] {
            assert!(
                matches!(Tile::parse_path(p), Err(TileError::BadPath { .. })),
                "accepted {p:?}"
            );
        }
    }

    #[test]
    fn partial_widths_and_right_edge() {
        assert_eq!(partial_width(0, 70_000), 112);
        assert_eq!(partial_width(1, 70_000), 17);
        assert_eq!(partial_width(2, 70_000), 1);
        assert_eq!(partial_width(3, 70_000), 0);
        assert_eq!(partial_width(8, u64::MAX), 0);
        assert_eq!(partial_width(255, u64::MAX), 0);
        use TileLevel::*;
        assert_eq!(
            tiles_for_size(70_000),
            vec![
                t(Hash(0), 273, 112),
                t(Hash(1), 1, 17),
                t(Hash(2), 0, 1),
                t(Entries, 273, 112)
            ]
        );
        assert_eq!(
            tiles_for_size(256),
            vec![t(Hash(0), 0, 256), t(Hash(1), 0, 1), t(Entries, 0, 256)]
        );
        assert_eq!(tiles_for_size(0), vec![]);
        assert_eq!(tiles_for_size(1), vec![t(Hash(0), 0, 1), t(Entries, 0, 1)]);
        assert_eq!(tiles_for_size(u64::MAX).len(), 9);
    }

    #[test]
    fn hash_tile_lengths_are_exact() {
        let hs: Vec<Hash> = (0..3u8).map(|i| leaf_hash(&[i])).collect();
        let b = encode_hash_tile(&hs);
        assert_eq!(decode_hash_tile(&b, 3), Ok(hs));
        assert_eq!(
            decode_hash_tile(&b[..95], 3),
            Err(TileError::HashTileLength {
                width: 3,
                len: 95,
                expected: 96
            })
        );
        assert!(decode_hash_tile(&b, 2).is_err());
        assert!(decode_hash_tile(&[], 0).is_err());
        assert!(decode_hash_tile(&vec![0; 257 * 32], 257).is_err());
    }

    #[test]
    fn bundle_limits() {
        let big = vec![7u8; MAX_ENTRY_SIZE];
        let b = encode_bundle(&[&big, b""]).unwrap();
        assert_eq!(decode_bundle(&b, 2), Ok(vec![&big[..], &b""[..]]));
        let too_big = vec![7u8; MAX_ENTRY_SIZE + 1];
        assert_eq!(
            encode_bundle(&[b"a", &too_big]),
            Err(TileError::EntryTooLarge {
                entry: 1,
                len: 65_536
            })
        );
        let many: Vec<&[u8]> = vec![b"x"; 257];
        assert!(encode_bundle(&many).is_err());
        assert!(encode_bundle(&many[..256]).is_ok());
        assert!(encode_bundle(&[]).is_err());
        assert_eq!(
            decode_bundle(&[0, 5, 1, 2], 1),
            Err(TileError::BundleTruncatedEntry {
                entry: 0,
                len: 5,
                available: 2
            })
        );
        assert_eq!(
            decode_bundle(&[0, 0, 0], 2),
            Err(TileError::BundleTruncatedLength { entry: 1 })
        );
        assert_eq!(
            decode_bundle(&[0, 0], 2),
            Err(TileError::BundleTooFew {
                got: 1,
                expected: 2
            })
        );
        assert_eq!(
            decode_bundle(&[0, 0, 9], 1),
            Err(TileError::BundleTrailing {
                extra: 1,
                expected: 1
            })
        );
        assert!(decode_bundle(&[], 0).is_err());
    }

    #[test]
    fn tile_source_matches_memory_tree_and_does_not_refetch() {
        struct Counting(MemoryTiles, usize);
        impl TileReader for Counting {
            fn read_tile(&mut self, tile: &Tile) -> Result<Vec<u8>, TileError> {
                self.1 += 1;
                self.0.read_tile(tile)
            }
        }
        let n = 70_000u64;
        let mut tree = MemoryTree::from_leaf_hashes((0..n).map(|i| leaf_hash(&i.to_le_bytes())));
        let mut tiles = MemoryTiles::new();
        for (tile, bytes) in tiles_to_publish(0, n, &mut tree).unwrap() {
            tiles.insert(&tile, bytes);
        }
        let mut src = TileHashSource::new(Counting(tiles, 0), n);
        assert_eq!(tree_hash(n, &mut src), Ok(tree.root()));
        let fetched = src.reader.1;
        assert_eq!(tree_hash(n, &mut src), Ok(tree.root()));
        assert_eq!(src.reader.1, fetched, "second root computation refetched");
        for (level, index) in [(0u8, 69_999u64), (8, 272), (9, 135), (15, 0), (16, 1)] {
            let got = src.subtree(level, index);
            let want = tree.subtree(level, index);
            if subtree_end(level, index).is_some_and(|e| e <= n) {
                assert_eq!(got.ok(), want.ok(), "level {level} index {index}");
            } else {
                assert!(got.is_err());
            }
        }
        assert!(src.subtree(0, n).is_err());
        assert!(src.subtree(17, 0).is_err());
    }

    #[test]
    fn deleted_partial_tile_falls_back_to_full_tile() {
        use crate::merkle::inclusion_proof;
        let n = 70_000u64;
        let mut tree = MemoryTree::from_leaf_hashes((0..n).map(|i| leaf_hash(&i.to_le_bytes())));
        let mut tiles = MemoryTiles::new();
        for (tile, bytes) in tiles_to_publish(0, n, &mut tree).unwrap() {
            tiles.insert(&tile, bytes);
        }
        // A checkpoint of 530 implies tile/0/002.p/18 and tile/1/000.p/2, which were never stored
        // (as if deleted once the full tiles existed): the full tiles serve instead.
        assert!(tiles.get(&t(TileLevel::Hash(0), 2, 18)).is_none());
        let mut src = TileHashSource::new(tiles, 530);
        assert_eq!(
            tree_hash(530, &mut src).unwrap(),
            tree_hash(530, &mut tree).unwrap()
        );
        assert_eq!(
            inclusion_proof(529, 530, &mut src).unwrap(),
            inclusion_proof(529, 530, &mut tree).unwrap()
        );
        // Without the full tile either, the "not found" error comes through.
        let mut tiles = src.into_inner();
        assert!(tiles.remove(&t(TileLevel::Hash(0), 2, 256)).is_some());
        let mut src = TileHashSource::new(tiles, 530);
        assert_eq!(
            tree_hash(530, &mut src),
            Err(MerkleError::Source(TileError::NotFound {
                path: "tile/0/002".into()
            }))
        );
    }

    #[test]
    fn coverage_of_tiles() {
        use TileLevel::{Entries, Hash};
        let covered = |tile: Tile, size| tile.is_covered_by(size);
        assert!(covered(t(Hash(0), 0, 5), 5));
        assert!(!covered(t(Hash(0), 0, 6), 5));
        assert!(covered(t(Entries, 0, 256), 256));
        assert!(!covered(t(Entries, 1, 1), 256));
        assert!(covered(t(Entries, 1, 1), 257));
        // A level-1 hash covers 256 leaves, a level-2 hash 65,536.
        assert!(covered(t(Hash(1), 0, 1), 256));
        assert!(!covered(t(Hash(1), 0, 1), 255));
        assert!(covered(t(Hash(1), 1, 2), 258 * 256));
        assert!(!covered(t(Hash(1), 1, 2), 258 * 256 - 1));
        assert!(covered(t(Hash(2), 0, 1), 65_536));
        assert!(!covered(t(Hash(2), 0, 1), 65_535));
        assert!(!covered(t(Hash(0), 0, 1), 0));
        assert!(!covered(t(Hash(63), u64::MAX, 256), u64::MAX));
        assert!(covered(t(Hash(7), 0, 1), u64::MAX));
        assert!(!covered(t(Hash(8), 0, 1), u64::MAX));
        assert!(!covered(t(Hash(0), u64::MAX, 256), u64::MAX));
    }

    #[test]
    fn entry_bundles_and_their_widths() {
        let b = |index, width| t(TileLevel::Entries, index, width);
        assert_eq!(Tile::entry_bundle(0, 1), Some(b(0, 1)));
        assert_eq!(Tile::entry_bundle(255, 256), Some(b(0, 256)));
        assert_eq!(Tile::entry_bundle(256, 300), Some(b(1, 44)));
        assert_eq!(Tile::entry_bundle(7, 70_000), Some(b(0, 256)));
        assert_eq!(Tile::entry_bundle(300, 300), None);
        assert_eq!(Tile::entry_bundle(0, 0), None);
        assert_eq!(
            Tile::entry_bundle(u64::MAX - 1, u64::MAX),
            Some(b(u64::MAX / 256, 255))
        );
        let all = |from, to| entry_bundles(from, to).collect::<Vec<_>>();
        assert_eq!(all(0, 0), vec![]);
        assert_eq!(all(5, 5), vec![]);
        assert_eq!(all(9, 3), vec![]);
        assert_eq!(all(0, 1), vec![b(0, 1)]);
        assert_eq!(all(0, 256), vec![b(0, 256)]);
        assert_eq!(all(0, 257), vec![b(0, 256), b(1, 1)]);
        // From the middle of a bundle: that bundle first, at the new width.
        assert_eq!(all(300, 700), vec![b(1, 256), b(2, 188)]);
        assert_eq!(all(512, 513), vec![b(2, 1)]);
        assert_eq!(b(2, 1).first_entry(), 512);
        assert_eq!(b(u64::MAX, 256).first_entry(), u64::MAX);
        assert_eq!(b(3, 7).full(), b(3, 256));
        // Every entry of from..to is in exactly one bundle, and the bundles end at `to`.
        for (from, to) in [(0u64, 1000u64), (255, 513), (256, 256 * 3), (1, 2)] {
            let bundles = all(from, to);
            let first = bundles.first().unwrap().first_entry();
            assert!(first <= from && from - first < 256);
            let covered: u64 = bundles.iter().map(|t| u64::from(t.width)).sum();
            assert_eq!(first + covered, to, "{from}..{to}");
            assert!(bundles.iter().all(|t| t.is_covered_by(to)));
        }
    }

    #[test]
    fn widths_at_a_size_and_tiles_a_growth_changes() {
        use TileLevel::{Entries, Hash};
        assert_eq!(width_at(Entries, 0, 0), 0);
        assert_eq!(width_at(Entries, 0, 5), 5);
        assert_eq!(width_at(Entries, 0, 700), 256);
        assert_eq!(width_at(Entries, 2, 700), 188);
        assert_eq!(width_at(Entries, 3, 700), 0);
        assert_eq!(width_at(Hash(0), 2, 700), 188);
        assert_eq!(width_at(Hash(1), 0, 700), 2);
        assert_eq!(width_at(Hash(1), 0, 70_000), 256);
        assert_eq!(width_at(Hash(1), 1, 70_000), 17);
        assert_eq!(width_at(Hash(2), 0, 70_000), 1);
        assert_eq!(width_at(Hash(3), 0, 70_000), 0);
        assert_eq!(width_at(Hash(0), u64::MAX, u64::MAX), 0);
        assert_eq!(grown_tiles(Entries, 700, 700), 0..0);
        assert_eq!(grown_tiles(Entries, 700, 701), 2..3);
        assert_eq!(grown_tiles(Entries, 700, 800), 2..4);
        assert_eq!(grown_tiles(Hash(1), 700, 760), 0..0);
        assert_eq!(grown_tiles(Hash(1), 700, 800), 0..1);
        assert_eq!(grown_tiles(Hash(0), 0, 256), 0..1);
        assert_eq!(grown_tiles(Hash(0), 900, 700), 0..0);
        // Every tile whose width differs between the two sizes is in the range, and only those.
        for (old, new) in [(0u64, 1u64), (255, 257), (700, 70_000), (65_535, 65_537)] {
            for level in [Entries, Hash(0), Hash(1), Hash(2)] {
                let r = grown_tiles(level, old, new);
                for n in 0..400 {
                    let differs = width_at(level, n, old) != width_at(level, n, new);
                    assert_eq!(differs, r.contains(&n), "{level:?} {n} {old}..{new}");
                }
            }
        }
    }

    #[test]
    fn partials_go_when_full_and_stay_within_the_published_ones_bytes() {
        let sized = |ws: &[u16]| {
            ws.iter()
                .map(|w| (*w, u64::from(*w) * 100))
                .collect::<Vec<_>>()
        };
        // Full: every partial goes.
        assert_eq!(
            removable_partials(&sized(&[3, 9, 200]), 256),
            vec![3, 9, 200]
        );
        // Not published at all: nothing goes.
        assert_eq!(removable_partials(&sized(&[3, 9]), 0), Vec::<u16>::new());
        // Equal-sized steps: the previous one stays (9 ≤ 10), the older ones go.
        let p = sized(&[7, 8, 9, 10]);
        assert_eq!(removable_partials(&p, 10), vec![7, 8]);
        // Small steps after a big one: several fit in the published one's bytes.
        let p = sized(&[1, 2, 3, 100]);
        assert_eq!(removable_partials(&p, 100), Vec::<u16>::new());
        // Wider than published (durable, not yet cosigned): kept.
        assert_eq!(
            removable_partials(&sized(&[5, 6, 50]), 6),
            Vec::<u16>::new()
        );
        // The kept narrower ones never hold more bytes than the published one.
        for published in 1..=255u16 {
            let all: Vec<u16> = (1..=255).collect();
            let p = sized(&all);
            let gone = removable_partials(&p, published);
            let kept: u64 = p
                .iter()
                .filter(|(w, _)| *w < published && !gone.contains(w))
                .map(|(_, b)| b)
                .sum();
            assert!(kept <= u64::from(published) * 100, "{published}");
            if published > 1 {
                assert!(!gone.contains(&(published - 1)), "{published}");
            }
            assert!(gone.iter().all(|w| *w < published));
        }
    }

    #[test]
    fn entry_bundles_fall_back_to_the_full_bundle() {
        let entries: Vec<Vec<u8>> = (0..256u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let mut tiles = MemoryTiles::new();
        tiles.insert(
            &t(TileLevel::Entries, 0, 256),
            encode_bundle(&refs).unwrap(),
        );
        tiles.insert(
            &t(TileLevel::Entries, 0, 3),
            encode_bundle(&refs[..3]).unwrap(),
        );
        let got = read_entry_bundle(&mut tiles, &t(TileLevel::Entries, 0, 3)).unwrap();
        assert_eq!(got, entries[..3]);
        let got = read_entry_bundle(&mut tiles, &t(TileLevel::Entries, 0, 40)).unwrap();
        assert_eq!(got, entries[..40]);
        assert!(matches!(
            read_entry_bundle(&mut tiles, &t(TileLevel::Entries, 1, 4)),
            Err(TileError::NotFound { .. })
        ));
        tiles.insert(&t(TileLevel::Entries, 0, 5), b"junk".to_vec());
        assert!(read_entry_bundle(&mut tiles, &t(TileLevel::Entries, 0, 5)).is_err());
    }

    #[test]
    fn hash_tiles_from_a_source() {
        let n = 600u64;
        let mut tree = MemoryTree::from_leaf_hashes((0..n).map(|i| leaf_hash(&i.to_le_bytes())));
        let bytes = hash_tile(0, 2, 88, &mut tree).unwrap();
        assert_eq!(bytes.len(), 88 * 32);
        assert_eq!(bytes[..32], tree.subtree_hash(0, 512).unwrap().0);
        let level1 = hash_tile(1, 0, 2, &mut tree).unwrap();
        assert_eq!(level1[32..], tree.subtree_hash(8, 1).unwrap().0);
        // Beyond the tree: the source's own refusal comes through.
        assert!(hash_tile(0, 2, 89, &mut tree).is_err());
    }
}
