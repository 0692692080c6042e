//! Field checks shared by the handlers. Each helper records problems in a [`Problems`] so a
//! single 400 lists every bad argument; none of them looks at the store.

mod cron;
mod format;

pub(crate) use cron::check_cron_schedule;
pub(crate) use format::{
    check_env_map, check_hostname, check_name, check_range, check_uuid, duration_in, is_http_url,
    required_text,
};
