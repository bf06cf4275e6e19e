//! Reference normalisation, case by case from Docker's `reference` package tests
//! (`normalize_test.go`: TestValidateReferenceName, TestValidateRemoteName,
//! TestParseRepositoryInfo, TestNormalizedSplitHostname, TestParseReferenceWithTagAndDigest).

use portcullis_registry_client::{Reference, ReferenceError};

const DIGEST: &str = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";

/// (input, registry, repository, tag, digest) — as Docker's `Domain`, `Path`, tag, digest.
const VALID: &[(&str, &str, &str, Option<&str>, bool)] = &[
    ("debian", "docker.io", "library/debian", None, false),
    ("library/debian", "docker.io", "library/debian", None, false),
    ("docker/docker", "docker.io", "docker/docker", None, false),
    (
        "docker.io/docker/docker",
        "docker.io",
        "docker/docker",
        None,
        false,
    ),
    (
        "docker.io/library/debian",
        "docker.io",
        "library/debian",
        None,
        false,
    ),
    (
        "docker.io/debian",
        "docker.io",
        "library/debian",
        None,
        false,
    ),
    (
        "index.docker.io/docker/docker",
        "docker.io",
        "docker/docker",
        None,
        false,
    ),
    (
        "index.docker.io/library/debian",
        "docker.io",
        "library/debian",
        None,
        false,
    ),
    (
        "index.docker.io/debian",
        "docker.io",
        "library/debian",
        None,
        false,
    ),
    (
        "127.0.0.1:5000/docker/docker",
        "127.0.0.1:5000",
        "docker/docker",
        None,
        false,
    ),
    (
        "127.0.0.1:5000/library/debian",
        "127.0.0.1:5000",
        "library/debian",
        None,
        false,
    ),
    (
        "127.0.0.1:5000/debian",
        "127.0.0.1:5000",
        "debian",
        None,
        false,
    ),
    // A bare host with no slash is a Docker Hub repository; `:80` is then a tag.
    (
        "192.168.0.1",
        "docker.io",
        "library/192.168.0.1",
        None,
        false,
    ),
    (
        "192.168.0.1:80",
        "docker.io",
        "library/192.168.0.1",
        Some("80"),
        false,
    ),
    (
        "192.168.0.1:8/debian",
        "192.168.0.1:8",
        "debian",
        None,
        false,
    ),
    (
        "192.168.0.2:25000/debian",
        "192.168.0.2:25000",
        "debian",
        None,
        false,
    ),
    (
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        "docker.io",
        "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        None,
        false,
    ),
    (
        "[fc00::1]:5000/docker",
        "[fc00::1]:5000",
        "docker",
        None,
        false,
    ),
    (
        "[fc00::1]:5000/docker/docker",
        "[fc00::1]:5000",
        "docker/docker",
        None,
        false,
    ),
    (
        "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        "[fc00:1:2:3:4:5:6:7]:5000",
        "library/debian",
        None,
        false,
    ),
    (
        "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        "docker.io",
        "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        None,
        false,
    ),
    // Uppercase first components are hosts (repositories are lowercase).
    ("Docker/docker", "Docker", "docker", None, false),
    ("DOCKER/docker", "DOCKER", "docker", None, false),
    ("Foo/bar", "Foo", "bar", None, false),
    (
        "docker-rules/docker",
        "docker.io",
        "docker-rules/docker",
        None,
        false,
    ),
    (
        "docker---rules/docker",
        "docker.io",
        "docker---rules/docker",
        None,
        false,
    ),
    ("doc/docker", "docker.io", "doc/docker", None, false),
    ("d/docker", "docker.io", "d/docker", None, false),
    ("jess/t", "docker.io", "jess/t", None, false),
    (
        "dock__er/docker",
        "docker.io",
        "dock__er/docker",
        None,
        false,
    ),
    ("fooo/bar", "docker.io", "fooo/bar", None, false),
    ("other/library", "docker.io", "other/library", None, false),
    (
        "library/foo/bar",
        "docker.io",
        "library/foo/bar",
        None,
        false,
    ),
    ("store/foo/bar", "docker.io", "store/foo/bar", None, false),
    (
        "ubuntu-12.04-base",
        "docker.io",
        "library/ubuntu-12.04-base",
        None,
        false,
    ),
    (
        "example.com/privatebase",
        "example.com",
        "privatebase",
        None,
        false,
    ),
    (
        "example.com:8000/private/moonbase",
        "example.com:8000",
        "private/moonbase",
        None,
        false,
    ),
    ("test.com/foo", "test.com", "foo", None, false),
    ("test_com/foo", "docker.io", "test_com/foo", None, false),
    ("test.com:8080/foo", "test.com:8080", "foo", None, false),
    ("test-com:8080/foo", "test-com:8080", "foo", None, false),
    ("xn--n3h.com/foo", "xn--n3h.com", "foo", None, false),
    (
        "xn--n3h.com:18080/foo",
        "xn--n3h.com:18080",
        "foo",
        None,
        false,
    ),
    ("localhost/foo", "localhost", "foo", None, false),
    (
        "localhost:5000/a/b:t",
        "localhost:5000",
        "a/b",
        Some("t"),
        false,
    ),
    (
        "127.0.0.1:5055/x:y",
        "127.0.0.1:5055",
        "x",
        Some("y"),
        false,
    ),
    ("user/app:1", "docker.io", "user/app", Some("1"), false),
    (
        "redis:latest",
        "docker.io",
        "library/redis",
        Some("latest"),
        false,
    ),
    ("ghcr.io/org/app@DIGEST", "ghcr.io", "org/app", None, true),
    (
        "busybox:latest@DIGEST",
        "docker.io",
        "library/busybox",
        Some("latest"),
        true,
    ),
    (
        "test.com:5000",
        "docker.io",
        "library/test.com",
        Some("5000"),
        false,
    ),
];

