//! Slows down repeated failed sign-ins from one address: a few mistakes are free, then each further attempt has
//! to wait twice as long as the one before.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

const FREE_FAILURES: u32 = 5;
const FIRST_DELAY: Duration = Duration::from_secs(2);
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const MEMORY: Duration = Duration::from_secs(60 * 60);

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

impl SignInThrottle {
    fn delay_after(count: u32) -> Duration {
        if count < FREE_FAILURES {
            return Duration::ZERO;
        }
        let doublings = (count - FREE_FAILURES).min(16);
        (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
    }

    /// How long `address` must still wait before its next attempt is considered, if at all.
    pub fn wait_needed(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = failures.get(&address)?;
        let ready_at = entry.last + Self::delay_after(entry.count);
        (ready_at > now).then(|| ready_at - now)
    }

    pub fn record_failure(&self, address: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.retain(|_, entry| now.duration_since(entry.last) < MEMORY);
        let entry = failures.entry(address).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count += 1;
        entry.last = now;
    }

    pub fn record_success(&self, address: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failures_cost_nothing_then_waits_double() {
        let throttle = SignInThrottle::default();
        let address: IpAddr = "203.0.113.7".parse().unwrap();
        let other: IpAddr = "203.0.113.8".parse().unwrap();
        let start = Instant::now();

        for _ in 0..4 {
            throttle.record_failure(address, start);
            assert_eq!(throttle.wait_needed(address, start), None);
        }
        throttle.record_failure(address, start);
        assert_eq!(
            throttle.wait_needed(address, start),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            throttle.wait_needed(address, start + Duration::from_secs(2)),
            None
        );
        throttle.record_failure(address, start + Duration::from_secs(2));
        assert_eq!(
            throttle.wait_needed(address, start + Duration::from_secs(2)),
            Some(Duration::from_secs(4))
        );
        assert_eq!(
            throttle.wait_needed(other, start),
            None,
            "another address is not slowed down"
        );

        throttle.record_success(address);
        assert_eq!(
            throttle.wait_needed(address, start + Duration::from_secs(2)),
            None
        );
    }

    #[test]
    fn the_wait_is_capped() {
        assert_eq!(SignInThrottle::delay_after(100), MAX_DELAY);
    }
}
