-- leash state: scoped grants. NEVER EDIT THIS FILE: add a new migration instead.
-- (File number 0005 was reserved for this change; it assumes nothing about
-- 0004 and touches only its own table and two new approval columns.)
-- A grant is a person's standing "yes" to a shape of command: a program, an
-- argv pattern, path roots, a scope (workspace, trigger or job) and an expiry.
-- It turns a policy `ask` into `allow`, never a `deny`. Rows are never
-- deleted: revoking sets revoked_at, so the audit trail can name every grant.
CREATE TABLE grants (
    id           INTEGER PRIMARY KEY,
    program      TEXT    NOT NULL,
    pattern      TEXT    NOT NULL,
    roots        TEXT    NOT NULL,
    scope_kind   TEXT    NOT NULL CHECK (scope_kind IN ('workspace', 'trigger', 'job')),
    scope_value  TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT,
    granted_by   TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    approval_id  INTEGER,
    revoked_at   TEXT,
    revoked_by   TEXT,
    uses         INTEGER NOT NULL DEFAULT 0,
    last_used_at TEXT
);
CREATE INDEX grants_active ON grants (program) WHERE revoked_at IS NULL;

-- The grant a person made while answering an approval, and the grant leash
-- suggested for it (after approvals.suggest_after approvals of one shape).
ALTER TABLE approvals ADD COLUMN grant_id INTEGER;
ALTER TABLE approvals ADD COLUMN suggested_grant TEXT;
