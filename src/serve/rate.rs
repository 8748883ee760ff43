//! Per-client rate limits: a token bucket for each client address, so that one client cannot take
//! the whole capacity of an endpoint (the log's `POST /add`: every accepted record costs disk for
//! good, and a flood of them from one address would fill it).
//!
//! A client is its IPv4 address, or the /64 prefix of its IPv6 address (one host gets a whole /64
//! as easily as one address). Each has `burst` requests at once and then `per_minute` a minute;
//! past that the request is refused with how long to wait (HTTP 429 with `Retry-After`). The
//! table of clients is bounded ([`MAX_CLIENTS`]): when it is full, clients whose bucket has
//! refilled (they are indistinguishable from new ones) are forgotten, and if that frees nothing,
//! the newcomers share one bucket until it does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most clients remembered at once: about 3 MiB of table.
pub const MAX_CLIENTS: usize = 65_536;

/// How fast one client may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Sustained requests a minute.
    pub per_minute: u32,
    /// Requests at once after a quiet period.
    pub burst: u32,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Who a request counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Client {
    V4(u32),
    /// The /64 prefix.
    V6(u64),
    /// Newcomers while the table is full.
    Overflow,
}

impl Client {
    fn of(addr: IpAddr) -> Client {
        match addr {
            IpAddr::V4(a) => Client::V4(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Client::V4(u32::from(v4)),
                None => Client::V6((u128::from(a) >> 64) as u64),
            },
        }
    }
}

/// The buckets of every client of one endpoint.
pub struct RateLimit {
    rate: Rate,
    clients: Mutex<HashMap<Client, Bucket>>,
    max_clients: usize,
}

impl RateLimit {
    /// A limit of `rate` per client; `None` (no limit) when its rate or burst is 0.
    pub fn new(rate: Rate) -> Option<RateLimit> {
        RateLimit::with_capacity(rate, MAX_CLIENTS)
    }

    fn with_capacity(rate: Rate, max_clients: usize) -> Option<RateLimit> {
        (rate.per_minute > 0 && rate.burst > 0).then(|| RateLimit {
            rate,
            clients: Mutex::new(HashMap::new()),
            max_clients: max_clients.max(1),
        })
    }

    /// Takes one request of `addr`'s allowance at `now`; `Err(wait)` when there is none left, with
    /// how long until there is.
    pub fn take(&self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let per_second = f64::from(self.rate.per_minute) / 60.0;
        let burst = f64::from(self.rate.burst);
        let refill = |b: &Bucket| {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            (b.tokens + elapsed * per_second).min(burst)
        };
        // Nothing here can panic while the lock is held; a poisoned lock still holds valid buckets.
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let mut client = Client::of(addr);
        if !clients.contains_key(&client) && clients.len() >= self.max_clients {
            clients.retain(|c, b| *c == Client::Overflow || refill(b) < burst);
            if clients.len() >= self.max_clients {
                client = Client::Overflow;
            }
        }
        let bucket = clients.entry(client).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let tokens = refill(bucket);
        bucket.at = now;
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            Ok(())
        } else {
            bucket.tokens = tokens;
            Err(Duration::from_secs_f64((1.0 - tokens) / per_second))
        }
    }
}

