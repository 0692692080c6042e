//! Credentials and defaults, read the way Scaleway's own tools read them: `SCW_*` environment
//! variables first, then the `scw` CLI's config file (active profile over the top-level one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::SecretString;

/// Regions that host Serverless Containers (the `{region}` enum of the spec).
pub const REGIONS: [&str; 3] = ["fr-par", "nl-ams", "pl-waw"];

/// The public Scaleway API.
pub const DEFAULT_API_URL: &str = "https://api.scaleway.com";

/// What the operator needs to call Scaleway on someone's behalf.
#[derive(Clone, Debug, PartialEq)]
pub struct Credentials {
    /// Access key (`SCWXXXXXXXXXXXXXXXXX`): identifies the key, is not secret.
    pub access_key: Option<String>,
    /// Secret key, sent as `X-Auth-Token`.
    pub secret_key: SecretString,
    /// Project new namespaces go to when a spec names none.
    pub default_project_id: Option<String>,
    /// Organization, for list filters.
    pub default_organization_id: Option<String>,
    /// Region used when a spec names none.
    pub default_region: Option<String>,
    /// API base URL.
    pub api_url: Option<String>,
}

/// Why credentials could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// No secret key anywhere.
    #[error(
        "no Scaleway secret key: set SCW_SECRET_KEY, or secret_key in the scw config file ({path})"
    )]
    MissingSecretKey {
        /// The config file that was looked at.
        path: String,
    },
    /// The config file exists but could not be read.
    #[error("cannot read the scw config file {path}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid YAML of the expected shape.
    #[error("cannot parse the scw config file {path}: {detail}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (it never quotes values).
        detail: String,
    },
    /// The active profile is not in the file.
    #[error("profile {profile:?} is not defined in the scw config file {path}")]
    UnknownProfile {
        /// The profile asked for.
        profile: String,
        /// The file.
        path: String,
    },
    /// The region is not one that hosts Serverless Containers.
    #[error("unknown region {region:?}: expected one of fr-par, nl-ams, pl-waw")]
    UnknownRegion {
        /// The region given.
        region: String,
    },
}

/// One profile of the scw config file; the top level of the file is a profile too.
#[derive(Clone, Debug, Default, Deserialize)]
struct Profile {
    #[serde(default)]
    access_key: Option<String>,
    #[serde(default)]
    secret_key: Option<SecretString>,
    #[serde(default)]
    default_organization_id: Option<String>,
    #[serde(default)]
    default_project_id: Option<String>,
    #[serde(default)]
    default_region: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
}

impl Profile {
    /// Fields of `self` win over those of `base`.
    fn over(self, base: Profile) -> Profile {
        Profile {
            access_key: self.access_key.or(base.access_key),
            secret_key: self.secret_key.or(base.secret_key),
            default_organization_id: self
                .default_organization_id
                .or(base.default_organization_id),
            default_project_id: self.default_project_id.or(base.default_project_id),
            default_region: self.default_region.or(base.default_region),
            api_url: self.api_url.or(base.api_url),
        }
    }
}

/// The scw CLI's `config.yaml`.
#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    access_key: Option<String>,
    #[serde(default)]
    secret_key: Option<SecretString>,
    #[serde(default)]
    default_organization_id: Option<String>,
    #[serde(default)]
    default_project_id: Option<String>,
    #[serde(default)]
    default_region: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    active_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// Where the scw CLI looks for its config file.
fn config_path(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(path) = env("SCW_CONFIG_PATH") {
        return PathBuf::from(path);
    }
    let config_home = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"));
    config_home.join("scw").join("config.yaml")
}

fn read_profile(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Profile, CredentialsError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Profile::default()),
        Err(source) => {
            return Err(CredentialsError::Read {
                path: shown,
                source,
            });
        }
    };
    let mut file: ConfigFile = serde_saphyr::from_str(&text).map_err(|error| {
        // The parser's message can quote the offending text, which may be a key: keep only
        // its position.
        let detail = error.to_string();
        let position = detail.lines().next().unwrap_or_default();
        let position = position
            .split(':')
            .next()
            .unwrap_or("invalid YAML")
            .to_owned();
        CredentialsError::Parse {
            path: shown.clone(),
            detail: position,
        }
    })?;
    let base = Profile {
        access_key: file.access_key.take(),
        secret_key: file.secret_key.take(),
        default_organization_id: file.default_organization_id.take(),
        default_project_id: file.default_project_id.take(),
        default_region: file.default_region.take(),
        api_url: file.api_url.take(),
    };
    let active = env("SCW_PROFILE").or(file.active_profile.take());
    match active {
        None => Ok(base),
        Some(name) if name == "default" && !file.profiles.contains_key("default") => Ok(base),
        Some(name) => match file.profiles.remove(&name) {
            Some(profile) => Ok(profile.over(base)),
            None => Err(CredentialsError::UnknownProfile {
                profile: name,
                path: shown,
            }),
        },
    }
}

