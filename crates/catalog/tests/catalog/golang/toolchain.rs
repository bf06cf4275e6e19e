//! Builds small Go programs with the real Go toolchain, offline: module dependencies come
//! from a `file://` module proxy written here, so that the binaries record real `dep`
//! lines with versions and sums, a module replaced by another module, and a module
//! replaced by a local directory.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The binaries built once for every test of this binary.
#[derive(Debug)]
pub struct Built {
    _dir: tempfile::TempDir,
    /// Linux ELF, module mode, with replacements.
    pub elf: PathBuf,
    /// The same with `-trimpath`.
    pub trimpath: PathBuf,
    /// The same with `-ldflags '-X main.version=1.4.2'`.
    pub stamped: PathBuf,
    /// `GOOS=windows`: PE.
    pub windows: PathBuf,
    /// `GOOS=darwin GOARCH=arm64`: Mach-O.
    pub darwin: PathBuf,
    /// The app's `go.mod` after `go build -mod=mod` completed it.
    pub go_mod: PathBuf,
}

/// Fails with what to install when Go is missing, as CI installs it.
pub fn go() -> &'static str {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let ok = Command::new("go")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "the Go toolchain is needed by these tests: apt-get install -y golang-go"
        );
    });
    "go"
}

/// `go version -m FILE`: the oracle.
pub fn go_version_m(binary: &Path) -> String {
    let out = Command::new(go())
        .args(["version", "-m"])
        .arg(binary)
        .output()
        .expect("go version -m runs");
    assert!(
        out.status.success(),
        "go version -m {}: {}",
        binary.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| build().expect("building the Go fixtures"))
}

const APP_MAIN: &str = r#"package main

import (
	"fmt"

	"example.com/greet"
	"example.com/lib"
	"example.com/upstream"
)

var version = "dev"

func main() {
	fmt.Println(greet.Hello(), lib.Name(), upstream.Name(), version)
}
"#;

const APP_GO_MOD: &str = "module example.com/app

go 1.19

require (
	example.com/greet v1.1.0
	example.com/lib v1.2.0
	example.com/upstream v0.1.0
)

replace example.com/lib => ../lib

replace example.com/upstream v0.1.0 => example.com/fork v0.2.0
";

/// Output name, `go build` flags, environment.
type Build = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

fn build() -> anyhow::Result<Built> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    let proxy = root.join("proxy");
    publish(
        &proxy,
        "example.com/words",
        "v0.1.0",
        "module example.com/words\n\ngo 1.19\n",
        &[(
            "words.go",
            "package words\n\nfunc Hi() string { return \"hi\" }\n",
        )],
    )?;
    publish(
        &proxy,
        "example.com/greet",
        "v1.1.0",
        "module example.com/greet\n\ngo 1.19\n\nrequire example.com/words v0.1.0\n",
        &[(
            "greet.go",
            "package greet\n\nimport \"example.com/words\"\n\nfunc Hello() string { return words.Hi() }\n",
        )],
    )?;
    // The fork declares the path it replaces, as forks do.
    publish(
        &proxy,
        "example.com/fork",
        "v0.2.0",
        "module example.com/upstream\n\ngo 1.19\n",
        &[(
            "up.go",
            "package upstream\n\nfunc Name() string { return \"fork\" }\n",
        )],
    )?;
    write(
        &root.join("lib/go.mod"),
        "module example.com/lib\n\ngo 1.19\n",
    )?;
    write(
        &root.join("lib/lib.go"),
        "package lib\n\nfunc Name() string { return \"lib\" }\n",
    )?;
    let app = root.join("app");
    write(&app.join("go.mod"), APP_GO_MOD)?;
    write(&app.join("cmd/app/main.go"), APP_MAIN)?;
    let out = root.join("out");
    let builds: [Build; 5] = [
        ("app", &[], &[]),
        ("app-trimpath", &["-trimpath"], &[]),
        ("app-stamped", &["-ldflags=-X main.version=1.4.2"], &[]),
        ("app.exe", &[], &[("GOOS", "windows"), ("GOARCH", "amd64")]),
        (
            "app-darwin",
            &[],
            &[("GOOS", "darwin"), ("GOARCH", "arm64")],
        ),
    ];
    for (name, flags, env) in builds {
        let mut cmd = Command::new(go());
        cmd.current_dir(&app)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", root)
            .env("GOPATH", root.join("gopath"))
            // Kept between runs (Go's cache is safe to share): the standard library is
            // compiled once per target, not once per run.
            .env(
                "GOCACHE",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-build-cache"),
            )
            .env("GOPROXY", format!("file://{}", proxy.display()))
            // -modcacherw: the module cache must be deletable with the temporary directory.
            .env("GOFLAGS", "-mod=mod -modcacherw")
            .env("GOSUMDB", "off")
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0")
            .args(["build", "-o"])
            .arg(out.join(name))
            .args(flags)
            .arg("./cmd/app");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let result = cmd.output()?;
        anyhow::ensure!(
            result.status.success(),
            "go build {name}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
    Ok(Built {
        elf: out.join("app"),
        trimpath: out.join("app-trimpath"),
        stamped: out.join("app-stamped"),
        windows: out.join("app.exe"),
        darwin: out.join("app-darwin"),
        go_mod: app.join("go.mod"),
        _dir: dir,
    })
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)?;
    Ok(())
}

/// Writes one module version in the layout of a `GOPROXY` (`<path>/@v/<version>.{info,
/// mod,zip}` and `list`), the zip holding `<path>@<version>/…`.
fn publish(
    proxy: &Path,
    module: &str,
    version: &str,
    go_mod: &str,
    files: &[(&str, &str)],
) -> anyhow::Result<()> {
    let dir = proxy.join(module).join("@v");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("list"), format!("{version}\n"))?;
    std::fs::write(
        dir.join(format!("{version}.info")),
        format!("{{\"Version\":\"{version}\",\"Time\":\"2023-01-01T00:00:00Z\"}}"),
    )?;
    std::fs::write(dir.join(format!("{version}.mod")), go_mod)?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in std::iter::once(("go.mod", go_mod)).chain(files.iter().copied()) {
        zip.start_file(format!("{module}@{version}/{name}"), options)?;
        zip.write_all(text.as_bytes())?;
    }
    let bytes = zip.finish()?.into_inner();
    std::fs::write(dir.join(format!("{version}.zip")), bytes)?;
    Ok(())
}
