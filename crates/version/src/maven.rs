//! Maven versions ordered exactly as `ComparableVersion` (maven-artifact
//! 3.9, where `.X` is read as `-X` for a qualifier `X`): items split on `.`, `-` and digit/letter transitions, `-` and
//! transitions opening sub-lists, known qualifiers (`alpha` < `beta` <
//! `milestone` < `rc` < `snapshot` < release < `sp`) before unknown ones, and
//! trailing "null" items (`0`, `ga`, `final`, empty lists) dropped.
//! Ranges use Maven's interval notation (`[1.0,2.0)`, `(,1.0],[1.2,)`).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::interval::{exact, parse_union};
use crate::numeral::Numeral;
use crate::{Scheme, VersionError};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Number(Numeral),
    /// A qualifier after aliasing (`ga`/`final` → ``, `cr` → `rc`, `a1` → `alpha`).
    Text(Box<str>),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

/// `comparableQualifier`: the index of a known qualifier, or `7-name`, compared as strings.
fn comparable_qualifier(text: &str) -> String {
    match QUALIFIERS.iter().position(|q| *q == text) {
        Some(index) => index.to_string(),
        None => format!("{}-{text}", QUALIFIERS.len()),
    }
}

fn release_index() -> String {
    comparable_qualifier("")
}

impl Item {
    fn text(value: &str, followed_by_digit: bool) -> Item {
        let value = match (followed_by_digit, value) {
            (true, "a") => "alpha",
            (true, "b") => "beta",
            (true, "m") => "milestone",
            (_, "ga" | "final" | "release") => "",
            (_, "cr") => "rc",
            (_, other) => other,
        };
        Item::Text(value.into())
    }

    fn parse(is_digit: bool, buffer: &str) -> Item {
        if is_digit && let Some(number) = Numeral::parse(buffer) {
            return Item::Number(number);
        }
        Item::text(buffer, false)
    }

    fn is_null(&self) -> bool {
        match self {
            Item::Number(number) => number.is_zero(),
            Item::Text(text) => comparable_qualifier(text) == release_index(),
            Item::List(items) => items.is_empty(),
        }
    }

    /// `Item.compareTo`, where `None` is the missing item of a shorter list.
    fn compare(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Number(number), None) => {
                if number.is_zero() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Number(a), Some(Item::Number(b))) => a.cmp(b),
            (Item::Number(_), Some(_)) => Ordering::Greater,
            (Item::Text(text), None) => comparable_qualifier(text).cmp(&release_index()),
            (Item::Text(_), Some(Item::Number(_) | Item::List(_))) => Ordering::Less,
            (Item::Text(a), Some(Item::Text(b))) => {
                comparable_qualifier(a).cmp(&comparable_qualifier(b))
            }
            // The whole list against nothing, not just its first item (MNG-6964).
            (Item::List(items), None) => items
                .iter()
                .map(|item| item.compare(None))
                .find(|ordering| *ordering != Ordering::Equal)
                .unwrap_or(Ordering::Equal),
            (Item::List(_), Some(Item::Number(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Text(_))) => Ordering::Greater,
            (Item::List(left), Some(Item::List(right))) => compare_lists(left, right),
        }
    }
}

