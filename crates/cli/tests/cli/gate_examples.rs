//! The CI examples in `examples/ci/`, read as their CI systems read them (the two YAML files
//! with a YAML parser, the Jenkinsfiles with a small structural Groovy reader), and every
//! `portcullis …` line in them run with `sh -c`, exactly as written, against a real server
//! on loopback: the pass path, the wait for an approval given on the report page, and the
//! Jenkins `input` flow (nudge, approve with a security token, gate again).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::Value;

use crate::harness::test_images;
use crate::server_harness::{ADMIN, ServerProcess};

/// How long one example command may run before the test kills it.
const COMMAND_LIMIT: Duration = Duration::from_secs(300);

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ci")
}

fn read_example(path: &str) -> anyhow::Result<String> {
    let file = examples().join(path);
    std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))
}

// ---------------------------------------------------------------------------------------
// A structural reader for Jenkinsfiles: statements and `header { … }` blocks, string
// literals (with whether they are single-quoted, so not Groovy-interpolated), comments.

#[derive(Debug, Clone)]
struct Literal {
    value: String,
    /// `'…'` or `'''…'''`: Groovy does not interpolate it.
    single_quoted: bool,
    /// The statement's text before the literal, whitespace removed (`sh(script:`).
    prefix: String,
}

#[derive(Debug, Clone, Default)]
struct Statement {
    text: String,
    literals: Vec<Literal>,
}

impl Statement {
    fn starts_with_word(&self, word: &str) -> bool {
        self.text
            .strip_prefix(word)
            .is_some_and(|rest| rest.is_empty() || !is_identifier(rest.chars().next()))
    }

    /// The literal right after `key` (`credentialsId:`, `credentials(`, `submitter`).
    fn literal_after(&self, key: &str) -> Option<&str> {
        self.literals
            .iter()
            .find(|l| ends_with_word(&l.prefix, key))
            .map(|l| l.value.as_str())
    }
}

#[derive(Debug, Default)]
struct Block {
    header: Statement,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Statement(Statement),
    Block(Block),
}

fn is_identifier(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
}

/// `text` ends with `word`, which is not the tail of a longer name.
fn ends_with_word(text: &str, word: &str) -> bool {
    text.strip_suffix(word)
        .is_some_and(|head| !is_identifier(head.chars().last()))
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

impl Block {
    fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.children.iter().filter_map(|n| match n {
            Node::Block(b) => Some(b),
            Node::Statement(_) => None,
        })
    }

    fn statements(&self) -> impl Iterator<Item = &Statement> {
        self.children.iter().filter_map(|n| match n {
            Node::Statement(s) => Some(s),
            Node::Block(_) => None,
        })
    }

    /// The child block whose header is exactly `name` (`stages`, `post`).
    fn block(&self, name: &str) -> anyhow::Result<&Block> {
        self.blocks()
            .find(|b| b.header.text == name)
            .with_context(|| format!("no `{name} {{ … }}` in `{} {{ … }}`", self.header.text))
    }

    /// Every block below this one, depth first, with the headers above it.
    fn walk<'a>(
        &'a self,
        above: &mut Vec<&'a Statement>,
        out: &mut Vec<(Vec<&'a Statement>, &'a Node)>,
    ) {
        above.push(&self.header);
        for child in &self.children {
            out.push((above.clone(), child));
            if let Node::Block(b) = child {
                b.walk(above, out);
            }
        }
        above.pop();
    }
}

