//! `Numeral`: a non-negative integer of any size, read from ASCII digits.
//!
//! Several references (Python's `int`, Go's semver, RubyGems) accept numbers
//! of any length, so a version component must not overflow or be truncated.

use std::cmp::Ordering;
use std::fmt;

/// A non-negative integer of any size. Small values stay in a `u64`; larger
/// ones keep their digits (without leading zeros), so equal values always
/// have the same representation and `Hash` agrees with `Eq`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Numeral {
    /// A value that fits in 64 bits.
    Small(u64),
    /// A value above `u64::MAX`: its decimal digits, without leading zeros.
    Big(Box<str>),
}

impl Numeral {
    /// Reads ASCII digits; `None` if `digits` is empty or holds anything else.
    pub fn parse(digits: &str) -> Option<Numeral> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return Some(Numeral::Small(0));
        }
        match trimmed.parse::<u64>() {
            Ok(value) => Some(Numeral::Small(value)),
            Err(_) => Some(Numeral::Big(trimmed.into())),
        }
    }

    /// Zero.
    pub const ZERO: Numeral = Numeral::Small(0);

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        matches!(self, Numeral::Small(0))
    }

    /// The value as a `u64`, if it fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Numeral::Small(value) => Some(*value),
            Numeral::Big(_) => None,
        }
    }

    /// The value plus one.
    pub fn successor(&self) -> Numeral {
        match self {
            Numeral::Small(value) => match value.checked_add(1) {
                Some(next) => Numeral::Small(next),
                None => Numeral::Big("18446744073709551616".into()),
            },
            Numeral::Big(digits) => {
                let mut bytes = digits.as_bytes().to_vec();
                let mut index = bytes.len();
                loop {
                    if index == 0 {
                        bytes.insert(0, b'1');
                        break;
                    }
                    index -= 1;
                    if let Some(byte) = bytes.get_mut(index) {
                        if *byte == b'9' {
                            *byte = b'0';
                        } else {
                            *byte += 1;
                            break;
                        }
                    }
                }
                Numeral::Big(String::from_utf8_lossy(&bytes).into())
            }
        }
    }
}

impl Ord for Numeral {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Numeral::Small(a), Numeral::Small(b)) => a.cmp(b),
            (Numeral::Small(_), Numeral::Big(_)) => Ordering::Less,
            (Numeral::Big(_), Numeral::Small(_)) => Ordering::Greater,
            (Numeral::Big(a), Numeral::Big(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        }
    }
}

impl PartialOrd for Numeral {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Numeral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Numeral::Small(value) => write!(f, "{value}"),
            Numeral::Big(digits) => f.write_str(digits),
        }
    }
}

/// Compares two runs of ASCII digits as numbers, whatever their length,
/// without allocating: leading zeros are skipped, then the longer run wins,
/// then the first differing digit decides.
pub(crate) fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_zeros(a);
    let b = strip_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The digits without their leading zeros (empty for zero).
pub(crate) fn strip_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(digits.len());
    digits.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_values_order_after_small_ones_and_by_value() {
        let huge = Numeral::parse("99999999999999999999999").unwrap();
        let max = Numeral::parse("18446744073709551615").unwrap();
        assert_eq!(max, Numeral::Small(u64::MAX));
        assert!(huge > max);
        assert_eq!(Numeral::parse("000123"), Some(Numeral::Small(123)));
        assert_eq!(Numeral::parse("0000"), Some(Numeral::ZERO));
        assert_eq!(Numeral::parse(""), None);
        assert_eq!(Numeral::parse("1a"), None);
        assert_eq!(max.successor().to_string(), "18446744073709551616");
        assert_eq!(huge.successor().to_string(), "100000000000000000000000");
        assert_eq!(cmp_digits(b"0010", b"9"), Ordering::Greater);
        assert_eq!(cmp_digits(b"000", b""), Ordering::Equal);
    }
}
