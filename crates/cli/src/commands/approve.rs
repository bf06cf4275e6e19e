//! `portcullis approve IMAGE --reason TEXT`: approves a nudged image, as the approval page
//! and the API do; the approver and the reason are recorded.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};

use super::api_client::query_value;
use super::gate::{ServerArgs, Target};
use crate::output;

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The image: [HOST[:PORT]/]unscanned/<team>/<app>:TAG (or @DIGEST)
    image: String,
    /// Why it may go on despite the findings (recorded, shown to everyone)
    #[arg(long)]
    reason: String,
    /// The stage approved for; the server's promotion stage by default
    #[arg(long, env = "PORTCULLIS_STAGE")]
    stage: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

pub fn run(args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let target = Target::parse(&args.image)?;
    if args.reason.trim().is_empty() {
        anyhow::bail!("--reason is empty; say why this image may go on despite its findings");
    }
    let client = args.server.client()?;
    let image = client
        .get(&format!(
            "/api/v1/images/lookup?repository={}&reference={}",
            query_value(&target.repository),
            query_value(&target.reference)
        ))
        .with_context(|| format!("cannot find {}", target.display()))?;
    let id = image
        .get("id")
        .and_then(Value::as_i64)
        .context("the server's answer has no image id")?;
    let mut body = json!({ "reason": args.reason.trim() });
    if let Some(stage) = &args.stage {
        body["stage"] = json!(stage);
    }
    let approved = client
        .post(&format!("/api/v1/images/{id}/approvals"), body)
        .with_context(|| format!("cannot approve {}", target.display()))?;
    let stage = args
        .stage
        .clone()
        .or_else(|| {
            approved
                .get("stage")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let promoted = approved
        .get("promotedTo")
        .and_then(Value::as_str)
        .map(|repository| target.in_repository(repository));
    output::write_data(
        None,
        format!(
            "✔ approved {} ({}) at stage {stage}: \"{}\"{}\n",
            target.display(),
            image
                .get("digest")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            args.reason.trim(),
            promoted.map_or(String::new(), |p| format!("; deploy from {p}"))
        )
        .as_bytes(),
    )?;
    Ok(ExitCode::SUCCESS)
}