/// Parses a Jenkinsfile into blocks and statements; unbalanced braces or parentheses and
/// unterminated strings or comments are errors with their line.
fn parse_groovy(text: &str) -> anyhow::Result<Block> {
    let chars: Vec<char> = text.chars().collect();
    let mut stack: Vec<(Block, i32, usize)> = vec![(Block::default(), 0, 1)];
    let mut current = Statement::default();
    let mut parens = 0i32;
    let mut line = 1usize;
    let mut i = 0usize;
    let flush = |current: &mut Statement, stack: &mut Vec<(Block, i32, usize)>| {
        let mut statement = std::mem::take(current);
        statement.text = statement.text.trim().to_owned();
        if !statement.text.is_empty()
            && let Some((top, _, _)) = stack.last_mut()
        {
            top.children.push(Node::Statement(statement));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                let start = line;
                i += 2;
                loop {
                    ensure!(i + 1 < chars.len(), "line {start}: unterminated /* comment");
                    if chars[i] == '*' && chars[i + 1] == '/' {
                        i += 2;
                        break;
                    }
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                continue;
            }
            '\'' | '"' => {
                let start = line;
                let triple = next == Some(c) && chars.get(i + 2) == Some(&c);
                let open = if triple { 3 } else { 1 };
                let mut value = String::new();
                let mut j = i + open;
                loop {
                    ensure!(j < chars.len(), "line {start}: unterminated string");
                    let d = chars[j];
                    if d == '\\' {
                        let e = chars.get(j + 1).copied();
                        ensure!(e.is_some(), "line {start}: unterminated string");
                        match e {
                            Some('n') => value.push('\n'),
                            Some('t') => value.push('\t'),
                            Some('\\') => value.push('\\'),
                            Some(q @ ('\'' | '"' | '$')) => value.push(q),
                            Some('\n') => line += 1,
                            Some(other) => {
                                value.push('\\');
                                value.push(other);
                            }
                            None => {}
                        }
                        j += 2;
                        continue;
                    }
                    if d == c
                        && (!triple
                            || (chars.get(j + 1) == Some(&c) && chars.get(j + 2) == Some(&c)))
                    {
                        break;
                    }
                    ensure!(
                        triple || d != '\n',
                        "line {start}: a string that is not triple-quoted spans lines"
                    );
                    if d == '\n' {
                        line += 1;
                    }
                    value.push(d);
                    j += 1;
                }
                let end = j + open;
                current.literals.push(Literal {
                    value,
                    single_quoted: c == '\'',
                    prefix: squeeze(&current.text),
                });
                current.text.extend(&chars[i..end]);
                i = end;
                continue;
            }
            '(' | '[' => {
                parens += 1;
                current.text.push(c);
            }
            ')' | ']' => {
                parens -= 1;
                ensure!(parens >= 0, "line {line}: unbalanced `{c}`");
                current.text.push(c);
            }
            '{' => {
                let mut header = std::mem::take(&mut current);
                header.text = header.text.trim().to_owned();
                stack.push((
                    Block {
                        header,
                        children: Vec::new(),
                    },
                    parens,
                    line,
                ));
                parens = 0;
            }
            '}' => {
                ensure!(
                    parens == 0,
                    "line {line}: unbalanced parentheses before `}}`"
                );
                flush(&mut current, &mut stack);
                ensure!(stack.len() > 1, "line {line}: `}}` closes nothing");
                let Some((block, outer, _)) = stack.pop() else {
                    bail!("line {line}: `}}` closes nothing");
                };
                parens = outer;
                if let Some((top, _, _)) = stack.last_mut() {
                    top.children.push(Node::Block(block));
                }
            }
            '\n' | ';' => {
                if c == '\n' {
                    line += 1;
                }
                if parens == 0 {
                    flush(&mut current, &mut stack);
                } else {
                    current.text.push(' ');
                }
            }
            _ => current.text.push(c),
        }
        i += 1;
    }
    ensure!(parens == 0, "unbalanced parentheses at the end of the file");
    flush(&mut current, &mut stack);
    if stack.len() > 1 {
        let (block, _, opened) = &stack[stack.len() - 1];
        bail!("line {opened}: `{} {{` is never closed", block.header.text);
    }
    stack
        .pop()
        .map(|(root, _, _)| root)
        .context("nothing parsed")
}

/// A `portcullis …` line found in a script, with what the example gives it.
#[derive(Debug, Clone)]
struct ExampleCommand {
    line: String,
    /// Jenkins: the credential id bound to `PORTCULLIS_TOKEN` where the line runs.
    credential: Option<String>,
    /// Jenkins: the whole `sh` statement (`returnStatus: true`…).
    statement: String,
}

impl ExampleCommand {
    fn subcommand(&self) -> &str {
        self.line.split_whitespace().nth(1).unwrap_or_default()
    }

    /// The word after `flag` (`--junit FILE`, `> FILE`).
    fn argument(&self, flag: &str) -> Option<&str> {
        let mut words = self.line.split_whitespace();
        words.find(|w| *w == flag)?;
        words.next()
    }
}

