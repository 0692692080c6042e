//! The official Scaleway Python SDK, unchanged and pinned, against the emulator served by
//! `scaleway-serverless-operator emulator`.
//!
//! The test creates (or reuses) a virtualenv at `<target>/python-sdk-venv`, installs
//! `scaleway==2.12.0` there only when that exact version is missing, starts the emulator with
//! 200 ms life cycles, waits for its `scaleway emulator listening on URL` line, and runs
//! `tests/python/test_sdk_emulator.py` against it. It needs `python3` with the `venv` module,
//! and PyPI on the first run.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The SDK version the script was written against.
const SDK_VERSION: &str = "2.12.0";
const OPERATOR: &str = env!("CARGO_BIN_EXE_scaleway-serverless-operator");
const READY_LINE_PREFIX: &str = "scaleway emulator listening on ";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

#[test]
fn python_sdk_drives_the_emulator() {
    let python = ensure_venv();
    let emulator = EmulatorProcess::start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/test_sdk_emulator.py");
    let mut command = Command::new(&python);
    command.arg(&script).arg("--api-url").arg(&emulator.url);
    let run = run(command, SCRIPT_TIMEOUT);
    println!("{}{}", run.stdout, run.stderr);
    assert!(
        run.status.is_some_and(|status| status.success()),
        "the Python SDK scenario failed ({:?}):\n{}\n{}",
        run.status,
        run.stdout,
        run.stderr
    );
    let last_line = run.stdout.lines().last().unwrap_or_default();
    assert!(
        last_line.ends_with("passed, 0 failed") && !last_line.starts_with("0 passed"),
        "unexpected summary line {last_line:?}"
    );
}

/// The venv's python, with the pinned SDK installed.
fn ensure_venv() -> PathBuf {
    let target = Path::new(OPERATOR)
        .parent()
        .and_then(Path::parent)
        .expect("the operator binary lives in <target>/<profile>/");
    let venv = target.join("python-sdk-venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        let mut create = Command::new("python3");
        create.args(["-m", "venv"]).arg(&venv);
        expect_success(run(create, INSTALL_TIMEOUT), "python3 -m venv");
    }
    let mut probe = Command::new(&python);
    probe.args([
        "-c",
        &format!(
            "import importlib.metadata as m, scaleway, sys; sys.exit(m.version('scaleway') != '{SDK_VERSION}')"
        ),
    ]);
    if !run(probe, STARTUP_TIMEOUT)
        .status
        .is_some_and(|status| status.success())
    {
        let mut install = Command::new(&python);
        install
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(format!("scaleway=={SDK_VERSION}"));
        expect_success(run(install, INSTALL_TIMEOUT), "pip install scaleway");
    }
    python
}

/// `scaleway-serverless-operator emulator` on a loopback port, killed on drop.
struct EmulatorProcess {
    child: Child,
    url: String,
}

impl EmulatorProcess {
    fn start() -> Self {
        let mut child = Command::new(OPERATOR)
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .args(["--transition-delay-ms", "200", "--delete-delay-ms", "200"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the operator binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (lines, ready) = mpsc::channel();
        // Reads the ready line, then keeps draining stdout so the emulator never blocks on it.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut process = Self {
            child,
            url: String::new(),
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = ready
                .recv_timeout(left)
                .unwrap_or_else(|error| panic!("the emulator printed no ready line ({error})"));
            if let Some(url) = line.trim().strip_prefix(READY_LINE_PREFIX) {
                process.url = url.to_owned();
                break;
            }
        }
        assert!(
            process.url.starts_with("http://127.0.0.1:"),
            "unexpected URL {:?}",
            process.url
        );
        process
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished (or killed) command left behind.
struct Run {
    /// `None` when it was killed at the timeout.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

/// Runs `command` with captured output, killing it after `timeout`.
fn run(mut command: Command, timeout: Duration) -> Run {
    let description = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {description}: {error}"));
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(error) => panic!("cannot wait for {description}: {error}"),
        }
    };
    Run {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn collect(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

fn expect_success(run: Run, what: &str) {
    assert!(
        run.status.is_some_and(|status| status.success()),
        "{what} failed ({:?}):\n{}\n{}",
        run.status,
        run.stdout,
        run.stderr
    );
}
