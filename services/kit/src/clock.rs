//! The time, behind a trait so tests can move it. Everything deadline-driven
//! asks a `Clock`, never the system directly.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::Notify;

/// Milliseconds since the Unix epoch, UTC. Stored as BIGINT in every table.
pub type Millis = i64;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now_ms(&self) -> Millis;

    /// Resolves when the clock may have moved past a deadline: a wall-clock
    /// tick for the system clock, an explicit `advance` for the manual one.
    fn changed(&self) -> futures::future::BoxFuture<'_, ()>;
}

/// A cheaply cloneable handle to the clock in use.
pub type SharedClock = Arc<dyn Clock>;

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    }

    fn changed(&self) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(250)))
    }
}

/// A clock that moves only when a test says so.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
    moved: Notify,
}

impl ManualClock {
    pub fn new(start_ms: Millis) -> Arc<Self> {
        Arc::new(Self {
            now: AtomicI64::new(start_ms),
            moved: Notify::new(),
        })
    }

    /// Moves the clock forward and wakes whoever waits on it.
    pub fn advance(&self, by: std::time::Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.now.fetch_add(by, Ordering::SeqCst);
        self.moved.notify_waiters();
    }

    pub fn set(&self, ms: Millis) {
        self.now.store(ms, Ordering::SeqCst);
        self.moved.notify_waiters();
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Millis {
        self.now.load(Ordering::SeqCst)
    }

    fn changed(&self) -> futures::future::BoxFuture<'_, ()> {
        // Also tick slowly so a worker notices rows written after it parked.
        Box::pin(async {
            tokio::select! {
                _ = self.moved.notified() => {}
                _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
            }
        })
    }
}

/// Converts stored milliseconds to a protobuf timestamp.
pub fn to_timestamp(ms: Millis) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

/// Converts an optional stored time (0 or NULL meaning unset).
pub fn to_timestamp_opt(ms: Option<Millis>) -> Option<prost_types::Timestamp> {
    ms.filter(|m| *m != 0).map(to_timestamp)
}

/// Converts a protobuf timestamp to milliseconds, refusing nonsense.
pub fn from_timestamp(ts: &prost_types::Timestamp) -> Option<Millis> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return None;
    }
    ts.seconds
        .checked_mul(1000)
        .and_then(|s| s.checked_add(i64::from(ts.nanos / 1_000_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for ms in [0, 1, 999, 1_700_000_000_123, -1500] {
            assert_eq!(from_timestamp(&to_timestamp(ms)), Some(ms));
        }
        assert_eq!(
            from_timestamp(&prost_types::Timestamp {
                seconds: 1,
                nanos: -1
            }),
            None
        );
    }

    #[tokio::test]
    async fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1000);
        assert_eq!(c.now_ms(), 1000);
        c.advance(std::time::Duration::from_secs(2));
        assert_eq!(c.now_ms(), 3000);
    }
}
