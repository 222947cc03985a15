//! Retries with exponential backoff for transient failures (see [`RegistryError::is_transient`]).

use std::future::Future;
use std::time::Duration;

use crate::error::RegistryError;

/// How often and how patiently to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total tries, the first included (1 = no retry).
    pub attempts: u32,
    /// Delay before the first retry; doubled for each further one.
    pub initial_delay: Duration,
    /// Upper bound of a single delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The delay after failed try number `failed` (1-based).
    pub fn delay(&self, failed: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failed.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }

    /// Runs `op` until it succeeds, fails with a non-transient error, or the tries are used up.
    pub(crate) async fn run<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, RegistryError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, RegistryError>>,
    {
        let mut tried = 0;
        loop {
            tried += 1;
            match op(tried).await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && tried < self.attempts.max(1) => {
                    let d = self.delay(tried);
                    tracing::warn!("{what}: {e}; retry {tried}/{} in {d:?}", self.attempts - 1);
                    tokio::time::sleep(d).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    fn http(status: u16) -> RegistryError {
        RegistryError::Http {
            registry: "r".into(),
            repository: "x".into(),
            url: "u".into(),
            status,
            message: String::new(),
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1), Duration::from_millis(200));
        assert_eq!(p.delay(2), Duration::from_millis(400));
        assert_eq!(p.delay(3), Duration::from_millis(800));
        assert_eq!(p.delay(10), Duration::from_secs(5));
        assert_eq!(p.delay(100), Duration::from_secs(5));
    }

    #[test]
    fn retries_transient_only() {
        let p = RetryPolicy {
            attempts: 4,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let calls = Cell::new(0);
        let r: Result<u32, _> = rt().block_on(p.run("t", |n| {
            calls.set(calls.get() + 1);
            async move {
                if n < 3 {
                    Err(http(503))
                } else {
                    Ok(n)
                }
            }
        }));
        assert_eq!(r.unwrap(), 3);

        calls.set(0);
        let r: Result<(), _> = rt().block_on(p.run("t", |_| {
            calls.set(calls.get() + 1);
            async { Err(http(429)) }
        }));
        assert!(r.is_err());
        assert_eq!(calls.get(), 4);

        calls.set(0);
        let r: Result<(), _> = rt().block_on(p.run("t", |_| {
            calls.set(calls.get() + 1);
            async { Err(http(404)) }
        }));
        assert!(r.is_err());
        assert_eq!(calls.get(), 1, "4xx must not be retried");
    }
}
