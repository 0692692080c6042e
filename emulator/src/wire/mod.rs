//! The JSON shapes of Containers v1, written from the OpenAPI spec (seed 000).
//!
//! Responses always carry every field of their schema: maps as `{}`, arrays as `[]` and
//! nullable values as `null`. Requests are lenient in the ways real clients need: every field is
//! optional at the serde level (required-ness is checked by the handlers so that a 400 can name
//! the field), JSON `null` means "absent", and unknown fields are ignored.

pub(crate) mod common;
pub(crate) mod container;
pub(crate) mod domain;
pub(crate) mod enums;
pub(crate) mod namespace;
pub(crate) mod trigger;
