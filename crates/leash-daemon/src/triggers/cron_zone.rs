//! `croner` computes due times with `chrono` types, but leash's time zones come
//! from `jiff` (the system's tz database, no bundled copy). [`CronZone`] is a
//! `chrono::TimeZone` backed by a `jiff::tz::TimeZone`, so croner walks local
//! wall-clock time in the real zone: a daylight-saving gap is reported as
//! "no such local time" and a fold as two candidates, exactly as croner
//! expects (it then runs a fixed-time job once, at the first occurrence).

use chrono::{FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, Utc};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// A `chrono` time zone that is a `jiff` time zone.
#[derive(Debug, Clone)]
pub(crate) struct CronZone(pub(crate) TimeZone);

/// The offset type of [`CronZone`]: the fixed offset at one instant, plus the
/// zone it came from (chrono recovers the zone from an offset).
#[derive(Debug, Clone)]
pub(crate) struct CronOffset {
    zone: TimeZone,
    fixed: FixedOffset,
}

impl Offset for CronOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl CronZone {
    fn offset(&self, offset: jiff::tz::Offset) -> CronOffset {
        CronOffset {
            zone: self.0.clone(),
            // jiff allows ±25:59:59, chrono ±23:59:59; no real zone is beyond.
            fixed: FixedOffset::east_opt(offset.seconds()).unwrap_or_else(|| Utc.fix()),
        }
    }
}

impl chrono::TimeZone for CronZone {
    type Offset = CronOffset;

    fn from_offset(offset: &CronOffset) -> CronZone {
        CronZone(offset.zone.clone())
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> LocalResult<CronOffset> {
        self.offset_from_local_datetime(&local.and_time(NaiveTime::MIN))
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> LocalResult<CronOffset> {
        let Some(civil) = to_civil(local) else {
            return LocalResult::None;
        };
        match self.0.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => LocalResult::Single(self.offset(offset)),
            AmbiguousOffset::Gap { .. } => LocalResult::None,
            AmbiguousOffset::Fold { before, after } => {
                LocalResult::Ambiguous(self.offset(before), self.offset(after))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> CronOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> CronOffset {
        let seconds = utc.and_utc().timestamp();
        match jiff::Timestamp::from_second(seconds) {
            Ok(instant) => self.offset(self.0.to_offset(instant)),
            Err(_) => self.offset(jiff::tz::Offset::UTC),
        }
    }
}

/// A chrono local date-time as a jiff civil date-time (`None` outside jiff's
/// range, years -9999..=9999).
fn to_civil(local: &NaiveDateTime) -> Option<jiff::civil::DateTime> {
    use chrono::{Datelike as _, Timelike as _};
    jiff::civil::DateTime::new(
        i16::try_from(local.year()).ok()?,
        i8::try_from(local.month()).ok()?,
        i8::try_from(local.day()).ok()?,
        i8::try_from(local.hour()).ok()?,
        i8::try_from(local.minute()).ok()?,
        i8::try_from(local.second()).ok()?,
        // chrono encodes a leap second as nanosecond ≥ 1e9; jiff has none.
        i32::try_from(local.nanosecond().min(999_999_999)).ok()?,
    )
    .ok()
}

/// `instant` in `zone`, as chrono sees it.
pub(crate) fn to_chrono(
    instant: jiff::Timestamp,
    zone: &CronZone,
) -> Option<chrono::DateTime<CronZone>> {
    let nanos = u32::try_from(instant.subsec_nanosecond()).ok()?;
    chrono::DateTime::from_timestamp(instant.as_second(), nanos).map(|utc| utc.with_timezone(zone))
}

/// A chrono date-time back as a jiff zoned date-time in `zone`.
pub(crate) fn to_zoned(time: &chrono::DateTime<CronZone>, zone: &TimeZone) -> Option<jiff::Zoned> {
    let nanos = i32::try_from(time.timestamp_subsec_nanos()).ok()?;
    jiff::Timestamp::new(time.timestamp(), nanos)
        .ok()
        .map(|instant| instant.to_zoned(zone.clone()))
}
