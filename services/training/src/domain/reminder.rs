//! What a reminded person reads: the notice of a reminder round, naming the
//! mandatory training, its deadline and how to complete it, addressed to
//! exactly the people reminded.

use concord_kit::period::OrgZone;

use super::plan::{Mode, Plan};

/// Most people one notice names (the notices service's limit).
pub const PEOPLE_PER_NOTICE: usize = 1_000;

/// One reminder notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderNotice {
    /// Stable per round and part, so a retried delivery publishes it once.
    pub request_id: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub person_ids: Vec<String>,
}

/// The notices of reminder round `round_id` of `plan` to `person_ids`
/// (sorted, so that the parts and their request ids are the same on every
/// retry): one notice per [`PEOPLE_PER_NOTICE`] people.
pub fn notices(
    plan: &Plan,
    round_id: &str,
    person_ids: &[String],
    zone: &OrgZone,
) -> Vec<ReminderNotice> {
    let title = title(plan);
    let body = body(plan, zone);
    person_ids
        .chunks(PEOPLE_PER_NOTICE)
        .enumerate()
        .map(|(part, people)| ReminderNotice {
            request_id: format!("training-reminder-{round_id}-{part}"),
            title: title.clone(),
            body: body.clone(),
            person_ids: people.to_vec(),
        })
        .collect()
}

fn title(plan: &Plan) -> String {
    let short: String = plan.content.title.chars().take(150).collect();
    format!("必修培训提醒 Mandatory training reminder: {short}")
}

fn body(plan: &Plan, zone: &OrgZone) -> String {
    let c = &plan.content;
    let at = |ms: i64| zone.local(ms).format("%Y-%m-%d %H:%M").to_string();
    let mut body = format!(
        "您尚未完成必修培训「{t}」，请在截止时间前完成。\n\
         You have not completed the mandatory training \"{t}\" yet; please complete it by the deadline.\n\n",
        t = c.title
    );
    if let Some(d) = c.deadline_ms {
        body.push_str(&format!(
            "**截止时间 Deadline: {} ({})**\n\n",
            at(d),
            zone.0.name()
        ));
    }
    body.push_str("如何完成 How to complete:\n\n");
    body.push_str(&format!(
        "1. 报名 Enrol: 如尚未报名，请在培训中报名（培训计划 Plan ID: {}）。\
         If you have not enrolled yet, enrol in the training plan (plan ID above).\n",
        plan.id
    ));
    let place = match c.mode {
        Mode::Online if !c.link.is_empty() => format!("链接 Link: {}", c.link),
        _ if !c.place.is_empty() => format!("地点 Place: {}", c.place),
        _ => String::new(),
    };
    body.push_str("2. 参加 Attend the sessions");
    if !place.is_empty() {
        body.push_str(&format!(" — {place}"));
    }
    body.push_str(":\n");
    for s in &c.sessions {
        let mut line = format!("   - {}–{} {}", at(s.start_ms), at(s.end_ms), s.title);
        if !s.place.is_empty() {
            line.push_str(&format!(" ({})", s.place));
        }
        body.push_str(&line);
        body.push('\n');
    }
    body.push_str(
        "3. 完成 Complete: 组织部门记录出勤并登记完成，完成记录（证书编号）即发放给您。\
         The organisers record your attendance and your completion, which issues your completion record.\n",
    );
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::{Audience, PlanContent, PlanState, Session};

    fn plan() -> Plan {
        Plan {
            id: "plan-1".into(),
            department_id: "hq".into(),
            content: PlanContent {
                title: "消防安全 Fire safety".into(),
                content_outline: String::new(),
                mode: Mode::OnSite,
                place: "三楼大会议室".into(),
                link: String::new(),
                sessions: vec![Session {
                    id: "s1".into(),
                    title: "第一讲".into(),
                    // 2026-10-02 09:00 in Shanghai.
                    start_ms: 1_790_902_800_000,
                    end_ms: 1_790_902_800_000 + 3 * 3_600_000,
                    place: String::new(),
                }],
                audience: Audience::default(),
                capacity: 0,
                mandatory: true,
                // 2026-10-11 08:00 in Shanghai.
                deadline_ms: Some(1_791_676_800_000),
            },
            state: PlanState::Published,
            deadline_passed: false,
            created_by: "head".into(),
            created_ms: 0,
            updated_ms: 0,
            publish_ms: Some(0),
            cancel_reason: String::new(),
            version: 2,
            counts: Default::default(),
        }
    }

    #[test]
    fn a_round_names_the_training_its_deadline_and_how_to_complete_it() {
        let people: Vec<String> = (0..2_001).map(|i| format!("p{i:05}")).collect();
        let n = notices(&plan(), "round-9", &people, &OrgZone::default());
        assert_eq!(n.len(), 3);
        assert_eq!(
            n.iter().map(|x| x.person_ids.len()).collect::<Vec<_>>(),
            [1_000, 1_000, 1]
        );
        assert_eq!(n[2].request_id, "training-reminder-round-9-2");
        assert_eq!(
            n[0].title,
            "必修培训提醒 Mandatory training reminder: 消防安全 Fire safety"
        );
        let body = &n[0].body;
        for needle in [
            "消防安全 Fire safety",
            "Deadline: 2026-10-11 08:00 (Asia/Shanghai)",
            "plan-1",
            "地点 Place: 三楼大会议室",
            "2026-10-02 09:00–2026-10-02 12:00 第一讲",
            "Enrol",
        ] {
            assert!(body.contains(needle), "{needle} missing from {body}");
        }
    }
}
