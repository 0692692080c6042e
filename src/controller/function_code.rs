//! A function's zip archive: read from a ConfigMap or Secret key, or downloaded from a URL,
//! with its SHA-256 digest, which decides when the code is uploaded and deployed again.

use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use sha2::{Digest, Sha256};

use super::error::Error;
use super::secrets::SecretReader;
use crate::crd::{FunctionCode, ServerlessFunctionStatus};

/// Largest archive downloaded from a URL (Scaleway accepts up to 100 MB of zipped code).
pub const MAX_DOWNLOAD_BYTES: u64 = 100 * 1024 * 1024;

/// An archive in memory.
pub struct Archive {
    /// The zip bytes.
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of `bytes`.
    pub sha256: String,
}

impl Archive {
    /// An archive and its digest.
    pub fn new(bytes: Vec<u8>) -> Self {
        let sha256 = hex(&Sha256::digest(&bytes));
        Self { bytes, sha256 }
    }
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code may embed credentials: never print it.
        f.debug_struct("Archive")
            .field("len", &self.bytes.len())
            .field("sha256", &self.sha256)
            .finish()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A short description of where the code comes from, for status and events (a URL is
/// shown without its query string, which may hold a signature).
pub fn source(code: &FunctionCode) -> String {
    if let Some(r) = &code.config_map_key_ref {
        return format!("ConfigMap {}/{}", r.name, r.key);
    }
    if let Some(r) = &code.secret_key_ref {
        return format!("Secret {}/{}", r.name, r.key);
    }
    let url = code.url.as_deref().unwrap_or_default();
    url.split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// A digest of a full URL (query included), kept in status so that a changed query string
/// (a new signature or version) is noticed without showing it.
pub fn url_fingerprint(url: &str) -> String {
    hex(&Sha256::digest(url.as_bytes()))[..16].to_owned()
}

/// Whether a URL source can be skipped: the same URL (and pin) as the archive last deployed,
/// so the download is not repeated at every resync. ConfigMaps and Secrets are always read
/// (a cheap Kubernetes GET) so that an edited archive is deployed.
pub fn unchanged_url(code: &FunctionCode, previous: &ServerlessFunctionStatus) -> bool {
    let Some(url) = &code.url else {
        return false;
    };
    let same_source = previous.code_source.as_deref() == Some(source(code).as_str())
        && previous.code_url_digest.as_deref() == Some(url_fingerprint(url).as_str());
    let same_pin = code
        .sha256
        .as_ref()
        .is_none_or(|pin| previous.code_sha256.as_ref() == Some(pin));
    same_source && same_pin && previous.code_sha256.is_some()
}

/// Loads the archive.
pub async fn load(
    code: &FunctionCode,
    kube: &kube::Client,
    namespace: &str,
    secrets: &mut SecretReader,
) -> Result<Archive, Error> {
    if let Some(selector) = &code.config_map_key_ref {
        let api: Api<ConfigMap> = Api::namespaced(kube.clone(), namespace);
        let config_map = api
            .get_opt(&selector.name)
            .await
            .map_err(Error::kube("read ConfigMap"))?
            .ok_or_else(|| {
                Error::DependencyNotReady(format!(
                    "ConfigMap {namespace}/{} not found",
                    selector.name
                ))
            })?;
        if let Some(bytes) = config_map
            .binary_data
            .as_ref()
            .and_then(|d| d.get(&selector.key))
        {
            return Ok(Archive::new(bytes.0.clone()));
        }
        if config_map
            .data
            .as_ref()
            .is_some_and(|d| d.contains_key(&selector.key))
        {
            return Err(Error::InvalidSpec(format!(
                "key {} of ConfigMap {namespace}/{} is text (data); a zip belongs under binaryData, as `kubectl create configmap --from-file=code.zip` puts it",
                selector.key, selector.name
            )));
        }
        return Err(Error::DependencyNotReady(format!(
            "ConfigMap {namespace}/{} has no key {}",
            selector.name, selector.key
        )));
    }
    if let Some(selector) = &code.secret_key_ref {
        return Ok(Archive::new(secrets.bytes(selector).await?));
    }
    let url = code.url.as_deref().ok_or_else(|| {
        Error::InvalidSpec("code: set configMapKeyRef, secretKeyRef or url".into())
    })?;
    let archive = download(url).await?;
    if let Some(pin) = &code.sha256
        && pin != &archive.sha256
    {
        return Err(Error::InvalidSpec(format!(
            "the archive at {} has SHA-256 {}, not the {pin} that code.sha256 pins",
            source(code),
            archive.sha256
        )));
    }
    Ok(archive)
}

fn downloads() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap_or_default()
    })
}

/// Downloads `url`, refusing more than [`MAX_DOWNLOAD_BYTES`]. Errors never show the query
/// string.
async fn download(url: &str) -> Result<Archive, Error> {
    let shown = url.split(['?', '#']).next().unwrap_or_default().to_owned();
    let failed = |why: String| Error::DependencyNotReady(format!("download of {shown}: {why}"));
    let too_large = || {
        Error::InvalidSpec(format!(
            "the archive at {shown} is larger than {MAX_DOWNLOAD_BYTES} bytes"
        ))
    };
    let mut response = downloads()
        .get(url)
        .send()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}")));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOWNLOAD_BYTES)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?
    {
        if bytes.len() as u64 + chunk.len() as u64 > MAX_DOWNLOAD_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Archive::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::ConfigMapKeySelector;

    fn url_code(url: &str, sha256: Option<&str>) -> FunctionCode {
        FunctionCode {
            config_map_key_ref: None,
            secret_key_ref: None,
            url: Some(url.into()),
            sha256: sha256.map(str::to_owned),
        }
    }

    #[test]
    fn the_digest_is_sha256_hex_and_debug_hides_the_bytes() {
        assert_eq!(
            Archive::new(b"abc".to_vec()).sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let shown = format!("{:?}", Archive::new(b"password=hunter2".to_vec()));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn a_url_is_shown_without_its_query() {
        let code = url_code("https://s3.example/code.zip?X-Amz-Signature=abc", None);
        assert_eq!(source(&code), "https://s3.example/code.zip");
        let code = FunctionCode {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: "code".into(),
                key: "fn.zip".into(),
            }),
            secret_key_ref: None,
            url: None,
            sha256: None,
        };
        assert_eq!(source(&code), "ConfigMap code/fn.zip");
    }

    #[test]
    fn a_url_is_downloaded_again_only_when_it_or_its_pin_changes() {
        let url = "https://example.com/code.zip?v=1";
        let deployed = ServerlessFunctionStatus {
            code_source: Some("https://example.com/code.zip".into()),
            code_url_digest: Some(url_fingerprint(url)),
            code_sha256: Some("a".repeat(64)),
            ..Default::default()
        };
        assert!(unchanged_url(&url_code(url, None), &deployed));
        assert!(unchanged_url(
            &url_code(url, Some(&"a".repeat(64))),
            &deployed
        ));
        assert!(!unchanged_url(
            &url_code(url, Some(&"b".repeat(64))),
            &deployed
        ));
        assert!(!unchanged_url(
            &url_code("https://example.com/code.zip?v=2", None),
            &deployed
        ));
        assert!(!unchanged_url(
            &url_code(url, None),
            &ServerlessFunctionStatus::default()
        ));
    }
}
