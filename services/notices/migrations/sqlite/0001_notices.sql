-- Notices, their receipts, the inbox event log, communication rules,
-- publishing grants and recurring meetings. Times are milliseconds UTC;
-- flags are 0/1; enums are their protobuf numbers.

CREATE TABLE notice (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_department_id TEXT NOT NULL,
    -- JSON: everyone, department_ids, include_sub_departments, person_ids.
    audience TEXT NOT NULL,
    priority BIGINT NOT NULL,
    ack_required BIGINT NOT NULL,
    -- JSON list of {title, url}.
    attachments TEXT NOT NULL,
    publish_ms BIGINT,
    expire_ms BIGINT,
    state BIGINT NOT NULL,
    published_ms BIGINT,
    recipient_count BIGINT NOT NULL,
    -- 1 once the new-notice events are in the recipients' inboxes (quiet
    -- hours may hold them until morning).
    pushed BIGINT NOT NULL,
    meeting_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX notice_author ON notice (author_id, id);
CREATE INDEX notice_author_department ON notice (author_department_id, id);
CREATE INDEX notice_published ON notice (published_ms);

-- One row per recipient, written in the publishing transaction.
CREATE TABLE receipt (
    notice_id TEXT NOT NULL REFERENCES notice (id),
    person_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    delivered_ms BIGINT NOT NULL,
    ack_required BIGINT NOT NULL,
    read_ms BIGINT,
    ack_ms BIGINT,
    reminders BIGINT NOT NULL,
    last_reminder_id TEXT NOT NULL,
    PRIMARY KEY (notice_id, person_id)
);
CREATE INDEX receipt_inbox ON receipt (person_id, delivered_ms, notice_id);
CREATE INDEX receipt_department ON receipt (department_id, delivered_ms);
CREATE INDEX receipt_delivered ON receipt (delivered_ms);

-- Each person's inbox event counter, incremented under its row lock in the
-- transaction that writes the person's events: sequences are gap-free in
-- commit order, so a resuming stream never skips one.
CREATE TABLE inbox_seq (
    person_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);

CREATE TABLE inbox_event (
    person_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind BIGINT NOT NULL,
    notice_id TEXT NOT NULL REFERENCES notice (id),
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (person_id, seq)
);

-- A RemindUnread round: who it reached is the receipts whose
-- last_reminder_id names it.
CREATE TABLE reminder (
    id TEXT PRIMARY KEY,
    notice_id TEXT NOT NULL REFERENCES notice (id),
    target BIGINT NOT NULL,
    recipients BIGINT NOT NULL,
    delivered BIGINT NOT NULL,
    sent_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX reminder_notice ON reminder (notice_id);

CREATE TABLE communication_rule (
    priority BIGINT PRIMARY KEY,
    push_start_hour BIGINT NOT NULL,
    push_end_hour BIGINT NOT NULL,
    ack_required BIGINT NOT NULL,
    version BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
INSERT INTO communication_rule (priority, push_start_hour, push_end_hour, ack_required, version, updated_ms)
VALUES (1, 8, 20, 0, 1, 0), (2, 7, 22, 0, 1, 0), (3, 0, 24, 1, 1, 0);

CREATE TABLE publishing_grant (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (person_id, department_id)
);
CREATE INDEX publishing_grant_department ON publishing_grant (department_id);

CREATE TABLE meeting (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    description TEXT NOT NULL,
    recurrence BIGINT NOT NULL,
    first_start_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    location TEXT NOT NULL,
    organizing_department_id TEXT NOT NULL,
    until_ms BIGINT,
    cancelled BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX meeting_sort ON meeting (sort_key, id);
CREATE INDEX meeting_organizer ON meeting (organizing_department_id);

-- kind: 'department' or 'person'.
CREATE TABLE meeting_participant (
    meeting_id TEXT NOT NULL REFERENCES meeting (id),
    kind TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, kind, ref_id)
);
CREATE INDEX meeting_participant_ref ON meeting_participant (kind, ref_id);

CREATE TABLE meeting_minutes (
    meeting_id TEXT NOT NULL REFERENCES meeting (id),
    occurrence BIGINT NOT NULL,
    minutes TEXT NOT NULL,
    notice_id TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_ms BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, occurrence)
);

CREATE TABLE agenda_item (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meeting (id),
    occurrence BIGINT NOT NULL,
    title TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX agenda_item_occurrence ON agenda_item (meeting_id, occurrence, id);

CREATE TABLE attendance (
    meeting_id TEXT NOT NULL REFERENCES meeting (id),
    occurrence BIGINT NOT NULL,
    person_id TEXT NOT NULL,
    status BIGINT NOT NULL,
    recorded_ms BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, occurrence, person_id)
);