/// A `Retry-After` value: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// The address a request counts against: the TCP peer, or, behind a reverse proxy that names the
/// client in `header` (`X-Real-IP`, `X-Forwarded-For`: its last address, the one the proxy added),
/// that address. A request through the proxy without it is refused: counting it against the proxy
/// would make every client share one allowance.
pub fn client_address(
    headers: &hyper::HeaderMap,
    peer: IpAddr,
    header: Option<&hyper::header::HeaderName>,
) -> Result<IpAddr, String> {
    let Some(name) = header else {
        return Ok(peer);
    };
    let value = headers
        .get_all(name)
        .iter()
        .next_back()
        .ok_or_else(|| format!("missing {name} header (the reverse proxy must set it)"))?;
    let text = value
        .to_str()
        .map_err(|_| format!("the {name} header is not text"))?;
    let last = text.rsplit(',').next().unwrap_or(text).trim();
    last.parse()
        .map_err(|_| format!("the {name} header does not end in an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_burst_then_the_rate_per_client() {
        let l = RateLimit::new(Rate {
            per_minute: 60,
            burst: 3,
        })
        .unwrap();
        let t = Instant::now();
        for _ in 0..3 {
            l.take(A, t).unwrap();
        }
        let wait = l.take(A, t).unwrap_err();
        assert!(wait > Duration::from_millis(990) && wait <= Duration::from_secs(1));
        assert_eq!(retry_after_secs(wait), 1);
        // Another client is not affected.
        l.take(B, t).unwrap();
        // One a second comes back, never more than the burst.
        l.take(A, t + Duration::from_millis(1000)).unwrap();
        assert!(l.take(A, t + Duration::from_millis(1500)).is_err());
        for _ in 0..3 {
            l.take(A, t + Duration::from_secs(100)).unwrap();
        }
        assert!(l.take(A, t + Duration::from_secs(100)).is_err());
        assert!(
            RateLimit::new(Rate {
                per_minute: 0,
                burst: 5
            })
            .is_none()
        );
    }

    #[test]
    fn ipv6_clients_are_their_64_prefix_and_mapped_v4_is_v4() {
        let l = RateLimit::new(Rate {
            per_minute: 1,
            burst: 1,
        })
        .unwrap();
        let t = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse::<Ipv6Addr>().unwrap().into();
        let same: IpAddr = "2001:db8:1:2:ffff::9".parse::<Ipv6Addr>().unwrap().into();
        let other: IpAddr = "2001:db8:1:3::1".parse::<Ipv6Addr>().unwrap().into();
        l.take(a, t).unwrap();
        assert!(l.take(same, t).is_err());
        l.take(other, t).unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse::<Ipv6Addr>().unwrap().into();
        l.take(A, t).unwrap();
        assert!(l.take(mapped, t).is_err());
    }

    #[test]
    fn a_full_table_forgets_idle_clients_then_shares_one_bucket() {
        let l = RateLimit::with_capacity(
            Rate {
                per_minute: 60,
                burst: 2,
            },
            2,
        )
        .unwrap();
        let t = Instant::now();
        let ip = |n: u8| IpAddr::V4(Ipv4Addr::new(10, 0, 0, n));
        l.take(ip(1), t).unwrap();
        l.take(ip(2), t).unwrap();
        // Both are busy: the newcomers share the overflow bucket (2 at once, then wait).
        l.take(ip(3), t).unwrap();
        l.take(ip(4), t).unwrap();
        assert!(l.take(ip(5), t).is_err());
        // Later every bucket has refilled: idle clients are forgotten, a newcomer gets its own.
        let later = t + Duration::from_secs(10);
        for _ in 0..2 {
            l.take(ip(6), later).unwrap();
        }
        assert!(l.take(ip(6), later).is_err());
        assert!(l.clients.lock().unwrap().len() <= 2);
    }

    #[test]
    fn the_client_is_the_peer_or_the_proxys_last_address() {
        let mut h = hyper::HeaderMap::new();
        let name = hyper::header::HeaderName::from_static("x-forwarded-for");
        assert_eq!(client_address(&h, A, None), Ok(A));
        assert!(client_address(&h, A, Some(&name)).is_err());
        h.append(&name, "203.0.113.9, 192.0.2.2".parse().unwrap());
        assert_eq!(client_address(&h, A, Some(&name)), Ok(B));
        h.append(&name, " 2001:db8::1 ".parse().unwrap());
        assert_eq!(
            client_address(&h, A, Some(&name)),
            Ok("2001:db8::1".parse().unwrap())
        );
        h.insert(&name, "unknown".parse().unwrap());
        assert!(client_address(&h, A, Some(&name)).is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
