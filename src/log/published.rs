//! What `public/` may hold, and keeping it so: every tile and entry bundle in it is one the durable
//! tree vouches for, byte for byte, and superseded partial tiles do not pile up.
//!
//! The durable tree is `tree-state` (size and root) with the entry bundles that hash to that root
//! (checked on every open, `sequencer::rebuild`). Every hash tile is a function of those entries, so
//! the durable tree vouches for the right bytes of every hash tile and of every entry bundle up to
//! its size, and for nothing beyond it.
//!
//! [`repair`] runs on every open, before anything is served, and looks at every file under
//! `public/tile/`: a tile beyond the durable size (a batch lost in a crash: its partial tiles and
//! bundles would otherwise be served once the tree grows past them, with entries that were never
//! logged) is removed; a hash tile within it whose bytes differ from the tree's (a torn or corrupted
//! file) is rewritten from the tree; an older partial bundle that disagrees is rewritten from the
//! verified entries, or removed once the full bundle exists; a tile the durable size needs and that
//! is missing is written. An entry bundle the root check rejects cannot be vouched for by anything
//! (its entries are lost): the log then refuses to start, naming the bundle.
//!
//! [`collect_garbage`] runs after every checkpoint the log publishes, and once after opening: the
//! partial tiles of a tile whose full version is published go (C2SP tlog-tiles lets a log delete a
//! partial tile once the full tile is available, and clients fall back to the full one), and of the
//! partial versions narrower than the published one only those that fit in its bytes stay
//! ([`tile::removable_partials`]), which keeps `public/` within about twice the entries' bytes
//! whatever the batches look like.

use super::dir::LogDir;
use crate::serve::logfmt::{Level, event};
use rget_core::merkle::{self, MemoryTree};
use rget_core::tile::{self, TILE_HEIGHT, TILE_WIDTH, Tile, TileLevel};
use rget_fetch::durable;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Hash levels a tree of `u64` leaves can have: each tile level spans 8 bits of the size.
const HASH_LEVELS: u8 = (u64::BITS / TILE_HEIGHT as u32) as u8;

/// What [`repair`] found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// Tile files looked at.
    pub checked: usize,
    /// Tiles beyond the durable tree (or not regular files), removed.
    pub removed: Vec<String>,
    /// Tiles whose bytes disagreed with the tree, rewritten.
    pub rewritten: Vec<String>,
    /// Tiles the durable tree needs that were missing, written.
    pub written: Vec<String>,
}

/// Every tile under `public/tile/`, with whether it is a regular file. Names that are no tile path
/// are left alone: nothing serves them as tiles (`rget log serve` only reads paths it built from a
/// parsed tile, and clients only ask for tile paths).
fn tile_files(dir: &LogDir) -> io::Result<Vec<(Tile, bool)>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.public().join("tile"), String::from("tile"))];
    while let Some((path, rel)) = stack.pop() {
        let entries = match fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for e in entries {
            let e = e?;
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            let rel = format!("{rel}/{name}");
            let kind = e.file_type()?;
            if kind.is_dir() {
                stack.push((e.path(), rel));
            } else if let Ok(t) = Tile::parse_path(&rel) {
                out.push((t, kind.is_file()));
            }
        }
    }
    Ok(out)
}

