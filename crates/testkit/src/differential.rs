//! The same sequence of skopeo operations and raw requests against any registry, reduced
//! to what a user observes (exit codes, manifest digests, tag lists, error codes), so that
//! two registries can be compared: portcullis' registry and server against the reference
//! registry (`docker-registry`).

use std::path::Path;
use std::process::{Command, Output};

use anyhow::Context as _;
use serde_json::{Value, json};

/// HTTP Basic credentials as an `Authorization` value.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn skopeo(args: &[&str]) -> anyhow::Result<Output> {
    Command::new("skopeo")
        .args(args)
        .output()
        .context("run skopeo (install the skopeo package; scripts/test.sh does)")
}

fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// A registry to observe: `host:port`, optional Basic credentials (`user:password`) and
/// the repository to push to (under `unscanned/` on both, so the zones allow it).
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: String,
    pub creds: Option<(String, String)>,
    pub repository: String,
}

impl Target {
    fn creds_args(&self, flag: &str) -> Vec<String> {
        match &self.creds {
            Some((user, password)) => vec![flag.to_owned(), format!("{user}:{password}")],
            None => Vec::new(),
        }
    }

    fn image(&self, tag: &str) -> String {
        format!("docker://{}/{}:{tag}", self.addr, self.repository)
    }

    fn auth(&self) -> Option<String> {
        self.creds.as_ref().map(|(u, p)| basic(u, p))
    }
}

/// Runs skopeo; `ok <stdout>` or `exit <code> <class>`, the class read from the message.
fn run(args: Vec<String>) -> anyhow::Result<(bool, String)> {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = skopeo(&refs)?;
    if out.status.success() {
        return Ok((true, String::from_utf8_lossy(&out.stdout).into_owned()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    let class = [
        ("manifest unknown", "MANIFEST_UNKNOWN"),
        ("unsupported", "UNSUPPORTED"),
        ("blob unknown", "BLOB_UNKNOWN"),
        ("denied", "DENIED"),
        ("unauthorized", "UNAUTHORIZED"),
    ]
    .iter()
    .find(|(needle, _)| stderr.contains(needle))
    .map_or("OTHER", |(_, class)| class);
    Ok((
        false,
        format!("exit {} {class}", out.status.code().unwrap_or(-1)),
    ))
}

/// `status CODE` of a raw request's answer.
fn http_outcome(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> anyhow::Result<String> {
    let mut response = response?;
    let status = response.status().as_u16();
    let body: Value =
        serde_json::from_str(&response.body_mut().read_to_string()?).unwrap_or(Value::Null);
    Ok(format!(
        "{status} {}",
        body["errors"][0]["code"].as_str().unwrap_or("-")
    ))
}

/// The observable results of one sequence of operations against `target`.
pub fn observe(
    target: &Target,
    layout: &Path,
    deletes: bool,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut seen = Vec::new();
    let source = format!("oci:{}:bookworm-vuln", layout.display());
    for format in ["oci", "v2s2"] {
        let mut args = vec![
            "copy".into(),
            "-q".into(),
            "--dest-tls-verify=false".into(),
            "--format".into(),
            format.into(),
        ];
        args.extend(target.creds_args("--dest-creds"));
        args.extend([source.clone(), target.image(format)]);
        seen.push((format!("push {format}"), run(args)?.0.to_string()));
        let mut args = vec![
            "inspect".into(),
            "--raw".into(),
            "--tls-verify=false".into(),
        ];
        args.extend(target.creds_args("--creds"));
        args.push(target.image(format));
        let (ok, raw) = run(args)?;
        seen.push((
            format!("digest {format}"),
            if ok { sha256_of(raw.as_bytes()) } else { raw },
        ));
    }
    let list_tags = |seen: &mut Vec<(String, String)>, step: &str| -> anyhow::Result<()> {
        let mut args = vec!["list-tags".into(), "--tls-verify=false".into()];
        args.extend(target.creds_args("--creds"));
        args.push(format!("docker://{}/{}", target.addr, target.repository));
        let (ok, out) = run(args)?;
        let tags = if ok {
            serde_json::from_str::<Value>(&out)?["Tags"].to_string()
        } else {
            out
        };
        seen.push((step.to_owned(), tags));
        Ok(())
    };
    list_tags(&mut seen, "tags")?;
    let mut args = vec![
        "inspect".into(),
        "--raw".into(),
        "--tls-verify=false".into(),
    ];
    args.extend(target.creds_args("--creds"));
    args.push(target.image("missing"));
    seen.push(("inspect missing tag".into(), run(args)?.1));

    let base = format!("http://{}/v2/{}", target.addr, target.repository);
    let with_auth =
        |request: ureq::RequestBuilder<ureq::typestate::WithoutBody>| match target.auth() {
            Some(auth) => request.header("Authorization", auth),
            None => request,
        };
    let missing_blob = sha256_of(b"no such blob");
    seen.push((
        "get missing blob".into(),
        http_outcome(with_auth(agent().get(format!("{base}/blobs/{missing_blob}"))).call())?,
    ));
    // Manifests by a digest that is not theirs, and referencing a blob never pushed.
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": missing_blob, "size": 12},
        "layers": [],
    }))?;
    for (step, reference) in [
        ("put manifest with wrong digest", sha256_of(b"other")),
        ("put manifest with missing blob", "broken".to_owned()),
    ] {
        let mut request = agent()
            .put(format!("{base}/manifests/{reference}"))
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json");
        if let Some(auth) = target.auth() {
            request = request.header("Authorization", auth);
        }
        seen.push((step.into(), http_outcome(request.send(&manifest[..]))?));
    }
    let mut args = vec!["delete".into(), "--tls-verify=false".into()];
    args.extend(target.creds_args("--creds"));
    args.push(target.image("oci"));
    let (ok, out) = run(args)?;
    seen.push((
        format!("delete (enabled: {deletes})"),
        if ok { "ok".into() } else { out },
    ));
    list_tags(&mut seen, "tags after delete")?;
    Ok(seen)
}
