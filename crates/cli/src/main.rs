//! The `portcullis` binary: parses arguments, runs a command, prints through one place,
//! and turns the outcome into an exit code. Every command lives in `commands/`.

mod commands;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A self-hosted gate for container images.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the packages in an image (a software bill of materials)
    Sbom(commands::sbom::SbomArgs),
    /// Find the vulnerabilities in an image
    Scan(Box<commands::scan::ScanArgs>),
    /// Check policies and run policy tests
    #[command(subcommand)]
    Policy(commands::policy::PolicyCommand),
    /// Download, inspect, export and import the advisory database
    Db(commands::db::DbArgs),
    /// Compare versions and check ranges, by the rules of each ecosystem
    #[command(subcommand)]
    Version(commands::version::VersionCommand),
    /// Run the gating registry: push to unscanned/, scanned on arrival, promoted to scanned/
    Server(Box<commands::server::ServerArgs>),
    /// Run scan workers apart from the server (sharing its database and data directory)
    Worker(commands::server::WorkerArgs),
    /// Manage teams, users and tokens of a running server
    Admin(commands::admin::AdminArgs),
    /// Verify or export the server's hash-chained audit log
    Audit(commands::admin::AuditArgs),
    /// Wait for the server's decision on a pushed image; ask for an approval only when needed
    Gate(Box<commands::gate::GateArgs>),
    /// Approve a nudged image (security or admin), with a reason that is recorded
    Approve(commands::approve::ApproveArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sbom(args) => commands::sbom::run(args),
        Command::Version(cmd) => commands::version::run(cmd),
        Command::Db(args) => commands::db::run(args),
        Command::Policy(cmd) => commands::policy::run(cmd),
        Command::Scan(args) => commands::scan::run(*args),
        Command::Server(args) => commands::server::run_server(*args),
        Command::Worker(args) => commands::server::run_worker(args),
        Command::Admin(args) => commands::admin::run(args),
        Command::Audit(args) => commands::admin::audit(args),
        Command::Gate(args) => commands::gate::run(*args),
        Command::Approve(args) => commands::approve::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`portcullis sbom … | head`): stop quietly, as Unix tools do.
        Err(err)
            if err
                .chain()
                .filter_map(|c| c.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            output::error(&err);
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
