//! What a load run does, resolved from the command line: the flow mix, the pace, when
//! to stop. Pure: parsed and checked here, used by the scheduler and the workload.

use std::fmt;
use std::time::Duration;

/// One kind of customer flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowKind {
    /// Scan, confirm, the machine unlocks, vend, commit: a complete unattended purchase.
    Success,
    /// Scan, then cancel in the app: the reseller must release the machine.
    Cancel,
    /// Scan, then close the app: the reseller's idle timer must cancel and release.
    WalkAway,
    /// Scan, a wrong PIN, then the right one: a complete purchase after a retry.
    WrongPin,
    /// Scan with a wallet that cannot cover the reservation: Glase fails the invoice,
    /// the reseller must release the machine.
    Error,
    /// A webshop checkout through the shop driver, paid in the app.
    Webshop,
}

impl FlowKind {
    /// The kinds `--mix` names (the webshop share is `--webshop`).
    pub const UNATTENDED: [Self; 5] = [Self::Success, Self::Cancel, Self::WalkAway, Self::WrongPin, Self::Error];
    #[cfg(test)]
    pub const ALL: [Self; 6] =
        [Self::Success, Self::Cancel, Self::WalkAway, Self::WrongPin, Self::Error, Self::Webshop];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Cancel => "cancel",
            Self::WalkAway => "walk-away",
            Self::WrongPin => "wrong-pin",
            Self::Error => "error",
            Self::Webshop => "webshop",
        }
    }

    /// The kind a report names `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::UNATTENDED.into_iter().chain([Self::Webshop]).find(|kind| kind.as_str() == text)
    }

    /// Ends in a committed payment (counts as a "purchase" in flows/s).
    pub const fn is_purchase(self) -> bool {
        matches!(self, Self::Success | Self::WrongPin)
    }

    /// Needs a machine (and the machine driver).
    pub const fn is_unattended(self) -> bool {
        !matches!(self, Self::Webshop)
    }
}

impl fmt::Display for FlowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Weights of the unattended kinds plus the webshop share: picks a kind from a uniform
/// random number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    /// (kind, weight), unattended kinds in `UNATTENDED` order; weights add up to > 0.
    weights: Vec<(FlowKind, u32)>,
    /// Percent of flows that are webshop checkouts (0–100).
    webshop_percent: u32,
}

/// The default `--mix`.
pub const DEFAULT_MIX: &str = "success=90,cancel=4,walk-away=3,wrong-pin=2,error=1";

impl Mix {
    /// Parses `success=90,cancel=4,walk-away=3,wrong-pin=2,error=1`. Kinds left out
    /// weigh 0; a kind named twice, an unknown kind or all weights 0 is an error.
    pub fn parse(text: &str, webshop_percent: u32) -> Result<Self, String> {
        if webshop_percent > 100 {
            return Err(format!("--webshop {webshop_percent}: a percentage from 0 to 100"));
        }
        let mut weights: Vec<(FlowKind, u32)> = FlowKind::UNATTENDED.iter().map(|k| (*k, 0)).collect();
        let mut seen = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) =
                part.split_once('=').ok_or_else(|| format!("--mix {part:?}: expected KIND=WEIGHT, e.g. success=90"))?;
            let name = name.trim();
            let kind = FlowKind::UNATTENDED.iter().find(|k| k.as_str() == name).copied().ok_or_else(|| {
                let known: Vec<&str> = FlowKind::UNATTENDED.iter().map(|k| k.as_str()).collect();
                format!("--mix: unknown flow {name:?} (known: {})", known.join(", "))
            })?;
            let weight: u32 =
                weight.trim().parse().map_err(|_| format!("--mix {part:?}: the weight must be a whole number"))?;
            if seen.contains(&kind) {
                return Err(format!("--mix: {name} is named twice"));
            }
            seen.push(kind);
            if let Some(slot) = weights.iter_mut().find(|(k, _)| *k == kind) {
                slot.1 = weight;
            }
        }
        let total: u64 = weights.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 && webshop_percent < 100 {
            return Err("--mix: at least one flow needs a weight above 0 (or --webshop 100)".to_owned());
        }
        Ok(Self { weights, webshop_percent })
    }

    /// The kind for a uniform random `u` (any u64).
    pub fn pick(&self, u: u64) -> FlowKind {
        // The top 32 bits choose webshop or not, the bottom 32 bits the unattended kind,
        // so the two draws are independent.
        let high = u >> 32;
        if high % 100 < u64::from(self.webshop_percent) {
            return FlowKind::Webshop;
        }
        let total: u64 = self.weights.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut point = (u & 0xffff_ffff) % total.max(1);
        for (kind, weight) in &self.weights {
            if point < u64::from(*weight) {
                return *kind;
            }
            point -= u64::from(*weight);
        }
        FlowKind::Success
    }

    /// Whether any flow of `kind` can be picked.
    pub fn includes(&self, kind: FlowKind) -> bool {
        match kind {
            FlowKind::Webshop => self.webshop_percent > 0,
            _ => self.webshop_percent < 100 && self.weights.iter().any(|(k, w)| *k == kind && *w > 0),
        }
    }

    pub fn webshop_percent(&self) -> u32 {
        self.webshop_percent
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.weights.iter().map(|(k, w)| format!("{k}={w}")).collect();
        write!(f, "{}, webshop {}%", parts.join(","), self.webshop_percent)
    }
}

