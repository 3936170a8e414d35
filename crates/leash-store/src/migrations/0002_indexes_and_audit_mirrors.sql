-- leash state, schema version 2. NEVER EDIT THIS FILE: add a new migration instead.
CREATE INDEX jobs_by_state ON jobs (state, priority DESC, id);
CREATE INDEX jobs_by_dedup_key ON jobs (dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX approvals_by_state ON approvals (state, expires_at);
CREATE INDEX approvals_by_job ON approvals (job_id);
CREATE INDEX audit_by_job ON audit (job_id) WHERE job_id IS NOT NULL;

-- Every JSONL mirror the audit log has been written to, so that a mirror whose
-- files were all deleted is told apart from one that was never started.
CREATE TABLE audit_mirrors (
    path        TEXT    PRIMARY KEY,
    started_seq INTEGER NOT NULL,
    started_at  TEXT    NOT NULL
);
