use portcullis_testkit::LayerBuilder;

use crate::support::catalog_layers;

#[test]
fn os_release_through_a_symlink_into_usr_lib() -> anyhow::Result<()> {
    let layer = LayerBuilder::new()
        .dir("etc")
        .symlink("etc/os-release", "../usr/lib/os-release")
        .file(
            "usr/lib/os-release",
            "ID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\n",
        );
    let (catalog, _) = catalog_layers(vec![layer])?;
    let distro = catalog.distro.expect("distro");
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_deref()),
        ("ubuntu", Some("22.04"))
    );
    Ok(())
}

#[test]
fn a_symlink_out_of_the_root_stays_inside() -> anyhow::Result<()> {
    // A hostile image pointing os-release at the host's: resolution must stay in the image.
    let layer = LayerBuilder::new().symlink("etc/os-release", "../../../../../../etc/os-release");
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert_eq!(catalog.distro, None);
    Ok(())
}

#[test]
fn fallback_files() -> anyhow::Result<()> {
    let (catalog, _) = catalog_layers(vec![LayerBuilder::new().file(
        "etc/redhat-release",
        "CentOS Linux release 7.9.2009 (Core)\n",
    )])?;
    let d = catalog.distro.expect("distro");
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("centos", Some("7"))
    );
    let (catalog, _) = catalog_layers(vec![
        LayerBuilder::new().file("etc/debian_version", "12.5\n"),
    ])?;
    let d = catalog.distro.expect("distro");
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("debian", Some("12"))
    );
    let (catalog, _) = catalog_layers(vec![LayerBuilder::new().file("etc/hostname", "x\n")])?;
    assert_eq!(catalog.distro, None);
    Ok(())
}
