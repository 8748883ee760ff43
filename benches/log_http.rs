//! The log over HTTP (`cargo bench --bench log_http`): starts the real `rget log serve` process on
//! loopback and drives `POST /add` from concurrent keep-alive connections (a minimal HTTP/1.1 client on
//! tokio, in this process, so the load generator shares the machine's 2 cores with the server).
//! Reports sustained records/s and answer latency (p50, p99) with durable batches. Every answer is a
//! tlog-proof; a sample of them is verified offline.
//! Targets: at least 10,000 records/s; p99 under the batch delay plus 50 ms.
//!
//! `RGET_BENCH_CONNECTIONS` (default 1024), `RGET_BENCH_RECORDS` (default 100000),
//! `RGET_BENCH_BATCH_DELAY_MS` (default 500, the server default), `RGET_BENCH_BATCH_SIZE` (default 256).

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The tests' shared helpers (the serving `rget log serve` process); this bench uses a few of them.
#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::env_u64;

use common::log::{Server, init_log};
use rget::core::digest::sha256;
use rget::core::policy::Policy;
use rget::core::verify;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as TokioBufReader};
use tokio::net::TcpStream;

/// What one connection saw: answer latencies, errors, and one (record number, proof) to verify.
type ConnectionResult = (Vec<Duration>, u64, Option<(u64, Vec<u8>)>);

fn sums(n: u64) -> Vec<u8> {
    (0..4u8)
        .map(|k| {
            format!(
                "{}  project-{n}-{k}.tar.gz\n",
                sha256(&[(n % 251) as u8, k])
            )
        })
        .collect::<String>()
        .into_bytes()
}

fn url(n: u64) -> String {
    format!("https://releases.example/p{}/v{n}/SHA256SUMS", n % 100)
}

/// One POST /add on a keep-alive connection; returns the status and body.
async fn post(
    conn: &mut TokioBufReader<TcpStream>,
    addr: &str,
    n: u64,
) -> std::io::Result<(u16, Vec<u8>)> {
    let body = sums(n);
    let target = format!(
        "/add?url={}",
        url(n).replace(':', "%3A").replace('/', "%2F")
    );
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n",
        body.len()
    );
    let s = conn.get_mut();
    s.write_all(head.as_bytes()).await?;
    s.write_all(&body).await?;
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut len = 0usize;
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut buf = vec![0u8; len];
    conn.read_exact(&mut buf).await?;
    Ok((status, buf))
}

fn main() {
    let connections = env_u64("RGET_BENCH_CONNECTIONS", 1024);
    let total = env_u64("RGET_BENCH_RECORDS", 100_000);
    let delay = env_u64("RGET_BENCH_BATCH_DELAY_MS", 500);
    let batch = env_u64("RGET_BENCH_BATCH_SIZE", 256);
    let tmp = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/target")).unwrap();
    let (dir, vkey) = init_log(tmp.path(), "bench.example/log");
    let policy = Policy::parse(&format!("log {vkey}\nquorum none\n")).unwrap();
    let (batch_size, batch_delay, max_connections) = (
        batch.to_string(),
        delay.to_string(),
        (connections + 16).to_string(),
    );
    let server = Server::start(
        &dir,
        &[
            "--batch-size",
            &batch_size,
            "--batch-delay",
            &batch_delay,
            "--max-connections",
            &max_connections,
            "--queue-size",
            "65536",
        ],
    );
    let addr = server.addr.clone();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let results: Vec<ConnectionResult> = rt.block_on(async {
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                let (next, addr) = (next.clone(), addr.clone());
                tokio::spawn(async move {
                    let mut conn = TokioBufReader::new(TcpStream::connect(&addr).await.unwrap());
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    let mut sample = None;
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= total {
                            break;
                        }
                        let t = Instant::now();
                        match post(&mut conn, &addr, n).await {
                            Ok((200, proof)) => {
                                lat.push(t.elapsed());
                                if sample.is_none() {
                                    sample = Some((n, proof));
                                }
                            }
                            _ => errors += 1,
                        }
                    }
                    (lat, errors, sample)
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let secs = started.elapsed().as_secs_f64();
    let _ = server.stop();

    let mut lat: Vec<Duration> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let errors: u64 = results.iter().map(|r| r.1).sum();
    for (n, proof) in results.iter().filter_map(|r| r.2.as_ref()) {
        verify::verify_logged_sums(&policy, &url(*n), &sums(*n), proof)
            .expect("answer is a valid proof");
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "{} records over {connections} connections, batch {batch}/{delay} ms: {:.0} records/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {errors} errors; {} proofs verified",
        lat.len(),
        lat.len() as f64 / secs,
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3,
        results.iter().filter(|r| r.2.is_some()).count()
    );
}
