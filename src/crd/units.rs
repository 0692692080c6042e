//! Kubernetes-native forms converted exactly to the API's units: memory and storage
//! quantities to bytes, CPU quantities to milli-vCPU, duration strings to durations.

use std::time::Duration;

/// A spec value that cannot be converted to the API's units.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// Not a Kubernetes quantity.
    #[error("{field}: {value:?} is not a quantity (examples: 512Mi, 1Gi, 1000m, 0.5)")]
    NotAQuantity {
        /// Spec field.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// A quantity that does not come out as a whole number of the API's unit.
    #[error("{field}: {value:?} is not a whole number of {unit}")]
    NotWhole {
        /// Spec field.
        field: &'static str,
        /// The value.
        value: String,
        /// The API's unit.
        unit: &'static str,
    },
    /// A quantity too large for the API's integer type.
    #[error("{field}: {value:?} is too large")]
    TooLarge {
        /// Spec field.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// Not a duration.
    #[error("{field}: {value:?} is not a duration (examples: 300s, 5m, 1m30s, 2.5s)")]
    NotADuration {
        /// Spec field.
        field: &'static str,
        /// The value.
        value: String,
    },
}

/// A quantity as an exact fraction: `numerator / 10^scale`, in base units.
struct Exact {
    numerator: u128,
    scale: u32,
}

/// Parses a Kubernetes quantity (`512Mi`, `1G`, `1000m`, `0.5`, `1e3`) into an exact
/// decimal number of base units. Negative quantities are refused (no API limit is negative).
fn parse_quantity(text: &str) -> Option<Exact> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number = number.strip_prefix('+').unwrap_or(number);
    if number.is_empty() || number.matches('.').count() > 1 || number == "." {
        return None;
    }
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{whole}{fraction}");
    let mut numerator: u128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let mut scale = fraction.len() as u32;
    let (multiplier, extra_scale): (u128, u32) = match suffix {
        "" => (1, 0),
        "m" => (1, 3),
        "k" => (1_000, 0),
        "M" => (1_000_000, 0),
        "G" => (1_000_000_000, 0),
        "T" => (1_000_000_000_000, 0),
        "P" => (1_000_000_000_000_000, 0),
        "E" => (1_000_000_000_000_000_000, 0),
        "Ki" => (1 << 10, 0),
        "Mi" => (1 << 20, 0),
        "Gi" => (1 << 30, 0),
        "Ti" => (1 << 40, 0),
        "Pi" => (1 << 50, 0),
        "Ei" => (1 << 60, 0),
        exponent if exponent.starts_with(['e', 'E']) => {
            let power: u32 = exponent[1..].parse().ok()?;
            (10u128.checked_pow(power)?, 0)
        }
        _ => return None,
    };
    numerator = numerator.checked_mul(multiplier)?;
    scale += extra_scale;
    Some(Exact { numerator, scale })
}

/// Converts an exact quantity to whole units of `10^-unit_scale` base units.
fn to_whole(
    field: &'static str,
    text: &str,
    unit_scale: u32,
    unit: &'static str,
) -> Result<u128, UnitError> {
    let exact = parse_quantity(text).ok_or_else(|| UnitError::NotAQuantity {
        field,
        value: text.to_owned(),
    })?;
    let too_large = || UnitError::TooLarge {
        field,
        value: text.to_owned(),
    };
    if exact.scale <= unit_scale {
        let factor = 10u128
            .checked_pow(unit_scale - exact.scale)
            .ok_or_else(too_large)?;
        exact.numerator.checked_mul(factor).ok_or_else(too_large)
    } else {
        let divisor = 10u128
            .checked_pow(exact.scale - unit_scale)
            .ok_or_else(too_large)?;
        if exact.numerator % divisor != 0 {
            return Err(UnitError::NotWhole {
                field,
                value: text.to_owned(),
                unit,
            });
        }
        Ok(exact.numerator / divisor)
    }
}

