//! Property tests: for every scheme the ordering is total, antisymmetric and
//! transitive, and consistent with equality and with `Hash`.

use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use portcullis_version::{
    ApkVersion, CargoVersion, DebVersion, GemVersion, GoVersion, MavenVersion, NpmVersion,
    NugetVersion, Pep440Version, RpmVersion,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn hash_of<T: Hash>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Checks the order laws on three inputs; unparsable inputs are skipped.
fn laws<T: FromStr + Ord + Hash + std::fmt::Debug>(
    a: &str,
    b: &str,
    c: &str,
) -> Result<(), TestCaseError> {
    let (Ok(a), Ok(b), Ok(c)) = (a.parse::<T>(), b.parse::<T>(), c.parse::<T>()) else {
        return Ok(());
    };
    prop_assert_eq!(a.cmp(&a), Ordering::Equal);
    prop_assert_eq!(
        a.cmp(&b),
        b.cmp(&a).reverse(),
        "antisymmetry {:?} {:?}",
        a,
        b
    );
    if a <= b && b <= c {
        prop_assert!(a <= c, "transitivity {:?} <= {:?} <= {:?}", a, b, c);
    }
    if a >= b && b >= c {
        prop_assert!(a >= c, "transitivity {:?} >= {:?} >= {:?}", a, b, c);
    }
    for (x, y) in [(&a, &b), (&b, &c), (&a, &c)] {
        prop_assert_eq!(x == y, x.cmp(y) == Ordering::Equal);
        if x == y {
            prop_assert_eq!(hash_of(x), hash_of(y), "hash of equal {:?} {:?}", x, y);
        }
    }
    Ok(())
}

/// Small alphabets make equal and near-equal versions frequent.
const DEB: &str = "([0-2]:)?[0-9]{1,2}([.+~a-z0-9]{0,5})(-[0-9a-z.+~]{1,4})?";
const RPM: &str = "([0-2]{1,2}:)?[0-9]{1,2}([.~^a-z0-9_]{0,5})(-[0-9a-z.~^]{1,4})?";
const APK: &str =
    "[0-9]{1,2}(\\.0?[0-9]){0,2}[a-c]?(_(alpha|rc|p|git)[0-9]?){0,2}(~[0-9a-f]{1,2})?(-r[0-9])?";
const PEP440: &str = "(v)?([0-2]!)?[0-9]{1,2}(\\.[0-9]){0,3}((a|b|rc|c|alpha|pre)[0-9]?)?(\\.post[0-9]?|-[0-9])?(\\.dev[0-9]?)?(\\+[a-z0-9]{1,2}(\\.[a-z0-9]{1,2})?)?";
const NPM: &str =
    "[0-2]\\.[0-2]\\.[0-2](-(alpha|beta|0|1|11|2|x-y)(\\.(0|1|2|a|b)){0,2})?(\\+[a-z0-9]{1,3})?";
const GO: &str = "(v[0-2](\\.[0-2](\\.[0-2](-(rc|beta|0|1|pre)(\\.[0-9])?)?)?)?|go1\\.[0-9]{1,2}(\\.[0-2]|rc[1-2]|beta[1-2])?)";
/// Maven's `ComparableVersion` is itself not transitive on unusual
/// spellings (`2.aa-0` < `2rc` < `2` yet `2.aa-0` > `2`; `2` < `2-a` <
/// `2-0rc` yet `2-0rc` < `2`), which this crate reproduces faithfully (see
/// `maven_known_intransitive_triples`); the laws are checked on the usual
/// shapes: numbers, then `-qualifier` with an optional number.
const MAVEN: &str =
    "[0-2](\\.[0-2]){0,3}(-(alpha|beta|a|b|m|rc|cr|sp|ga|final|snapshot|SNAPSHOT|x)(-?[0-2])?)?";
const GEM: &str = "[0-2](\\.([0-2]|a|b|rc|pre)){0,4}(-[a-z0-9]{1,3})?";
const NUGET: &str =
    "[0-2](\\.[0-2]){0,3}(-(alpha|Beta|BETA|rc|1|01|2)(\\.(1|2|a|A)){0,2})?(\\+[a-z]{1,2})?";
const CARGO: &str =
    "[0-2]\\.[0-2]\\.[0-2](-(alpha|beta|0|1|2)(\\.(0|1|a)){0,2})?(\\+[a-z0-9]{1,3})?";

macro_rules! order_laws {
    ($name:ident, $ty:ty, $pattern:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]
            #[test]
            fn $name(a in $pattern, b in $pattern, c in $pattern) {
                laws::<$ty>(&a, &b, &c)?;
            }
        }
    };
}

order_laws!(deb_order_laws, DebVersion, DEB);
order_laws!(rpm_order_laws, RpmVersion, RPM);
order_laws!(apk_order_laws, ApkVersion, APK);
order_laws!(pep440_order_laws, Pep440Version, PEP440);
order_laws!(npm_order_laws, NpmVersion, NPM);
order_laws!(cargo_order_laws, CargoVersion, CARGO);
order_laws!(go_order_laws, GoVersion, GO);
order_laws!(maven_order_laws, MavenVersion, MAVEN);
order_laws!(gem_order_laws, GemVersion, GEM);
order_laws!(nuget_order_laws, NugetVersion, NUGET);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Sorting any list gives the same order whatever the starting order.
    #[test]
    fn sorting_is_deterministic(mut versions in proptest::collection::vec(DEB, 2..20)) {
        let mut parsed: Vec<DebVersion> = versions.iter().filter_map(|v| v.parse().ok()).collect();
        parsed.sort();
        versions.reverse();
        let mut again: Vec<DebVersion> = versions.iter().filter_map(|v| v.parse().ok()).collect();
        again.sort();
        prop_assert_eq!(parsed, again);
    }
}

/// Pins Maven's own intransitive answers, so that a change is deliberate.
#[test]
fn maven_known_intransitive_triples() {
    let v = |text: &str| {
        text.parse::<MavenVersion>()
            .expect("maven accepts any non-empty string")
    };
    assert!(v("2.aa-0") < v("2rc") && v("2rc") < v("2") && v("2.aa-0") > v("2"));
    assert!(v("2") < v("2-a") && v("2-a") < v("2-0rc") && v("2-0rc") < v("2"));
}
