//! The one clock abstraction. The state machine never reads time itself: the transport
//! asks a [`Clock`] and passes the [`Timestamp`] in, so tests move time by hand and a
//! 20-second deadline is checked in microseconds.
//!
//! Bounds **[decision]**: a clock that can be moved never passes [`CLOCK_LIMIT`]
//! (9000-01-01), so deadlines armed from "now" (at most 100 years: see
//! [`crate::config::MAX_DEADLINE`] and [`crate::config::MAX_DEADLINE_SCALE`]) still fall
//! in years that `xs:dateTime` text can show; and an instant is rendered as text
//! clamped to [`LATEST_RENDERED`] (9999-12-31T23:59:59.999Z), so no time ever fails to
//! print, whatever a client asked for (a `commitReservationTimeout` of `i64::MAX` seconds
//! saturates far beyond year 9999).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The latest instant a movable clock may show: 9000-01-01T00:00:00Z.
pub const CLOCK_LIMIT: Timestamp = Timestamp(221_845_392_000_000);

/// The latest instant shown as text: 9999-12-31T23:59:59.999Z, the end of what
/// `xs:dateTime` (four-digit years) and humantime can write.
pub const LATEST_RENDERED: Timestamp = Timestamp(253_402_300_799_999);

/// Milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + duration`, saturating.
    pub fn plus(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)))
    }

    /// Time elapsed from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// `xs:dateTime` in UTC with milliseconds, e.g. `2026-11-23T17:43:46.123Z`; instants
    /// after [`LATEST_RENDERED`] are shown as it.
    pub fn to_rfc3339(self) -> String {
        humantime::format_rfc3339_millis(self.renderable()).to_string()
    }

    /// [`Self::to_rfc3339`] to the second, e.g. `2026-11-23T17:43:46Z`.
    pub fn to_rfc3339_seconds(self) -> String {
        humantime::format_rfc3339_seconds(self.renderable()).to_string()
    }

    /// This instant, or the latest one humantime can format (it fails, and `to_string`
    /// panics, from year 10000 on).
    fn renderable(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.min(LATEST_RENDERED.0))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Why a clock did not move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    #[error("this mock's clock cannot be moved")]
    Fixed,
    /// Moving by this much would pass [`CLOCK_LIMIT`].
    #[error(
        "the clock may not pass {limit} (it is {now}): it can move at most {room} more",
        limit = CLOCK_LIMIT,
        room = humantime::format_duration(*room)
    )]
    PastLimit { now: Timestamp, room: Duration },
}

/// Where the transport gets "now" from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;

    /// Moves virtual time forward and returns the new time; never past [`CLOCK_LIMIT`].
    fn advance(&self, by: Duration) -> Result<Timestamp, ClockError> {
        let _ = by;
        Err(ClockError::Fixed)
    }
}

/// `millis + by`, if that stays within [`CLOCK_LIMIT`] (`now` is the time it moves from).
fn moved(millis: u64, by: Duration, now: Timestamp) -> Result<u64, ClockError> {
    let room = CLOCK_LIMIT.since(now);
    if by > room {
        return Err(ClockError::PastLimit { now, room });
    }
    // Within the room, so no overflow: the room is below `CLOCK_LIMIT` milliseconds.
    Ok(millis + u64::try_from(by.as_millis()).unwrap_or(u64::MAX))
}

/// Wall-clock time plus an offset that only grows: the mock's default clock, so a
/// suite can jump past a deadline (`POST /control/clock/advance`) while time otherwise
/// runs normally.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock {
    offset_ms: Arc<AtomicU64>,
}

