//! `portcullis sbom IMAGE`: read an image and list its packages.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use portcullis_sbom::{Format as SbomFormat, WriteOptions};

use crate::commands::image::{ImageArgs, read_sbom};
use crate::output;

const SOURCES_HELP: &str = "\
IMAGE SOURCES (named as skopeo names them):
  oci:DIR[:TAG]              an OCI image layout directory
                               portcullis sbom oci:./build/oci:app-1.2
  docker-archive:FILE        what `docker save` writes (also gzip'd, .tar.gz)
                               portcullis sbom docker-archive:app.tar
  docker://REF               pull from a registry (credentials from ~/.docker/config.json)
                               portcullis sbom docker://ghcr.io/org/app:1.2
  REF                        a bare reference is docker://
                               portcullis sbom debian:12
                               portcullis sbom registry.example:5000/team/app@sha256:…
  dir:PATH                   an unpacked root filesystem
                               portcullis sbom dir:/
";

#[derive(Debug, Args)]
#[command(after_long_help = SOURCES_HELP, after_help = SOURCES_HELP)]
pub struct SbomArgs {
    /// The image: oci:DIR[:TAG], docker-archive:FILE, docker://REF, REF or dir:PATH
    image: String,

    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Write the output to FILE instead of stdout (written atomically)
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// Include each package's file list in json and cyclonedx output
    #[arg(long)]
    include_files: bool,

    /// No progress bar, no warnings and no summary on stderr
    #[arg(long, short = 'q')]
    quiet: bool,

    #[command(flatten)]
    read: ImageArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table for people
    Table,
    /// portcullis' own JSON (documented in crates/sbom/FORMAT.md)
    Json,
    /// CycloneDX 1.6 JSON
    Cyclonedx,
    /// SPDX 2.3 JSON
    Spdx,
}

pub fn run(args: SbomArgs) -> anyhow::Result<ExitCode> {
    let (sbom, catalog_warnings) = read_sbom(&args.image, &args.read, args.quiet, None)?;

    let data = match args.format {
        Format::Table => crate::commands::table::packages(&sbom).into_bytes(),
        other => {
            let format = match other {
                Format::Json => SbomFormat::Json,
                Format::Cyclonedx => SbomFormat::CycloneDx,
                _ => SbomFormat::Spdx,
            };
            let options = WriteOptions {
                include_files: args.include_files,
                ..WriteOptions::default()
            };
            let mut out = Vec::new();
            portcullis_sbom::write(&sbom, format, &options, &mut out)?;
            out
        }
    };
    output::write_data(args.output.as_deref(), &data)?;
    if !args.quiet {
        for warning in &catalog_warnings {
            output::note(&format!("warning: {warning}"));
        }
        let distro = sbom
            .distro
            .as_ref()
            .map(|d| d.pretty_name.clone().unwrap_or_else(|| d.purl_qualifier()))
            .unwrap_or_else(|| "no distro detected".to_owned());
        let place = match sbom.image.layers.len() {
            0 => "an unpacked root filesystem".to_owned(),
            1 => "1 layer".to_owned(),
            n => format!("{n} layers"),
        };
        output::note(&format!(
            "{} packages in {place} ({distro})",
            sbom.packages.len()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
