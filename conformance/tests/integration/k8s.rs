//! docs/k8s/: the Indexed Job that runs `load --shard` and the Job that merges its
//! reports stay true to the command line: every pod's arguments, with the completion
//! index Kubernetes substitutes, parse as `glase-conformance` parses them; the shards
//! are as many as the Job's completions and run at once; the merge reads exactly the
//! directories the shards write.

use std::path::PathBuf;

use clap::Parser;
use glase_conformance::cli::{Cli, Command};
use glase_conformance::load::LoadAction;
use serde_json::Value;

fn documents(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/k8s").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn job<'a>(documents: &'a [Value], name: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == "Job" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Job {name}"))
}

/// The container's command and arguments, with `$(SHARD)` as Kubernetes expands it.
fn argv(job: &Value, shard: &str) -> Vec<String> {
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let words = |field: &str| -> Vec<String> {
        container[field].as_array().map_or_else(Vec::new, |list| {
            list.iter().map(|w| w.as_str().expect("a string").replace("$(SHARD)", shard)).collect()
        })
    };
    words("command").into_iter().chain(words("args")).collect()
}

#[test]
fn the_indexed_job_runs_one_shard_per_completion_index_and_the_merge_reads_them_all() {
    let shards = documents("load-shards.yaml");
    let load = job(&shards, "glase-load");
    let spec = &load["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let count = spec["completions"].as_u64().expect("completions");
    assert_eq!(spec["parallelism"].as_u64(), Some(count), "the shards must run at once");
    assert_eq!(spec["backoffLimitPerIndex"], 0, "a failed shard must not stop the others");
    let env = &spec["template"]["spec"]["containers"][0]["env"];
    let shard_env = env.as_array().expect("env").iter().find(|e| e["name"] == "SHARD").expect("SHARD");
    assert_eq!(
        shard_env["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    let mut outs = Vec::new();
    for index in 0..count {
        let words = argv(load, &index.to_string());
        let cli = Cli::try_parse_from(&words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
        let Command::Load(command) = cli.command else { panic!("{words:?} is not `load`") };
        assert!(command.action.is_none());
        let args = command.args;
        assert_eq!(args.shard.map(|s| s.to_string()), Some(format!("{index}/{count}")));
        assert!(args.glase_url.is_some() && args.system.create_purchase_url.is_some());
        assert_eq!(args.seed, Some(42), "every shard the same --seed");
        assert!(args.system.wait_for.is_some(), "pods start together: the shards wait for the mock");
        outs.push(args.out.expect("--out").display().to_string());
    }

    let merge = documents("load-merge.yaml");
    let words = argv(job(&merge, "glase-load-merge"), "");
    let cli = Cli::try_parse_from(&words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
    let Command::Load(command) = cli.command else { panic!("{words:?} is not `load merge`") };
    let Some(LoadAction::Merge(merge_args)) = command.action else { panic!("{words:?} is not `load merge`") };
    let dirs: Vec<String> = merge_args.dirs.iter().map(|d| d.display().to_string()).collect();
    assert_eq!(dirs, outs, "the merge must read every shard's --out");

    let claim = |documents: &[Value], name: &str| -> Value {
        job(documents, name)["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"].clone()
    };
    assert_eq!(claim(&shards, "glase-load"), claim(&merge, "glase-load-merge"));
}

/// The mock's configuration in the ConfigMap is one the mock accepts, and it is where
/// the Deployment tells the mock to read it.
#[test]
fn the_mock_reads_a_configuration_it_accepts() {
    let documents = documents("load-shards.yaml");
    let map = documents.iter().find(|d| d["kind"] == "ConfigMap").expect("a ConfigMap");
    let (key, text) = map["data"].as_object().expect("data").iter().next().expect("one file");
    let deployment = documents.iter().find(|d| d["kind"] == "Deployment").expect("the mock's Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let mount = container["volumeMounts"][0]["mountPath"].as_str().expect("a mount");
    let args: Vec<&str> = container["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    let read = args.iter().position(|a| *a == "--config").map(|i| args[i + 1]);
    assert_eq!(read, Some(format!("{mount}/{key}").as_str()));
    let path = std::env::temp_dir().join(format!("glase-k8s-{}-{key}", std::process::id()));
    std::fs::write(&path, text.as_str().expect("text")).expect("written");
    let config = mock_glase::Config::from_file(&path).and_then(|c| c.resolved());
    let _ = std::fs::remove_file(&path);
    let config = config.unwrap_or_else(|e| panic!("{key}: {e}"));
    assert!(config.journal_capacity >= 1_000_000, "room for the shards to read the journal");
}
