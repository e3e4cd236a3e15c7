//! Sending an alert: committed to the database first (the alert and one
//! numbered delivery per person, in the caller's transaction), announced on
//! the bus after the commit.

use concord_kit::Error;
use concord_kit::announce::Announcer;
use sqlx::AnyConnection;

use crate::domain::{Alert, AlertKind, Recipient};
use crate::{metrics, store};

/// An alert written in a transaction; announce it once that commits.
#[must_use = "announce the alert after the commit"]
#[derive(Debug)]
pub struct Sent {
    kind: AlertKind,
    drill: bool,
    people: Vec<String>,
}

impl Sent {
    /// The people the alert reached.
    pub fn people(&self) -> usize {
        self.people.len()
    }

    /// Counts the alert and announces it to its people. Call after the commit.
    pub fn announce(self, announcer: &Announcer) {
        metrics::published(self.kind.name(), self.drill, 1);
        announcer.ring(self.people);
    }
}

/// Writes `alert` and delivers it to `recipients` (each person once).
pub async fn send(
    conn: &mut AnyConnection,
    alert: &Alert,
    recipients: &[Recipient],
) -> Result<Sent, Error> {
    store::alert::insert(conn, alert).await?;
    let people = store::alert::deliver(conn, alert, recipients).await?;
    Ok(Sent {
        kind: alert.kind,
        drill: alert.drill,
        people,
    })
}
