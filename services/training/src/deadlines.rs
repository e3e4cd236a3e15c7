//! The deadline of a mandatory plan as a due row: scheduled when the plan is
//! published (moved when the deadline moves, dropped when it is
//! cancelled), run once across replicas when it comes.

use concord_kit::Error;
use concord_kit::due::{DueAction, DueHandler, Handlers};

use crate::grpc::{Training, deadline_reached};

/// The due-row kind of a mandatory plan's completion deadline.
pub const DEADLINE: &str = "training.deadline";

struct DeadlineReached(Training);

#[async_trait::async_trait]
impl DueHandler for DeadlineReached {
    async fn run(&self, action: &DueAction) -> Result<(), Error> {
        deadline_reached(&self.0, &action.subject).await
    }
}

/// The handlers of training's due rows.
pub fn handlers(training: &Training) -> Handlers {
    Handlers::new().on(DEADLINE, DeadlineReached(training.clone()))
}
