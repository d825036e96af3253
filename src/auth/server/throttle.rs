//! Slows down repeated failed sign-ins, per client and per account: a few mistakes are free, then each further
//! attempt has to wait twice as long as the one before. An attempt is counted as a failure when it starts and
//! forgiven when it succeeds, so a burst of parallel guesses cannot all slip past the count.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Failures from one client that cost nothing.
const FREE_CLIENT_FAILURES: u32 = 5;
/// Failures on one account that cost nothing: more than a client's, so that someone else's typos (or an attacker
/// elsewhere) take longer to slow its owner down.
const FREE_ACCOUNT_FAILURES: u32 = 10;
const FIRST_DELAY: Duration = Duration::from_secs(2);
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const MEMORY: Duration = Duration::from_secs(60 * 60);
/// How often forgotten failures are swept out.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Most clients and accounts remembered at once; past it the stalest is forgotten, so memory stays bounded
/// whatever a flood of addresses does.
const MAX_ENTRIES: usize = 100_000;

/// What a failure is counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// A client address; IPv6 clients by their /64 network, since one host can rotate through all of it.
    Client(IpAddr),
    /// An existing account, by its user id.
    Account(String),
}

impl ThrottleKey {
    pub fn client(address: IpAddr) -> Self {
        ThrottleKey::Client(match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
            },
            v4 => v4,
        })
    }

    fn free_failures(&self) -> u32 {
        match self {
            ThrottleKey::Client(_) => FREE_CLIENT_FAILURES,
            ThrottleKey::Account(_) => FREE_ACCOUNT_FAILURES,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Debug)]
struct Memory {
    failures: HashMap<ThrottleKey, Failures>,
    swept_at: Instant,
}

#[derive(Debug)]
pub struct SignInThrottle {
    memory: Mutex<Memory>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self {
            memory: Mutex::new(Memory {
                failures: HashMap::new(),
                swept_at: Instant::now(),
            }),
        }
    }
}

fn delay_after(count: u32, free: u32) -> Duration {
    if count < free {
        return Duration::ZERO;
    }
    let doublings = (count - free).min(16);
    (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

impl SignInThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts an attempt for `keys`: refused with the longest wait any of them still needs, or counted as a
    /// failure of each until [`Self::succeeded`] forgives it.
    pub fn begin(&self, keys: &[ThrottleKey], now: Instant) -> Result<(), Duration> {
        let mut memory = self.lock();
        let wait = keys
            .iter()
            .filter_map(|key| {
                let entry = memory.failures.get(key)?;
                let ready_at = entry.last + delay_after(entry.count, key.free_failures());
                (ready_at > now).then(|| ready_at - now)
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        if now.duration_since(memory.swept_at) >= SWEEP_EVERY {
            memory
                .failures
                .retain(|_, entry| now.duration_since(entry.last) < MEMORY);
            memory.swept_at = now;
        }
        for key in keys {
            if !memory.failures.contains_key(key) && memory.failures.len() >= MAX_ENTRIES {
                let stalest = memory
                    .failures
                    .iter()
                    .min_by_key(|(_, entry)| entry.last)
                    .map(|(key, _)| key.clone());
                if let Some(stalest) = stalest {
                    memory.failures.remove(&stalest);
                }
            }
            let entry = memory.failures.entry(key.clone()).or_insert(Failures {
                count: 0,
                last: now,
            });
            entry.count += 1;
            entry.last = now;
        }
        Ok(())
    }

    /// The attempt begun for `keys` succeeded: their failures are forgiven.
    pub fn succeeded(&self, keys: &[ThrottleKey]) {
        let mut memory = self.lock();
        for key in keys {
            memory.failures.remove(key);
        }
    }

    /// How long `key` must still wait before its next attempt, if at all.
    pub fn wait_needed(&self, key: &ThrottleKey, now: Instant) -> Option<Duration> {
        let memory = self.lock();
        let entry = memory.failures.get(key)?;
        let ready_at = entry.last + delay_after(entry.count, key.free_failures());
        (ready_at > now).then(|| ready_at - now)
    }
}

/// The refusal of an attempt that must wait: `429` with `Retry-After`.
pub fn too_many_failures(wait: Duration) -> crate::shared::error::AppError {
    let wait = Duration::from_secs(wait.as_secs().max(1));
    crate::server::http::refuse_with(
        crate::shared::error::AppError::TooManyRequests(format!(
            "Too many failed sign-ins; try again in {} s.",
            wait.as_secs()
        )),
        Some(wait),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(text: &str) -> ThrottleKey {
        ThrottleKey::client(text.parse().unwrap())
    }

    #[test]
    fn the_first_failures_cost_nothing_then_waits_double() {
        let throttle = SignInThrottle::default();
        let address = client("203.0.113.7");
        let other = client("203.0.113.8");
        let start = Instant::now();

        for _ in 0..5 {
            assert_eq!(throttle.begin(&[address.clone()], start), Ok(()));
        }
        assert_eq!(
            throttle.begin(&[address.clone()], start),
            Err(Duration::from_secs(2))
        );
        let later = start + Duration::from_secs(2);
        assert_eq!(throttle.begin(&[address.clone()], later), Ok(()));
        assert_eq!(
            throttle.wait_needed(&address, later),
            Some(Duration::from_secs(4))
        );
        assert_eq!(
            throttle.begin(&[other.clone()], start),
            Ok(()),
            "another address is not slowed down"
        );

        throttle.succeeded(&[address.clone()]);
        assert_eq!(throttle.wait_needed(&address, later), None);
    }

    #[test]
    fn a_parallel_burst_is_counted_before_any_password_is_checked() {
        let throttle = SignInThrottle::default();
        let address = client("198.51.100.1");
        let now = Instant::now();
        // 300 attempts start before any of them finishes: only the free ones get to check a password.
        let started = (0..300)
            .filter(|_| throttle.begin(&[address.clone()], now).is_ok())
            .count();
        assert_eq!(started, FREE_CLIENT_FAILURES as usize);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_bit_network() {
        assert_eq!(
            client("2001:db8:1:2:aaaa::1"),
            client("2001:db8:1:2:ffff:1234::9")
        );
        assert_ne!(client("2001:db8:1:2::1"), client("2001:db8:1:3::1"));
        assert_eq!(client("::ffff:192.0.2.1"), client("192.0.2.1"));
    }

    #[test]
    fn an_account_is_slowed_whichever_addresses_the_guesses_come_from() {
        let throttle = SignInThrottle::default();
        let account = ThrottleKey::Account("user-1".to_owned());
        let now = Instant::now();
        for i in 0..FREE_ACCOUNT_FAILURES {
            let from = client(&format!("192.0.2.{i}"));
            assert_eq!(throttle.begin(&[from, account.clone()], now), Ok(()));
        }
        let fresh_address = client("192.0.2.200");
        assert!(throttle.begin(&[fresh_address, account], now).is_err());
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_addresses() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        for i in 0..(MAX_ENTRIES as u32 + 50) {
            let address = IpAddr::V4(std::net::Ipv4Addr::from(i));
            let _ = throttle.begin(&[ThrottleKey::client(address)], now);
        }
        assert_eq!(throttle.lock().failures.len(), MAX_ENTRIES);
    }

    #[test]
    fn the_wait_is_capped() {
        assert_eq!(delay_after(100, FREE_CLIENT_FAILURES), MAX_DELAY);
    }
}