impl Credentials {
    /// Loads credentials from the process environment and, when present, the scw config file.
    pub fn from_environment() -> Result<Self, CredentialsError> {
        Self::load(&|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Loads credentials with `env` as the environment (for tests and for Secrets that hold
    /// `SCW_*` keys). Environment variables win over the active profile, which wins over the
    /// top level of the config file.
    pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        let path = config_path(env);
        let file = read_profile(&path, env)?;
        let from_env = Profile {
            access_key: env("SCW_ACCESS_KEY"),
            secret_key: env("SCW_SECRET_KEY").map(SecretString::from),
            default_organization_id: env("SCW_DEFAULT_ORGANIZATION_ID"),
            default_project_id: env("SCW_DEFAULT_PROJECT_ID"),
            default_region: env("SCW_DEFAULT_REGION"),
            api_url: env("SCW_API_URL"),
        };
        let merged = from_env.over(file);
        let secret_key = merged
            .secret_key
            .filter(|key| !key.is_empty())
            .ok_or_else(|| CredentialsError::MissingSecretKey {
                path: path.display().to_string(),
            })?;
        if let Some(region) = &merged.default_region {
            check_region(region)?;
        }
        Ok(Self {
            access_key: merged.access_key,
            secret_key,
            default_project_id: merged.default_project_id,
            default_organization_id: merged.default_organization_id,
            default_region: merged.default_region,
            api_url: merged.api_url,
        })
    }
}

/// Checks that a region hosts Serverless Containers.
pub fn check_region(region: &str) -> Result<(), CredentialsError> {
    if REGIONS.contains(&region) {
        Ok(())
    } else {
        Err(CredentialsError::UnknownRegion {
            region: region.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn write_config(text: &str) -> (PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("scw-cred-test-{}", fastrand::u64(..)));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("config.yaml");
        let _ = std::fs::write(&path, text);
        let shown = path.display().to_string();
        (path, shown)
    }

    const FILE: &str = r#"access_key: SCWTOPLEVEL0000000000
secret_key: 11111111-1111-1111-1111-111111111111
default_project_id: 22222222-2222-2222-2222-222222222222
default_region: fr-par
active_profile: prod
profiles:
  prod:
    secret_key: 33333333-3333-3333-3333-333333333333
    default_region: nl-ams
  dev:
    access_key: SCWDEV00000000000000
"#;

    #[test]
    fn active_profile_overrides_the_top_level() {
        let (_path, shown) = write_config(FILE);
        let creds = Credentials::load(&env_of(vec![("SCW_CONFIG_PATH", shown)]));
        let creds = creds.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            creds.secret_key.expose(),
            "33333333-3333-3333-3333-333333333333"
        );
        assert_eq!(creds.default_region.as_deref(), Some("nl-ams"));
        assert_eq!(creds.access_key.as_deref(), Some("SCWTOPLEVEL0000000000"));
        assert_eq!(
            creds.default_project_id.as_deref(),
            Some("22222222-2222-2222-2222-222222222222")
        );
    }

    #[test]
    fn environment_wins_and_scw_profile_selects() {
        let (_path, shown) = write_config(FILE);
        let creds = Credentials::load(&env_of(vec![
            ("SCW_CONFIG_PATH", shown),
            ("SCW_PROFILE", "dev".into()),
            ("SCW_DEFAULT_REGION", "pl-waw".into()),
            ("SCW_API_URL", "http://127.0.0.1:1".into()),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(creds.access_key.as_deref(), Some("SCWDEV00000000000000"));
        assert_eq!(
            creds.secret_key.expose(),
            "11111111-1111-1111-1111-111111111111"
        );
        assert_eq!(creds.default_region.as_deref(), Some("pl-waw"));
        assert_eq!(creds.api_url.as_deref(), Some("http://127.0.0.1:1"));
    }

    #[test]
    fn missing_file_and_key_is_a_clear_error() {
        let result = Credentials::load(&env_of(vec![(
            "SCW_CONFIG_PATH",
            "/nonexistent/scw/config.yaml".into(),
        )]));
        assert!(matches!(
            result,
            Err(CredentialsError::MissingSecretKey { .. })
        ));
        let only_env = Credentials::load(&env_of(vec![
            ("SCW_CONFIG_PATH", "/nonexistent/scw/config.yaml".into()),
            ("SCW_SECRET_KEY", "k".into()),
        ]));
        assert!(only_env.is_ok());
    }

    #[test]
    fn unknown_profile_and_region_are_rejected() {
        let (_path, shown) = write_config(FILE);
        let result = Credentials::load(&env_of(vec![
            ("SCW_CONFIG_PATH", shown.clone()),
            ("SCW_PROFILE", "nope".into()),
        ]));
        assert!(matches!(
            result,
            Err(CredentialsError::UnknownProfile { .. })
        ));
        let result = Credentials::load(&env_of(vec![
            ("SCW_CONFIG_PATH", shown),
            ("SCW_DEFAULT_REGION", "us-east".into()),
        ]));
        assert!(matches!(
            result,
            Err(CredentialsError::UnknownRegion { .. })
        ));
    }

    #[test]
    fn a_parse_error_does_not_quote_the_file() {
        let (_path, shown) = write_config("secret_key: [unclosed-super-secret\n");
        let result = Credentials::load(&env_of(vec![("SCW_CONFIG_PATH", shown)]));
        match result {
            Err(error @ CredentialsError::Parse { .. }) => {
                assert!(
                    !error.to_string().contains("unclosed-super-secret"),
                    "{error}"
                );
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}
