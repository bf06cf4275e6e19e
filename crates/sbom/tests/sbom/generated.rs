//! Many generated SBOMs with hostile strings (unicode, empty, separators, control
//! characters, duplicates): every format renders without panicking, output is valid JSON,
//! and CycloneDX and SPDX stay schema-valid with sound references.

use std::collections::BTreeMap;
use std::time::Instant;

use portcullis_sbom::{Format, WriteOptions, to_string};
use portcullis_types::{Distro, Ecosystem, ImageInfo, LayerRef, Package, Sbom};

use crate::fixture;
use crate::schema::{cyclonedx_problems, render, spdx_problems};

/// A small xorshift generator: deterministic, so a failure names a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "",
    " ",
    "libc6",
    "a b",
    "ü-ñ",
    "名前",
    "x#y",
    "p?q=r&s",
    "../..",
    "+",
    "~1",
    "1:2.3-4~deb12u1",
    "\u{0}",
    "\t\n",
    "\"quoted\"",
    "SPDXRef-DOCUMENT",
    "pkg:deb/debian/x@1",
    "a.b-c",
    "%2B",
];
const LICENSES: &[&str] = &[
    "MIT",
    "GPL-2.0+",
    "GPL-2.0-only",
    "Apache-2.0 OR MIT",
    "(MIT OR Apache-2.0) AND Zlib",
    "GPL-2.0-or-later WITH Classpath-exception-2.0",
    "GPLv2+",
    "MIT and BSD",
    "LicenseRef-x",
    "",
    "  ",
    "mit",
    "ASL 2.0",
    "Apache-2.0+",
    "BSD-3-clause",
    "√",
    "(",
    "MIT OR",
];

fn text(rng: &mut Rng) -> String {
    (0..=rng.below(3)).map(|_| rng.pick(WORDS)).collect()
}

fn package(rng: &mut Rng) -> Package {
    let ecosystem = [Ecosystem::Deb, Ecosystem::Apk, Ecosystem::Rpm][rng.below(3)];
    let maybe = |rng: &mut Rng| (rng.below(2) == 0).then(|| text(rng));
    Package {
        ecosystem,
        name: text(rng),
        version: text(rng),
        arch: maybe(rng),
        source_name: maybe(rng),
        source_version: maybe(rng),
        licenses: (0..rng.below(4))
            .map(|_| rng.pick(LICENSES).to_owned())
            .collect(),
        purl: if rng.below(4) == 0 {
            String::new()
        } else {
            format!("pkg:{ecosystem}/x/{}", rng.below(5))
        },
        layer: (rng.below(2) == 0).then(|| LayerRef {
            index: rng.below(3),
            digest: fixture::digest('a'),
            diff_id: fixture::digest('b'),
        }),
        found_in: (0..rng.below(3)).map(|_| text(rng)).collect(),
        files: (0..rng.below(3)).map(|_| text(rng)).collect(),
        metadata: (0..rng.below(3))
            .map(|_| (text(rng), text(rng)))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn sbom(rng: &mut Rng) -> Sbom {
    Sbom {
        tool: fixture::tool(),
        image: ImageInfo {
            reference: text(rng),
            source_kind: text(rng),
            manifest_digest: (rng.below(2) == 0).then(|| fixture::digest('1')),
            config_digest: (rng.below(2) == 0).then(|| fixture::digest('2')),
            tags: (0..rng.below(3)).map(|_| text(rng)).collect(),
            annotations: (0..rng.below(3)).map(|_| (text(rng), text(rng))).collect(),
            ..ImageInfo::default()
        },
        distro: (rng.below(2) == 0).then(|| Distro {
            id: text(rng),
            version_id: (rng.below(2) == 0).then(|| text(rng)),
            codename: (rng.below(2) == 0).then(|| text(rng)),
            id_like: (0..rng.below(2)).map(|_| text(rng)).collect(),
            pretty_name: (rng.below(2) == 0).then(|| text(rng)),
            source_path: text(rng),
        }),
        packages: (0..rng.below(12)).map(|_| package(rng)).collect(),
    }
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "the timing is for people reading test output"
)]
fn generated_sboms_render_valid_documents() {
    const CASES: u64 = 150;
    let started = Instant::now();
    let options = [
        WriteOptions::default(),
        WriteOptions {
            include_files: true,
            ..fixture::timestamped()
        },
    ];
    for seed in 1..=CASES {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let sbom = sbom(&mut rng);
        let options = &options[(seed % 2) as usize];
        let text = to_string(&sbom, Format::Json, options).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap();
        let problems = cyclonedx_problems(&render(&sbom, Format::CycloneDx, options));
        assert!(problems.is_empty(), "seed {seed}: {}", problems.join("\n"));
        let problems = spdx_problems(&render(&sbom, Format::Spdx, options));
        assert!(problems.is_empty(), "seed {seed}: {}", problems.join("\n"));
    }
    // Visible with `--nocapture`; the report quotes it.
    eprintln!(
        "{CASES} generated SBOMs rendered and validated in {:?}",
        started.elapsed()
    );
}
