//! Fixture names: the machines, vending SKUs and shop items a scenario names, and the
//! integrator's map from those names to the ones their test build uses
//! (`--fixture machine-1=vm-17`).
//!
//! The map is applied to resolved scenarios, field by field: only the fields that name a
//! fixture (the machine of `scan`, `race`, `vend`, `out_of_service`, `in_service` and
//! `expect_machine`; the SKUs of `vend` and `checkout` items) are looked up, every other
//! name maps to itself. Never text replacement: an amount or an invoice name that
//! happens to read `cola` stays as written. The runner (and its machine claims) only
//! sees the mapped scenarios.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use super::resolved::Scenario;

/// What a fixture name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FixtureKind {
    /// A machine token (`scan`, `race`, the machine driver's steps).
    Machine,
    /// A product sold at a machine (`vend` items).
    Sku,
    /// An item of the webshop's or the till's catalogue (`checkout` items).
    ShopItem,
}

impl FixtureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Machine => "machine",
            Self::Sku => "sku",
            Self::ShopItem => "shop or till item",
        }
    }
}

impl fmt::Display for FixtureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The map could not be built or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    #[error("--fixture {name}: mapped twice, to {first:?} and to {second:?}")]
    Repeated { name: String, first: String, second: String },
    #[error(
        "fixture names that neither these scenarios nor the built-in library use: {}; known: {}",
        unknown.join(", "),
        known.join(", ")
    )]
    Unknown { unknown: Vec<String>, known: Vec<String> },
    #[error("--fixture: the {kind}s {} would all be named {value:?} (two fixtures cannot be one)", names.join(", "))]
    SameValue { kind: FixtureKind, value: String, names: Vec<String> },
    #[error("--fixtures {path}: {message}")]
    File { path: String, message: String },
}

/// Fixture name → the name in the system under test. Names not in the map are their own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fixtures {
    map: BTreeMap<String, String>,
}

impl Fixtures {
    /// From `NAME=VALUE` pairs; a name mapped twice to different values is an error.
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Result<Self, FixtureError> {
        let mut fixtures = Self::default();
        for (name, value) in pairs {
            fixtures.insert(name, value)?;
        }
        Ok(fixtures)
    }

    /// Adds one mapping; the same name to another value is an error.
    pub fn insert(&mut self, name: String, value: String) -> Result<(), FixtureError> {
        match self.map.get(&name) {
            Some(first) if *first != value => Err(FixtureError::Repeated { name, first: first.clone(), second: value }),
            _ => {
                self.map.insert(name, value);
                Ok(())
            }
        }
    }

