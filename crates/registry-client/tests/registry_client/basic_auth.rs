//! The real reference registry with `auth.htpasswd`: credentials given explicitly, read
//! from a Docker `config.json`, and obtained from a credential helper.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use portcullis_registry_client::{Client, ClientOptions, Credentials, RegistryError};

use crate::harness::{Registry, insecure_options, shared};

const USER: &str = "alice";
const PASSWORD: &str = "correct horse:battery";

fn htpasswd_registry(dir: &Path) -> Registry {
    let hash = bcrypt::hash_with_result(PASSWORD, 4)
        .expect("bcrypt")
        .format_for_version(bcrypt::Version::TwoY);
    let file = dir.join("htpasswd");
    std::fs::write(&file, format!("{USER}:{hash}\n")).expect("write htpasswd");
    let auth = format!(
        "  htpasswd:\n    realm: portcullis-test\n    path: {}\n",
        file.display()
    );
    Registry::start(&shared().storage, &auth).expect("htpasswd registry")
}

fn pull_with(registry: &Registry, options: ClientOptions) -> Result<(), RegistryError> {
    let client = Client::new(options)?;
    let reference = registry.reference("portcullis/app:v1");
    let manifest = client.fetch_manifest(&reference, "v1")?;
    assert_eq!(manifest.digest, shared().images.oci);
    let mut blob = client.fetch_blob(&reference, &shared().images.layer)?;
    std::io::copy(&mut blob, &mut std::io::sink()).expect("read blob");
    Ok(())
}

fn with_config(config: &Path) -> ClientOptions {
    ClientOptions {
        docker_config: Some(config.to_owned()),
        ..insecure_options()
    }
}

#[test]
fn explicit_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = htpasswd_registry(dir.path());
    let credentials = Credentials {
        username: USER.into(),
        password: PASSWORD.into(),
    };
    pull_with(
        &registry,
        ClientOptions {
            credentials: Some(credentials),
            ..insecure_options()
        },
    )
    .expect("pull with --creds");
}

#[test]
fn anonymous_and_wrong_password_are_told_to_log_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = htpasswd_registry(dir.path());
    let err = pull_with(&registry, insecure_options()).expect_err("anonymous");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("docker login {}", registry.addr)),
        "{message}"
    );
    assert!(
        message.contains("skopeo login") && message.contains("--creds"),
        "{message}"
    );

    let wrong = Credentials {
        username: USER.into(),
        password: "guess".into(),
    };
    let err = pull_with(
        &registry,
        ClientOptions {
            credentials: Some(wrong),
            ..insecure_options()
        },
    )
    .expect_err("wrong password");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(
        !format!("{err} {err:?}").contains("guess"),
        "the password leaked: {err:?}"
    );
}

#[test]
fn credentials_from_docker_config_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = htpasswd_registry(dir.path());
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    // The historic `http://host:port/v2/` key form, in a DOCKER_CONFIG-style directory.
    let config_dir = dir.path().join("docker");
    std::fs::create_dir(&config_dir).expect("mkdir");
    let config = serde_json::json!({
        "auths": {
            "https://index.docker.io/v1/": {"auth": "bm90OnVzZWQ="},
            format!("http://{}/v2/", registry.addr): {"auth": auth},
        }
    });
    std::fs::write(config_dir.join("config.json"), config.to_string()).expect("write config");
    pull_with(&registry, with_config(&config_dir)).expect("pull with config.json auth");

    // podman's auth.json form: username and password fields, bare host:port key.
    let auth_json = dir.path().join("auth.json");
    let config = serde_json::json!({"auths": {registry.addr.clone(): {"username": USER, "password": PASSWORD}}});
    std::fs::write(&auth_json, config.to_string()).expect("write auth.json");
    pull_with(&registry, with_config(&auth_json)).expect("pull with auth.json");
}

fn write_helper(dir: &Path, name: &str, script: &str) {
    let path = dir.join(format!("docker-credential-{name}"));
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).expect("write helper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn credentials_from_a_credential_helper() {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = htpasswd_registry(dir.path());
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let asked = dir.path().join("asked");
    write_helper(
        &bin,
        "test",
        &format!(
            "[ \"$1\" = get ] || exit 2\ncat > '{}'\nprintf '{{\"ServerURL\":\"x\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}'\n",
            asked.display()
        ),
    );
    write_helper(
        &bin,
        "empty",
        "echo 'credentials not found in native keychain'\nexit 1\n",
    );
    let config = dir.path().join("config.json");
    let helper_options = |config_json: serde_json::Value| {
        std::fs::write(&config, config_json.to_string()).expect("write config");
        ClientOptions {
            credential_helper_path: Some(bin.clone().into_os_string()),
            ..with_config(&config)
        }
    };

    pull_with(
        &registry,
        helper_options(serde_json::json!({"credHelpers": {registry.addr.clone(): "test"}})),
    )
    .expect("pull with credHelpers");
    assert_eq!(
        std::fs::read_to_string(&asked).expect("helper ran"),
        registry.addr
    );

    pull_with(
        &registry,
        helper_options(serde_json::json!({"credsStore": "test"})),
    )
    .expect("pull with credsStore");

    // "credentials not found" means anonymous, which this registry refuses.
    let err = pull_with(
        &registry,
        helper_options(serde_json::json!({"credsStore": "empty"})),
    )
    .expect_err("no stored credentials");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");

    let err = pull_with(
        &registry,
        helper_options(serde_json::json!({"credsStore": "absent"})),
    )
    .expect_err("missing helper");
    let root = std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    assert!(root.contains("`docker-credential-absent`"), "{root}");
}
