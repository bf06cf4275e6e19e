//! `portcullis admin`: teams, users and tokens, against a running server's API; and
//! `portcullis audit`: verify and export the audit log, straight from the database.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::api_client::ApiClient;
use crate::output;

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The server's URL
    #[arg(
        long,
        env = "PORTCULLIS_SERVER",
        default_value = "http://127.0.0.1:5000"
    )]
    server: String,
    /// An admin's API token
    #[arg(long, env = "PORTCULLIS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Accept any TLS certificate (test servers only)
    #[arg(long)]
    insecure: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Teams
    #[command(subcommand)]
    Team(TeamCommand),
    /// Users (people with passwords)
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens (CI robots, personal tokens)
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum TeamCommand {
    /// Create a team
    Create { name: String },
    /// List teams
    List,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input
    Create {
        name: String,
        /// developer, security, reader or admin
        #[arg(long)]
        role: String,
        /// A team the user belongs to (repeatable)
        #[arg(long = "team")]
        teams: Vec<String>,
    },
    /// List users
    List,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token; its secret is printed on standard output, once
    Create {
        name: String,
        /// developer, security, reader or admin
        #[arg(long)]
        role: String,
        /// A team the token acts for (repeatable)
        #[arg(long = "team")]
        teams: Vec<String>,
        /// Days until it expires (never, when left out)
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List tokens (never their secrets)
    List,
    /// Revoke a token at once
    Revoke { name: String },
}

pub fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let token = args
        .token
        .context("an admin token is required: --token TOKEN or PORTCULLIS_TOKEN (the server printed one on its first start)")?;
    let client = ApiClient::new(&args.server, token, Duration::from_secs(60), args.insecure);
    let teams = |t: Vec<String>| t.into_iter().collect::<BTreeSet<_>>();
    let value = match args.command {
        AdminCommand::Team(TeamCommand::Create { name }) => {
            client.call("POST", "/api/v1/teams", Some(json!({ "name": name })))?
        }
        AdminCommand::Team(TeamCommand::List) => client.call("GET", "/api/v1/teams", None)?,
        AdminCommand::User(UserCommand::Create {
            name,
            role,
            teams: t,
        }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("failed to read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            client.call(
                "POST",
                "/api/v1/users",
                Some(
                    json!({ "name": name, "password": password, "role": role, "teams": teams(t) }),
                ),
            )?
        }
        AdminCommand::User(UserCommand::List) => client.call("GET", "/api/v1/users", None)?,
        AdminCommand::Token(TokenCommand::Create {
            name,
            role,
            teams: t,
            expires_in_days,
        }) => {
            let created = client.call(
                "POST",
                "/api/v1/tokens",
                Some(json!({ "name": name, "role": role, "teams": teams(t), "expiresInDays": expires_in_days })),
            )?;
            let secret = created
                .get("token")
                .and_then(Value::as_str)
                .unwrap_or_default();
            output::note(&format!(
                "token `{name}` created; its secret is shown this once:"
            ));
            output::write_data(None, format!("{secret}\n").as_bytes())?;
            return Ok(ExitCode::SUCCESS);
        }
        AdminCommand::Token(TokenCommand::List) => client.call("GET", "/api/v1/tokens", None)?,
        AdminCommand::Token(TokenCommand::Revoke { name }) => {
            client.call("DELETE", &format!("/api/v1/tokens/{name}"), None)?
        }
    };
    if !value.is_null() {
        output::write_data(
            None,
            format!("{}\n", serde_json::to_string_pretty(&value)?).as_bytes(),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The server's data directory (its SQLite database)
    #[arg(
        long,
        env = "PORTCULLIS_DATA_DIR",
        default_value = "portcullis-data",
        global = true
    )]
    data_dir: PathBuf,
    /// A PostgreSQL URL instead of the data directory's database
    #[arg(
        long,
        env = "PORTCULLIS_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    database_url: Option<String>,
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute every entry's hash and link; exit 1 at the first change or removal
    Verify {
        /// The head recorded elsewhere (`SEQ:HASH`, as `verify` prints), to detect a
        /// truncated log
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<String>,
    },
    /// Write every entry as JSON lines (for a SIEM)
    Export {
        /// Write here instead of standard output
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

pub fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let url = args.database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rw",
            args.data_dir.join("portcullis.db").display()
        )
    });
    if args.database_url.is_none() && !args.data_dir.join("portcullis.db").is_file() {
        bail!(
            "no database in `{}`; give the server's --data-dir or --database-url",
            args.data_dir.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(async move {
        let store = portcullis_store::Store::open(&url)
            .await
            .context("cannot open the database")?;
        match args.command {
            AuditCommand::Verify { expect_head } => {
                let expected = expect_head
                    .as_deref()
                    .map(str::parse::<portcullis_store::audit::AuditHead>)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--expect-head: {e}"))?;
                let v = store.verify_audit(expected.as_ref()).await?;
                match &v.problem {
                    None => {
                        output::note(&format!(
                            "audit log intact: {} entries verified; head {}",
                            v.verified,
                            v.last_verified
                                .as_ref()
                                .map_or_else(|| "(empty)".to_owned(), ToString::to_string)
                        ));
                        Ok(ExitCode::SUCCESS)
                    }
                    Some(problem) => {
                        output::note(&format!(
                            "audit log BROKEN after {} sound entries: {problem}",
                            v.verified
                        ));
                        Ok(ExitCode::from(1))
                    }
                }
            }
            AuditCommand::Export { output: path } => {
                let mut data = Vec::new();
                store.export_audit(None, &mut data).await?;
                output::write_data(path.as_deref(), &data)?;
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
