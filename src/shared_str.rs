//! Strings that many stored objects repeat, kept once and shared ([`SharedStr`]), and
//! strings they rarely set, kept behind one pointer ([`BoxedString`]).
//!
//! The controllers keep every object of a kind in memory (kube-runtime's reflector store),
//! and every remote container of a scope (the snapshots), and most of what a status says is
//! the same from one object to the next: condition types, reasons and messages, the region,
//! the remote status, the Scaleway namespace ID of a namespace's containers, often the image.
//! A [`SharedStr`] read from JSON looks its text up in one table and points at the copy
//! there; 10,000 containers then hold one `"Ready"` between them, not 10,000 (README,
//! Performance). It serializes, and reads, as a plain string.
//!
//! The table keeps a string while an object uses it: once it has doubled in size since the
//! last sweep, the next new string sweeps out those that only the table still holds, so
//! strings that do not repeat (an error message naming an ID) do not pile up.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string kept once in a process-wide table and shared by every value equal to it.
/// Compares, hashes, orders and serializes as the `str` it holds.
///
/// One pointer wide (an `Option<SharedStr>` too), where a `String` is three and an `Arc<str>`
/// two: a `Condition` is 64 bytes (96 with `Arc<str>`, 128 with `String`s), and each field of
/// a stored object that holds one
/// saves 8 to 16 bytes. Reading the text follows two pointers instead of one.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedStr(Arc<String>);

/// The table's size below which it is never swept.
const FIRST_SWEEP_AT: usize = 1024;

struct Table {
    strings: HashSet<Entry>,
    sweep_at: usize,
}

/// A table entry, looked up by `&str`.
#[derive(PartialEq, Eq, Hash)]
struct Entry(Arc<String>);

impl Borrow<str> for Entry {
    fn borrow(&self) -> &str {
        &self.0
    }
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

impl SharedStr {
    /// The shared copy of `text`, added to the table if it is new.
    pub fn new(text: &str) -> Self {
        let mut guard = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
        let table = guard.get_or_insert_with(|| Table {
            strings: HashSet::new(),
            sweep_at: FIRST_SWEEP_AT,
        });
        if let Some(shared) = table.strings.get(text) {
            return Self(Arc::clone(&shared.0));
        }
        if table.strings.len() >= table.sweep_at {
            table.strings.retain(|s| Arc::strong_count(&s.0) > 1);
            table.strings.shrink_to_fit();
            table.sweep_at = (table.strings.len() * 2).max(FIRST_SWEEP_AT);
        }
        let shared = Arc::new(text.to_owned());
        table.strings.insert(Entry(Arc::clone(&shared)));
        Self(shared)
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        Self::new("")
    }
}

impl From<&str> for SharedStr {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for SharedStr {
    fn from(text: String) -> Self {
        Self::new(&text)
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = SharedStr;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            // Borrowed text is looked up without a copy; only a new string is allocated.
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SharedStr, E> {
                Ok(SharedStr::new(text))
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

/// A string that fields of stored objects rarely set, behind one pointer: an unset one
/// (`None`) costs 8 bytes inline instead of a `String`'s 24, a set one an extra 32-byte
/// allocation. Reads, compares and serializes as the `str` it holds.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
// A `Box<String>` on purpose: one pointer wide, where a `String` is three and a `Box<str>` two.
#[allow(clippy::box_collection)]
pub struct BoxedString(Box<String>);

impl From<&str> for BoxedString {
    fn from(text: &str) -> Self {
        Self(Box::new(text.to_owned()))
    }
}

impl From<String> for BoxedString {
    fn from(text: String) -> Self {
        Self(Box::new(text))
    }
}

impl<'de> Deserialize<'de> for BoxedString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

/// What [`SharedStr`] and [`BoxedString`] have alike: each holds a `String` behind one
/// pointer (field 0) and reads, compares, prints, serializes and has the schema of the `str`
/// it holds.
macro_rules! reads_as_str {
    ($type:ty) => {
        impl $type {
            /// The text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl Deref for $type {
            type Target = str;

            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self.as_str(), f)
            }
        }

        impl PartialEq<str> for $type {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $type {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<String> for $type {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl schemars::JsonSchema for $type {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> std::borrow::Cow<'static, str> {
                String::schema_name()
            }

            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                String::json_schema(generator)
            }
        }
    };
}

reads_as_str!(SharedStr);
reads_as_str!(BoxedString);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_copy_and_read_as_plain_strings() {
        let a: SharedStr =
            serde_json::from_str(r#""shared-str-test-ready""#).unwrap_or_else(|e| panic!("{e}"));
        let b = SharedStr::from("shared-str-test-ready".to_owned());
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, "shared-str-test-ready");
        assert_eq!(
            serde_json::to_string(&b).unwrap_or_else(|e| panic!("{e}")),
            r#""shared-str-test-ready""#
        );
        assert_eq!(
            format!("{a:?} {a}"),
            r#""shared-str-test-ready" shared-str-test-ready"#
        );
        assert!(!Arc::ptr_eq(
            &a.0,
            &SharedStr::new("shared-str-test-other").0
        ));
    }

    /// What the stored objects' sizes count on (README, Performance).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn both_are_one_pointer_wide_even_when_optional() {
        assert_eq!(std::mem::size_of::<Option<SharedStr>>(), 8);
        assert_eq!(std::mem::size_of::<Option<BoxedString>>(), 8);
    }

    #[test]
    fn the_table_lets_go_of_strings_no_value_holds() {
        // Other tests add strings concurrently, so this counts only its own.
        let held: Vec<SharedStr> = (0..10)
            .map(|i| SharedStr::new(&format!("shared-str-test-held-{i}")))
            .collect();
        for i in 0..(4 * FIRST_SWEEP_AT) {
            drop(SharedStr::new(&format!("shared-str-test-dropped-{i}")));
        }
        let guard = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
        let table = guard.as_ref().unwrap_or_else(|| panic!("no table"));
        let dropped = table
            .strings
            .iter()
            .filter(|s| s.0.starts_with("shared-str-test-dropped-"))
            .count();
        assert!(dropped <= 2 * FIRST_SWEEP_AT, "{dropped} kept");
        for value in &held {
            assert!(table.strings.contains(value.as_str()));
        }
    }
}