/// A memory or storage quantity in bytes (`512Mi` → 536870912, `1G` → 1000000000).
pub fn bytes(field: &'static str, quantity: &str) -> Result<u64, UnitError> {
    let value = to_whole(field, quantity, 0, "bytes")?;
    u64::try_from(value).map_err(|_| UnitError::TooLarge {
        field,
        value: quantity.to_owned(),
    })
}

/// A CPU quantity in milli-vCPU (`1000m` → 1000, `1` → 1000, `0.5` → 500).
pub fn millicpu(field: &'static str, quantity: &str) -> Result<u32, UnitError> {
    let value = to_whole(field, quantity, 3, "millicores")?;
    u32::try_from(value).map_err(|_| UnitError::TooLarge {
        field,
        value: quantity.to_owned(),
    })
}

/// A duration in Go / Kubernetes form: `300s`, `5m`, `1h30m`, `2.5s`, `500ms`.
pub fn duration(field: &'static str, text: &str) -> Result<Duration, UnitError> {
    let invalid = || UnitError::NotADuration {
        field,
        value: text.to_owned(),
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, tail) = rest.split_at(number_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(invalid()),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut nanos = whole.checked_mul(unit_nanos).ok_or_else(invalid)?;
        let mut place = unit_nanos;
        for digit in fraction.bytes() {
            if !digit.is_ascii_digit() {
                return Err(invalid());
            }
            place /= 10;
            nanos += u128::from(digit - b'0') * place;
        }
        total_nanos = total_nanos.checked_add(nanos).ok_or_else(invalid)?;
        rest = tail;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000).map_err(|_| invalid())?;
    Ok(Duration::new(secs, (total_nanos % 1_000_000_000) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities_convert_exactly() {
        let cases = [
            ("512Mi", 536_870_912),
            ("1Gi", 1_073_741_824),
            ("128M", 128_000_000),
            ("1.5Gi", 1_610_612_736),
            ("2048", 2048),
            ("1e3", 1000),
            ("0.5Ki", 512),
        ];
        for (text, expected) in cases {
            assert_eq!(bytes("memory", text), Ok(expected), "{text}");
        }
        assert!(matches!(
            bytes("memory", "1.5"),
            Err(UnitError::NotWhole { .. })
        ));
        assert!(matches!(
            bytes("memory", "100m"),
            Err(UnitError::NotWhole { .. })
        ));
        for bad in ["", "Mi", "12XB", "-1Gi", "1..2", "abc"] {
            assert!(
                matches!(bytes("memory", bad), Err(UnitError::NotAQuantity { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            bytes("memory", "100Ei"),
            Err(UnitError::TooLarge { .. })
        ));
    }

    #[test]
    fn cpu_quantities_convert_to_millicpu() {
        for (text, expected) in [
            ("1000m", 1000),
            ("1", 1000),
            ("0.5", 500),
            ("70m", 70),
            ("2.25", 2250),
        ] {
            assert_eq!(millicpu("cpu", text), Ok(expected), "{text}");
        }
        assert!(matches!(
            millicpu("cpu", "0.0005"),
            Err(UnitError::NotWhole { .. })
        ));
        assert!(matches!(
            millicpu("cpu", "10000000"),
            Err(UnitError::TooLarge { .. })
        ));
    }

    #[test]
    fn durations_parse_like_kubernetes() {
        let cases = [
            ("300s", Duration::from_secs(300)),
            ("5m", Duration::from_secs(300)),
            ("1h30m", Duration::from_secs(5400)),
            ("2.5s", Duration::from_millis(2500)),
            ("500ms", Duration::from_millis(500)),
            ("1m0.5s", Duration::from_millis(60_500)),
            ("0", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(duration("timeout", text), Ok(expected), "{text}");
        }
        for bad in ["", "5", "5x", "s", "1.2.3s", "-5s", "5 m"] {
            assert!(duration("timeout", bad).is_err(), "{bad}");
        }
    }
}
