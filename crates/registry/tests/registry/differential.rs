//! Differential tests: the same sequence of client operations against this registry and
//! the reference registry (`/usr/bin/docker-registry`), with identical observable results
//! (exit codes, manifest digests, tag lists, error codes), observed by
//! `portcullis_testkit::differential::observe` (the server's tests use it too).

use portcullis_testkit::differential::{Target, observe};

use crate::harness::{ReferenceRegistry, TestServer, config_with_delete, test_images};

fn compare(deletes: bool) -> anyhow::Result<()> {
    let layout = test_images().join("oci");
    let reference = ReferenceRegistry::start(deletes)?;
    let ours = TestServer::start(config_with_delete(deletes))?;
    let repository = "unscanned/a/app".to_owned();
    let theirs = observe(
        &Target {
            addr: reference.addr.clone(),
            creds: None,
            repository: repository.clone(),
        },
        &layout,
        deletes,
    )?;
    let mine = observe(
        &Target {
            addr: ours.addr.clone(),
            creds: Some(("dev".into(), "pw".into())),
            repository,
        },
        &layout,
        deletes,
    )?;
    assert_eq!(
        mine, theirs,
        "this registry (left) and the reference registry (right) differ"
    );
    Ok(())
}

#[test]
fn skopeo_sees_the_same_as_with_the_reference_registry_deletes_enabled() -> anyhow::Result<()> {
    compare(true)
}

#[test]
fn skopeo_sees_the_same_as_with_the_reference_registry_deletes_disabled() -> anyhow::Result<()> {
    compare(false)
}