impl OffsetClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// How far virtual time is ahead of the wall clock.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        SystemClock.now().plus(self.offset())
    }

    fn advance(&self, by: Duration) -> Result<Timestamp, ClockError> {
        // Checked against the limit in the same atomic step that moves the offset, so
        // two advances at once cannot together pass it (or wrap the offset around).
        let wall = SystemClock.now();
        let mut refused = None;
        let updated = self.offset_ms.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
            let now = wall.plus(Duration::from_millis(offset));
            moved(offset, by, now).map_err(|e| refused = Some(e)).ok()
        });
        match updated {
            Ok(_) => Ok(self.now()),
            Err(_) => Err(refused.unwrap_or(ClockError::Fixed)),
        }
    }
}

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that only moves when told to; cheap to clone and share with a running server.
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self { millis: Arc::new(AtomicU64::new(start.0)) }
    }

    /// Moves time forward, stopping at [`CLOCK_LIMIT`] (see [`Clock::advance`] for the
    /// checked form).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self.millis.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |millis| {
            Some(millis.saturating_add(by).min(CLOCK_LIMIT.0.max(millis)))
        });
    }

    pub fn set(&self, to: Timestamp) {
        self.millis.store(to.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }

    fn advance(&self, by: Duration) -> Result<Timestamp, ClockError> {
        let mut refused = None;
        let updated = self.millis.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |millis| {
            moved(millis, by, Timestamp(millis)).map_err(|e| refused = Some(e)).ok()
        });
        match updated {
            Ok(_) => Ok(self.now()),
            Err(_) => Err(refused.unwrap_or(ClockError::Fixed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new(Timestamp(1_000));
        assert_eq!(clock.now(), Timestamp(1_000));
        clock.clone().advance(Duration::from_secs(20));
        assert_eq!(clock.now(), Timestamp(21_000));
    }

    #[test]
    fn offset_clock_runs_ahead_by_what_it_was_advanced() {
        let clock = OffsetClock::new();
        let before = SystemClock.now();
        assert!(Clock::advance(&clock, Duration::from_secs(60)).is_ok());
        let now = clock.now();
        assert!(now >= before.plus(Duration::from_secs(60)));
        assert!(now < SystemClock.now().plus(Duration::from_secs(61)));
    }

    #[test]
    fn formats_as_utc_datetime() {
        assert_eq!(Timestamp(1_000_123).to_rfc3339(), "1970-01-01T00:16:40.123Z");
    }

    #[test]
    fn the_limits_are_the_instants_they_name() {
        assert_eq!(CLOCK_LIMIT.to_rfc3339(), "9000-01-01T00:00:00.000Z");
        assert_eq!(LATEST_RENDERED.to_rfc3339(), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn instants_past_year_9999_render_as_its_last_millisecond_instead_of_panicking() {
        assert_eq!(Timestamp(u64::MAX).to_rfc3339(), "9999-12-31T23:59:59.999Z");
        assert_eq!(Timestamp(u64::MAX).to_rfc3339_seconds(), "9999-12-31T23:59:59Z");
        assert_eq!(Timestamp(u64::MAX).to_string(), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn no_clock_moves_past_the_limit_or_wraps_around() {
        let eight_thousand_years = Duration::from_secs(8000 * 365 * 24 * 3600);
        let offset = OffsetClock::new();
        let before = offset.now();
        let error = Clock::advance(&offset, eight_thousand_years).unwrap_err();
        assert!(matches!(error, ClockError::PastLimit { .. }), "{error}");
        assert!(error.to_string().contains("may not pass 9000-01-01T00:00:00.000Z"), "{error}");
        // The refused advance changed nothing, and the most that is left still works ...
        assert!(offset.now() < before.plus(Duration::from_secs(1)));
        let ClockError::PastLimit { room, .. } = error else { unreachable!("matched above") };
        let most = room - Duration::from_secs(3600);
        assert!(Clock::advance(&offset, most).is_ok());
        // ... and a huge advance after it neither passes the limit nor wraps the offset.
        assert!(Clock::advance(&offset, Duration::MAX).is_err());
        assert!(Clock::advance(&offset, Duration::from_secs(1)).is_ok());
        assert!(offset.now() > before.plus(most) && offset.now() <= CLOCK_LIMIT);

        let manual = ManualClock::new(Timestamp(1_000));
        assert!(Clock::advance(&manual, Duration::MAX).is_err());
        assert_eq!(manual.now(), Timestamp(1_000));
        manual.advance(Duration::MAX);
        assert_eq!(manual.now(), CLOCK_LIMIT, "the unchecked form stops at the limit");
        manual.advance(Duration::from_secs(1));
        assert_eq!(manual.now(), CLOCK_LIMIT);
    }
}
