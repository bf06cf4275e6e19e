//! Behaviour tests of portcullis-version: differential tests against the
//! real implementations (dpkg, rpm, Python `packaging`, npm `semver`, Ruby's
//! `Gem::Version`, Maven's `ComparableVersion`, Go's `x/mod/semver`),
//! reference test vectors (apk-tools, Maven, RubyGems, Go, NuGet), property
//! tests, hostile inputs and allocation checks.

#![allow(
    clippy::print_stderr,
    reason = "the differential tests report what they measured (pairs checked, timings) on stderr"
)]

mod version {
    pub mod allocation;
    pub mod apk_vectors;
    pub mod deb_oracle;
    pub mod gem_oracle;
    pub mod go_oracle;
    pub mod hostile;
    pub mod maven_oracle;
    pub mod npm_oracle;
    pub mod oracle;
    pub mod pep440_oracle;
    pub mod properties;
    pub mod reference_vectors;
    pub mod rpm_oracle;
}
