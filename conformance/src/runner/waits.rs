//! How long an expectation waits, and what a wait that runs out proves.
//!
//! A scenario writes its windows as fixed times (`within: 5s`) or in timers
//! (`within: status-deadline`, `within: idle-timeout + 5s`). Glase's status deadline is
//! known (the mock's, scaled). The system's own timers are what its integrator declares
//! ([`Timers`]: `--idle-timeout`, `--unpaid-timeout`, or the config file); a window in a
//! declared timer lasts as long as that timer and `--patience` never touches it, because
//! cutting it would blame the system for a timer it is allowed to have. An undeclared
//! timer is taken at the library's documented bound ([`LIBRARY_IDLE_TIMEOUT`],
//! [`LIBRARY_UNPAID_TIMEOUT`]); `--patience` may cut such a window, and fixed ones, to fail
//! fast in CI — but a wait it cut that ends without the expectation holding proves
//! nothing, so the step is *inconclusive* with that reason, never a violation.

use std::time::Duration;

use crate::scenario::{Timer, Wait};

/// What the built-in library assumes of an undeclared idle timeout (scenarios/README.md:
/// "your idle timeout (walk-away) below 3 minutes").
pub const LIBRARY_IDLE_TIMEOUT: Duration = Duration::from_secs(180);
/// …and of an undeclared unpaid-order timeout ("below 5 minutes").
pub const LIBRARY_UNPAID_TIMEOUT: Duration = Duration::from_secs(300);

/// The system under test's own timers, as its integrator declares them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timers {
    /// A reservation nobody uses (the customer walked away) is released after this.
    pub idle_timeout: Option<Duration>,
    /// An unpaid webshop order is cancelled after this.
    pub unpaid_timeout: Option<Duration>,
}

impl Timers {
    /// The idle timeout to plan with: declared, or the library's bound.
    pub fn idle_or_library(&self) -> Duration {
        self.idle_timeout.unwrap_or(LIBRARY_IDLE_TIMEOUT)
    }

    /// The unpaid-order timeout to plan with: declared, or the library's bound.
    pub fn unpaid_or_library(&self) -> Duration {
        self.unpaid_timeout.unwrap_or(LIBRARY_UNPAID_TIMEOUT)
    }
}

/// A wait, resolved for one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub length: Duration,
    /// Set when `--patience` made the window shorter than the scenario asked: why a wait
    /// that runs out proves nothing.
    pub cut: Option<String>,
}

/// Everything a window depends on besides the scenario.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Waits {
    pub timers: Timers,
    pub patience: Option<Duration>,
}

impl Waits {
    /// How long a `wait` step lasts: the timer's value as declared (or the library's
    /// bound), plus and minus its durations; `--patience` does not shorten an action.
    pub fn length(&self, wait: Wait, status_deadline: Duration) -> Duration {
        wait.length_with(self.timer_value(wait.timer, status_deadline).0)
    }

    /// A timer's value here, and whether the spec or a declaration bounds it.
    fn timer_value(&self, timer: Option<Timer>, status_deadline: Duration) -> (Duration, bool) {
        match timer {
            None => (Duration::ZERO, false),
            Some(Timer::StatusDeadline) => (status_deadline, true),
            Some(Timer::IdleTimeout) => (self.timers.idle_or_library(), self.timers.idle_timeout.is_some()),
            Some(Timer::UnpaidTimeout) => (self.timers.unpaid_or_library(), self.timers.unpaid_timeout.is_some()),
        }
    }

    /// The window of `wait` in a scenario whose status deadline is `status_deadline`.
    pub fn window(&self, wait: Wait, status_deadline: Duration) -> Window {
        let (base, bounded) = self.timer_value(wait.timer, status_deadline);
        let length = wait.length_with(base);
        match self.patience {
            Some(patience) if !bounded && patience < length => {
                Window { length: patience, cut: Some(cut_reason(wait, length, patience)) }
            }
            _ => Window { length, cut: None },
        }
    }
}

/// Why a cut wait proves nothing, and how to make it conclusive.
fn cut_reason(wait: Wait, length: Duration, patience: Duration) -> String {
    let asked = humantime::format_duration(length);
    let patience = humantime::format_duration(patience);
    match wait.timer {
        Some(timer @ (Timer::IdleTimeout | Timer::UnpaidTimeout)) => {
            let option = if timer == Timer::IdleTimeout { "--idle-timeout" } else { "--unpaid-timeout" };
            format!(
                "--patience {patience} cut this wait short of {wait} ({asked} with the library's bound for an \
                 undeclared timer); declare your {} with {option} so the suite waits exactly as long as your \
                 system may take",
                timer.as_str().replace('-', " ")
            )
        }
        _ => format!("--patience {patience} cut this wait short of the scenario's {asked}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn waits(idle: Option<u64>, patience: Option<u64>) -> Waits {
        Waits { timers: Timers { idle_timeout: idle.map(S), unpaid_timeout: None }, patience: patience.map(S) }
    }

    #[test]
    fn a_declared_timer_is_waited_in_full_whatever_the_patience() {
        let wait = Wait::timer_plus(Timer::IdleTimeout, S(5));
        assert_eq!(waits(Some(60), Some(10)).window(wait, S(20)), Window { length: S(65), cut: None });
    }

    #[test]
    fn patience_cuts_an_undeclared_timer_and_says_how_to_declare_it() {
        let wait = Wait::timer_plus(Timer::IdleTimeout, S(5));
        let window = waits(None, Some(10)).window(wait, S(20));
        assert_eq!(window.length, S(10));
        let reason = window.cut.expect("cut");
        assert!(reason.contains("--idle-timeout") && reason.contains("3m 5s"), "{reason}");
        assert_eq!(waits(None, None).window(wait, S(20)), Window { length: S(185), cut: None });
    }

    #[test]
    fn the_status_deadline_is_never_cut_and_fixed_waits_are_cut_only_when_longer() {
        let deadline = Wait::timer_plus(Timer::StatusDeadline, S(2));
        assert_eq!(waits(None, Some(1)).window(deadline, S(20)), Window { length: S(22), cut: None });
        assert_eq!(waits(None, Some(10)).window(Wait::fixed(S(5)), S(20)), Window { length: S(5), cut: None });
        assert!(waits(None, Some(3)).window(Wait::fixed(S(5)), S(20)).cut.is_some());
    }
}
