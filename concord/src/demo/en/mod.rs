//! The demo organisation in English: a city's civic services centre, with
//! the same departments, people and events as the Chinese one.

mod cases;
mod org;
mod work;

use super::content::*;

pub static CONTENT: Content = Content {
    domain: "riverside-civic.example.org",
    surnames: org::SURNAMES,
    given_names: org::GIVEN_NAMES,
    family_first: false,
    departments: org::DEPARTMENTS,
    deputy_title: "Deputy Director",
    admin_title: "System Administrator",
    coordinator_title: "Coordination Officer",
    auditor_title: "Internal Auditor",
    notices: work::NOTICES,
    meetings: work::MEETINGS,
    proposals: work::PROPOSALS,
    actions: work::ACTIONS,
    feedback: cases::FEEDBACK,
    accept_comment: "Received; we are arranging it.",
    start_comment: "Someone is working on it; we will keep you posted.",
    route_comment: "Passed on to the department responsible.",
    reopen_comment: "The problem is still there; please look again.",
    confirm_comment: "Quick and helpful, thank you!",
    plans: cases::PLANS,
    incidents: cases::INCIDENTS,
    trainings: cases::TRAININGS,
    development: cases::DEVELOPMENT,
    appraisal: cases::APPRAISAL,
};
