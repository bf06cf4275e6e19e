//! `portcullis server` and `portcullis worker`: the gating registry, and scan workers that
//! run apart from it. Settings come from a TOML file (`--config`), overridden by
//! `PORTCULLIS_*` variables, overridden by flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use portcullis_server::{Server, ServerConfig};

use crate::output;

/// Settings shared by `server` and `worker`.
#[derive(Debug, Args)]
pub struct ServerSettings {
    /// A TOML configuration file (every key is listed in the README)
    #[arg(long, env = "PORTCULLIS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The directory holding the database, blobs and uploads
    #[arg(long, env = "PORTCULLIS_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A PostgreSQL URL, to share the state between several processes (SQLite in the data
    /// directory otherwise)
    #[arg(
        long,
        env = "PORTCULLIS_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// The advisory database home (`portcullis db update` fills it)
    #[arg(long, env = "PORTCULLIS_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// The policy stage that decides promotion
    #[arg(long, env = "PORTCULLIS_PROMOTION_STAGE", value_name = "STAGE")]
    promotion_stage: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(flatten)]
    settings: ServerSettings,
    /// Where to listen
    #[arg(long, env = "PORTCULLIS_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// The URL clients reach this server at (for links and the token realm)
    #[arg(long, env = "PORTCULLIS_EXTERNAL_URL", value_name = "URL")]
    external_url: Option<String>,
    /// Scan workers in this process (0: leave scanning to `portcullis worker`)
    #[arg(long, env = "PORTCULLIS_WORKERS", value_name = "N")]
    workers: Option<usize>,
    /// Allow deleting manifests and blobs through the registry API
    #[arg(long, env = "PORTCULLIS_DELETE_ENABLED")]
    delete_enabled: bool,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key)
    #[arg(
        long,
        env = "PORTCULLIS_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(
        long,
        env = "PORTCULLIS_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    settings: ServerSettings,
    /// Scan jobs run at once
    #[arg(long, default_value_t = 1, value_name = "N")]
    concurrency: usize,
}

fn load(settings: &ServerSettings) -> anyhow::Result<(ServerConfig, PathBuf)> {
    let mut config = match &settings.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("failed to read the configuration `{}`", path.display())
            })?;
            ServerConfig::from_toml(&text, &path.display().to_string())?
        }
        None => ServerConfig::default(),
    };
    if let Some(dir) = &settings.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(url) = &settings.database_url {
        config.database_url = Some(url.clone());
    }
    if let Some(stage) = &settings.promotion_stage {
        config.promotion_stage = stage.clone();
    }
    let home = match settings
        .home
        .clone()
        .or_else(|| config.advisory_home.clone())
    {
        Some(home) => home,
        None => crate::commands::db::home(None)?.root().to_path_buf(),
    };
    Ok((config, home))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub fn run_server(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let (mut config, home) = load(&args.settings)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(url) = &args.external_url {
        config.external_url = Some(url.clone());
    }
    if let Some(n) = args.workers {
        config.workers = n;
    }
    if args.delete_enabled {
        config.delete_enabled = true;
    }
    if args.tls_cert.is_some() {
        config.tls_cert = args.tls_cert.clone();
        config.tls_key = args.tls_key.clone();
    }
    config.validate()?;
    let bootstrap = std::env::var("PORTCULLIS_BOOTSTRAP_TOKEN").ok();
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}; is another server running there? (--listen ADDR)",
                    config.listen
                )
            })?;
        // A bad certificate or key is refused before anything else starts.
        if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
            portcullis_server::tls::acceptor(cert, key)?;
        }
        let server = Server::start(config.clone(), home.clone(), bootstrap.as_deref()).await?;
        greet(&config, &home, server.bootstrap_token.as_deref());
        let app = server.router();
        match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => {
                let acceptor = portcullis_server::tls::acceptor(cert, key)?;
                portcullis_server::tls::serve(listener, acceptor, app, stop_signal()).await;
            }
            _ => {
                // The peer address lets the login limiter count failures per source as well.
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(stop_signal())
                .await
                .context("the server stopped with an error")?;
            }
        }
        output::note("portcullis server: stopping (finishing jobs in progress)");
        server.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What a person needs after starting the server: where to push, where the reports are,
/// how to log in. The bootstrap token is shown on the first start only.
fn greet(config: &ServerConfig, home: &std::path::Path, token: Option<&str>) {
    let url = config.external_url();
    let host = config.registry_host();
    let tls = if url.starts_with("https://") {
        ""
    } else {
        " --tls-verify=false"
    };
    output::note(&format!("portcullis server listening on {url}"));
    output::note(&format!("  data:     {}", config.data_dir.display()));
    output::note(&format!("  advisory database: {}", home.display()));
    output::note(&format!(
        "  push:     skopeo copy{tls} oci:DIR docker://{host}/{}<team>/<app>:<tag>",
        config.unscanned_prefix
    ));
    output::note(&format!(
        "  pull:     skopeo copy{tls} docker://{host}/{}<team>/<app>:<tag> …  (promoted images only)",
        config.scanned_prefix
    ));
    output::note(&format!(
        "  in CI:    portcullis gate {host}/{}<team>/<app>:<tag> --server {url} --push oci:DIR   (waits for the decision)",
        config.unscanned_prefix
    ));
    output::note(&format!(
        "  reports:  {url}/api/v1/images   (one page per image: {url}/reports/<id>, approvals: {url}/approve/<id>)"
    ));
    output::note(&format!("  API:      {url}/api/openapi.json"));
    if !portcullis_vulndb::Home::new(home).index_path().is_file() {
        output::note(&format!(
            "  warning:  no advisory database in {}: every scan fails until you run `portcullis db update` (or `portcullis db import BUNDLE` offline)",
            home.display()
        ));
    }
    match token {
        Some(token) => {
            output::note(
                "  first start: an admin token was created; it is shown this once, keep it:",
            );
            output::note(&format!("    {token}"));
            output::note(&format!(
                "  log in:   skopeo login{tls} -u admin -p <token> {host}"
            ));
            output::note(&format!(
                "  then:     portcullis admin --server {url} team create <team>   (PORTCULLIS_TOKEN=<token>)"
            ));
        }
        None => output::note(&format!("  log in:   skopeo login{tls} -u <user> {host}")),
    }
}

pub fn run_worker(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let (config, home) = load(&args.settings)?;
    config.validate()?;
    runtime()?.block_on(async move {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let workers = portcullis_server::run_workers(config, home, args.concurrency, rx);
        tokio::pin!(workers);
        output::note(&format!(
            "portcullis worker: {} scan jobs at once",
            args.concurrency.max(1)
        ));
        tokio::select! {
            r = &mut workers => r?,
            _ = stop_signal() => {
                output::note("portcullis worker: stopping (finishing jobs in progress)");
                let _ = tx.send(true);
                workers.await?;
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
