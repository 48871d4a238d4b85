//! Reading a service's TOML configuration file (where its `[server]` [`crate::Limits`]
//! come from), with an error that names the file and keeps the cause.

use std::path::Path;

use serde::de::DeserializeOwned;

/// Why a configuration file cannot be used as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigFileError {
    #[error("cannot read config file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config file {path}")]
    Parse {
        path: String,
        #[source]
        source: toml::de::Error,
    },
}

/// Why a service's configuration cannot be used: its file, or a value in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read, or is not TOML of this shape.
    #[error(transparent)]
    File(#[from] ConfigFileError),
    /// Every problem the checks found, joined with `; `.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Reads and parses the TOML file at `path`.
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read { path: shown.clone(), source })?;
    toml::from_str(&text).map_err(|source| ConfigFileError::Parse { path: shown, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Sample {
        #[allow(dead_code, reason = "read only to be parsed")]
        port: u16,
    }

    #[test]
    fn a_missing_or_malformed_file_is_named_with_its_cause() {
        let dir = std::env::temp_dir().join(format!("glase-listen-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = read_toml::<Sample>(&dir.join("absent.toml")).unwrap_err();
        assert!(matches!(&missing, ConfigFileError::Read { path, .. } if path.ends_with("absent.toml")), "{missing:?}");
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "port = \"eighty\"\n").unwrap();
        let error = read_toml::<Sample>(&bad).unwrap_err();
        assert!(error.to_string().starts_with("invalid config file"), "{error}");
        let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
        assert!(cause.contains("port"), "the parser's reason is kept: {cause}");
        std::fs::write(&bad, "port = 8080\n").unwrap();
        assert!(read_toml::<Sample>(&bad).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
