//! The system under test's flags, its config file, and their merge: the command line
//! wins over the environment (clap reads both), which wins over the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use super::declared::{DEFAULT_GLASE_LISTEN, DEFAULT_START_WAIT, Identity, StartCommand, System};
use super::urls;
use crate::runner::target::Target;
use crate::runner::waits::Timers;

/// A problem with the declared system: exit code 2, with the message as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Your system under test: its endpoints, its own timers, who it is, how to start it.
/// Every flag also reads `GLASE_CONFORMANCE_<FLAG>` and the `--config` file.
#[derive(Debug, Clone, Default, Args)]
pub struct SystemArgs {
    /// A TOML file declaring your system once for run, load and explore. Its keys are
    /// the flags below with `_`: create_purchase_url, machine_driver, shop_driver, pos_driver,
    /// glase_listen, idle_timeout, unpaid_timeout, start, wait_for, driver_token,
    /// system_name, system_version, company (durations as strings: "60s"), plus a
    /// [fixtures] table (library name = your name). `start` runs in the file's
    /// directory. Flags and environment variables win over it.
    #[arg(long, value_name = "FILE", env = "GLASE_CONFORMANCE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Your createPurchase endpoint (must end with createPurchase); needed by
    /// scenarios that scan a machine.
    #[arg(long, value_name = "URL", env = "GLASE_CONFORMANCE_CREATE_PURCHASE_URL")]
    pub create_purchase_url: Option<String>,
    /// Base URL of your machine driver (serves /driver/machines/…).
    #[arg(long, value_name = "URL", env = "GLASE_CONFORMANCE_MACHINE_DRIVER")]
    pub machine_driver: Option<String>,
    /// Base URL of your shop driver (serves /driver/shop/…).
    #[arg(long, value_name = "URL", env = "GLASE_CONFORMANCE_SHOP_DRIVER")]
    pub shop_driver: Option<String>,
    /// Base URL of your till's point-of-sale driver (serves /driver/pos/…).
    #[arg(long, value_name = "URL", env = "GLASE_CONFORMANCE_POS_DRIVER")]
    pub pos_driver: Option<String>,
    /// Where the embedded Glase listens: your system's configured Glase address
    /// [default: 127.0.0.1:7070].
    #[arg(long, value_name = "ADDR", env = "GLASE_CONFORMANCE_GLASE_LISTEN")]
    pub glase_listen: Option<SocketAddr>,
    /// Your system's idle timeout: a reservation nobody uses (the customer walked away)
    /// is released after it. Walk-away scenarios wait exactly this long (plus 5 s);
    /// undeclared, `run` assumes at most 3m (and --patience may cut that wait, leaving
    /// it inconclusive).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, env = "GLASE_CONFORMANCE_IDLE_TIMEOUT")]
    pub idle_timeout: Option<Duration>,
    /// Your shop's timeout for unpaid orders (cancelled after it), or your till's payment
    /// window (the provider's procedure: 30s); undeclared, `run` assumes at most 5m.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, env = "GLASE_CONFORMANCE_UNPAID_TIMEOUT")]
    pub unpaid_timeout: Option<Duration>,
    /// Start your system with this shell command once the embedded Glase listens
    /// (GLASE_URL in its environment is the SOAP URL to use), capture its output into the
    /// evidence bundle, and stop it at the end.
    #[arg(long, value_name = "COMMAND", env = "GLASE_CONFORMANCE_START")]
    pub start: Option<String>,
    /// Wait up to this long for your endpoints (and, for `load --glase-url`, the mock)
    /// to answer before running [default: 60s with --start, else one try].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, env = "GLASE_CONFORMANCE_WAIT_FOR")]
    pub wait_for: Option<Duration>,
    /// Your test build's driver token, if its machine and shop drivers want one (sent
    /// as `Authorization: Bearer TOKEN`).
    #[arg(long, value_name = "TOKEN", env = "GLASE_CONFORMANCE_DRIVER_TOKEN", hide_env_values = true)]
    pub driver_token: Option<String>,
    /// Your system's name, for the reports (e.g. "Acme vending backend").
    #[arg(long, value_name = "NAME", env = "GLASE_CONFORMANCE_SYSTEM_NAME")]
    pub system_name: Option<String>,
    /// Your system's version, for the reports.
    #[arg(long, value_name = "VERSION", env = "GLASE_CONFORMANCE_SYSTEM_VERSION")]
    pub system_version: Option<String>,
    /// Your company, for the reports; certification uses it as the clientId, so every
    /// call's clientId must then be it (CTX-CLIENT-ID).
    #[arg(long, value_name = "NAME", env = "GLASE_CONFORMANCE_COMPANY")]
    pub company: Option<String>,
}

