-- A1 applications: the rules engine's input, its decision, and the case worker's decision.
CREATE TABLE applications (
    application_id TEXT PRIMARY KEY,
    person_id      TEXT NOT NULL REFERENCES persons(person_id),
    employer_id    TEXT,
    submitted_by   TEXT NOT NULL,
    input          TEXT NOT NULL,
    decision       TEXT NOT NULL,
    state          TEXT NOT NULL,
    final          TEXT,
    decided_by     TEXT,
    decided_at     INTEGER,
    decision_note  TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX applications_state ON applications(state);
CREATE INDEX applications_person ON applications(person_id);