/// The `portcullis …` lines of a shell script; each must be whole (no continuation).
fn portcullis_lines(script: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for line in script.lines().map(str::trim) {
        if line.starts_with("portcullis ") {
            ensure!(
                !line.ends_with('\\'),
                "`{line}` continues on the next line; write one command per line"
            );
            out.push(line.to_owned());
        }
    }
    Ok(out)
}

/// A Jenkinsfile's declarative structure, checked, and its `portcullis` lines in order.
struct Jenkinsfile {
    root: Block,
    commands: Vec<ExampleCommand>,
    junit: String,
}

fn read_jenkinsfile(path: &str) -> anyhow::Result<Jenkinsfile> {
    let root = parse_groovy(&read_example(path)?).with_context(|| format!("parsing {path}"))?;
    let pipeline = root.block("pipeline")?;
    ensure!(
        pipeline.statements().any(|s| s.starts_with_word("agent"))
            || pipeline
                .blocks()
                .any(|b| b.header.starts_with_word("agent")),
        "{path}: the pipeline has no agent"
    );
    let stages = pipeline.block("stages")?;
    let mut names = Vec::new();
    for stage in stages.blocks() {
        ensure!(
            stage.header.starts_with_word("stage") && stage.header.literals.len() == 1,
            "{path}: `{}` in stages is not `stage('NAME')`",
            stage.header.text
        );
        stage
            .block("steps")
            .with_context(|| format!("{path}: stage {}", stage.header.text))?;
        names.push(stage.header.literals[0].value.clone());
    }
    ensure!(names.len() >= 2, "{path}: stages {names:?}");
    let junit = pipeline
        .block("post")?
        .block("always")?
        .statements()
        .find(|s| s.starts_with_word("junit"))
        .and_then(|s| {
            s.literal_after("testResults:")
                .or(s.literals.first().map(|l| l.value.as_str()))
        })
        .with_context(|| format!("{path}: no `junit` step in post {{ always {{ … }} }}"))?
        .to_owned();
    // The credential every `sh` sees as PORTCULLIS_TOKEN unless a withCredentials rebinds it.
    let environment = pipeline.block("environment")?;
    let default_credential = environment
        .statements()
        .find(|s| s.starts_with_word("PORTCULLIS_TOKEN"))
        .and_then(|s| s.literal_after("credentials("))
        .map(str::to_owned);
    let mut nodes = Vec::new();
    root.walk(&mut Vec::new(), &mut nodes);
    let mut commands = Vec::new();
    for (above, node) in nodes {
        let Node::Statement(statement) = node else {
            continue;
        };
        for literal in &statement.literals {
            let p = &literal.prefix;
            let is_sh = ends_with_word(p, "sh")
                || ends_with_word(p, "sh(")
                || ends_with_word(p, "sh(script:");
            if !is_sh {
                continue;
            }
            ensure!(
                literal.single_quoted,
                "{path}: `{}` is Groovy-interpolated; single-quote sh scripts so that the shell expands the variables",
                statement.text
            );
            let credential = above
                .iter()
                .rev()
                .find(|h| {
                    h.starts_with_word("withCredentials")
                        && h.literal_after("variable:") == Some("PORTCULLIS_TOKEN")
                })
                .and_then(|h| h.literal_after("credentialsId:"))
                .map(str::to_owned)
                .or_else(|| default_credential.clone());
            for line in portcullis_lines(&literal.value)? {
                commands.push(ExampleCommand {
                    line,
                    credential: credential.clone(),
                    statement: statement.text.clone(),
                });
            }
        }
    }
    Ok(Jenkinsfile {
        root,
        commands,
        junit,
    })
}

/// A YAML example as JSON values.
fn read_yaml(path: &str) -> anyhow::Result<Value> {
    serde_saphyr::from_str(&read_example(path)?).with_context(|| format!("parsing {path}"))
}

