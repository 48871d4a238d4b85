//! The `explore` command line: what to explore and how much, and the command that
//! replays one run.

use clap::Args;

use crate::system::{System, SystemArgs};

/// `glase-conformance explore`.
#[derive(Debug, Clone, Args)]
pub struct ExploreArgs {
    /// Your system (--create-purchase-url with --machine-driver; without both, explore
    /// tests the built-in reference reseller, fresh for every run), its idle timeout
    /// [default: 1s for the built-in reseller, 60s for yours], how to start it; as for `run`.
    #[command(flatten)]
    pub system: SystemArgs,
    /// Multiply Glase-side deadlines [default: 0.05 for the built-in reseller (the 20 s
    /// status rule in 1 s), 1 for your system].
    #[arg(long, value_name = "F")]
    pub deadline_scale: Option<f64>,
    /// Switch on one of the reference reseller's deliberate faults (repeatable; see
    /// --list-faults), to see explore find it.
    #[arg(long, value_enum, value_name = "FAULT", conflicts_with = "create_purchase_url")]
    pub fault: Vec<crate::builtin::Fault>,
    /// List the reference reseller's deliberate faults and exit.
    #[arg(long)]
    pub list_faults: bool,
    /// Seed of the exploration (default: the time; always printed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// How many random sequences to run.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Run only sequence K of the seed (what a failure's replay command uses; --runs is
    /// then ignored).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub run: Option<u32>,
    /// Most actions in one sequence.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub length: u32,
    /// How many machines each sequence uses.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub machines: u32,
    /// Most reruns while shrinking a failing sequence.
    #[arg(long, value_name = "N", default_value_t = 150)]
    pub shrink_budget: u32,
    /// SHOULD findings of the rules fail a run too.
    #[arg(long)]
    pub strict: bool,
    /// Print every action of every run and what it led to.
    #[arg(long, short)]
    pub verbose: bool,
}

impl ExploreArgs {
    /// The command line that replays run `run` of `seed` exactly (and shrinks it again),
    /// for `system` as resolved (flags, environment and config file).
    pub(crate) fn replay_command(&self, system: &System, seed: u64, run: u32) -> String {
        let mut words = vec!["glase-conformance explore".to_owned(), format!("--seed {seed} --run {run}")];
        if let Some(config) = &self.system.config {
            words.push(format!("--config {}", config.display()));
        }
        if let (Some(create), Some(driver)) = (&system.target.create_purchase_url, &system.target.machine_driver) {
            words.push(format!("--create-purchase-url {create} --machine-driver {driver}"));
            words.push(format!("--glase-listen {}", system.glase_listen));
        }
        words.push(format!("--length {} --machines {}", self.length, self.machines));
        if let Some(scale) = self.deadline_scale {
            words.push(format!("--deadline-scale {scale}"));
        }
        if let Some(idle) = system.timers.idle_timeout {
            words.push(format!("--idle-timeout {}", humantime::format_duration(idle)));
        }
        for fault in &self.fault {
            words.push(format!("--fault {}", fault.name()));
        }
        if self.strict {
            words.push("--strict".to_owned());
        }
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ExploreArgs,
    }

    fn parse(words: &[&str]) -> Result<ExploreArgs, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("explore").chain(words.iter().copied())).map(|w| w.args)
    }

    // A build without the built-in reseller has no fault to name.
    #[cfg(feature = "reference-reseller")]
    #[test]
    fn the_replay_command_names_the_run_and_everything_that_shapes_it() {
        let args = parse(&["--seed", "9", "--length", "6", "--fault", "skip-status-fetch", "--strict"]).expect("valid");
        let system = args.system.resolve().expect("valid");
        assert!(!system.has_target());
        assert_eq!(
            args.replay_command(&system, 9, 4),
            "glase-conformance explore --seed 9 --run 4 --length 6 --machines 2 --fault skip-status-fetch --strict"
        );
        let replayed: Vec<String> = args.replay_command(&system, 9, 4).split(' ').skip(2).map(str::to_owned).collect();
        let again = parse(&replayed.iter().map(String::as_str).collect::<Vec<_>>()).expect("the replay parses");
        assert_eq!((again.seed, again.run, again.length), (Some(9), Some(4), 6));
    }

    #[test]
    fn bad_combinations_are_usage_errors() {
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["--machines", "0"]).is_err());
        let both = ["--create-purchase-url", "http://x/createPurchase", "--machine-driver", "http://x"];
        assert!(parse(&both).is_ok_and(|a| a.system.resolve().is_ok_and(|s| s.has_target())));
        let with_fault = [&both[..], &["--fault", "skip-status-fetch"]].concat();
        assert!(parse(&with_fault).is_err(), "faults are the built-in reseller's");
    }
}
