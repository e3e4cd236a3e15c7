//! Streams that resume from a cursor: what was missed comes from the
//! database first, then the stream goes live on the bus. The bus message is
//! only a doorbell; the database is the truth, so an event published while
//! Redis was down is still delivered (at the next doorbell, gap or poll).
//!
//! The fetch function must return rows strictly after the cursor in cursor
//! order, and the cursor must be gap-free per stream in commit order (for
//! example a per-recipient counter incremented under a row lock in the
//! transaction that writes the row), so a row can never commit behind a
//! cursor that has already moved past it.

use std::future::Future;
use std::time::Duration;

use futures::Stream;
use tokio_util::sync::CancellationToken;

use crate::bus::{Delivery, SharedBus};
use crate::error::Error;

/// How a resumable stream behaves.
#[derive(Debug, Clone)]
pub struct ResumeOptions {
    /// The bus topic whose messages announce new rows.
    pub topic: String,
    /// Re-read the database at least this often even without a doorbell.
    pub poll_every: Duration,
}

/// Yields `(cursor, item)` pairs after `cursor`: backlog first, then live.
/// `relevant` decides from a bus payload whether it may concern this
/// subscriber (to avoid a database read per message per subscriber). The
/// stream ends with UNAVAILABLE at shutdown so clients reconnect elsewhere
/// and resume.
pub fn resume<T, F, Fut, R>(
    bus: SharedBus,
    options: ResumeOptions,
    mut cursor: i64,
    fetch: F,
    relevant: R,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<(i64, T), tonic::Status>> + Send
where
    T: Send + 'static,
    F: Fn(i64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<(i64, T)>, Error>> + Send,
    R: Fn(&[u8]) -> bool + Send + Sync + 'static,
{
    async_stream_impl(bus, options, move |tx| async move {
        // Subscribe before reading the backlog so nothing falls between.
        let mut sub = tx.bus.subscribe(&tx.options.topic);
        let mut poll = tokio::time::interval(tx.options.poll_every);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut due = true;
        loop {
            if due {
                loop {
                    let rows = match fetch(cursor).await {
                        Ok(rows) => rows,
                        Err(e) => {
                            let _ = tx.send(Err(e.into())).await;
                            return;
                        }
                    };
                    if rows.is_empty() {
                        break;
                    }
                    for (seq, item) in rows {
                        if seq <= cursor {
                            continue;
                        }
                        cursor = seq;
                        if tx.send(Ok((seq, item))).await.is_err() {
                            return; // the client went away
                        }
                    }
                }
            }
            due = tokio::select! {
                _ = shutdown.cancelled() => {
                    let _ = tx.send(Err(tonic::Status::unavailable("server shutting down; resume from your cursor"))).await;
                    return;
                }
                _ = tx.closed() => return,
                d = sub.recv() => match d {
                    Some(Delivery::Message(m)) => relevant(&m),
                    Some(Delivery::Gap) => true,
                    None => {
                        let _ = tx.send(Err(tonic::Status::unavailable("event bus closed"))).await;
                        return;
                    }
                },
                _ = poll.tick() => true,
            };
        }
    })
}

/// The sending half handed to the producer task.
struct Sender<T> {
    bus: SharedBus,
    options: ResumeOptions,
    inner: tokio::sync::mpsc::Sender<Result<(i64, T), tonic::Status>>,
}

impl<T> Sender<T> {
    async fn send(&self, item: Result<(i64, T), tonic::Status>) -> Result<(), ()> {
        self.inner.send(item).await.map_err(|_| ())
    }
    async fn closed(&self) {
        self.inner.closed().await
    }
}

fn async_stream_impl<T, P, PF>(
    bus: SharedBus,
    options: ResumeOptions,
    producer: P,
) -> impl Stream<Item = Result<(i64, T), tonic::Status>> + Send
where
    T: Send + 'static,
    P: FnOnce(Sender<T>) -> PF,
    PF: Future<Output = ()> + Send + 'static,
{
    // A small buffer: a slow client applies back-pressure to its own task only.
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(producer(Sender {
        bus,
        options,
        inner: tx,
    }));
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