#[test]
fn normalises_like_docker() {
    for (input, registry, repository, tag, has_digest) in VALID {
        let input = input.replace("DIGEST", DIGEST);
        let parsed: Reference = input
            .parse()
            .unwrap_or_else(|e| panic!("`{input}` should parse: {e}"));
        assert_eq!(parsed.registry, *registry, "registry of `{input}`");
        assert_eq!(parsed.repository, *repository, "repository of `{input}`");
        assert_eq!(parsed.tag.as_deref(), *tag, "tag of `{input}`");
        assert_eq!(parsed.digest.is_some(), *has_digest, "digest of `{input}`");
        // The canonical form parses back to the same reference (with `latest` made explicit).
        let again: Reference = parsed.to_string().parse().expect("canonical form parses");
        assert_eq!(
            (&again.registry, &again.repository, &again.digest),
            (&parsed.registry, &parsed.repository, &parsed.digest)
        );
    }
}

#[test]
fn canonical_forms_and_what_to_pull() {
    let cases = [
        ("debian", "docker.io/library/debian:latest", "latest"),
        ("user/app:1", "docker.io/user/app:1", "1"),
        ("localhost:5000/a/b:t", "localhost:5000/a/b:t", "t"),
        ("127.0.0.1:5055/x:y", "127.0.0.1:5055/x:y", "y"),
        (
            &format!("busybox:latest@{DIGEST}"),
            &format!("docker.io/library/busybox:latest@{DIGEST}"),
            DIGEST,
        ),
        (
            &format!("ghcr.io/org/app@{DIGEST}"),
            &format!("ghcr.io/org/app@{DIGEST}"),
            DIGEST,
        ),
    ];
    for (input, canonical, to_pull) in cases {
        let parsed: Reference = input.parse().expect("parses");
        assert_eq!(parsed.to_string(), canonical, "canonical form of `{input}`");
        assert_eq!(
            parsed.reference_str(),
            to_pull,
            "what to pull for `{input}`"
        );
    }
}

#[test]
fn refuses_what_docker_refuses() {
    let long_namespace = format!("{}/docker", "a".repeat(256));
    let invalid = [
        "",
        ":",
        "@",
        "https://github.com/docker/docker",
        "docker/Docker",
        "-docker",
        "-docker/docker",
        "-docker.io/docker/docker",
        "docker///docker",
        "docker.io/docker/Docker",
        "docker.io/docker///docker",
        "[fc00::1]",
        "[fc00::1]:5000",
        "fc00::1:5000/debian",
        "[fe80::1%eth0]:5000/debian",
        "[2001:db8:3:4::192.0.2.33]:5000/debian",
        "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        "docker-/docker",
        "-docker-/docker",
        "____/____",
        "_docker/_docker",
        "dock..er/docker",
        "dock_.er/docker",
        "dock-.er/docker",
        "docker/",
        "debian:",
        "debian:-tag",
        "debian@sha256:abc",
        "debian@md5:d41d8cd98f00b204e9800998ecf8427e",
        "debian@",
        &long_namespace,
        &format!("debian:{}", "t".repeat(129)),
    ];
    for input in invalid {
        assert!(
            input.parse::<Reference>().is_err(),
            "`{input}` should be refused"
        );
    }
}

#[test]
fn errors_say_what_is_wrong() {
    let message = |input: &str| input.parse::<Reference>().expect_err("invalid").to_string();
    assert_eq!("".parse::<Reference>(), Err(ReferenceError::Empty));
    assert!(
        message("docker/Docker").contains("must be lowercase"),
        "{}",
        message("docker/Docker")
    );
    assert!(
        message("debian@sha256:abc").contains("digest"),
        "{}",
        message("debian@sha256:abc")
    );
    assert!(
        message("debian:-x").contains("tag `-x`"),
        "{}",
        message("debian:-x")
    );
    let hex = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";
    assert!(matches!(
        hex.parse::<Reference>(),
        Err(ReferenceError::HexIdentifier(_))
    ));
    assert!(message(":").contains("`:`"), "{}", message(":"));
}
