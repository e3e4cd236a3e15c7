//! An anonymous submission's whole life, with every log line and span of the
//! process captured at TRACE level: submission (routed by duties through the
//! directory), a retried submission, follow-up by code (also with the
//! submitter's token attached, as a careless client would), the
//! department's work, an SLA escalation announced on the bus, a restart,
//! reopening, closing by itself, statistics and metrics. Nothing the
//! process writes names the submitter, shows their token, or shows a
//! follow-up code. Its own test binary, so its subscriber is the process's.

mod common;

use std::io::Write;
use std::sync::{Mutex, Once};

use common::*;
use concord_kit::bus::Delivery;
use concord_kit::testing::{Backend, with_token};
use concord_proto::feedback::v1::*;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        Capture
    }
}

/// Everything, at TRACE, with span fields when spans open and close.
fn capture_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(Capture)
            .try_init()
            .expect("this test binary's only subscriber");
    });
}

fn logs_since(offset: usize) -> String {
    let logs = LOGS.lock().unwrap_or_else(|p| p.into_inner());
    String::from_utf8_lossy(&logs[offset.min(logs.len())..]).into_owned()
}

async fn an_anonymous_life_leaves_no_trace_of_the_submitter(backend: Backend) {
    capture_logs();
    let mut s = Suite::start(backend).await;
    let o = s.org.clone();
    let start = LOGS.lock().unwrap_or_else(|p| p.into_inner()).len();
    let mut bus = s.subscribe_escalations();

    let req = SubmitFeedbackRequest {
        request_id: "匿名-1".into(),
        channel: Channel::Hotline as i32,
        category: Category::Complaint as i32,
        subject: "办公楼保洁不到位".into(),
        body: "三楼厕所连续一周没有保洁，需要维修水管".into(),
        anonymous: true,
        ..Default::default()
    };
    let first = s.submit(&o.whistleblower, req.clone()).await;
    let second = s.submit(&o.whistleblower, req).await;
    let item = second.item.expect("item");
    assert_eq!(item.department_id, o.logistics, "routed by duties");
    let code = second.follow_up_code.clone();

    // Follow-up by code, once with the submitter's token attached.
    s.c()
        .reply_by_code(with_token(
            ReplyByCodeRequest {
                request_id: "补充".into(),
                follow_up_code: code.clone(),
                text: "补充：二楼也一样".into(),
            },
            &o.whistleblower.token,
        ))
        .await
        .expect("reply by code");
    s.c()
        .get_feedback_by_code(GetFeedbackByCodeRequest {
            follow_up_code: code.to_lowercase(),
        })
        .await
        .expect("view by code");

    // The department works on it; the resolution deadline passes first.
    s.assign(&o.logistics_head, &item.id, &o.logistics_staff)
        .await;
    s.accept(&o.logistics_staff, &item.id).await;
    s.c()
        .add_feedback_reply(by(
            &o.logistics_staff,
            AddFeedbackReplyRequest {
                id: item.id.clone(),
                text: "内部：保洁外包合同到期".into(),
                internal: true,
                ..Default::default()
            },
        ))
        .await
        .expect("note");
    s.advance(7 * DAY + MINUTE);
    let escalation = next_escalation(&mut bus).await;
    assert_eq!(escalation.item_id, item.id);

    // A restart, then the rest of the loop.
    s.restart().await;
    s.resolve(&o.logistics_staff, &item.id, "已续签保洁合同并每日检查")
        .await;
    s.c()
        .reopen_feedback_by_code(ReopenFeedbackByCodeRequest {
            follow_up_code: code.clone(),
            comment: "还是没人打扫".into(),
        })
        .await
        .expect("reopen by code");
    s.resolve(&o.logistics_head, &item.id, "已更换保洁公司")
        .await;
    s.advance(7 * DAY + MINUTE);
    s.item_until(&item.id, "closing by itself", |i| i.closed_automatically)
        .await;
    s.c()
        .get_feedback_statistics(by(
            &o.admin,
            GetFeedbackStatisticsRequest {
                start_time: Some(concord_kit::clock::to_timestamp(T0)),
                end_time: Some(concord_kit::clock::to_timestamp(T0 + 86_400_000)),
                ..Default::default()
            },
        ))
        .await
        .expect("statistics");
    let metrics = concord_kit::metrics::render();
    s.restart().await;

    let logs = logs_since(start);
    // The capture works: the item's life is in the logs.
    assert!(logs.contains(&item.id), "the logs do not mention the item");
    assert!(logs.contains("feedback submitted") && logs.contains("feedback escalated"));
    assert!(logs.contains("GetFeedbackByCode") && logs.contains("ReopenFeedbackByCode"));
    // And nothing of the submitter is.
    let secrets = [
        ("the submitter's id", o.whistleblower.id.as_str()),
        ("the submitter's name", "匿名者本人"),
        ("the submitter's token", o.whistleblower.token.as_str()),
        ("the first follow-up code", first.follow_up_code.as_str()),
        ("the follow-up code", code.as_str()),
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(secret), "the logs show {what}");
        assert!(!metrics.contains(secret), "the metrics show {what}");
        let bare = secret.replace('-', "");
        assert!(!logs.contains(&bare), "the logs show {what} without dashes");
    }
    assert!(!escalation.notify_person_ids.contains(&o.whistleblower.id));
    while let Ok(Some(d)) =
        tokio::time::timeout(std::time::Duration::from_millis(100), bus.recv()).await
    {
        if let Delivery::Message(m) = d {
            let found = m
                .windows(o.whistleblower.id.len())
                .any(|w| w == o.whistleblower.id.as_bytes());
            assert!(!found, "a bus message names the submitter");
        }
    }
}

concord_kit::backend_tests!(an_anonymous_life_leaves_no_trace_of_the_submitter);