/// Makes `public/` hold only what the durable tree of `size` leaves vouches for (see the module
/// documentation). `tree` is that tree, rebuilt from the entry bundles and checked against the
/// durable root; `edge` holds the entries of its partial entry bundle (empty if it has none).
pub fn repair(
    dir: &LogDir,
    tree: &MemoryTree,
    size: u64,
    edge: &[Vec<u8>],
) -> io::Result<Repaired> {
    let other = |e: &dyn std::fmt::Display| io::Error::other(e.to_string());
    let files = tile_files(dir)?;
    let mut report = Repaired {
        checked: files.len(),
        ..Repaired::default()
    };
    let mut present = HashSet::new();
    let mut remove = Vec::new();
    let mut write: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    // The entry bundles `rebuild` read and checked against the root: every full one up to `size`
    // and the partial one `size` implies.
    let checked_bundle =
        |t: &Tile| t.is_full() || Some(*t) == Tile::entry_bundle(size.saturating_sub(1), size);
    for (t, regular) in files {
        if !regular || !t.is_covered_by(size) {
            remove.push(t);
            continue;
        }
        let path = dir.tile(&t);
        let expected = match t.level {
            TileLevel::Hash(level) => {
                Some(tile::hash_tile(level, t.index, t.width, &mut &*tree).map_err(|e| other(&e))?)
            }
            TileLevel::Entries if checked_bundle(&t) => None,
            TileLevel::Entries => {
                // An older partial width of a bundle the tree has since grown.
                if bundle_agrees(&path, &t, tree)? {
                    None
                } else if t.index < size / TILE_WIDTH {
                    // The full bundle exists: the partial may simply go (C2SP tlog-tiles).
                    remove.push(t);
                    continue;
                } else {
                    // The right edge: its entries are a prefix of the verified partial bundle.
                    let entries: Vec<&[u8]> = edge
                        .iter()
                        .take(usize::from(t.width))
                        .map(Vec::as_slice)
                        .collect();
                    Some(tile::encode_bundle(&entries).map_err(|e| other(&e))?)
                }
            }
        };
        if let Some(bytes) = expected
            && fs::read(&path).ok().as_deref() != Some(&bytes[..])
        {
            report.rewritten.push(t.path());
            write.push((path, bytes));
        }
        present.insert(t);
    }
    for t in needed(size) {
        if present.contains(&t) {
            continue;
        }
        let bytes = match t.level {
            TileLevel::Hash(level) => {
                tile::hash_tile(level, t.index, t.width, &mut &*tree).map_err(|e| other(&e))?
            }
            // Only the partial bundle can be missing here: `rebuild` read every full one (and
            // fell back to the full bundle for a missing partial, which is then removed above as
            // beyond the tree).
            TileLevel::Entries => {
                let entries: Vec<&[u8]> = edge.iter().map(Vec::as_slice).collect();
                tile::encode_bundle(&entries).map_err(|e| other(&e))?
            }
        };
        report.written.push(t.path());
        write.push((dir.tile(&t), bytes));
    }
    for t in &remove {
        remove_tile(dir, t)?;
        report.removed.push(t.path());
    }
    if !write.is_empty() {
        durable::write_many(&write, 0o644)?;
    }
    for (what, list) in [
        ("removed tiles beyond the durable tree", &report.removed),
        (
            "rewrote tiles that disagreed with the durable tree",
            &report.rewritten,
        ),
        ("wrote missing tiles of the durable tree", &report.written),
    ] {
        if !list.is_empty() {
            let first: Vec<&str> = list.iter().take(8).map(String::as_str).collect();
            event(
                Level::Warn,
                what,
                &[
                    ("count", &list.len()),
                    ("tree_size", &size),
                    ("tiles", &first.join(",")),
                ],
            );
        }
    }
    Ok(report)
}

/// The first entry bundle whose entries' leaf hashes differ from its level-0 hash tile on disk,
/// with that tile's path: where a tree rebuilt from the bundles went wrong, when its root is not
/// the durable one. `None` if every level-0 tile agrees (or is unreadable).
pub fn disagreeing_bundle(dir: &LogDir, tree: &MemoryTree, size: u64) -> Option<(String, String)> {
    tile::entry_bundles(0, size).find_map(|bundle| {
        let hashes = Tile {
            level: TileLevel::Hash(0),
            ..bundle
        };
        let bytes = fs::read(dir.tile(&hashes)).ok()?;
        let stored = tile::decode_hash_tile(&bytes, hashes.width).ok()?;
        let differs = (bundle.first_entry()..)
            .zip(stored)
            .any(|(i, h)| tree.subtree_hash(0, i).ok() != Some(h));
        differs.then(|| (bundle.path(), hashes.path()))
    })
}

/// Whether the entry bundle at `path` holds exactly the leaves of `tree` it names.
fn bundle_agrees(path: &Path, t: &Tile, tree: &MemoryTree) -> io::Result<bool> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let Ok(entries) = tile::decode_bundle(&bytes, t.width) else {
        return Ok(false);
    };
    Ok((t.first_entry()..)
        .zip(entries)
        .all(|(i, e)| tree.subtree_hash(0, i).ok() == Some(merkle::leaf_hash(e))))
}

/// Every hash tile a tree of `size` leaves is made of (its full tiles and its right edge), and its
/// partial entry bundle. The full entry bundles are not listed: `rebuild` reads them all.
fn needed(size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    for level in 0..HASH_LEVELS {
        let level = TileLevel::Hash(level);
        for index in tile::grown_tiles(level, 0, size) {
            let width = tile::width_at(level, index, size);
            out.extend(Tile::new(level, index, width).ok());
        }
    }
    out.extend(Tile::entry_bundle(size.saturating_sub(1), size).filter(|t| !t.is_full()));
    out
}

