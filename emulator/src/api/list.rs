//! Pagination and ordering of list operations.
//!
//! `page` is 1-based (default 1), `page_size` defaults to 20 and may not exceed 100 (a larger
//! value is a 400, not silently capped). `0` for either means "not set", as for proto3
//! scalars. A page past the end is an empty list with the full `total_count`. `order_by`
//! defaults to `created_at_asc`; the other key is `name` (or `hostname` for domains).

use super::body::QueryParams;
use crate::error::{Problems, Reason};
use crate::limits::{PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX};
use crate::store::records::Record;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    CreatedAsc,
    CreatedDesc,
    KeyAsc,
    KeyDesc,
}

/// Validated `page`, `page_size` and `order_by`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Paging {
    page: usize,
    page_size: usize,
    order: Order,
}

impl Paging {
    /// Reads the paging parameters; `key` is the second sort key (`name` or `hostname`), if
    /// the list has one (some Functions lists order by creation only).
    pub(crate) fn parse(query: &QueryParams, problems: &mut Problems, key: Option<&str>) -> Self {
        let page = match query.get("page").map(str::parse::<i64>) {
            None | Some(Ok(0)) => 1,
            Some(Ok(page)) if page > 0 && page <= i64::from(i32::MAX) => page,
            Some(Ok(_)) => {
                problems.push(
                    "page",
                    Reason::Constraint,
                    "page must be a positive 32-bit integer",
                );
                1
            }
            Some(Err(_)) => {
                problems.push("page", Reason::Format, "page must be an integer");
                1
            }
        };
        let page_size = match query.get("page_size").map(str::parse::<u32>) {
            None | Some(Ok(0)) => PAGE_SIZE_DEFAULT,
            Some(Ok(size)) if size <= PAGE_SIZE_MAX => size,
            Some(Ok(_)) => {
                problems.push(
                    "page_size",
                    Reason::Constraint,
                    format!("page_size must be between 1 and {PAGE_SIZE_MAX}"),
                );
                PAGE_SIZE_DEFAULT
            }
            Some(Err(_)) => {
                problems.push(
                    "page_size",
                    Reason::Format,
                    "page_size must be an unsigned integer",
                );
                PAGE_SIZE_DEFAULT
            }
        };
        let order = match (query.get("order_by"), key) {
            (None | Some("created_at_asc"), _) => Order::CreatedAsc,
            (Some("created_at_desc"), _) => Order::CreatedDesc,
            (Some(other), Some(key)) if other == format!("{key}_asc") => Order::KeyAsc,
            (Some(other), Some(key)) if other == format!("{key}_desc") => Order::KeyDesc,
            (Some(other), _) => {
                let keyed = key
                    .map(|key| format!(", {key}_asc, {key}_desc"))
                    .unwrap_or_default();
                problems.push(
                    "order_by",
                    Reason::Constraint,
                    format!("{other:?} is not one of created_at_asc, created_at_desc{keyed}"),
                );
                Order::CreatedAsc
            }
        };
        Self {
            page: usize::try_from(page).unwrap_or(usize::MAX),
            page_size: usize::try_from(page_size).unwrap_or(usize::MAX),
            order,
        }
    }

    /// Sorts the matching records and cuts out the requested page. Returns the page and the
    /// number of matching records.
    pub(crate) fn apply<'a, R: Record>(
        &self,
        mut records: Vec<&'a R>,
        key: impl Fn(&R) -> &str,
    ) -> (Vec<&'a R>, usize) {
        match self.order {
            Order::CreatedAsc => records.sort_by_key(|r| r.seq()),
            Order::CreatedDesc => records.sort_by_key(|r| std::cmp::Reverse(r.seq())),
            Order::KeyAsc => records.sort_by(|a, b| key(a).cmp(key(b)).then(a.seq().cmp(&b.seq()))),
            Order::KeyDesc => {
                records.sort_by(|a, b| key(b).cmp(key(a)).then(a.seq().cmp(&b.seq())))
            }
        }
        let total = records.len();
        let start = (self.page - 1).saturating_mul(self.page_size);
        let page = records
            .into_iter()
            .skip(start)
            .take(self.page_size)
            .collect();
        (page, total)
    }
}
