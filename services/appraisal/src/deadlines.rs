//! The cycle deadlines as stored due actions: at `scoring_start_time` a cycle
//! still OPEN moves to SCORING (collecting its automatic indicators; a
//! source that cannot be reached makes the action fail and run again
//! later), at `scoring_deadline` a cycle still in SCORING moves to
//! CALIBRATION. Both check the stage first, so a run after a restart, on
//! another replica, or after a manager already moved the cycle changes
//! nothing.

use concord_kit::Error;
use concord_kit::due::{DueAction, DueHandler, Handlers};

use crate::domain::{SYSTEM_ACTOR, Stage};
use crate::flow::{self, SCORING_DEADLINE, SCORING_START};
use crate::service::Appraisal;

/// Moves a cycle on from `from` when it is still there.
struct MoveOn {
    app: Appraisal,
    from: Stage,
}

#[async_trait::async_trait]
impl DueHandler for MoveOn {
    async fn run(&self, action: &DueAction) -> Result<(), Error> {
        let cycle = match self.app.cycle(&action.subject).await {
            Ok(c) => c,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        if cycle.stage != self.from {
            return Ok(());
        }
        match flow::advance(&self.app, SYSTEM_ACTOR, &cycle.id, self.from, None).await {
            Ok(_) => Ok(()),
            // A manager moved it meanwhile.
            Err(Error::FailedPrecondition(why)) => {
                tracing::info!(cycle_id = %cycle.id, why = %why, "deadline found the cycle moved on");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// The handlers of the appraisal's due actions.
pub fn handlers(app: &Appraisal) -> Handlers {
    Handlers::new()
        .on(
            SCORING_START,
            MoveOn {
                app: app.clone(),
                from: Stage::Open,
            },
        )
        .on(
            SCORING_DEADLINE,
            MoveOn {
                app: app.clone(),
                from: Stage::Scoring,
            },
        )
}