/// The config file: the same settings as the flags, plus the fixture map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub create_purchase_url: Option<String>,
    pub machine_driver: Option<String>,
    pub shop_driver: Option<String>,
    pub pos_driver: Option<String>,
    pub glase_listen: Option<SocketAddr>,
    #[serde(default, with = "optional_duration")]
    pub idle_timeout: Option<Duration>,
    #[serde(default, with = "optional_duration")]
    pub unpaid_timeout: Option<Duration>,
    pub start: Option<String>,
    #[serde(default, with = "optional_duration")]
    pub wait_for: Option<Duration>,
    pub system_name: Option<String>,
    pub system_version: Option<String>,
    pub company: Option<String>,
    pub driver_token: Option<String>,
    /// The system's names for the library's fixtures (`machine-1 = "vm-17"`).
    #[serde(default)]
    pub fixtures: std::collections::BTreeMap<String, String>,
    /// The file's directory: where its `start` command runs.
    #[serde(skip)]
    pub dir: Option<PathBuf>,
}

impl ConfigFile {
    pub fn read(path: &Path) -> Result<Self, UsageError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("--config {}: cannot read it: {e}", path.display())))?;
        let mut file: Self = toml::from_str(&text)
            .map_err(|e| UsageError(format!("--config {}: {}", path.display(), e.to_string().trim())))?;
        file.dir = Some(match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        });
        Ok(file)
    }
}

impl SystemArgs {
    /// Merges the flags with the config file and checks every URL.
    pub fn resolve(&self) -> Result<System, UsageError> {
        let file = match &self.config {
            Some(path) => ConfigFile::read(path)?,
            None => ConfigFile::default(),
        };
        self.merge(file)
    }

    fn merge(&self, file: ConfigFile) -> Result<System, UsageError> {
        fn pick<T: Clone>(flag: &Option<T>, file: Option<T>) -> Option<T> {
            flag.clone().or(file)
        }
        let target = Target {
            create_purchase_url: pick(&self.create_purchase_url, file.create_purchase_url),
            machine_driver: pick(&self.machine_driver, file.machine_driver),
            shop_driver: pick(&self.shop_driver, file.shop_driver),
            pos_driver: pick(&self.pos_driver, file.pos_driver),
            driver_token: pick(&self.driver_token, file.driver_token).filter(|t| !t.trim().is_empty()),
            company: pick(&self.company, file.company.clone()).filter(|c| !c.trim().is_empty()),
        };
        let checks = [
            ("--create-purchase-url", &target.create_purchase_url, true),
            ("--machine-driver", &target.machine_driver, false),
            ("--shop-driver", &target.shop_driver, false),
            ("--pos-driver", &target.pos_driver, false),
        ];
        for (option, url, create_purchase) in checks {
            if let Some(url) = url {
                urls::check(option, url, create_purchase).map_err(UsageError)?;
            }
        }
        let start = match (&self.start, file.start) {
            (Some(flag), _) => Some(StartCommand { command: flag.clone(), dir: None }),
            (None, Some(command)) => Some(StartCommand { command, dir: file.dir.clone() }),
            (None, None) => None,
        }
        .filter(|start| !start.command.trim().is_empty());
        let wait_for = pick(&self.wait_for, file.wait_for).unwrap_or(if start.is_some() {
            DEFAULT_START_WAIT
        } else {
            Duration::ZERO
        });
        let timers = Timers {
            idle_timeout: pick(&self.idle_timeout, file.idle_timeout),
            unpaid_timeout: pick(&self.unpaid_timeout, file.unpaid_timeout),
        };
        for (option, timer) in [("--idle-timeout", timers.idle_timeout), ("--unpaid-timeout", timers.unpaid_timeout)] {
            if timer.is_some_and(|t| t.is_zero() || t > MAX_TIMER) {
                return Err(UsageError(format!("{option} must be above 0 and at most 1 hour")));
            }
        }
        Ok(System {
            target,
            glase_listen: pick(&self.glase_listen, file.glase_listen).unwrap_or(DEFAULT_GLASE_LISTEN),
            timers,
            identity: Identity {
                name: pick(&self.system_name, file.system_name),
                version: pick(&self.system_version, file.system_version),
                company: pick(&self.company, file.company),
            },
            start,
            wait_for,
            fixtures: file.fixtures.into_iter().collect(),
        })
    }
}

/// A declared timer longer than this is surely a mistake (and would make a run last
/// hours).
const MAX_TIMER: Duration = Duration::from_secs(3600);

mod optional_duration {
    //! `"60s"`, `"2m"` in the config file.
    use std::time::Duration;

