//! Reading the environment and `.splunkrc` at the edge of a program.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use spoor_proto::{Config, ConfigBuilder, Error};

/// Resolves a [`Config`] as the Splunk SDK examples do: `explicit` settings first, then the
/// `SPLUNK_*` environment variables, then the `.splunkrc` file named by `SPLUNKRC` (or
/// `~/.splunkrc` when that is unset), then the defaults. See [`Config::load`] for the names.
///
/// A missing `~/.splunkrc` is no error; a missing file that `SPLUNKRC` names is.
///
/// ```no_run
/// let config = spoor_splunk::load_config(spoor_proto::ConfigBuilder::new().app("search"))?;
/// # Ok::<(), spoor_proto::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Config`] for a `SPLUNK_*` value that is not UTF-8, a `.splunkrc` that cannot be
/// read, or anything [`Config::load`] refuses (naming the key, never a value).
pub fn load_config(explicit: &ConfigBuilder) -> Result<Config, Error> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    load_from(
        explicit,
        std::env::vars_os(),
        std::env::var_os("SPLUNKRC"),
        home.as_deref(),
    )
}

/// [`load_config`] with the process environment given as arguments.
fn load_from(
    explicit: &ConfigBuilder,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    splunkrc: Option<OsString>,
    home: Option<&Path>,
) -> Result<Config, Error> {
    let mut env = Vec::new();
    for (name, value) in vars {
        let Some(name) = name.to_str().filter(|n| n.starts_with("SPLUNK_")) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| config_error(format!("{name} is not valid UTF-8")))?;
        env.push((name.to_owned(), value));
    }
    let rc = match (splunkrc.filter(|p| !p.is_empty()), home) {
        (Some(path), _) => Some(read_rc(Path::new(&path), "SPLUNKRC")?),
        (None, Some(home)) => match read_rc(&home.join(".splunkrc"), "~/.splunkrc") {
            Ok(text) => Some(text),
            Err(_) if !home.join(".splunkrc").exists() => None,
            Err(e) => return Err(e),
        },
        (None, None) => None,
    };
    Config::load(explicit, env, rc.as_deref())
}

fn read_rc(path: &Path, named_by: &str) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| {
        // The kind of failure, not the path: the path may name a user.
        config_error(format!("cannot read the .splunkrc file of {named_by}: {e}"))
    })
}

fn config_error(message: String) -> Error {
    Error::Config { message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn explicit_then_env_then_rc_file() {
        let dir = std::env::temp_dir().join(format!("spoor-splunk-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(".splunkrc"),
            "host=from-rc\nport=18089\napp=search\n",
        )
        .unwrap();
        let mut explicit = ConfigBuilder::new();
        explicit.app("spoor");
        let env = vars(&[("SPLUNK_HOST", "from-env"), ("PATH", "/bin")]);
        let config = load_from(&explicit, env, None, Some(&dir)).unwrap();
        assert_eq!(config.base_url(), "https://from-env:18089");
        assert_eq!(config.namespace().unwrap().app, "spoor");

        // SPLUNKRC wins over ~/.splunkrc; a file it names must exist.
        let other = dir.join("other-rc");
        std::fs::write(&other, "port=1\n").unwrap();
        let config = load_from(&explicit, vars(&[]), Some(other.into()), Some(&dir)).unwrap();
        assert_eq!(config.base_url(), "https://localhost:1");
        let err = load_from(&explicit, vars(&[]), Some(dir.join("nope").into()), None);
        assert!(err.unwrap_err().to_string().contains("SPLUNKRC"));

        // No ~/.splunkrc is no error.
        let empty = dir.join("empty-home");
        std::fs::create_dir_all(&empty).unwrap();
        let config = load_from(&explicit, vars(&[]), None, Some(&empty)).unwrap();
        assert_eq!(config.base_url(), "https://localhost:8089");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_variable_not_the_value() {
        let err = load_from(
            &ConfigBuilder::new(),
            vars(&[("SPLUNK_PORT", "hunter2")]),
            None,
            None,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "invalid configuration: SPLUNK_PORT is not a port number"
        );
    }
}
