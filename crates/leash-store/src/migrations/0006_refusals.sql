-- leash state: learning from refusals, and what an approval request shows.
-- NEVER EDIT THIS FILE: add a new migration instead.
-- (File number 0006 was reserved for this change; it touches only its own
-- table and three new approval columns.)

-- Why the person said no (typed, or one of a short fixed list); the undo
-- class of the action (reversible | partly-reversible | irreversible); and
-- the grant pattern leash would use for this shape of command.
ALTER TABLE approvals ADD COLUMN refusal_reason TEXT;
ALTER TABLE approvals ADD COLUMN reversibility TEXT;
ALTER TABLE approvals ADD COLUMN grant_shape TEXT;

-- Shapes of command a person refused for one trigger, listed in that
-- trigger's future prompts as "refused before". One row per (trigger,
-- shape): a new refusal of the same shape updates it (newest argv, reason,
-- time) and counts it. `argv` came from a model: it is data, shown quoted.
CREATE TABLE refused_shapes (
    id          INTEGER PRIMARY KEY,
    trigger     TEXT    NOT NULL,
    shape       TEXT    NOT NULL,
    argv        TEXT    NOT NULL,
    reason      TEXT,
    job_id      INTEGER,
    refused_at  TEXT    NOT NULL,
    times       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (trigger, shape)
);
CREATE INDEX refused_shapes_newest ON refused_shapes (trigger, refused_at DESC, id DESC);
