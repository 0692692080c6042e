//! Functions v1beta1 secret environment variables: a list of `{key, value}` in requests.
//! On create every entry needs a value; on update an entry with a value sets or replaces its
//! key, and an entry without one deletes it (UpdateFunction's documented rule, applied to
//! namespaces too). Values are hashed before they are stored.

use std::collections::BTreeMap;

use super::wire::SecretInput;
use crate::error::{Problems, Reason};
use crate::secret::SecretHasher;
use crate::validate::check_env_map;

/// Applies `incoming` to the stored (hashed) secrets. `creating` refuses entries without a
/// value. Problems are recorded under `field[i].key` / `field[i].value`.
pub(crate) fn apply(
    problems: &mut Problems,
    field: &str,
    incoming: Vec<SecretInput>,
    current: &BTreeMap<String, String>,
    hasher: &SecretHasher,
    creating: bool,
) -> BTreeMap<String, String> {
    let mut result = current.clone();
    let mut seen: Vec<String> = Vec::new();
    for (index, secret) in incoming.into_iter().enumerate() {
        let key = secret.key.unwrap_or_default();
        if key.is_empty() {
            problems.push(
                format!("{field}[{index}].key"),
                Reason::Required,
                "every secret needs a key",
            );
            continue;
        }
        if seen.contains(&key) {
            problems.push(
                format!("{field}[{index}].key"),
                Reason::Constraint,
                format!("secret {key:?} is listed twice"),
            );
            continue;
        }
        seen.push(key.clone());
        match secret.value {
            Some(value) => {
                let hashed = hasher.hash_keeping(&value, current.get(&key));
                result.insert(key, hashed);
            }
            None if creating => problems.push(
                format!("{field}[{index}].value"),
                Reason::Required,
                format!("secret {key:?} has no value"),
            ),
            None => {
                result.remove(&key);
            }
        }
    }
    check_env_map(problems, field, &result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(key: &str, value: Option<&str>) -> SecretInput {
        SecretInput {
            key: Some(key.to_owned()),
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn set_replace_and_delete() {
        let hasher = SecretHasher::new();
        let mut problems = Problems::default();
        let first = apply(
            &mut problems,
            "s",
            vec![secret("A", Some("1")), secret("B", Some("2"))],
            &BTreeMap::new(),
            &hasher,
            true,
        );
        assert!(problems.finish().is_ok());
        assert_eq!(first.len(), 2);
        assert!(!first.values().any(|v| v == "1" || v == "2"));
        let mut problems = Problems::default();
        let second = apply(
            &mut problems,
            "s",
            vec![secret("A", None), secret("C", Some("3"))],
            &first,
            &hasher,
            false,
        );
        assert!(problems.finish().is_ok());
        assert_eq!(second.keys().collect::<Vec<_>>(), ["B", "C"]);
        assert_eq!(second["B"], first["B"], "untouched keys stay");
    }

    #[test]
    fn create_needs_values_and_unique_keys() {
        let hasher = SecretHasher::new();
        let mut problems = Problems::default();
        apply(
            &mut problems,
            "s",
            vec![
                secret("A", None),
                secret("B", Some("1")),
                secret("B", Some("2")),
            ],
            &BTreeMap::new(),
            &hasher,
            true,
        );
        let error = problems.finish().unwrap_err().to_string();
        assert!(error.contains("s[0].value"), "{error}");
        assert!(error.contains("s[2].key"), "{error}");
    }
}
