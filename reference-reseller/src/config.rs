//! The reseller's configuration (TOML). Each part owns its section's type.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::Fault;
use crate::pos::PosConfig;
use crate::vending::VendingConfig;
use crate::webshop::WebshopConfig;

/// Everything the reseller needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where to listen (createPurchase, notifications, the shop, the drivers).
    pub listen: SocketAddr,
    /// The base URL Glase reaches this reseller at, used to build notificationUrls
    /// (default: `http://<listen>`).
    pub public_url: Option<String>,
    /// The Glase SOAP endpoint.
    pub glase_url: String,
    /// How long one Glase call may take.
    #[serde(with = "duration_serde")]
    pub glase_timeout: Duration,
    /// The terminal this reseller calls Glase as.
    pub terminal_id: String,
    pub terminal_password: String,
    /// `clientId`: the company name.
    pub client_id: String,
    /// SQLite file; created if missing.
    pub database: PathBuf,
    pub vending: VendingConfig,
    pub webshop: WebshopConfig,
    /// The point-of-sale till.
    pub pos: PosConfig,
    /// Deliberate faults (never on by default).
    pub faults: Vec<Fault>,
    /// When set, the machine, shop and till drivers (`/driver/…`) and the shop's staff actions
    /// (refund, close the period) need it: `Authorization: Bearer <token>`, or HTTP Basic
    /// with any user name and the token as password (a browser's login prompt). Without
    /// it they are open to anyone who reaches the port: test builds on loopback only.
    pub driver_token: Option<String>,
    /// Limits on the connections clients (Glase, browsers, drivers) open to the reseller.
    pub server: glase_listen::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7071)),
            public_url: None,
            glase_url: "http://127.0.0.1:7070/extclientproxy/service/v2".to_owned(),
            glase_timeout: Duration::from_secs(10),
            terminal_id: "demo-terminal".to_owned(),
            terminal_password: "demo1234".to_owned(),
            client_id: "Glase Reference Reseller".to_owned(),
            database: PathBuf::from("reference-reseller.sqlite"),
            vending: VendingConfig::default(),
            webshop: WebshopConfig::default(),
            pos: PosConfig::default(),
            faults: Vec::new(),
            driver_token: None,
            server: glase_listen::Limits::default(),
        }
    }
}

/// Why the configuration cannot be used (the kind every service built on
/// `glase-listen` has).
pub use glase_listen::ConfigError;

impl Config {
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        Ok(glase_listen::read_toml(path)?)
    }

    /// The base URL for notificationUrls and links.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen)).trim_end_matches('/').to_owned()
    }

    /// Checks everything at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if !(self.glase_url.starts_with("http://") || self.glase_url.starts_with("https://")) {
            problems.push(format!("glase_url {:?} must be an http(s) URL", self.glase_url));
        }
        if self.driver_token.as_deref().is_some_and(|t| t.trim().is_empty() || t.chars().any(char::is_whitespace)) {
            problems.push("driver_token must be non-empty and without spaces".to_owned());
        }
        problems.extend(self.server.problems());
        problems.extend(self.vending.problems());
        problems.extend(self.webshop.problems());
        if self.pos.enabled {
            problems.extend(self.pos.problems());
        }
        if problems.is_empty() { Ok(()) } else { Err(ConfigError::Invalid(problems.join("; "))) }
    }
}

pub mod duration_serde {
    //! `Duration` as a humantime string ("10s", "2m"), for `#[serde(with = ...)]`.
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}
