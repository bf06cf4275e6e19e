//! The Docker token flow against the real reference registry in `auth.token` mode: our
//! loopback token server issues ES256 JWTs signed by a certificate the registry trusts.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use portcullis_registry_client::{Client, ClientOptions, Credentials, RegistryError};

use crate::harness::{Registry, insecure_options, shared};
use crate::scripted::{Reply, Scripted, Seen, form_value};

const SERVICE: &str = "portcullis-test";
const ISSUER: &str = "portcullis-test-issuer";
const USER: &str = "bob";
const PASSWORD: &str = "hunter2-but-longer";
const REFRESH_TOKEN: &str = "refresh-token-42";

struct TokenSetup {
    token_server: Scripted,
    registry: Registry,
    _dir: tempfile::TempDir,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A JWT granting what `scope` (`repository:<name>:<actions>`) asks for.
fn jwt(key: &EcdsaKeyPair, cert_der: &[u8], scope: &str, subject: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let (kind, rest) = scope.split_once(':').unwrap_or_default();
    let (name, actions) = rest.rsplit_once(':').unwrap_or_default();
    let header = serde_json::json!({
        "typ": "JWT",
        "alg": "ES256",
        "x5c": [base64::engine::general_purpose::STANDARD.encode(cert_der)],
    });
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": subject,
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("{now}-{}", rand_suffix()),
        "access": [{"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}],
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature = key
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .expect("sign");
    format!("{signing_input}.{}", b64url(signature.as_ref()))
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn token_registry() -> TokenSetup {
    let dir = tempfile::tempdir().expect("tempdir");
    let key_pair = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["portcullis-token-signer".to_owned()])
        .expect("params")
        .self_signed(&key_pair)
        .expect("certificate");
    let bundle = dir.path().join("token-signer.pem");
    std::fs::write(&bundle, cert.pem()).expect("write bundle");
    let signer =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key_pair.serialize_der())
            .expect("signing key");
    let cert_der = cert.der().to_vec();
    let token_server = Scripted::start(move |seen: &Seen| {
        let scope = match seen.method.as_str() {
            "GET" if seen.authorization.as_deref() == Some(basic(USER, PASSWORD).as_str()) => {
                seen.query("scope")
            }
            "POST"
                if form_value(&seen.body, "grant_type").as_deref() == Some("refresh_token")
                    && form_value(&seen.body, "refresh_token").as_deref()
                        == Some(REFRESH_TOKEN) =>
            {
                form_value(&seen.body, "scope")
            }
            _ => None,
        };
        let Some(scope) = scope else {
            return Reply::new(401, r#"{"details":"incorrect username or password"}"#);
        };
        let token = jwt(&signer, &cert_der, &scope, USER);
        let key = if seen.method == "POST" {
            "access_token"
        } else {
            "token"
        };
        Reply::new(
            200,
            serde_json::json!({key: token, "expires_in": 300}).to_string(),
        )
    });
    let auth = format!(
        "  token:\n    realm: http://{}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
        token_server.addr,
        bundle.display()
    );
    let registry = Registry::start(&shared().storage, &auth).expect("token registry");
    TokenSetup {
        token_server,
        registry,
        _dir: dir,
    }
}

fn token_requests(setup: &TokenSetup) -> Vec<Seen> {
    setup
        .token_server
        .seen()
        .into_iter()
        .filter(|s| s.path() == "/token")
        .collect()
}

#[test]
fn pulls_with_a_bearer_token_and_caches_it() {
    let setup = token_registry();
    let credentials = Credentials {
        username: USER.into(),
        password: PASSWORD.into(),
    };
    let client = Client::new(ClientOptions {
        credentials: Some(credentials),
        ..insecure_options()
    })
    .expect("client");
    let reference = setup.registry.reference("portcullis/app:v1");
    let manifest = client
        .fetch_manifest(&reference, "v1")
        .expect("manifest with token");
    assert_eq!(manifest.digest, shared().images.oci);
    for _ in 0..2 {
        let mut blob = client
            .fetch_blob(&reference, &shared().images.layer)
            .expect("blob with token");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut blob, &mut bytes).expect("read");
        assert_eq!(crate::harness::sha256(&bytes), shared().images.layer);
    }
    client
        .fetch_manifest(&reference, &shared().images.oci.to_string())
        .expect("by digest");

    let requests = token_requests(&setup);
    assert_eq!(requests.len(), 1, "one token for one scope: {requests:?}");
    let request = &requests[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.query("service").as_deref(), Some(SERVICE));
    assert_eq!(
        request.query("scope").as_deref(),
        Some("repository:portcullis/app:pull")
    );
}

#[test]
fn wrong_password_at_the_token_server() {
    let setup = token_registry();
    let credentials = Credentials {
        username: USER.into(),
        password: "nope-nope".into(),
    };
    let client = Client::new(ClientOptions {
        credentials: Some(credentials),
        ..insecure_options()
    })
    .expect("client");
    let err = client
        .fetch_manifest(&setup.registry.reference("portcullis/app:v1"), "v1")
        .expect_err("refused");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("incorrect username or password") && message.contains("docker login"),
        "{message}"
    );
    assert!(!message.contains("nope-nope"));
}

#[test]
fn anonymous_token_is_refused_then_reported() {
    let setup = token_registry();
    let err = Client::new(insecure_options())
        .expect("client")
        .fetch_blob(
            &setup.registry.reference("portcullis/app:v1"),
            &shared().images.layer,
        )
        .expect_err("anonymous refused by our token server");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
}

#[test]
fn identity_token_from_config_is_exchanged_by_oauth2() {
    let setup = token_registry();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.json");
    let entry = serde_json::json!({"auths": {setup.registry.addr.clone(): {"auth": "", "identitytoken": REFRESH_TOKEN}}});
    std::fs::write(&config, entry.to_string()).expect("write config");
    let client = Client::new(ClientOptions {
        docker_config: Some(config),
        ..insecure_options()
    })
    .expect("client");
    let manifest = client
        .fetch_manifest(&setup.registry.reference("portcullis/app:v1"), "v1")
        .expect("pull with refresh token");
    assert_eq!(manifest.digest, shared().images.oci);
    let requests = token_requests(&setup);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(
        form_value(&requests[0].body, "service").as_deref(),
        Some(SERVICE)
    );
}
