//! The system under test, resolved: its endpoints, its timers, who it is, how to start
//! it and how long to wait for it.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::runner::target::Target;
use crate::runner::waits::Timers;

/// Where the embedded Glase listens unless told otherwise.
pub const DEFAULT_GLASE_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 7070);
/// How long `--start`ed systems get to answer, unless `--wait-for` says otherwise.
pub const DEFAULT_START_WAIT: Duration = Duration::from_secs(60);

/// Who the system under test is, for every report (certification reads it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The system's name (`--system-name`), e.g. "Acme vending backend".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its version (`--system-version`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The company (`--company`): the certification's clientId is the company name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

impl Identity {
    /// `Acme vending backend 4.2 (Acme AB)`, or `None` when nothing was declared.
    pub fn describe(&self) -> Option<String> {
        let mut words = Vec::new();
        words.extend(self.name.clone());
        words.extend(self.version.clone());
        if let Some(company) = &self.company {
            words.push(if words.is_empty() { company.clone() } else { format!("({company})") });
        }
        (!words.is_empty()).then(|| words.join(" "))
    }
}

/// How to start the system under test (`--start`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartCommand {
    /// A shell command line, run with `sh -c`.
    pub command: String,
    /// The directory it runs in: the config file's when the command comes from one (so
    /// `start = "./gradlew run"` means the file's neighbour wherever the suite is run
    /// from), else the suite's own.
    pub dir: Option<std::path::PathBuf>,
}

/// The system under test, resolved.
#[derive(Debug, Clone)]
pub struct System {
    pub target: Target,
    pub glase_listen: SocketAddr,
    pub timers: Timers,
    pub identity: Identity,
    pub start: Option<StartCommand>,
    /// How long to wait for its endpoints to answer: `--wait-for`, else 60 s when the
    /// suite starts it, else one try.
    pub wait_for: Duration,
    /// The fixture names the config file declares (`[fixtures]`): the system's names
    /// for the library's machines, products and shop items.
    pub fixtures: Vec<(String, String)>,
}

impl System {
    /// Whether any endpoint was named.
    pub fn has_target(&self) -> bool {
        let t = &self.target;
        t.create_purchase_url.is_some()
            || t.machine_driver.is_some()
            || t.shop_driver.is_some()
            || t.pos_driver.is_some()
    }

    /// The SOAP URL the system must be configured with.
    pub fn glase_url(&self) -> String {
        format!("http://{}/extclientproxy/service/v2", self.glase_listen)
    }
}
