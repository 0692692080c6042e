//! Resource IDs (random v4 UUIDs from the seeded generator) and UUID syntax checks.

/// A new version-4 UUID in lowercase hyphenated form, drawn from `rng`.
pub(crate) fn new_uuid(rng: &mut fastrand::Rng) -> String {
    let mut bytes = rng.u128(..).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `count` random lowercase letters and digits (the namespace part of public endpoints).
pub(crate) fn new_suffix(rng: &mut fastrand::Rng, count: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..count)
        .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
        .collect()
}

/// True for the hyphenated 8-4-4-4-12 hexadecimal form (any version, any case).
pub(crate) fn is_uuid(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_uuids_are_valid_v4_and_seeded() {
        let mut a = fastrand::Rng::with_seed(7);
        let mut b = fastrand::Rng::with_seed(7);
        let id = new_uuid(&mut a);
        assert!(is_uuid(&id), "{id}");
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(id, new_uuid(&mut b));
        assert_ne!(new_uuid(&mut a), id);
    }

    #[test]
    fn uuid_syntax() {
        assert!(is_uuid("6170692e-7363-616c-6577-61792e636f6d"));
        assert!(is_uuid("6170692E-7363-616C-6577-61792E636F6D"));
        assert!(!is_uuid("6170692e7363616c657761792e636f6d"));
        assert!(!is_uuid("6170692e-7363-616c-6577-61792e636f6g"));
        assert!(!is_uuid(""));
    }

    #[test]
    fn suffix_is_lowercase_alphanumeric() {
        let suffix = new_suffix(&mut fastrand::Rng::with_seed(1), 8);
        assert_eq!(suffix.len(), 8);
        assert!(
            suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
