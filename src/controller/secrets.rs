//! Reading Kubernetes Secrets: secret environment variables, trigger keys and credentials.
//! Values go to Scaleway only; what is kept is a keyed digest, never a value.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use sha2::Sha256;

use super::error::Error;
use crate::crd::{SecretEnvVar, SecretKeySelector};
use crate::scaleway::SecretString;

/// Reads Secrets of one Kubernetes namespace, each at most once per reconcile.
pub struct SecretReader {
    api: Api<Secret>,
    namespace: String,
    cache: BTreeMap<String, Option<Secret>>,
}

impl SecretReader {
    /// A reader for the Secrets of `namespace`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            cache: BTreeMap::new(),
        }
    }

    async fn secret(&mut self, name: &str) -> Result<Option<&Secret>, Error> {
        if !self.cache.contains_key(name) {
            let secret = self
                .api
                .get_opt(name)
                .await
                .map_err(Error::kube("read Secret"))?;
            self.cache.insert(name.to_owned(), secret);
        }
        Ok(self.cache.get(name).and_then(Option::as_ref))
    }

    /// The raw bytes at `selector`, or a clear "not found" error naming the Secret and key.
    pub async fn bytes(&mut self, selector: &SecretKeySelector) -> Result<Vec<u8>, Error> {
        let namespace = self.namespace.clone();
        let Some(secret) = self.secret(&selector.name).await? else {
            return Err(Error::SecretNotFound(format!(
                "Secret {namespace}/{} not found",
                selector.name
            )));
        };
        let bytes = secret
            .data
            .as_ref()
            .and_then(|data| data.get(&selector.key))
            .map(|b| b.0.clone());
        match bytes {
            Some(bytes) => Ok(bytes),
            None => secret
                .string_data
                .as_ref()
                .and_then(|data| data.get(&selector.key))
                .map(|text| text.as_bytes().to_vec())
                .ok_or_else(|| {
                    Error::SecretNotFound(format!(
                        "Secret {namespace}/{} has no key {}",
                        selector.name, selector.key
                    ))
                }),
        }
    }

    /// The value at `selector` as text, or a clear "not found" error naming the Secret and
    /// key.
    pub async fn value(&mut self, selector: &SecretKeySelector) -> Result<SecretString, Error> {
        let bytes = self.bytes(selector).await?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::InvalidSpec(format!(
                "key {} of Secret {}/{} is not UTF-8 text",
                selector.key, self.namespace, selector.name
            ))
        })?;
        Ok(SecretString::new(text))
    }

    /// Every value of a secret environment variable list, by variable name.
    pub async fn env(
        &mut self,
        vars: &[SecretEnvVar],
    ) -> Result<BTreeMap<String, SecretString>, Error> {
        let mut values = BTreeMap::new();
        for var in vars {
            values.insert(var.name.clone(), self.value(&var.secret_key_ref).await?);
        }
        Ok(values)
    }

    /// An optional key of a Secret: `None` when the key is absent.
    pub async fn optional(&mut self, name: &str, key: &str) -> Result<Option<SecretString>, Error> {
        match self
            .value(&SecretKeySelector {
                name: name.to_owned(),
                key: key.to_owned(),
            })
            .await
        {
            Ok(value) => Ok(Some(value)),
            Err(Error::SecretNotFound(message)) if message.contains("has no key") => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// A keyed digest (HMAC-SHA256) of named secret values, to tell when they changed without
/// keeping them. The key is the operator's and never leaves the process, so a digest in a
/// status cannot be used to guess a value.
pub fn digest(key: &[u8], values: &BTreeMap<String, SecretString>) -> Option<String> {
    if values.is_empty() {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    for (name, value) in values {
        mac.update(&(name.len() as u64).to_be_bytes());
        mac.update(name.as_bytes());
        mac.update(&(value.expose().len() as u64).to_be_bytes());
        mac.update(value.expose().as_bytes());
    }
    let bytes = mac.finalize().into_bytes();
    Some(format!(
        "hmac-sha256:{}",
        bytes
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, SecretString> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::new(*v)))
            .collect()
    }

    #[test]
    fn digest_changes_with_any_value_and_hides_it() {
        let key = b"operator-key";
        let a = digest(key, &values(&[("DB", "one")]));
        let b = digest(key, &values(&[("DB", "two")]));
        let c = digest(key, &values(&[("DB", "one")]));
        assert_ne!(a, b);
        assert_eq!(a, c);
        assert!(!a.clone().unwrap_or_default().contains("one"));
        assert_ne!(digest(b"other-key", &values(&[("DB", "one")])), a, "keyed");
        assert_ne!(
            digest(key, &values(&[("D", "Bone")])),
            a,
            "names and values are delimited"
        );
        assert_eq!(digest(key, &BTreeMap::new()), None);
    }
}
