//! Overload protection: a global limit on calls in flight. Beyond it a call
//! is refused at once rather than queued, so the calls already admitted keep
//! a bounded latency and the excess learns quickly that it should back off.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Refusal;

/// The count of calls in flight and its ceiling.
#[derive(Debug)]
pub(crate) struct InFlightLimit {
    count: Arc<AtomicUsize>,
    max: usize,
}

/// One admitted call; frees its slot when dropped.
#[derive(Debug)]
pub(crate) struct InFlight {
    count: Arc<AtomicUsize>,
}

impl InFlightLimit {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            count: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Admits one more call, or refuses it when `max` are in flight.
    pub(crate) fn try_acquire(&self) -> Result<InFlight, Refusal> {
        let before = self.count.fetch_add(1, Ordering::AcqRel);
        if before >= self.max {
            self.count.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::Overloaded(before));
        }
        Ok(InFlight {
            count: self.count.clone(),
        })
    }

    /// Calls in flight now.
    pub(crate) fn current(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_limit_and_frees_on_drop() {
        let limit = InFlightLimit::new(2);
        let a = limit.try_acquire().unwrap();
        let _b = limit.try_acquire().unwrap();
        assert!(matches!(limit.try_acquire(), Err(Refusal::Overloaded(2))));
        drop(a);
        assert_eq!(limit.current(), 1);
        assert!(limit.try_acquire().is_ok());
    }
}