/// The GitHub workflow, checked: its `portcullis` lines and the JUnit file it uploads.
fn read_github_workflow() -> anyhow::Result<(Vec<ExampleCommand>, String)> {
    let path = "github-actions/portcullis-gate.yml";
    let workflow = read_yaml(path)?;
    ensure!(
        workflow.get("on").is_some_and(|on| !on.is_null()),
        "{path}: no `on`"
    );
    let jobs = workflow["jobs"]
        .as_object()
        .filter(|j| !j.is_empty())
        .with_context(|| format!("{path}: no jobs"))?;
    let mut commands = Vec::new();
    let mut uploaded = None;
    for (name, job) in jobs {
        ensure!(
            job["runs-on"].is_string(),
            "{path}: job {name} has no runs-on"
        );
        let steps = job["steps"]
            .as_array()
            .with_context(|| format!("{path}: job {name} has no steps"))?;
        let env = |key: &str| {
            job["env"][key]
                .as_str()
                .or(workflow["env"][key].as_str())
                .map(str::to_owned)
        };
        for step in steps {
            if let Some(run) = step["run"].as_str() {
                ensure!(
                    !run.contains("${{"),
                    "{path}: a run script uses an expression; move it to an env map: {run}"
                );
                let lines = portcullis_lines(run)?;
                if !lines.is_empty() {
                    for var in ["IMAGE", "PORTCULLIS_SERVER", "PORTCULLIS_TOKEN"] {
                        ensure!(
                            step["env"][var].is_string() || env(var).is_some(),
                            "{path}: `{}` runs without {var} in its env",
                            lines[0]
                        );
                    }
                    ensure!(
                        env("PORTCULLIS_TOKEN").is_some_and(|t| t.contains("secrets.")),
                        "{path}: PORTCULLIS_TOKEN must come from a secret"
                    );
                }
                commands.extend(lines.into_iter().map(|line| ExampleCommand {
                    line,
                    credential: None,
                    statement: run.to_owned(),
                }));
            }
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
            {
                ensure!(
                    step["if"].as_str().is_some_and(|c| c.contains("always()")),
                    "{path}: upload the JUnit file also when the gate fails (`if: always()`)"
                );
                uploaded = step["with"]["path"].as_str().map(str::to_owned);
            }
        }
    }
    let junit = uploaded.with_context(|| format!("{path}: no actions/upload-artifact step"))?;
    Ok((commands, junit))
}

