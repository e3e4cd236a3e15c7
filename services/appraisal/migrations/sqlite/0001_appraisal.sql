-- Indicator sets: a set row and one immutable row per version with its indicators.
CREATE TABLE indicator_sets (
    id TEXT PRIMARY KEY,
    current_version BIGINT NOT NULL,
    -- Lowercased name of the current version, for ordering.
    sort_key TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX indicator_sets_by_name ON indicator_sets (sort_key, id);

CREATE TABLE indicator_set_versions (
    set_id TEXT NOT NULL REFERENCES indicator_sets (id),
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    change_note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (set_id, version)
);

CREATE TABLE indicators (
    set_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    position BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    dimension TEXT NOT NULL,
    custom_dimension TEXT NOT NULL,
    weight BIGINT NOT NULL,
    rule TEXT NOT NULL,
    floor_value DOUBLE PRECISION NOT NULL,
    target_value DOUBLE PRECISION NOT NULL,
    lower_is_better BIGINT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (set_id, version, code),
    FOREIGN KEY (set_id, version) REFERENCES indicator_set_versions (set_id, version)
);

-- Cycles pin a set version; times are UTC milliseconds, 0 meaning unset.
CREATE TABLE cycles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    set_id TEXT NOT NULL,
    set_version BIGINT NOT NULL,
    subject_kind TEXT NOT NULL,
    owner_department_id TEXT NOT NULL,
    period_start_ms BIGINT NOT NULL,
    period_end_ms BIGINT NOT NULL,
    include_sub_departments BIGINT NOT NULL,
    self_assessment BIGINT NOT NULL,
    scoring_start_ms BIGINT NOT NULL,
    scoring_deadline_ms BIGINT NOT NULL,
    stage TEXT NOT NULL,
    collected_ms BIGINT NOT NULL,
    published_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    version BIGINT NOT NULL,
    FOREIGN KEY (set_id, set_version) REFERENCES indicator_set_versions (set_id, version)
);
CREATE INDEX cycles_by_stage ON cycles (stage, id);

CREATE TABLE cycle_subjects (
    cycle_id TEXT NOT NULL REFERENCES cycles (id),
    subject_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    department_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    PRIMARY KEY (cycle_id, subject_id)
);
CREATE INDEX cycle_subjects_by_subject ON cycle_subjects (subject_id, cycle_id);
CREATE UNIQUE INDEX cycle_subjects_by_position ON cycle_subjects (cycle_id, position);

CREATE TABLE reviewers (
    cycle_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    reviewer_id TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_ms BIGINT NOT NULL,
    PRIMARY KEY (cycle_id, subject_id, reviewer_id),
    FOREIGN KEY (cycle_id, subject_id) REFERENCES cycle_subjects (cycle_id, subject_id)
);
CREATE INDEX reviewers_by_reviewer ON reviewers (reviewer_id, cycle_id);

-- Reviewers' scores (self_assessment 0, reviewer_id the reviewer) and
-- self-assessments (self_assessment 1, reviewer_id '' so there is one per
-- subject and indicator; author_id says who wrote it).
CREATE TABLE scores (
    cycle_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    indicator_code TEXT NOT NULL,
    self_assessment BIGINT NOT NULL,
    reviewer_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    comment TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (cycle_id, subject_id, indicator_code, self_assessment, reviewer_id),
    FOREIGN KEY (cycle_id, subject_id) REFERENCES cycle_subjects (cycle_id, subject_id)
);

-- The last collected value of each automatic indicator, with the figures it came from.
CREATE TABLE automatic_values (
    cycle_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    indicator_code TEXT NOT NULL,
    source TEXT NOT NULL,
    applicable BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    raw_json TEXT NOT NULL,
    collected_ms BIGINT NOT NULL,
    PRIMARY KEY (cycle_id, subject_id, indicator_code),
    FOREIGN KEY (cycle_id, subject_id) REFERENCES cycle_subjects (cycle_id, subject_id)
);

-- Every calibration is kept with its reason; the latest per indicator counts.
CREATE TABLE calibrations (
    id TEXT PRIMARY KEY,
    cycle_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    indicator_code TEXT NOT NULL,
    previous_score DOUBLE PRECISION,
    score DOUBLE PRECISION NOT NULL,
    reason TEXT NOT NULL,
    calibrated_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    FOREIGN KEY (cycle_id, subject_id) REFERENCES cycle_subjects (cycle_id, subject_id)
);
CREATE INDEX calibrations_by_cycle ON calibrations (cycle_id, id);

-- Totals and ranks frozen when a cycle is published.
CREATE TABLE results (
    cycle_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    complete BIGINT NOT NULL,
    ranking BIGINT NOT NULL,
    PRIMARY KEY (cycle_id, subject_id),
    FOREIGN KEY (cycle_id, subject_id) REFERENCES cycle_subjects (cycle_id, subject_id)
);

CREATE TABLE appraisal_feedback (
    cycle_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    strengths TEXT NOT NULL,
    improvements TEXT NOT NULL,
    -- A JSON array of strings.
    agreed_actions TEXT NOT NULL,
    author_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    acknowledged_ms BIGINT NOT NULL,
    acknowledged_by TEXT NOT NULL,
    response TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (cycle_id, subject_id),
    FOREIGN KEY (cycle_id, subject_id) REFERENCES cycle_subjects (cycle_id, subject_id)
);

CREATE TABLE commendations (
    id TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    cycle_id TEXT NOT NULL,
    title TEXT NOT NULL,
    citation TEXT NOT NULL,
    awarded_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX commendations_by_subject ON commendations (subject_id, id);
CREATE INDEX commendations_by_department ON commendations (department_id, id);
CREATE INDEX commendations_by_cycle ON commendations (cycle_id, id);
