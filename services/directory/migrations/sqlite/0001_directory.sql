-- The directory: departments as a tree, the people in them, their duties.
-- Times are milliseconds UTC; flags are 0/1; sort keys are the lowercased
-- names, compared byte-wise (BINARY) so both backends order alike.

CREATE TABLE department (
    id TEXT PRIMARY KEY,
    parent_id TEXT REFERENCES department (id),
    name TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    description TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
-- Sibling names are unique, ignoring case; roots are siblings of each other.
CREATE UNIQUE INDEX department_sibling_name ON department (COALESCE(parent_id, ''), sort_key);
CREATE INDEX department_parent ON department (parent_id);
CREATE INDEX department_sort ON department (sort_key, id);

CREATE TABLE person (
    id TEXT PRIMARY KEY,
    department_id TEXT NOT NULL REFERENCES department (id),
    display_name TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    phone TEXT NOT NULL,
    title TEXT NOT NULL,
    roles TEXT NOT NULL,
    active BIGINT NOT NULL,
    version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX person_email ON person (email_key) WHERE email_key <> '';
CREATE INDEX person_department ON person (department_id, sort_key, id);
CREATE INDEX person_sort ON person (sort_key, id);

CREATE TABLE duty (
    id TEXT PRIMARY KEY,
    department_id TEXT NOT NULL REFERENCES department (id),
    text TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX duty_department ON duty (department_id, id);

-- One row every structural change (create, move, delete of a department)
-- updates first, so concurrent moves cannot build a cycle between them.
CREATE TABLE tree_lock (
    id BIGINT PRIMARY KEY,
    changes BIGINT NOT NULL
);
INSERT INTO tree_lock (id, changes) VALUES (1, 0);
