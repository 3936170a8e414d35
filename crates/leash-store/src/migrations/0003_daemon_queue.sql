-- leash state, schema version 3. NEVER EDIT THIS FILE: add a new migration instead.
-- The daemon's queue: untrusted trigger data kept apart from the prompt, the
-- file a file trigger claimed, and how often a job was re-queued after a crash.
ALTER TABLE jobs ADD COLUMN payload TEXT;
ALTER TABLE jobs ADD COLUMN file_path TEXT;
ALTER TABLE jobs ADD COLUMN requeues INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_file_path ON jobs (file_path) WHERE file_path IS NOT NULL;

-- The last commit a git trigger has seen, so a restarted daemon reports only
-- what is new.
CREATE TABLE git_marks (
    trigger_name TEXT PRIMARY KEY,
    last_commit  TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
