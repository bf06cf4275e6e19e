//! Reading an image into an SBOM: the options `sbom` and `scan` share.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use portcullis_image::{Limits, Platform, ReadOptions, Source};
use portcullis_registry_client::{ClientOptions, Credentials};
use portcullis_types::Sbom;

/// How to read the image.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Platform to pick from a multi-platform image: OS/ARCH[/VARIANT]
    #[arg(long, default_value = "linux/amd64")]
    platform: String,

    /// Allow plain HTTP to the registry (only for loopback or a lab)
    #[arg(long)]
    insecure: bool,

    /// Registry credentials USER:PASSWORD (default: ~/.docker/config.json and its helpers)
    #[arg(
        long,
        value_name = "USER:PASSWORD",
        env = "PORTCULLIS_REGISTRY_CREDS",
        hide_env_values = true
    )]
    creds: Option<String>,

    /// Docker-style auth file to read credentials from instead of ~/.docker/config.json
    #[arg(long, value_name = "FILE")]
    authfile: Option<PathBuf>,

    /// Also list language packages whose files belong to an OS package (Debian's
    /// python3-urllib3, say); by default only the OS package is listed, since its fixes
    /// come from the distro
    #[arg(long)]
    include_os_owned: bool,

    /// Layers decoded at once (0: one per core)
    #[arg(long, default_value_t = 0)]
    threads: usize,

    /// Stop when the layers uncompress to more than SIZE in all (protects against
    /// decompression bombs); accepts K, M, G, T suffixes (powers of 1024)
    #[arg(long, value_name = "SIZE", default_value = "32G", value_parser = parse_size)]
    max_uncompressed: u64,

    /// Stop when the layers hold more than N entries in all
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_entries)]
    max_entries: u64,

    /// Refuse paths longer than N bytes
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_path_len)]
    max_path_len: usize,

    /// Timeout for each registry request, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
}

/// The read options `args` describe.
pub fn read_options(
    args: &ImageArgs,
    layer_cache: Option<std::sync::Arc<dyn portcullis_image::LayerCache>>,
) -> anyhow::Result<ReadOptions> {
    let platform: Platform = args
        .platform
        .parse()
        .with_context(|| format!("invalid --platform `{}`", args.platform))?;
    let credentials = args
        .creds
        .as_deref()
        .map(|c| {
            let (username, password) =
                c.split_once(':').context("--creds must be USER:PASSWORD")?;
            anyhow::Ok(Credentials {
                username: username.to_owned(),
                password: password.to_owned(),
            })
        })
        .transpose()?;
    let limits = Limits {
        max_uncompressed_bytes: args.max_uncompressed,
        max_entries: args.max_entries,
        max_path_len: args.max_path_len,
        ..Limits::default()
    };
    let options = ReadOptions {
        platform,
        limits,
        registry: ClientOptions {
            insecure: args.insecure,
            docker_config: args.authfile.clone(),
            credentials,
            timeout: Duration::from_secs(args.timeout),
            user_agent: concat!("portcullis/", env!("CARGO_PKG_VERSION")).to_owned(),
            ..ClientOptions::default()
        },
        threads: args.threads,
        layer_cache,
    };

    Ok(options)
}

/// Reads `image` and lists its packages, sorted; returns the cataloguers' warnings too.
/// Layers found in `layer_cache` are not decoded again.
pub fn read_sbom(
    image: &str,
    args: &ImageArgs,
    quiet: bool,
    layer_cache: Option<std::sync::Arc<dyn portcullis_image::LayerCache>>,
) -> anyhow::Result<(Sbom, Vec<String>)> {
    let source = Source::parse(image)?;
    let options = read_options(args, layer_cache)?;
    let show_progress = !quiet && std::io::stderr().is_terminal();
    let progress = crate::commands::progress::Bar::new(show_progress);
    let catalog_options = portcullis_catalog::CatalogOptions {
        include_os_owned: args.include_os_owned,
    };
    let read = portcullis_scan::read_sbom(&source, &options, &catalog_options, &progress);
    progress.finish();
    Ok(read?)
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, suffix) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size; write for example 512M or 32G"))?;
    let shift = match suffix.trim().trim_end_matches("iB").trim_end_matches('B') {
        "" => 0,
        "K" | "k" => 10,
        "M" | "m" => 20,
        "G" | "g" => 30,
        "T" | "t" => 40,
        other => return Err(format!("unknown size suffix `{other}`; use K, M, G or T")),
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{s}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("32G"), Ok(32 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("x").is_err());
        assert!(parse_size("1Q").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