/// When the run stops starting new flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    After(Duration),
    Flows(u64),
}

/// How flows are started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Closed loop: this many flows in flight at all times.
    Concurrency(usize),
    /// Open loop: this many flows started per second, whatever the latency (a flow
    /// that finds no free customer waits, and its latency counts from when it was due).
    Rate(f64),
}

/// A resolved load plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub customers: usize,
    pub machines: usize,
    pub stop: Stop,
    pub pace: Pace,
    pub mix: Mix,
    /// The seed given (or drawn); a shard's flows use [`Shard::seed`] of it.
    pub seed: u64,
    pub shard: super::shard::Shard,
    /// After the last flow: how long the system may take to settle (idle timers,
    /// retries) before the invariants are checked.
    pub drain: Duration,
}

impl Plan {
    /// Every problem with the numbers, at once.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.customers == 0 {
            problems.push("--customers must be at least 1".to_owned());
        }
        if self.machines == 0 && self.mix.webshop_percent() < 100 {
            problems.push("--machines must be at least 1 (or --webshop 100)".to_owned());
        }
        match self.stop {
            Stop::After(d) if d.is_zero() => problems.push("--duration must be longer than 0".to_owned()),
            Stop::Flows(0) => problems.push("--flows must be at least 1".to_owned()),
            _ => {}
        }
        match self.pace {
            Pace::Concurrency(0) => problems.push("--concurrency must be at least 1".to_owned()),
            Pace::Rate(r) if !(r.is_finite() && r > 0.0) => {
                problems.push("--rate must be a positive number".to_owned())
            }
            _ => {}
        }
        problems
    }
}

/// `500`, `500/s` or `500/S`: flows per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches("/s").trim_end_matches("/S");
    number
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r > 0.0)
        .ok_or_else(|| format!("{text:?} is not a rate: expected flows per second, e.g. 500 or 500/s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mix_parses_and_picks_in_proportion() {
        let mix = Mix::parse(DEFAULT_MIX, 10).unwrap();
        let mut counts = std::collections::BTreeMap::new();
        let mut rng = crate::rng::Rng::new(7);
        for _ in 0..100_000 {
            *counts.entry(mix.pick(rng.next_u64())).or_insert(0u32) += 1;
        }
        let share = |k: FlowKind| f64::from(counts.get(&k).copied().unwrap_or(0)) / 100_000.0;
        assert!((share(FlowKind::Webshop) - 0.10).abs() < 0.01, "{counts:?}");
        assert!((share(FlowKind::Success) - 0.81).abs() < 0.01, "{counts:?}");
        assert!((share(FlowKind::Error) - 0.009).abs() < 0.003, "{counts:?}");
        assert!(FlowKind::ALL.iter().all(|k| counts.contains_key(k)));
    }

    #[test]
    fn kinds_left_out_weigh_nothing() {
        let mix = Mix::parse("cancel=1", 0).unwrap();
        assert!((0..1000u64).all(|u| mix.pick(u.wrapping_mul(0x9e37_79b9_7f4a_7c15)) == FlowKind::Cancel));
        assert!(mix.includes(FlowKind::Cancel) && !mix.includes(FlowKind::Success) && !mix.includes(FlowKind::Webshop));
        let shop = Mix::parse("", 100).unwrap();
        assert_eq!(shop.pick(12345), FlowKind::Webshop);
    }

    #[test]
    fn bad_mixes_are_refused_with_the_reason() {
        assert!(Mix::parse("success=90,refund=10", 0).unwrap_err().contains("unknown flow \"refund\""));
        assert!(Mix::parse("success=90,success=1", 0).unwrap_err().contains("twice"));
        assert!(Mix::parse("success=ninety", 0).unwrap_err().contains("whole number"));
        assert!(Mix::parse("success", 0).unwrap_err().contains("KIND=WEIGHT"));
        assert!(Mix::parse("success=0", 0).unwrap_err().contains("above 0"));
        assert!(Mix::parse(DEFAULT_MIX, 101).unwrap_err().contains("0 to 100"));
    }

    #[test]
    fn rates_and_plans_are_checked() {
        assert_eq!(parse_rate("500/s").unwrap(), 500.0);
        assert_eq!(parse_rate("2.5").unwrap(), 2.5);
        assert!(parse_rate("fast").is_err() && parse_rate("0").is_err());
        let plan = Plan {
            customers: 0,
            machines: 0,
            stop: Stop::Flows(0),
            pace: Pace::Concurrency(0),
            mix: Mix::parse(DEFAULT_MIX, 0).unwrap(),
            seed: 1,
            shard: super::super::shard::Shard::WHOLE,
            drain: Duration::from_secs(1),
        };
        assert_eq!(plan.problems().len(), 4, "{:?}", plan.problems());
    }
}
