//! A client that watches a resumable stream the way the contracts ask: it
//! keeps the last sequence it saw, reconnects after any error or end with
//! that cursor, and drops an event whose sequence it already saw. It
//! records what a test needs to judge the stream: what arrived and when,
//! redeliveries (dropped by the cursor), real duplicates (the same event
//! under a new sequence), gaps in the sequence, and reconnections.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio_util::sync::CancellationToken;

/// One event of the stream: its sequence and, when the test counts it, the
/// id of what it is about (a notice, an incident).
pub type Event = (i64, Option<String>);

/// A stream opened after a cursor, or why it could not be.
pub type Opened = Result<BoxStream<'static, Result<Event, tonic::Status>>, tonic::Status>;

/// What a watcher saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Counted events by id, with when they arrived.
    pub arrived: BTreeMap<String, Instant>,
    /// Events whose sequence was already seen (dropped, as a client must).
    pub redelivered: u64,
    /// Ids that arrived again under a new sequence: real duplicates.
    pub duplicates: Vec<String>,
    /// (last seen, next received) where the sequence skipped.
    pub gaps: Vec<(i64, i64)>,
    pub reconnects: u64,
    last: i64,
}

/// A running watcher; stops when dropped.
pub struct Watcher {
    pub seen: Arc<Mutex<Seen>>,
    stop: CancellationToken,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Watcher {
    /// Starts watching: `open(cursor)` opens the stream after `cursor`.
    pub fn start<F, Fut>(open: F) -> Watcher
    where
        F: Fn(i64) -> Fut + Send + 'static,
        Fut: Future<Output = Opened> + Send,
    {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = CancellationToken::new();
        let (s, halt) = (seen.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let cursor = lock(&s).last;
                let opened = tokio::select! {
                    _ = halt.cancelled() => return,
                    o = open(cursor) => o,
                };
                if let Ok(mut stream) = opened {
                    loop {
                        let next = tokio::select! {
                            _ = halt.cancelled() => return,
                            n = stream.next() => n,
                        };
                        match next {
                            Some(Ok((seq, id))) => record(&s, seq, id),
                            Some(Err(_)) | None => break,
                        }
                    }
                }
                lock(&s).reconnects += 1;
                tokio::select! {
                    _ = halt.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        });
        Watcher { seen, stop }
    }

    /// Waits until every id of `expected` arrived, at most `within`;
    /// returns those that did not.
    pub async fn await_all(&self, expected: &HashSet<String>, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let missing: Vec<String> = {
                let seen = lock(&self.seen);
                expected
                    .iter()
                    .filter(|id| !seen.arrived.contains_key(*id))
                    .cloned()
                    .collect()
            };
            if missing.is_empty() || Instant::now() >= deadline {
                return missing;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn record(seen: &Mutex<Seen>, seq: i64, id: Option<String>) {
    let mut s = lock(seen);
    if seq <= s.last {
        s.redelivered += 1;
        return;
    }
    if seq != s.last + 1 {
        let last = s.last;
        s.gaps.push((last, seq));
    }
    s.last = seq;
    if let Some(id) = id {
        match s.arrived.entry(id) {
            std::collections::btree_map::Entry::Occupied(e) => {
                let id = e.key().clone();
                s.duplicates.push(id);
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(Instant::now());
            }
        }
    }
}

/// Locks, ignoring poisoning (a panicking test already failed).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