    /// A YAML map `machine-1: vm-17` (`--fixtures FILE`).
    pub fn from_yaml_file(path: &Path) -> Result<Self, FixtureError> {
        let error = |message: String| FixtureError::File { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
        let map: BTreeMap<String, String> = serde_saphyr::from_str(&text)
            .map_err(|e| error(format!("not a map of fixture names to names (machine-1: vm-17): {e}")))?;
        for (name, value) in &map {
            if let Err(message) = check_pair(name, value) {
                return Err(error(message));
            }
        }
        Ok(Self { map })
    }

    /// `other`'s mappings replace this map's (the command line over a file).
    pub fn override_with(&mut self, other: Self) {
        self.map.extend(other.map);
    }

    /// The name `name` has in the system under test.
    pub fn get<'a>(&'a self, name: &'a str) -> &'a str {
        self.map.get(name).map_or(name, String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The explicit mappings, by fixture name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// `--fixture NAME=VALUE`, for clap.
pub fn parse_fixture(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("{text:?} is not NAME=VALUE (e.g. machine-1=vm-17)"));
    };
    let (name, value) = (name.trim(), value.trim());
    check_pair(name, value)?;
    Ok((name.to_owned(), value.to_owned()))
}

fn check_pair(name: &str, value: &str) -> Result<(), String> {
    for (what, text) in [("name", name), ("value", value)] {
        if text.is_empty() {
            return Err(format!("{name}={value}: the {what} is empty"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{name}={value}: the {what} {text:?} contains whitespace"));
        }
    }
    Ok(())
}

/// Every fixture name the scenarios use, with what it names.
pub fn used<'a>(scenarios: impl IntoIterator<Item = &'a Scenario>) -> BTreeMap<String, BTreeSet<FixtureKind>> {
    let mut used: BTreeMap<String, BTreeSet<FixtureKind>> = BTreeMap::new();
    for scenario in scenarios {
        for step in &scenario.steps {
            // A step lists its fixture fields to rewrite them; a copy lists them to read.
            for (kind, name) in step.value.clone().fixtures() {
                used.entry(std::mem::take(name)).or_default().insert(kind);
            }
        }
    }
    used
}

/// Maps every fixture field of every step. Errors, before anything changes: a mapped
/// name that neither the scenarios nor `also_known` (the built-in library's names: a
/// fixtures file describes the system, whichever scenarios run) use — a typo — or two
/// fixtures of one kind that would end up with one name.
pub fn apply(
    scenarios: &mut [Scenario],
    fixtures: &Fixtures,
    also_known: &BTreeSet<String>,
) -> Result<(), FixtureError> {
    if fixtures.is_empty() {
        return Ok(());
    }
    let used = used(scenarios.iter());
    let known = |name: &str| used.contains_key(name) || also_known.contains(name);
    let unknown: Vec<String> = fixtures.iter().map(|(k, _)| k).filter(|k| !known(k)).map(str::to_owned).collect();
    if !unknown.is_empty() {
        let mut all: BTreeSet<String> = used.into_keys().collect();
        all.extend(also_known.iter().cloned());
        return Err(FixtureError::Unknown { unknown, known: all.into_iter().collect() });
    }
    let mut targets: BTreeMap<(FixtureKind, &str), Vec<String>> = BTreeMap::new();
    for (name, kinds) in &used {
        for kind in kinds {
            targets.entry((*kind, fixtures.get(name))).or_default().push(name.clone());
        }
    }
    if let Some(((kind, value), names)) = targets.into_iter().find(|(_, names)| names.len() > 1) {
        return Err(FixtureError::SameValue { kind, value: value.to_owned(), names });
    }
    for scenario in scenarios {
        for step in &mut scenario.steps {
            let mut changed = Vec::new();
            for (_, name) in step.value.fixtures() {
                let mapped = fixtures.get(name);
                if mapped != name {
                    changed.push(format!("{name}={mapped}"));
                    *name = mapped.to_owned();
                }
            }
            if !changed.is_empty() {
                // Reports show the step as written: say what it became.
                step.text = format!("{} [fixtures: {}]", step.text, changed.join(", "));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;
    use crate::step::Step;

    fn scenario(steps: &str) -> Scenario {
        let text = format!(
            "id: a/b\ntitle: t\nprofiles: [unattended, webshop]\nrequires: [machine-driver, shop-driver]\nsteps:\n{steps}"
        );
        load_str("test.yaml", &text, &|_| true).expect("a valid scenario")
    }

    fn fixtures(pairs: &[(&str, &str)]) -> Fixtures {
        Fixtures::from_pairs(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))).expect("distinct names")
    }

    const EVERY_KIND: &str = "  - scan: {machine: machine-1, as: first}\n  \
        - race: {scan: {machine: machine-1, customers: 2}}\n  \
        - out_of_service: {machine: machine-2}\n  \
        - in_service: {machine: machine-2}\n  \
        - expect_machine: {machine: machine-1, state: idle, within: 1s}\n  \
        - vend: {machine: machine-1, items: [{sku: cola, quantity: 2}, {sku: water}]}\n  \
        - checkout: {items: [{sku: headphones}]}\n";

    #[test]
    fn fixture_arguments_are_name_equals_value() {
        assert_eq!(parse_fixture("machine-1=vm-17"), Ok(("machine-1".to_owned(), "vm-17".to_owned())));
        assert_eq!(parse_fixture(" cola = sku=123 "), Ok(("cola".to_owned(), "sku=123".to_owned())));
        assert!(parse_fixture("machine-1").unwrap_err().contains("NAME=VALUE"));
        assert!(parse_fixture("=vm-17").unwrap_err().contains("name is empty"));
        assert!(parse_fixture("machine-1=").unwrap_err().contains("value is empty"));
        assert!(parse_fixture("machine-1=vm 17").unwrap_err().contains("whitespace"));
    }

    #[test]
    fn a_name_mapped_twice_differently_is_an_error() {
        let pairs = [("cola".to_owned(), "a".to_owned()), ("cola".to_owned(), "b".to_owned())];
        assert!(matches!(Fixtures::from_pairs(pairs), Err(FixtureError::Repeated { .. })));
        let same = [("cola".to_owned(), "a".to_owned()), ("cola".to_owned(), "a".to_owned())];
        assert!(Fixtures::from_pairs(same).is_ok());
    }

    #[test]
    fn every_fixture_field_is_mapped_and_nothing_else() {
        let mut list = [scenario(EVERY_KIND)];
        let map =
            fixtures(&[("machine-1", "vm-17"), ("machine-2", "vm-18"), ("cola", "sku-123"), ("headphones", "item-9")]);
        apply(&mut list, &map, &BTreeSet::new()).expect("applies");
        let steps: Vec<&Step> = list[0].steps.iter().map(|s| &s.value).collect();
        assert!(matches!(steps[0], Step::Scan(s) if s.machine == "vm-17" && s.alias.as_deref() == Some("first")));
        assert!(matches!(steps[1], Step::Race(s) if s.machine == "vm-17"));
        assert!(matches!(steps[2], Step::OutOfService(s) if s.machine == "vm-18"));
        assert!(matches!(steps[3], Step::InService(s) if s.machine == "vm-18"));
        assert!(matches!(steps[4], Step::ExpectMachine(s) if s.machine.as_deref() == Some("vm-17")));
        let Step::Vend(crate::step::machine::Vend { machine, items, .. }) = steps[5] else { panic!("a vend step") };
        assert_eq!(machine.as_deref(), Some("vm-17"));
        let skus: Vec<&str> = items.iter().map(|i| i.sku.as_str()).collect();
        assert_eq!(skus, ["sku-123", "water"], "unmapped names stay themselves");
        assert_eq!(items[0].quantity, 2);
        let Step::Checkout(crate::step::shop::Checkout { items, .. }) = steps[6] else { panic!("a checkout step") };
        assert_eq!(items[0].sku, "item-9");
        assert!(list[0].steps[0].text.ends_with("[fixtures: machine-1=vm-17]"), "{}", list[0].steps[0].text);
    }

    #[test]
    fn used_names_say_what_they_name() {
        let used = used(&[scenario(EVERY_KIND)]);
        let names: Vec<&str> = used.keys().map(String::as_str).collect();
        assert_eq!(names, ["cola", "headphones", "machine-1", "machine-2", "water"]);
        assert_eq!(used["machine-1"], [FixtureKind::Machine].into());
        assert_eq!(used["cola"], [FixtureKind::Sku].into());
        assert_eq!(used["headphones"], [FixtureKind::ShopItem].into());
    }

    #[test]
    fn a_name_no_scenario_uses_is_an_error_listing_the_known_ones() {
        let mut list = [scenario(EVERY_KIND)];
        let error =
            apply(&mut list, &fixtures(&[("machine-3", "vm-17"), ("cola", "x")]), &BTreeSet::new()).unwrap_err();
        let FixtureError::Unknown { unknown, known } = &error else { panic!("{error}") };
        assert_eq!(unknown, &["machine-3"]);
        assert!(known.contains(&"machine-1".to_owned()), "{error}");
        assert!(error.to_string().contains("known: cola, headphones, machine-1"), "{error}");
        assert!(matches!(list[0].steps[0].value, Step::Scan(ref s) if s.machine == "machine-1"), "unchanged");
    }

    #[test]
    fn two_fixtures_with_one_value_are_an_error() {
        let mut list = [scenario(EVERY_KIND)];
        let error =
            apply(&mut list, &fixtures(&[("machine-1", "vm"), ("machine-2", "vm")]), &BTreeSet::new()).unwrap_err();
        assert_eq!(
            error,
            FixtureError::SameValue {
                kind: FixtureKind::Machine,
                value: "vm".to_owned(),
                names: vec!["machine-1".to_owned(), "machine-2".to_owned()]
            }
        );
        // Onto a fixture that keeps its name merges them too.
        let error = apply(&mut list, &fixtures(&[("cola", "water")]), &BTreeSet::new()).unwrap_err();
        assert!(matches!(error, FixtureError::SameValue { kind: FixtureKind::Sku, .. }), "{error}");
        // Swapping two names is fine.
        apply(&mut list, &fixtures(&[("machine-1", "machine-2"), ("machine-2", "machine-1")]), &BTreeSet::new())
            .expect("a swap");
        assert!(matches!(list[0].steps[0].value, Step::Scan(ref s) if s.machine == "machine-2"));
    }

    #[test]
    fn a_sku_and_a_shop_item_may_share_a_value() {
        let mut list = [scenario(EVERY_KIND)];
        apply(&mut list, &fixtures(&[("cola", "x"), ("headphones", "x")]), &BTreeSet::new()).expect("different kinds");
    }

    #[test]
    fn the_builtin_library_uses_the_documented_fixtures() {
        let library = crate::scenario::load(&crate::scenario::embedded(), &|_| true).expect("loads");
        let used = used(&library);
        for name in ["machine-1", "machine-2", "cola", "crisps", "water", "headphones", "cable", "case"] {
            assert!(used.contains_key(name), "{name} in {:?}", used.keys());
        }
    }

    #[test]
    fn a_fixtures_file_is_a_yaml_map() {
        let dir = std::env::temp_dir().join(format!("glase-fixtures-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let good = dir.join("good.yaml");
        std::fs::write(&good, "machine-1: vm-17\ncola: sku-123\n").expect("writes");
        let loaded = Fixtures::from_yaml_file(&good).expect("loads");
        assert_eq!(loaded, fixtures(&[("machine-1", "vm-17"), ("cola", "sku-123")]));
        let bad = dir.join("bad.yaml");
        std::fs::write(&bad, "- machine-1\n").expect("writes");
        assert!(matches!(Fixtures::from_yaml_file(&bad), Err(FixtureError::File { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
