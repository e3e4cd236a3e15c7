-- Decisions: proposals with their participants, deliberation, the voters
-- resolved when voting opened, votes and delegations; action items with
-- their supporting departments and progress notes.
-- Times are milliseconds UTC; flags are 0/1; enums are lowercase words.

CREATE TABLE proposal (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    background TEXT NOT NULL,
    -- JSON: [{"id": "1", "label": "…"}, …]
    options TEXT NOT NULL,
    approve_or_reject BIGINT NOT NULL,
    proposer_id TEXT NOT NULL,
    owning_department_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    quorum_percent BIGINT NOT NULL,
    electorate TEXT NOT NULL,
    sealed BIGINT NOT NULL,
    consultation_end_ms BIGINT NOT NULL,
    voting_end_ms BIGINT NOT NULL,
    stage TEXT NOT NULL,
    stage_ms BIGINT NOT NULL,
    consultation_start_ms BIGINT,
    voting_start_ms BIGINT,
    -- The outcome, once voting closed.
    outcome_result TEXT,
    chosen_option TEXT,
    explanation TEXT,
    rationale TEXT,
    decided_ms BIGINT,
    decided_by TEXT,
    notice_id TEXT,
    eligible_voters BIGINT NOT NULL,
    version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX proposal_stage ON proposal (stage, id);
CREATE INDEX proposal_proposer ON proposal (proposer_id, id);
CREATE INDEX proposal_owner ON proposal (owning_department_id, id);
CREATE INDEX proposal_decided ON proposal (decided_ms);

CREATE TABLE participant (
    proposal_id TEXT NOT NULL REFERENCES proposal (id),
    department_id TEXT NOT NULL,
    role TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, department_id)
);
CREATE INDEX participant_department ON participant (department_id, proposal_id);

CREATE TABLE comment (
    id TEXT PRIMARY KEY,
    proposal_id TEXT NOT NULL REFERENCES proposal (id),
    parent_id TEXT REFERENCES comment (id),
    author_id TEXT NOT NULL,
    author_department_id TEXT NOT NULL,
    stance TEXT NOT NULL,
    body TEXT NOT NULL,
    answered BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX comment_proposal ON comment (proposal_id, id);

-- The eligible voters, as resolved when voting opened.
CREATE TABLE voter (
    proposal_id TEXT NOT NULL REFERENCES proposal (id),
    person_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    PRIMARY KEY (proposal_id, person_id)
);
CREATE INDEX voter_department ON voter (department_id, proposal_id);
CREATE INDEX voter_person ON voter (person_id, proposal_id);

CREATE TABLE vote (
    proposal_id TEXT NOT NULL,
    voter_id TEXT NOT NULL,
    -- Empty when abstaining.
    option_id TEXT NOT NULL,
    abstain BIGINT NOT NULL,
    reason TEXT NOT NULL,
    cast_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    changes BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, voter_id),
    FOREIGN KEY (proposal_id, voter_id) REFERENCES voter (proposal_id, person_id)
);

CREATE TABLE delegation (
    proposal_id TEXT NOT NULL,
    delegator_id TEXT NOT NULL,
    delegate_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, delegator_id),
    FOREIGN KEY (proposal_id, delegator_id) REFERENCES voter (proposal_id, person_id),
    FOREIGN KEY (proposal_id, delegate_id) REFERENCES voter (proposal_id, person_id)
);
CREATE INDEX delegation_delegate ON delegation (proposal_id, delegate_id);

CREATE TABLE action_item (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    proposal_id TEXT REFERENCES proposal (id),
    lead_department_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    due_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    overdue BIGINT NOT NULL,
    done_ms BIGINT,
    created_by TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX action_item_lead ON action_item (lead_department_id, due_ms, id);
CREATE INDEX action_item_owner ON action_item (owner_id, due_ms, id);
CREATE INDEX action_item_due ON action_item (due_ms, id);
CREATE INDEX action_item_proposal ON action_item (proposal_id);

CREATE TABLE action_item_support (
    action_item_id TEXT NOT NULL REFERENCES action_item (id),
    department_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (action_item_id, department_id)
);
CREATE INDEX action_item_support_department ON action_item_support (department_id, action_item_id);

CREATE TABLE progress_note (
    id TEXT PRIMARY KEY,
    action_item_id TEXT NOT NULL REFERENCES action_item (id),
    author_id TEXT NOT NULL,
    text TEXT NOT NULL,
    -- The status set with the note; empty when unchanged.
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX progress_note_item ON progress_note (action_item_id, id);