/// The GitLab pipeline, checked: the gate job's `portcullis` lines and its JUnit report.
fn read_gitlab_pipeline() -> anyhow::Result<(Vec<ExampleCommand>, String)> {
    let path = "gitlab/.gitlab-ci.yml";
    let pipeline = read_yaml(path)?;
    let jobs = pipeline
        .as_object()
        .with_context(|| format!("{path}: not a mapping"))?;
    let mut found = None;
    for (name, job) in jobs {
        let Some(script) = job.get("script") else {
            continue;
        };
        let script = match script {
            Value::String(s) => s.clone(),
            Value::Array(lines) => lines
                .iter()
                .map(|l| l.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .with_context(|| format!("{path}: job {name}: script lines must be strings"))?
                .join("\n"),
            other => bail!("{path}: job {name}: script is {other}"),
        };
        let lines = portcullis_lines(&script)?;
        if lines.is_empty() {
            continue;
        }
        let junit = match &job["artifacts"]["reports"]["junit"] {
            Value::String(s) => s.clone(),
            Value::Array(a) if a.len() == 1 && a[0].is_string() => {
                a[0].as_str().unwrap_or_default().to_owned()
            }
            other => bail!("{path}: job {name} has no artifacts.reports.junit: {other}"),
        };
        ensure!(
            job["artifacts"]["when"] == "always",
            "{path}: job {name}: keep the JUnit report when the gate fails (artifacts: when: always)"
        );
        ensure!(found.is_none(), "{path}: more than one job runs portcullis");
        found = Some((
            lines
                .into_iter()
                .map(|line| ExampleCommand {
                    line,
                    credential: None,
                    statement: script.clone(),
                })
                .collect(),
            junit,
        ));
    }
    found.with_context(|| format!("{path}: no job runs portcullis"))
}

#[test]
fn the_ci_examples_parse_and_have_what_their_ci_systems_need() -> anyhow::Result<()> {
    let jenkins = read_jenkinsfile("jenkins/Jenkinsfile")?;
    let gates: Vec<_> = jenkins.commands.iter().map(|c| c.line.as_str()).collect();
    ensure!(gates.len() == 1, "Jenkinsfile: {gates:?}");
    let gate = &jenkins.commands[0];
    ensure!(
        gate.subcommand() == "gate"
            && gate.argument("--push") == Some("docker-archive:image.tar")
            && gate.argument("--junit") == Some(jenkins.junit.as_str())
            && gate.credential.as_deref() == Some("portcullis-ci-token"),
        "Jenkinsfile: {gate:?}, junit {}",
        jenkins.junit
    );

    let input = read_jenkinsfile("jenkins/Jenkinsfile.input-approval")?;
    let subcommands: Vec<_> = input
        .commands
        .iter()
        .map(ExampleCommand::subcommand)
        .collect();
    ensure!(
        subcommands == ["gate", "approve", "gate"],
        "Jenkinsfile.input-approval: {:?}",
        input.commands
    );
    let (first, approve, last) = (&input.commands[0], &input.commands[1], &input.commands[2]);
    ensure!(
        first.statement.contains("returnStatus: true")
            && first.argument("--timeout") == Some("0")
            && first.argument("--format") == Some("json"),
        "the first gate must not wait and must return its status: {first:?}"
    );
    ensure!(
        approve.line.contains("--reason")
            && approve.line.contains("$REASON")
            && approve.line.contains("$APPROVER")
            && approve.credential.as_deref() == Some("portcullis-security-token"),
        "the approval runs with the security token and the input's reason: {approve:?}"
    );
    ensure!(
        last.argument("--junit") == Some(input.junit.as_str()),
        "{last:?} {}",
        input.junit
    );
    // The input step: a submitter group, the REASON parameter and the approver's name.
    let mut nodes = Vec::new();
    input.root.walk(&mut Vec::new(), &mut nodes);
    let input_block = nodes
        .iter()
        .find_map(|(_, n)| match n {
            Node::Block(b) if b.header.text == "input" => Some(b),
            _ => None,
        })
        .context("Jenkinsfile.input-approval: no `input { … }`")?;
    let directive = |word: &str| {
        input_block
            .statements()
            .find(|s| s.starts_with_word(word))
            .and_then(|s| s.literals.first())
            .map(|l| l.value.clone())
    };
    ensure!(
        directive("submitter").is_some_and(|s| !s.is_empty())
            && directive("submitterParameter").as_deref() == Some("APPROVER"),
        "input needs a submitter and submitterParameter 'APPROVER'"
    );
    let parameters = input_block.block("parameters")?;
    ensure!(
        parameters
            .statements()
            .any(|s| s.literal_after("string(name:") == Some("REASON")),
        "input needs a REASON string parameter"
    );

    let (github, github_junit) = read_github_workflow()?;
    ensure!(
        github.len() == 1
            && github[0].subcommand() == "gate"
            && github[0].argument("--junit") == Some(github_junit.as_str()),
        "github: {github:?}, uploads {github_junit}"
    );
    let (gitlab, gitlab_junit) = read_gitlab_pipeline()?;
    ensure!(
        gitlab.len() == 1
            && gitlab[0].subcommand() == "gate"
            && gitlab[0].argument("--junit") == Some(gitlab_junit.as_str()),
        "gitlab: {gitlab:?}, reports {gitlab_junit}"
    );
    Ok(())
}

#[test]
fn the_structural_reader_refuses_what_jenkins_would_refuse() {
    for (text, needle) in [
        ("pipeline {\n  stages {\n", "never closed"),
        ("pipeline { }\n}", "closes nothing"),
        ("sh 'unterminated\n", "spans lines"),
        ("sh '''never ends", "unterminated string"),
        ("x(\n}", "unbalanced"),
        ("/* open", "unterminated"),
    ] {
        let err = parse_groovy(text).map(|_| ()).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains(needle)),
            "{text:?}: {err:?}"
        );
    }
    let root = parse_groovy(
        "a {\n  // a comment with { and '\n  sh(script: 'x \"$Y\" # }', returnStatus: true)\n  withCredentials([string(\n    credentialsId: 'c', variable: 'PORTCULLIS_TOKEN')]) { sh \"y\" }\n}\n",
    )
    .expect("parses");
    let a = root.block("a").expect("a");
    let sh = a.statements().next().expect("a statement");
    assert_eq!(sh.literals[0].value, "x \"$Y\" # }");
    assert_eq!(sh.literals[0].prefix, "sh(script:");
    let with = a.blocks().next().expect("withCredentials");
    assert_eq!(with.header.literal_after("credentialsId:"), Some("c"));
    assert!(!with.statements().next().expect("sh").literals[0].single_quoted);
}

// ---------------------------------------------------------------------------------------
// Running the lines against a real server.

