//! Training's due rows, each run once across replicas when it comes:
//! the deadline of a mandatory plan (scheduled when the plan is published,
//! moved when the deadline moves, dropped when it is cancelled), and the
//! delivery of a reminder round as notices (written with the round, retried
//! until the notices are out).

use concord_kit::Error;
use concord_kit::due::{DueAction, DueHandler, Handlers};

use crate::grpc::{Training, deadline_reached, deliver_reminder};

/// The due-row kind of a mandatory plan's completion deadline.
pub const DEADLINE: &str = "training.deadline";

/// The due-row kind of a reminder round's notices: the subject is the
/// round's id, the payload the plan's id.
pub const REMINDER: &str = "training.reminder";

struct DeadlineReached(Training);

#[async_trait::async_trait]
impl DueHandler for DeadlineReached {
    async fn run(&self, action: &DueAction) -> Result<(), Error> {
        deadline_reached(&self.0, &action.subject).await
    }
}

struct DeliverReminder(Training);

#[async_trait::async_trait]
impl DueHandler for DeliverReminder {
    async fn run(&self, action: &DueAction) -> Result<(), Error> {
        deliver_reminder(&self.0, &action.payload, &action.subject, action.attempt).await
    }
}

/// The handlers of training's due rows.
pub fn handlers(training: &Training) -> Handlers {
    Handlers::new()
        .on(DEADLINE, DeadlineReached(training.clone()))
        .on(REMINDER, DeliverReminder(training.clone()))
}