fn compare_lists(left: &[Item], right: &[Item]) -> Ordering {
    let length = left.len().max(right.len());
    for index in 0..length {
        let ordering = match (left.get(index), right.get(index)) {
            (Some(l), r) => l.compare(r),
            (None, Some(r)) => r.compare(None).reverse(),
            (None, None) => Ordering::Equal,
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// `ListItem.normalize`: drop trailing null items, looking past non-null lists.
///
/// Not recursive: lists are folded innermost first (as Maven pops its stack), so an inner
/// list is already normalised when its parent is. Normalising it again at every level
/// made parsing exponential in the number of `-` (found by fuzzing).
fn normalize(items: &mut Vec<Item>) {
    let mut index = items.len();
    while index > 0 {
        index -= 1;
        let Some(item) = items.get(index) else { break };
        if item.is_null() {
            items.remove(index);
        } else if !matches!(item, Item::List(_)) {
            break;
        }
    }
}

/// Sub-lists (opened by `-` and by letter/digit changes) nest one inside the other;
/// comparing and dropping them recurses, so their depth is bounded. Real versions have a
/// handful.
const MAX_NESTING: usize = 256;

/// A Maven artifact version.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    text: Box<str>,
    items: Vec<Item>,
}

fn parse_items(version: &str) -> Result<Vec<Item>, VersionError> {
    let lower = version.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    // A new list always becomes the last item of the current one and takes
    // every later item, so the lists form a chain: keep it as a stack and
    // fold it up at the end.
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let push = |stack: &mut Vec<Vec<Item>>, item: Item| {
        if let Some(list) = stack.last_mut() {
            list.push(item);
        }
    };
    let mut is_digit = false;
    let mut start = 0;
    let substring = |from: usize, to: usize| -> String {
        chars
            .get(from..to)
            .map(|s| s.iter().collect())
            .unwrap_or_default()
    };
    for (i, &c) in chars.iter().enumerate() {
        if c == '.' || c == '-' {
            let item = if i == start {
                Item::Number(Numeral::ZERO)
            } else {
                Item::parse(is_digit, &substring(start, i))
            };
            push(&mut stack, item);
            start = i + 1;
            if c == '-' {
                stack.push(Vec::new());
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                // `.X1` is read as `-X1`: a qualifier opens a list.
                if stack.last().is_some_and(|list| !list.is_empty()) {
                    stack.push(Vec::new());
                }
                push(&mut stack, Item::text(&substring(start, i), true));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                push(&mut stack, Item::parse(true, &substring(start, i)));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = false;
        }
    }
    if chars.len() > start {
        // A trailing qualifier after a dot is read as `-X` too.
        if !is_digit && stack.last().is_some_and(|list| !list.is_empty()) {
            stack.push(Vec::new());
        }
        push(
            &mut stack,
            Item::parse(is_digit, &substring(start, chars.len())),
        );
    }
    if stack.len() > MAX_NESTING {
        return Err(VersionError::version(
            Scheme::Maven,
            version,
            "more than 256 nested parts (`-` and letter/digit changes); no build produces such a version",
        ));
    }
    let mut child: Option<Vec<Item>> = None;
    while let Some(mut list) = stack.pop() {
        if let Some(inner) = child.take() {
            list.push(Item::List(inner));
        }
        normalize(&mut list);
        child = Some(list);
    }
    Ok(child.unwrap_or_default())
}

impl FromStr for MavenVersion {
    type Err = VersionError;

    /// Maven accepts any string; only the empty string is refused here.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.trim().is_empty() {
            return Err(VersionError::version(
                Scheme::Maven,
                input,
                "version string is empty",
            ));
        }
        Ok(MavenVersion {
            text: input.into(),
            items: parse_items(input)?,
        })
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_lists(&self.items, &other.items)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}

impl Hash for MavenVersion {
    /// Equal versions have equal leading numbers once trailing zeros are
    /// dropped (a zero only ever equals a missing item), so hash those.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let numbers: Vec<&Numeral> = self
            .items
            .iter()
            .map_while(|item| match item {
                Item::Number(number) => Some(number),
                _ => None,
            })
            .collect();
        let keep = numbers
            .iter()
            .rposition(|n| !n.is_zero())
            .map_or(0, |i| i + 1);
        numbers.get(..keep).unwrap_or_default().hash(state);
    }
}

impl fmt::Display for MavenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl MavenVersion {
    /// `getCanonical()`: the normalised item list.
    pub fn canonical(&self) -> String {
        fn write(items: &[Item], out: &mut String) {
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(if matches!(item, Item::List(_)) {
                        '-'
                    } else {
                        '.'
                    });
                }
                match item {
                    Item::Number(number) => out.push_str(&number.to_string()),
                    Item::Text(text) => out.push_str(text),
                    Item::List(inner) => write(inner, out),
                }
            }
        }
        let mut out = String::new();
        write(&self.items, &mut out);
        out
    }
}

/// Whether `version` lies in a Maven range; a bare version means exactly it.
pub fn satisfies(version: &str, range: &str) -> Result<bool, VersionError> {
    let version: MavenVersion = version.parse()?;
    let intervals = parse_union::<MavenVersion>(Scheme::Maven, range, exact)?;
    Ok(intervals.iter().any(|interval| interval.contains(&version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> MavenVersion {
        text.parse().unwrap()
    }

    #[test]
    fn comparable_version_rules() {
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("1ga"), v("1"));
        assert_eq!(v("1a1"), v("1alpha1"));
        assert!(v("1.0-SNAPSHOT") < v("1.0"));
        assert!(v("1.0") < v("1.0-sp"));
        assert!(v("2.0.1-xyz") < v("2.0.1-123"));
        assert_eq!(v("1-1.foo-bar1baz-.1").canonical(), "1-1.foo-bar-1-baz-0.1");
        assert_eq!(satisfies("1.5", "[1.0,2.0)"), Ok(true));
        assert_eq!(satisfies("2.0", "[1.0,2.0)"), Ok(false));
        assert_eq!(satisfies("0.5", "(,1.0],[1.2,)"), Ok(true));
        assert_eq!(satisfies("1.1", "(,1.0],[1.2,)"), Ok(false));
        assert!(satisfies("1", "[2.0,1.0]").is_err());
    }

    #[test]
    fn deep_nesting_is_linear_and_bounded() {
        // The fuzzer's input: before the fix, normalising every list again at every level
        // made this take longer than the fuzzer's 5 s timeout (exponential in the dashes).
        let deep = format!("1{}", "-y/".repeat(200));
        let started = std::time::Instant::now();
        assert_eq!(v(&deep).cmp(&v(&deep)), Ordering::Equal);
        assert!(v(&deep) > v("1"));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let too_deep = "1-".repeat(100_000);
        let err = too_deep.parse::<MavenVersion>().unwrap_err().to_string();
        assert!(err.contains("nested"), "{err}");
    }
}