/// A server with team `ci`, `policy` as the organisation policy, a developer token of team
/// ci and a security token.
struct CiServer {
    server: ServerProcess,
    developer: String,
    security: String,
    dir: tempfile::TempDir,
}

fn ci_server(policy: &str) -> anyhow::Result<CiServer> {
    let dir = tempfile::tempdir()?;
    let server_dir = dir.path().join("server");
    std::fs::create_dir_all(&server_dir)?;
    let server = ServerProcess::start(&server_dir, "")?;
    server.create_team("ci")?;
    let (status, v) = server.send("PUT", "/api/v1/policies/organisation", ADMIN, policy)?;
    ensure!(status == 200, "storing the policy: {status} {v}");
    let token = |name: &str, role: &str, teams: &[&str]| -> anyhow::Result<String> {
        let body = serde_json::json!({ "name": name, "role": role, "teams": teams });
        let (status, v) = server.send("POST", "/api/v1/tokens", ADMIN, &body.to_string())?;
        ensure!(status == 201, "creating token {name}: {status} {v}");
        v["token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no secret in {v}"))
    };
    let developer = token("ci-pipeline", "developer", &["ci"])?;
    let security = token("jenkins-approvals", "security", &[])?;
    Ok(CiServer {
        server,
        developer,
        security,
        dir,
    })
}

impl CiServer {
    /// A working directory holding `image.tar`, as the examples' build steps leave it.
    fn workspace(&self, name: &str) -> anyhow::Result<PathBuf> {
        let work = self.dir.path().join(name);
        std::fs::create_dir_all(&work)?;
        let tar = test_images()?.join("bookworm-vuln.docker.tar");
        ensure!(tar.is_file(), "{} is missing", tar.display());
        let link = work.join("image.tar");
        if std::os::unix::fs::symlink(&tar, &link).is_err() {
            std::fs::copy(&tar, &link)?;
        }
        Ok(work)
    }

    fn image(&self, repository: &str, tag: &str) -> String {
        format!("{}/unscanned/ci/{repository}:{tag}", self.server.addr)
    }

    /// The token the Jenkins credential `id` stands for (docs/ci/jenkins.md).
    fn credential(&self, id: Option<&str>) -> anyhow::Result<&str> {
        match id {
            Some("portcullis-ci-token") | None => Ok(&self.developer),
            Some("portcullis-security-token") => Ok(&self.security),
            Some(other) => bail!("the examples name an undocumented credential `{other}`"),
        }
    }
}

/// Starts `sh -c LINE` in `work` with the portcullis under test first on PATH and `env`;
/// stdout and stderr go to files beside the workspace.
fn spawn_line(line: &str, work: &Path, env: &[(&str, &str)]) -> anyhow::Result<(Child, PathBuf)> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_portcullis"));
    let bin_dir = bin.parent().context("the binary has no directory")?;
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    let logs = work.with_extension(format!("log-{}", std::process::id()));
    std::fs::create_dir_all(&logs)?;
    let n = std::fs::read_dir(&logs)?.count();
    let (out, err) = (logs.join(format!("{n}.out")), logs.join(format!("{n}.err")));
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(line)
        .current_dir(work)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(File::create(&out)?)
        .stderr(File::create(&err)?);
    for var in [
        "PORTCULLIS_SERVER",
        "PORTCULLIS_TOKEN",
        "PORTCULLIS_STAGE",
        "PORTCULLIS_GATE_TIMEOUT",
        "PORTCULLIS_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting sh -c {line}"))?;
    Ok((child, logs.join(n.to_string())))
}

