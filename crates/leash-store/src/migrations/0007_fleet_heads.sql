-- leash state: the last audit-chain head verified for each other device of
-- the fleet (`leash fleet audit`), so a chain that no longer extends it —
-- rewritten or truncated history — is flagged even when it is consistent
-- in itself.
-- NEVER EDIT THIS FILE: add a new migration instead.
CREATE TABLE fleet_heads (
    device       TEXT    PRIMARY KEY,
    seq          INTEGER NOT NULL,
    hash         TEXT    NOT NULL,
    verified_at  TEXT    NOT NULL
);