    use serde::de::{self, Deserializer, Visitor};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        deserializer.deserialize_any(DurationText).map(Some)
    }

    /// Accepts `"90s"`, `"2m"`, `"1m 30s"`; refuses a bare number with the fix.
    struct DurationText;

    impl Visitor<'_> for DurationText {
        type Value = Duration;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(r#"a duration such as "60s" or "2m""#)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
            humantime::parse_duration(text.trim())
                .map_err(|e| E::custom(format!(r#"{text:?} is not a duration such as "60s" or "2m": {e}"#)))
        }

        fn visit_i64<E: de::Error>(self, number: i64) -> Result<Duration, E> {
            Err(E::custom(format!(r#"{number} has no unit: write a duration such as "{number}s""#)))
        }

        fn visit_f64<E: de::Error>(self, number: f64) -> Result<Duration, E> {
            Err(E::custom(format!(r#"{number} has no unit: write a duration such as "60s""#)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ConfigFile {
        toml::from_str(text).expect("valid config")
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_fills_the_rest() {
        let flags = SystemArgs {
            machine_driver: Some("http://127.0.0.1:9000".to_owned()),
            idle_timeout: Some(Duration::from_secs(5)),
            ..SystemArgs::default()
        };
        let config = file(
            "machine_driver = \"http://127.0.0.1:8000\"\ncreate_purchase_url = \"http://127.0.0.1:8000/seqr/createPurchase\"\n\
             idle_timeout = \"60s\"\nunpaid_timeout = \"2m\"\nsystem_name = \"Acme\"\n[fixtures]\nmachine-1 = \"vm-17\"\n",
        );
        let system = flags.merge(config).expect("valid");
        assert_eq!(system.target.machine_driver.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(system.target.create_purchase_url.as_deref(), Some("http://127.0.0.1:8000/seqr/createPurchase"));
        assert_eq!(system.timers.idle_timeout, Some(Duration::from_secs(5)));
        assert_eq!(system.timers.unpaid_timeout, Some(Duration::from_secs(120)));
        assert_eq!(system.identity.describe().as_deref(), Some("Acme"));
        assert_eq!(system.fixtures, vec![("machine-1".to_owned(), "vm-17".to_owned())]);
        assert_eq!(system.glase_listen, DEFAULT_GLASE_LISTEN);
        assert_eq!(system.wait_for, Duration::ZERO, "no --start: one try");
    }

    #[test]
    fn a_started_system_is_waited_for_by_default() {
        let flags = SystemArgs { start: Some("./backend".to_owned()), ..SystemArgs::default() };
        let system = flags.merge(ConfigFile::default()).expect("valid");
        assert_eq!(system.start, Some(StartCommand { command: "./backend".to_owned(), dir: None }));
        assert_eq!(system.wait_for, DEFAULT_START_WAIT);
    }

    #[test]
    fn a_start_command_from_the_file_runs_in_the_files_directory() {
        let dir = std::env::temp_dir().join(format!("glase-config-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("glase.toml");
        std::fs::write(&path, "start = \"./backend\"\n").expect("written");
        let from_file = SystemArgs { config: Some(path), ..SystemArgs::default() };
        let start = from_file.resolve().expect("valid").start.expect("a start command");
        assert_eq!(start.dir.as_deref(), Some(dir.as_path()));
        let flag_wins = SystemArgs { start: Some("./other".to_owned()), ..from_file };
        let start = flag_wins.resolve().expect("valid").start.expect("a start command");
        assert_eq!((start.command.as_str(), start.dir), ("./other", None), "a flag runs where the suite runs");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_duration_without_a_unit_says_how_to_write_one() {
        let error = toml::from_str::<ConfigFile>("idle_timeout = 60").expect_err("no unit").to_string();
        assert!(error.contains(r#"write a duration such as "60s""#), "{error}");
        let error = toml::from_str::<ConfigFile>("wait_for = \"soon\"").expect_err("not a duration").to_string();
        assert!(error.contains(r#"not a duration such as "60s""#), "{error}");
    }

    #[test]
    fn bad_urls_timers_and_keys_are_usage_errors_naming_what_is_wrong() {
        let bad = SystemArgs { shop_driver: Some("htp://x".to_owned()), ..SystemArgs::default() };
        assert!(bad.merge(ConfigFile::default()).is_err_and(|e| e.0.starts_with("--shop-driver")));
        let zero = SystemArgs { idle_timeout: Some(Duration::ZERO), ..SystemArgs::default() };
        assert!(zero.merge(ConfigFile::default()).is_err_and(|e| e.0.contains("--idle-timeout")));
        assert!(toml::from_str::<ConfigFile>("idle_timout = \"1s\"").is_err(), "unknown keys are errors");
        assert!(toml::from_str::<ConfigFile>("idle_timeout = \"soon\"").is_err());
    }
}
