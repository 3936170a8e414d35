-- leash state, schema version 1. NEVER EDIT THIS FILE: add a new migration instead.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    trigger_kind TEXT    NOT NULL,
    trigger_name TEXT,
    priority     INTEGER NOT NULL DEFAULT 0,
    dedup_key    TEXT,
    prompt       TEXT    NOT NULL,
    mode         TEXT,
    workspace    TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    result       TEXT
);

CREATE TABLE approvals (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER REFERENCES jobs(id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    argv       TEXT    NOT NULL,
    cwd        TEXT,
    rule       TEXT,
    reason     TEXT,
    decided_by TEXT,
    decided_at TEXT,
    channel    TEXT
);

CREATE TABLE conversations (
    job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    step       INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    content    TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (job_id, step)
);

-- The audit chain. No foreign key to jobs: audit records outlive anything they
-- mention, and a job row being deleted must never break the chain.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    ts        TEXT    NOT NULL,
    job_id    INTEGER,
    kind      TEXT    NOT NULL,
    payload   TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);

CREATE TABLE schedule_marks (
    trigger_name TEXT PRIMARY KEY,
    last_run     TEXT NOT NULL
);
