//! Wall-clock timestamps as stored everywhere in the database: RFC 3339 in UTC
//! (`2025-01-31T12:00:00.123456789Z`), which sorts lexically in time order.

/// Now, as an RFC 3339 UTC string.
pub(crate) fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}
