//! The full server against the reference registry: the same skopeo operations (push OCI
//! and v2s2, inspect, tags, a missing tag and blob, a wrong digest, a missing blob,
//! delete enabled and disabled) give the same observable results.

use portcullis_testkit::differential::{Target, observe};

use crate::harness::{Registry, test_images};
use crate::server_harness::ServerProcess;

fn compare(deletes: bool) -> anyhow::Result<()> {
    let layout = test_images()?.join("oci");
    let reference = Registry::start_with_delete(deletes)?;
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), &format!("delete-enabled = {deletes}\n"))?;
    server.create_team("a")?;
    server.create_user("dev", "developer-password", "developer", &["a"])?;
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
    let ours = observe(
        &Target {
            addr: server.addr.clone(),
            creds: Some(("dev".into(), "developer-password".into())),
            repository,
        },
        &layout,
        deletes,
    )?;
    anyhow::ensure!(
        ours == theirs,
        "portcullis server (left) and the reference registry (right) differ:\n{ours:#?}\n{theirs:#?}"
    );
    Ok(())
}

#[test]
fn the_server_answers_skopeo_like_the_reference_registry_with_deletes_enabled() -> anyhow::Result<()>
{
    compare(true)
}

#[test]
fn the_server_answers_skopeo_like_the_reference_registry_with_deletes_disabled()
-> anyhow::Result<()> {
    compare(false)
}
