//! Size limits, in bytes, of everything rget fetches. A body over its limit is refused after
//! reading at most one byte more (or before reading, when `Content-Length` says so).

use rget_core::{record, sigsum, tile, tlog_proof};

/// A `SHA256SUMS`: it must fit in a log record (`record::MAX_RECORD`, 65,535 bytes, header
/// included), so a larger one could never have been logged.
pub const SUMS: u64 = record::MAX_RECORD as u64;
/// A minisign signature (`.minisig`): a few hundred bytes plus the trusted comment.
pub const SIGNATURE: u64 = 16 * 1024;
/// A `SHA256SUMS.tlog-proof` or a log's answer to `add` (`tlog_proof::MAX_FILE`).
pub const PROOF: u64 = tlog_proof::MAX_FILE as u64;
/// A Sigsum proof (`SHA256SUMS.proof`): 64 cosignatures and 63 node hashes fit well inside.
pub const SIGSUM_PROOF: u64 = sigsum::proof::MAX_PROOF_SIZE as u64;
/// A checkpoint note. It must fit in a tlog-proof (64 KiB) to be usable at all, so the note
/// format's own ceiling (`note::MAX_NOTE_SIZE`, 1 MiB) would only let a log waste our memory.
pub const CHECKPOINT: u64 = tlog_proof::MAX_FILE as u64;
/// A full hash tile: 256 hashes of 32 bytes (a partial one is limited to its width × 32).
pub const HASH_TILE: u64 = tile::TILE_WIDTH * 32;
/// A full entry bundle: 256 entries of at most 65,535 bytes, each with a 2-byte length.
pub const ENTRY_BUNDLE: u64 = tile::TILE_WIDTH * (2 + tile::MAX_ENTRY_SIZE as u64);
/// A lookup answer: about 80 bytes per record of one URL, so 1 MiB is ~13,000 records.
pub const LOOKUP: u64 = 1024 * 1024;
/// A list of URLs for `rget get -i FILE`: 1 MiB is some 10,000 URLs, more than one run should
/// fetch; a larger list (or `-i /dev/zero`) is refused before anything is downloaded.
pub const URL_LIST: u64 = 1024 * 1024;
/// Default limit of a downloaded artifact (the CLI's `--max-size`): 8 GiB. A digest only
/// speaks at the end of the stream, so without a limit a hostile server could fill the disk.
pub const DEFAULT_MAX_ARTIFACT: u64 = 8 * 1024 * 1024 * 1024;
