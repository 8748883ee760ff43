//! Disk used by the published tree per record. The worst case for a log that kept every partial
//! entry bundle was many batches of one large record each: batch N rewrote the right-edge bundle
//! with all N records so far, N²/2 records on disk for N logged. The log now removes superseded
//! partial tiles and bundles ([`rget::core::tile::removable_partials`]), so `public/` stays linear
//! in the entries. `--nocapture` prints the measurement that BENCHMARKS.md quotes.

use crate::common::log::{Server, agent, check_published_tree, init_log, submit};
use rget::core::digest::sha256;
use rget::core::note::VerifierKey;
use rget::core::record;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A SHA256SUMS of about 60 KB (720 lines), different for every `i`: a record close to the
/// largest a log entry can hold (64 KiB).
fn large_sums(i: u64) -> Vec<u8> {
    (0..720u32)
        .map(|k| {
            format!(
                "{}  file-{i}-{k:04}.tar.gz\n",
                sha256(&[i.to_be_bytes(), u64::from(k).to_be_bytes()].concat())
            )
        })
        .collect::<String>()
        .into_bytes()
}

fn url(i: u64) -> String {
    format!("https://disk.example/r{i}/SHA256SUMS")
}

/// (bytes in blocks, as `du` counts them; bytes of the files) of everything under `dir`.
fn disk_use(dir: &Path) -> (u64, u64) {
    let mut blocks = 0;
    let mut apparent = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            blocks += m.blocks() * 512;
            if m.is_dir() {
                stack.push(e.path());
            } else {
                apparent += m.len();
            }
        }
    }
    (blocks, apparent)
}

/// 300 records of about 60 KB, each submitted alone and answered before the next: 300 batches of
/// one record. After every batch the published tree verifies as a whole (stale partials would
/// fail it), and `public/` holds at most 3 times the entries' bytes, counted in disk blocks.
#[test]
fn many_batches_of_one_large_record_keep_the_disk_linear() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = init_log(tmp.path(), "disk.example/log");
    let vkey = VerifierKey::parse(&vkey).unwrap();
    let server = Server::start(&dir, &["--batch-delay", "0"]);
    let agent = agent();
    let public = dir.join("public");
    let (mut entries, mut worst, mut worst_at) = (0u64, 0f64, 0u64);
    let n = 300u64;
    for i in 0..n {
        let sums = large_sums(i);
        entries += record::build(&url(i), &sums).unwrap().len() as u64;
        let a = submit(&agent, &server.base, &url(i), &sums);
        assert_eq!(a.status, 200, "{}", a.text());
        let (blocks, _) = disk_use(&public);
        let ratio = blocks as f64 / entries as f64;
        if ratio > worst {
            (worst, worst_at) = (ratio, i + 1);
        }
        if i % 50 == 49 {
            check_published_tree(&dir, &vkey);
        }
    }
    let (cp, ..) = check_published_tree(&dir, &vkey);
    assert_eq!(cp.size, n);
    let (blocks, apparent) = disk_use(&public);
    eprintln!(
        "{n} batches of one record, {entries} bytes of entries ({} per record): public/ uses {blocks} bytes in blocks ({:.2}x), {apparent} in files ({:.2}x); worst {worst:.2}x after {worst_at} records",
        entries / n,
        blocks as f64 / entries as f64,
        apparent as f64 / entries as f64,
    );
    assert!(
        worst <= 3.0,
        "public/ reached {worst:.2}x the entries' bytes after {worst_at} records"
    );
    drop(server);
}
