//! How secret values are kept and shown.
//!
//! The Containers v1 spec does not say what a GET returns for `secret_environment_variables`
//! (Functions v1beta1 returns `hashed_value`s). The emulator never keeps or returns a secret in
//! clear: each value is replaced on input by `$sha256$<hex>`, the lowercase hex SHA-256 of a
//! 16-byte salt drawn once per emulator followed by the value. The `$sha256$` prefix makes a
//! hashed value impossible to mistake for a plaintext one, and the per-emulator salt keeps the
//! digest from being a plain unsalted hash of the secret. Write-only trigger secrets
//! (`sqs_config.secret_access_key`, `nats_config.credentials_file_content`) are hashed the
//! same way, kept for the admin state dump only, and never returned by the API.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Prefix of every hashed secret value.
pub(crate) const HASH_PREFIX: &str = "$sha256$";

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes secret values with a per-emulator salt.
#[derive(Clone, Debug)]
pub(crate) struct SecretHasher {
    salt: [u8; 16],
}

impl SecretHasher {
    /// A hasher with a fresh random salt (independent of the emulator seed).
    pub(crate) fn new() -> Self {
        let salt = fastrand::Rng::new().u128(..).to_be_bytes();
        Self { salt }
    }

    /// `$sha256$<hex of sha256(salt || value)>`.
    pub(crate) fn hash(&self, value: &str) -> String {
        let mut digest = Sha256::new();
        digest.update(self.salt);
        digest.update(value.as_bytes());
        format!("{HASH_PREFIX}{}", hex(&digest.finalize()))
    }

    /// The stored form of `value`: `current` when it is exactly that (a client writing back
    /// what it read does not double-hash its secret), else a new hash.
    pub(crate) fn hash_keeping(&self, value: &str, current: Option<&String>) -> String {
        current
            .filter(|stored| *stored == value)
            .cloned()
            .unwrap_or_else(|| self.hash(value))
    }

    /// Hashes every value of `incoming`. A value that is exactly the hash currently stored
    /// under the same key is kept as is, so a client that writes back what it read does not
    /// double-hash its secrets.
    pub(crate) fn hash_map(
        &self,
        incoming: &BTreeMap<String, String>,
        current: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        incoming
            .iter()
            .map(|(key, value)| (key.clone(), self.hash_keeping(value, current.get(key))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_prefixed_salted_and_stable() {
        let hasher = SecretHasher::new();
        let hashed = hasher.hash("s3cr3t");
        assert!(hashed.starts_with(HASH_PREFIX));
        assert_eq!(hashed.len(), HASH_PREFIX.len() + 64);
        assert!(!hashed.contains("s3cr3t"));
        assert_eq!(hashed, hasher.hash("s3cr3t"));
        assert_ne!(hashed, hasher.hash("other"));
        assert_ne!(
            hashed,
            SecretHasher::new().hash("s3cr3t"),
            "salt differs per emulator"
        );
    }

    #[test]
    fn writing_back_a_hash_keeps_it() {
        let hasher = SecretHasher::new();
        let first = hasher.hash_map(
            &BTreeMap::from([("K".into(), "v".into())]),
            &BTreeMap::new(),
        );
        let again = hasher.hash_map(&first, &first);
        assert_eq!(first, again);
        let changed = hasher.hash_map(&BTreeMap::from([("K".into(), "w".into())]), &first);
        assert_ne!(changed, first);
    }
}
