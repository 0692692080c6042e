//! UNIX cron schedules: exactly five fields (minute, hour, day of month, month, day of week).
//!
//! Each field is a comma-separated list of `*`, `N`, `N-M` or a three-letter name (months and
//! week days), each optionally followed by `/STEP`. Numbers must be within the field's range
//! (day of week accepts 0-7, both 0 and 7 meaning Sunday).

use crate::error::{Problems, Reason};

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Value of the first name (1 for months, 0 for days).
    first_name_value: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        first_name_value: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        first_name_value: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        first_name_value: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        first_name_value: 1,
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &DAYS,
        first_name_value: 0,
    },
];

/// Records a `format` problem unless `schedule` is a valid five-field cron expression.
pub(crate) fn check_cron_schedule(problems: &mut Problems, field: &str, schedule: &str) {
    if let Err(why) = parse(schedule) {
        problems.push(
            field,
            Reason::Format,
            format!(
                "schedule must be a five-field UNIX cron expression such as \"*/5 * * * *\": {why}"
            ),
        );
    }
}

fn parse(schedule: &str) -> Result<(), String> {
    let parts: Vec<&str> = schedule.split_whitespace().collect();
    if parts.len() != FIELDS.len() {
        return Err(format!("expected 5 fields, found {}", parts.len()));
    }
    for (part, field) in parts.iter().zip(FIELDS.iter()) {
        for item in part.split(',') {
            parse_item(item, field)
                .map_err(|why| format!("{} field {part:?}: {why}", field.name))?;
        }
    }
    Ok(())
}

fn parse_item(item: &str, field: &Field) -> Result<(), String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step {
        let step: u32 = step.parse().map_err(|_| format!("invalid step {step:?}"))?;
        if step == 0 || step > field.max {
            return Err(format!("step {step} out of range"));
        }
    }
    if range == "*" {
        return Ok(());
    }
    let (start, end) = match range.split_once('-') {
        Some((start, end)) => (value(start, field)?, Some(value(end, field)?)),
        None => (value(range, field)?, None),
    };
    if let Some(end) = end
        && end < start
    {
        return Err(format!("range {range:?} is reversed"));
    }
    Ok(())
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = field.names.iter().position(|name| *name == lower) {
        return u32::try_from(index)
            .map(|i| i + field.first_name_value)
            .map_err(|e| e.to_string());
    }
    let number: u32 = text
        .parse()
        .map_err(|_| format!("invalid value {text:?}"))?;
    if number < field.min || number > field.max {
        return Err(format!("{number} is outside {}-{}", field.min, field.max));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_schedules() {
        for good in [
            "* * * * *",
            "*/5 * * * *",
            "0 9 * * mon-fri",
            "30 2 1,15 * *",
            "0 0 1 jan *",
            "0 12 * * 7",
            "5-10/2 0-23/6 * * SUN",
        ] {
            assert!(parse(good).is_ok(), "{good}: {:?}", parse(good));
        }
    }

    #[test]
    fn rejects_bad_schedules() {
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
            "*/0 * * * *",
            "10-5 * * * *",
            "a * * * *",
            "@daily",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
