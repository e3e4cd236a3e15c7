-- Feedback: items with their SLA deadlines, their timelines, the SLA
-- policies, and the keys that recognise retried anonymous submissions.
-- Times are milliseconds UTC; flags are 0/1; enums are their stored
-- spellings. An anonymous item has no submitter_id: nothing here names the
-- person who sent it.

CREATE TABLE feedback_item (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    location TEXT NOT NULL,
    links TEXT NOT NULL,
    anonymous BIGINT NOT NULL,
    submitter_id TEXT,
    -- SHA-256 of the normalized follow-up code (anonymous items only).
    code_hash TEXT,
    department_id TEXT,
    routing TEXT NOT NULL,
    owner_id TEXT,
    status TEXT NOT NULL,
    escalation_level BIGINT NOT NULL,
    first_response_due_ms BIGINT NOT NULL,
    resolution_start_ms BIGINT NOT NULL,
    resolution_due_ms BIGINT NOT NULL,
    first_response_ms BIGINT,
    resolved_ms BIGINT,
    solution TEXT NOT NULL,
    auto_close_ms BIGINT,
    closed_ms BIGINT,
    closed_automatically BIGINT NOT NULL,
    satisfaction BIGINT,
    satisfaction_comment TEXT NOT NULL,
    reopen_count BIGINT NOT NULL,
    first_response_breached BIGINT NOT NULL,
    resolution_breached BIGINT NOT NULL,
    entries BIGINT NOT NULL,
    version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX feedback_item_code ON feedback_item (code_hash);
CREATE INDEX feedback_item_department ON feedback_item (department_id, id);
CREATE INDEX feedback_item_submitter ON feedback_item (submitter_id, id);
CREATE INDEX feedback_item_owner ON feedback_item (owner_id, id);
CREATE INDEX feedback_item_status ON feedback_item (status, department_id);
CREATE INDEX feedback_item_created ON feedback_item (created_ms);

-- The timeline of an item, numbered 1, 2, … per item under the item's lock.
CREATE TABLE feedback_entry (
    item_id TEXT NOT NULL REFERENCES feedback_item (id),
    seq BIGINT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    public BIGINT NOT NULL,
    author TEXT NOT NULL,
    author_id TEXT,
    text TEXT NOT NULL,
    status TEXT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (item_id, seq)
);

-- '' means any category or any priority.
CREATE TABLE sla_policy (
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    first_response_ms BIGINT NOT NULL,
    resolution_ms BIGINT NOT NULL,
    escalate_after_ms BIGINT NOT NULL,
    auto_close_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (category, priority)
);

-- Retried anonymous submissions, by a hash of caller and request_id; kept a
-- day.
CREATE TABLE anonymous_request (
    key_hash TEXT PRIMARY KEY,
    item_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX anonymous_request_created ON anonymous_request (created_ms);
