//! The demo organisation in Chinese: a city's government service centre,
//! written as its staff would write.

mod cases;
mod org;
mod work;

use super::content::*;

pub static CONTENT: Content = Content {
    domain: "jiangzhou-zwfw.example.cn",
    surnames: org::SURNAMES,
    given_names: org::GIVEN_NAMES,
    family_first: true,
    departments: org::DEPARTMENTS,
    deputy_title: "副主任",
    admin_title: "系统管理员",
    coordinator_title: "督查专员",
    auditor_title: "内审员",
    notices: work::NOTICES,
    meetings: work::MEETINGS,
    proposals: work::PROPOSALS,
    actions: work::ACTIONS,
    feedback: cases::FEEDBACK,
    accept_comment: "已受理，正在安排处理。",
    start_comment: "已派专人处理，处理进展将及时告知。",
    route_comment: "根据部门职责转交办理。",
    reopen_comment: "问题仍未解决，请再次处理。",
    confirm_comment: "处理及时，谢谢！",
    plans: cases::PLANS,
    incidents: cases::INCIDENTS,
    trainings: cases::TRAININGS,
    development: cases::DEVELOPMENT,
    appraisal: cases::APPRAISAL,
};