/// Removes a tile file (a special file too), and the `<N>.p` directory it leaves empty.
fn remove_tile(dir: &LogDir, t: &Tile) -> io::Result<()> {
    let path = dir.tile(t);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if !t.is_full()
        && let Some(parent) = path.parent()
    {
        // Fails while other widths remain: that is the point.
        let _ = fs::remove_dir(parent);
    }
    Ok(())
}

/// The partial versions of tile (`level`, `index`) on disk: their widths and sizes in bytes.
fn partials_on_disk(dir: &LogDir, level: TileLevel, index: u64) -> io::Result<Vec<(u16, u64)>> {
    let probe = Tile {
        level,
        index,
        width: 1,
    };
    let path = dir.tile(&probe);
    let Some(parent) = path.parent() else {
        return Ok(Vec::new());
    };
    let entries = match fs::read_dir(parent) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e?;
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // The one spelling of a width, as the tile parser has it.
        let Ok(t) = Tile::parse_path(&format!("{}.p/{name}", probe.full().path())) else {
            continue;
        };
        if t.level == level && t.index == index && !t.is_full() {
            out.push((t.width, e.metadata()?.len()));
        }
    }
    Ok(out)
}

/// Removes the partial tiles that a published checkpoint of `published` leaves makes superfluous
/// among the tiles a tree growing from `from` to `published` changed (see the module
/// documentation). Returns how many files went. A failure here costs disk, never correctness, so
/// the caller may log it and go on.
pub fn collect_garbage(dir: &LogDir, from: u64, published: u64) -> io::Result<usize> {
    let mut removed = 0;
    let levels = (0..HASH_LEVELS)
        .map(TileLevel::Hash)
        .chain([TileLevel::Entries]);
    for level in levels {
        for index in tile::grown_tiles(level, from, published) {
            removed += collect_tile(dir, level, index, published)?;
        }
    }
    Ok(removed)
}

/// [`collect_garbage`] for every tile with partial versions on disk: after opening, when what
/// earlier runs left is not known.
pub fn collect_all_garbage(dir: &LogDir, published: u64) -> io::Result<usize> {
    let mut groups: BTreeMap<(TileLevel, u64), ()> = BTreeMap::new();
    for (t, _) in tile_files(dir)? {
        if !t.is_full() {
            groups.insert((t.level, t.index), ());
        }
    }
    let mut removed = 0;
    for (level, index) in groups.into_keys() {
        removed += collect_tile(dir, level, index, published)?;
    }
    Ok(removed)
}

fn collect_tile(dir: &LogDir, level: TileLevel, index: u64, published: u64) -> io::Result<usize> {
    let present = partials_on_disk(dir, level, index)?;
    let width = tile::width_at(level, index, published);
    let gone = tile::removable_partials(&present, width);
    for w in &gone {
        remove_tile(
            dir,
            &Tile {
                level,
                index,
                width: *w,
            },
        )?;
    }
    Ok(gone.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(level: TileLevel, index: u64, width: u16) -> Tile {
        Tile {
            level,
            index,
            width,
        }
    }

    #[test]
    fn a_tree_needs_its_full_tiles_and_its_right_edge() {
        use TileLevel::{Entries, Hash};
        assert_eq!(needed(0), vec![]);
        assert_eq!(needed(3), vec![t(Hash(0), 0, 3), t(Entries, 0, 3)]);
        assert_eq!(
            needed(700),
            vec![
                t(Hash(0), 0, 256),
                t(Hash(0), 1, 256),
                t(Hash(0), 2, 188),
                t(Hash(1), 0, 2),
                t(Entries, 2, 188)
            ]
        );
        assert_eq!(
            needed(512),
            vec![t(Hash(0), 0, 256), t(Hash(0), 1, 256), t(Hash(1), 0, 2)]
        );
    }

    #[test]
    fn partial_widths_on_disk_are_listed_by_their_one_spelling() {
        let tmp = tempfile::tempdir().unwrap();
        let d = LogDir::new(tmp.path());
        for w in [1u16, 7, 200] {
            let p = d.tile(&t(TileLevel::Entries, 1002, w));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, vec![0; usize::from(w)]).unwrap();
        }
        let dir = d.tile(&t(TileLevel::Entries, 1002, 1));
        let dir = dir.parent().unwrap();
        fs::write(dir.join("07"), b"not a width").unwrap();
        fs::write(dir.join("256"), b"not a width").unwrap();
        let mut got = partials_on_disk(&d, TileLevel::Entries, 1002).unwrap();
        got.sort_unstable();
        assert_eq!(got, vec![(1, 1), (7, 7), (200, 200)]);
        assert_eq!(
            partials_on_disk(&d, TileLevel::Hash(0), 1002).unwrap(),
            vec![]
        );
    }
}
