-- leash state, schema version 4. NEVER EDIT THIS FILE: add a new migration instead.
-- The rollback journal. One row per file-changing action, committed (fsynced)
-- before the action runs, in state `not_started`; `done` once it ran (with the
-- targets' after-images), `undone` once `leash undo` restored it. `job_id` is
-- NULL for a command run outside a job (`leash exec`). `audit_seq` is the
-- `undo.journaled` audit record of the entry.
CREATE TABLE undo_actions (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER,
    step        INTEGER,
    action      INTEGER,
    audit_seq   INTEGER,
    summary     TEXT    NOT NULL,
    class       TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX undo_actions_by_job ON undo_actions (job_id);

-- One row per write target: its path (bytes: names need not be UTF-8), and
-- its pre-image and after-image as a snapshot document leash-undo defines
-- (file contents live content-addressed in the state dir's undo store).
CREATE TABLE undo_targets (
    id          INTEGER PRIMARY KEY,
    action_id   INTEGER NOT NULL REFERENCES undo_actions (id) ON DELETE CASCADE,
    path        BLOB    NOT NULL,
    recursive   INTEGER NOT NULL,
    before      TEXT    NOT NULL,
    after       TEXT
);
CREATE INDEX undo_targets_by_action ON undo_targets (action_id);
CREATE INDEX undo_targets_by_path ON undo_targets (path);
