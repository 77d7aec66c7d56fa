//! Who may try to join, how often: a token bucket per address, so one machine with the room
//! code (it is written on the board) cannot fill the room in seconds, while a whole class
//! joining at once from their own laptops never notices.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses remembered before the idle ones are forgotten.
const TRIM_AT: usize = 4096;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct JoinGate {
    /// Joins an address may make in a burst, and per minute after that; 0 lets every join in.
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl JoinGate {
    pub fn new(per_minute: u32) -> JoinGate {
        JoinGate {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one join from `address`'s allowance; when it has none left, how long until it has.
    pub fn admit(&self, address: IpAddr) -> Result<(), Duration> {
        self.admit_at(address, Instant::now())
    }

    fn admit_at(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= TRIM_AT {
            // A bucket that has refilled is the same as no bucket.
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < capacity
            });
        }
        let bucket = buckets.entry(address).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_burst_then_one_join_per_interval() {
        let gate = JoinGate::new(6);
        // Two learners' machines; loopback addresses, as everywhere in tests (nothing is sent).
        let (one, two): (IpAddr, IpAddr) =
            ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
        let start = Instant::now();
        for _ in 0..6 {
            gate.admit_at(one, start).unwrap();
        }
        let wait = gate.admit_at(one, start).unwrap_err();
        assert!(
            wait > Duration::from_secs(9) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        gate.admit_at(two, start).unwrap();
        gate.admit_at(one, start + Duration::from_secs(10)).unwrap();
        assert!(JoinGate::new(0).admit_at(one, start).is_ok());
    }
}
