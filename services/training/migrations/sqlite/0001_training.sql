-- Training: plans with their sessions and the audience they resolved to,
-- enrolments (seats and the waiting list), attendance per session,
-- completion records, reminders, and personal development plans.
-- Times are milliseconds UTC; flags are 0/1; enums are their stored
-- spellings; assessment scores are hundredths of a point.

CREATE TABLE training_plan (
    id TEXT PRIMARY KEY,
    department_id TEXT NOT NULL,
    title TEXT NOT NULL,
    content_outline TEXT NOT NULL,
    mode TEXT NOT NULL,
    place TEXT NOT NULL,
    link TEXT NOT NULL,
    -- JSON arrays of ids.
    audience_departments TEXT NOT NULL,
    audience_sub_departments BIGINT NOT NULL,
    audience_people TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    mandatory BIGINT NOT NULL,
    deadline_ms BIGINT,
    state TEXT NOT NULL,
    deadline_passed BIGINT NOT NULL,
    -- The first session's start, the list order.
    first_session_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    publish_ms BIGINT,
    cancel_reason TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX training_plan_order ON training_plan (first_session_ms, id);
CREATE INDEX training_plan_department ON training_plan (department_id);
CREATE INDEX training_plan_deadline ON training_plan (deadline_ms);

CREATE TABLE training_session (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL REFERENCES training_plan (id),
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    place TEXT NOT NULL
);
CREATE INDEX training_session_plan ON training_session (plan_id, position);
CREATE INDEX training_session_start ON training_session (start_ms);

-- The people a published plan's audience covers (the required people of a
-- mandatory plan), with the reminders each was sent.
CREATE TABLE training_audience (
    plan_id TEXT NOT NULL REFERENCES training_plan (id),
    person_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    reminders BIGINT NOT NULL,
    last_reminder_ms BIGINT,
    -- Set at the deadline when the person had not completed by then.
    non_compliant BIGINT NOT NULL,
    PRIMARY KEY (plan_id, person_id)
);
CREATE INDEX training_audience_person ON training_audience (person_id);

CREATE TABLE training_enrolment (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL REFERENCES training_plan (id),
    person_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    status TEXT NOT NULL,
    -- Waiting-list order: a per-plan counter, drawn anew on every
    -- (re-)enrolment under the plan's lock.
    queue_key TEXT NOT NULL,
    enrol_ms BIGINT NOT NULL,
    seat_ms BIGINT,
    cancel_ms BIGINT,
    completed_ms BIGINT,
    certificate_number TEXT UNIQUE,
    score_centi BIGINT,
    issued_by TEXT NOT NULL,
    UNIQUE (plan_id, person_id)
);
CREATE INDEX training_enrolment_queue ON training_enrolment (plan_id, status, queue_key);
CREATE INDEX training_enrolment_person ON training_enrolment (person_id, id);
CREATE INDEX training_enrolment_enrolled ON training_enrolment (enrol_ms);
CREATE INDEX training_enrolment_completed ON training_enrolment (completed_ms);

CREATE TABLE training_attendance (
    session_id TEXT NOT NULL REFERENCES training_session (id),
    person_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    present BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    record_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, person_id)
);
CREATE INDEX training_attendance_plan ON training_attendance (plan_id, person_id);

CREATE TABLE training_reminder (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    round_id TEXT NOT NULL,
    sent_ms BIGINT NOT NULL
);
CREATE INDEX training_reminder_plan ON training_reminder (plan_id, person_id);

-- Certificate numbers per local year, drawn under the row's lock.
CREATE TABLE certificate_counter (
    year BIGINT PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE development_plan (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    title TEXT NOT NULL,
    mentor_id TEXT NOT NULL,
    career_path TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    last_review_ms BIGINT,
    version BIGINT NOT NULL
);
CREATE INDEX development_plan_person ON development_plan (person_id, id);
CREATE INDEX development_plan_department ON development_plan (department_id, id);
CREATE INDEX development_plan_mentor ON development_plan (mentor_id, id);

CREATE TABLE development_goal (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL REFERENCES development_plan (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    target_date TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX development_goal_plan ON development_goal (plan_id, target_date);

CREATE TABLE development_progress (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL REFERENCES development_plan (id),
    goal_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    text TEXT NOT NULL,
    goal_status TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX development_progress_plan ON development_progress (plan_id, id);

CREATE TABLE development_review (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL REFERENCES development_plan (id),
    reviewer_id TEXT NOT NULL,
    comment TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX development_review_plan ON development_review (plan_id, id);
