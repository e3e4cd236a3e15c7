-- Emergency response: plans (every edit a new version), incidents and drills
-- declared from a plan version, alerts and their per-person deliveries, the
-- timeline. Times are milliseconds UTC; flags are 0/1; NULL times are unset.

CREATE TABLE plan (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    owner_department_id TEXT NOT NULL,
    incident_type BIGINT NOT NULL,
    archived BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX plan_owner ON plan (owner_department_id, id);

-- Versions are never changed once written; incidents refer to them.
CREATE TABLE plan_version (
    plan_id TEXT NOT NULL REFERENCES plan (id),
    version BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    incident_type BIGINT NOT NULL,
    severity BIGINT NOT NULL,
    owner_department_id TEXT NOT NULL,
    -- JSON: steps, contacts and the escalation chain as written.
    steps TEXT NOT NULL,
    contacts TEXT NOT NULL,
    escalation_chain TEXT NOT NULL,
    ack_timeout_ms BIGINT NOT NULL,
    reminder_ms BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (plan_id, version)
);

CREATE TABLE incident (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL,
    plan_version BIGINT NOT NULL,
    owner_department_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    incident_type BIGINT NOT NULL,
    severity BIGINT NOT NULL,
    drill BIGINT NOT NULL,
    status BIGINT NOT NULL,
    declared_by TEXT NOT NULL,
    declared_ms BIGINT NOT NULL,
    contained_ms BIGINT,
    resolved_ms BIGINT,
    ack_timeout_ms BIGINT NOT NULL,
    reminder_ms BIGINT NOT NULL,
    escalation_chain TEXT NOT NULL,
    -- JSON: the person ids of the plan's contacts.
    contact_people TEXT NOT NULL,
    review_summary TEXT NOT NULL,
    review_lessons TEXT NOT NULL,
    reviewed_by TEXT NOT NULL,
    reviewed_ms BIGINT,
    version BIGINT NOT NULL
);
CREATE INDEX incident_declared ON incident (declared_ms);
CREATE INDEX incident_plan ON incident (plan_id, id);

CREATE TABLE incident_step (
    incident_id TEXT NOT NULL REFERENCES incident (id),
    idx BIGINT NOT NULL,
    title TEXT NOT NULL,
    instructions TEXT NOT NULL,
    department_id TEXT NOT NULL,
    target_minutes BIGINT NOT NULL,
    completed_ms BIGINT,
    completed_by TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (incident_id, idx)
);
CREATE INDEX incident_step_department ON incident_step (department_id);

-- One row per department an incident alerted: its acknowledgement and how
-- far its escalation went. `drill` and `declared_ms` are copied from the
-- incident for the statistics.
CREATE TABLE incident_department (
    incident_id TEXT NOT NULL REFERENCES incident (id),
    department_id TEXT NOT NULL,
    drill BIGINT NOT NULL,
    declared_ms BIGINT NOT NULL,
    alerted_ms BIGINT NOT NULL,
    ack_timeout_ms BIGINT NOT NULL,
    people_alerted BIGINT NOT NULL,
    acknowledged_ms BIGINT,
    acknowledged_by TEXT NOT NULL,
    escalation_level BIGINT NOT NULL,
    reminders_sent BIGINT NOT NULL,
    PRIMARY KEY (incident_id, department_id)
);
CREATE INDEX incident_department_department ON incident_department (department_id, declared_ms);
CREATE INDEX incident_department_declared ON incident_department (declared_ms);

-- Who an incident reached and for which department (the audience, and the
-- people escalations reached).
CREATE TABLE incident_recipient (
    incident_id TEXT NOT NULL REFERENCES incident (id),
    person_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    first_alert_ms BIGINT NOT NULL,
    acknowledged_ms BIGINT,
    PRIMARY KEY (incident_id, person_id, department_id)
);
CREATE INDEX incident_recipient_person ON incident_recipient (person_id, incident_id);

CREATE TABLE alert (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incident (id),
    kind BIGINT NOT NULL,
    drill BIGINT NOT NULL,
    severity BIGINT NOT NULL,
    incident_type BIGINT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    department_id TEXT NOT NULL,
    escalation_level BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX alert_incident ON alert (incident_id, id);

-- The last alert sequence of each person, incremented under its row lock in
-- the transaction that delivers, so a person's deliveries are gap-free in
-- commit order and a stream cursor never passes a row still to commit.
CREATE TABLE alert_counter (
    person_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);

CREATE TABLE alert_delivery (
    person_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    alert_id TEXT NOT NULL REFERENCES alert (id),
    incident_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    acknowledged_ms BIGINT,
    PRIMARY KEY (person_id, seq)
);
CREATE UNIQUE INDEX alert_delivery_alert ON alert_delivery (alert_id, person_id);
CREATE INDEX alert_delivery_incident ON alert_delivery (incident_id, person_id);

CREATE TABLE timeline_entry (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incident (id),
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    department_id TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX timeline_entry_incident ON timeline_entry (incident_id, id);