/// Waits for a line started by [`spawn_line`], killing it past `limit`.
fn finish(mut child: Child, logs: &Path, line: &str, limit: Duration) -> anyhow::Result<Output> {
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{line}` did not finish in {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ok(Output {
        status,
        stdout: std::fs::read(logs.with_extension("out"))?,
        stderr: std::fs::read(logs.with_extension("err"))?,
    })
}

fn run_line(line: &str, work: &Path, env: &[(&str, &str)]) -> anyhow::Result<Output> {
    let (child, logs) = spawn_line(line, work, env)?;
    finish(child, &logs, line, COMMAND_LIMIT)
}

fn describe(line: &str, out: &Output) -> String {
    format!(
        "`{line}` exited {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The JUnit file a gate wrote: XML with at least one testcase and no failure or error.
fn assert_passing_junit(file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("the gate wrote no JUnit file {}", file.display()))?;
    let doc = roxmltree::Document::parse(&text)
        .with_context(|| format!("{} is not XML:\n{text}", file.display()))?;
    let root = doc.root_element().tag_name().name();
    ensure!(
        root == "testsuites" || root == "testsuite",
        "JUnit root is <{root}>:\n{text}"
    );
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    ensure!(cases >= 1, "no testcase in the JUnit file:\n{text}");
    ensure!(
        !doc.descendants()
            .any(|n| n.has_tag_name("failure") || n.has_tag_name("error")),
        "a passing gate wrote a failing JUnit file:\n{text}"
    );
    Ok(())
}

/// The organisation policy of the pass path: no rule in prod, so the image passes.
const PASS_POLICY: &str = "apiVersion: portcullis.dev/v1
kind: Policy
metadata: { name: ci-pass }
spec:
  stages:
    - name: prod
      rules: []
";

/// The nudging policy: the test image's urllib3 asks for an approval in prod.
const NUDGE_POLICY: &str = "apiVersion: portcullis.dev/v1
kind: Policy
metadata: { name: ci-nudge }
spec:
  stages:
    - name: prod
      rules:
        - { name: urllib3-review, when: { packages: [urllib3] }, action: nudge }
";

const REASON: &str = "urllib3 only talks to the internal health endpoint";
const APPROVER: &str = "alice-from-security";

#[test]
fn every_example_pushes_and_passes_a_passing_image_and_publishes_its_junit() -> anyhow::Result<()> {
    let ci = ci_server(PASS_POLICY)?;
    let server = ci.server.url();
    let jenkins = read_jenkinsfile("jenkins/Jenkinsfile")?;
    let (github, github_junit) = read_github_workflow()?;
    let (gitlab, gitlab_junit) = read_gitlab_pipeline()?;
    for (name, commands, junit) in [
        ("jenkins", jenkins.commands, jenkins.junit),
        ("github-actions", github, github_junit),
        ("gitlab", gitlab, gitlab_junit),
    ] {
        let work = ci.workspace(name)?;
        let image = ci.image("app", name);
        for command in &commands {
            let token = ci.credential(command.credential.as_deref())?;
            let out = run_line(
                &command.line,
                &work,
                &[
                    ("IMAGE", &image),
                    ("PORTCULLIS_SERVER", &server),
                    ("PORTCULLIS_TOKEN", token),
                    ("PORTCULLIS_GATE_TIMEOUT", "60s"),
                ],
            )?;
            ensure!(
                out.status.code() == Some(0),
                "{name}: {}",
                describe(&command.line, &out)
            );
        }
        assert_passing_junit(&work.join(&junit)).with_context(|| name.to_owned())?;
        // The gate pushed the image, and the server promoted it.
        let pushed = ci.server.wait_for(
            "unscanned/ci/app",
            name,
            &["promoted"],
            Duration::from_secs(5),
        )?;
        ensure!(pushed["outcome"] == "pass", "{name}: {pushed}");
    }
    Ok(())
}

#[test]
fn the_jenkins_examples_wait_for_an_approval_or_take_it_from_the_input_step() -> anyhow::Result<()>
{
    let ci = ci_server(NUDGE_POLICY)?;
    let server = ci.server.url();

    // 1. Jenkinsfile.input-approval: the gate nudges at once (exit 3), a developer token
    //    cannot approve, the security token does, and the gate then passes naming the approval.
    let input = read_jenkinsfile("jenkins/Jenkinsfile.input-approval")?;
    let work = ci.workspace("input-approval")?;
    let image = ci.image("app", "input");
    let env = |token: &str| -> Vec<(&str, String)> {
        vec![
            ("IMAGE", image.clone()),
            ("PORTCULLIS_SERVER", server.clone()),
            ("PORTCULLIS_TOKEN", token.to_owned()),
            ("REASON", REASON.to_owned()),
            ("APPROVER", APPROVER.to_owned()),
            ("PORTCULLIS_GATE_TIMEOUT", "60s".to_owned()),
        ]
    };
    let run = |command: &ExampleCommand, token: &str| -> anyhow::Result<Output> {
        let env = env(token);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_line(&command.line, &work, &env)
    };
    let [first, approve, last] = input.commands.as_slice() else {
        bail!("expected gate, approve, gate: {:?}", input.commands);
    };
    let out = run(first, ci.credential(first.credential.as_deref())?)?;
    ensure!(
        out.status.code() == Some(3),
        "{}",
        describe(&first.line, &out)
    );
    let json_file = first
        .argument(">")
        .context("the first gate writes its JSON to a file")?;
    let json: Value = serde_json::from_slice(&std::fs::read(work.join(json_file))?)
        .with_context(|| format!("{json_file} is not JSON"))?;
    // What the input step's message points the approver at: the outcome and the report.
    ensure!(
        json["outcome"] == "nudge"
            && json["links"]["report"]
                .as_str()
                .is_some_and(|r| r.starts_with(&server)),
        "{json_file}: {json}"
    );

    let out = run(approve, &ci.developer)?;
    ensure!(
        out.status.code() == Some(2),
        "a developer token must not approve: {}",
        describe(&approve.line, &out)
    );
    let out = run(approve, ci.credential(approve.credential.as_deref())?)?;
    ensure!(
        out.status.code() == Some(0),
        "{}",
        describe(&approve.line, &out)
    );
    let approved = ci.server.wait_for(
        "unscanned/ci/app",
        "input",
        &["promoted"],
        Duration::from_secs(10),
    )?;
    let id = approved["id"].as_i64().context("no image id")?;
    let (status, v) = ci
        .server
        .get(&format!("/api/v1/images/{id}/approvals"), ADMIN)?;
    let recorded = &v["approvals"][0];
    ensure!(
        status == 200
            && recorded["approver"] == "jenkins-approvals"
            && recorded["reason"]
                .as_str()
                .is_some_and(|r| r.contains(REASON) && r.contains(APPROVER)),
        "the approval is the security token's, with the reason naming the Jenkins approver: {status} {v}"
    );

    let out = run(last, ci.credential(last.credential.as_deref())?)?;
    ensure!(
        out.status.code() == Some(0),
        "{}",
        describe(&last.line, &out)
    );
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        shown.contains(APPROVER),
        "the gate after the approval names it: {}",
        describe(&last.line, &out)
    );
    assert_passing_junit(&work.join(&input.junit))?;

    // 2. Jenkinsfile: a nudge waits until someone approves on the report page (here through
    //    the API the page posts to), then the gate exits 0.
    let jenkins = read_jenkinsfile("jenkins/Jenkinsfile")?;
    let [gate] = jenkins.commands.as_slice() else {
        bail!("expected one gate: {:?}", jenkins.commands);
    };
    let work = ci.workspace("jenkins-wait")?;
    let image = ci.image("web", "1");
    let (child, logs) = spawn_line(
        &gate.line,
        &work,
        &[
            ("IMAGE", &image),
            ("PORTCULLIS_SERVER", &server),
            (
                "PORTCULLIS_TOKEN",
                ci.credential(gate.credential.as_deref())?,
            ),
            ("PORTCULLIS_GATE_TIMEOUT", "120s"),
        ],
    )?;
    let mut child = scopeguard(child);
    let held = ci.server.wait_for(
        "unscanned/ci/web",
        "1",
        &["awaiting_approval"],
        Duration::from_secs(120),
    )?;
    // Give the gate time to see the nudge; it must still be waiting.
    std::thread::sleep(Duration::from_secs(2));
    ensure!(
        child
            .0
            .as_mut()
            .map(Child::try_wait)
            .transpose()?
            .flatten()
            .is_none(),
        "the gate did not wait for the approval"
    );
    let id = held["id"].as_i64().context("no image id")?;
    let (status, v) = ci.server.send(
        "POST",
        &format!("/api/v1/images/{id}/approvals"),
        &ci.security,
        &serde_json::json!({ "reason": REASON }).to_string(),
    )?;
    ensure!(status == 201, "approving: {status} {v}");
    let child = child.0.take().context("the gate is gone")?;
    let out = finish(child, &logs, &gate.line, Duration::from_secs(60))?;
    ensure!(
        out.status.code() == Some(0),
        "{}",
        describe(&gate.line, &out)
    );
    assert_passing_junit(&work.join(&jenkins.junit))?;
    Ok(())
}

/// Kills the child when a check fails before it was waited for.
struct Guard(Option<Child>);

fn scopeguard(child: Child) -> Guard {
    Guard(Some(child))
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
