//! A small reader of GGUF headers: what a model file is, without llama.cpp.
//!
//! `leash model info` and `leash doctor` use it on every platform (also on
//! Termux, where the embedded backend is not built), and the `llama` backend
//! uses it to turn "not a GGUF" into a clear error before llama.cpp sees the
//! file. Only the header, the metadata and the tensor descriptions are read;
//! tensor data is never touched.
//!
//! The file is untrusted input: every length is checked against the file size
//! before anything is allocated, strings that leash keeps are capped, and a
//! malformed file is an error naming the path and the byte offset.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// `GGUF` as a little-endian u32.
const MAGIC: [u8; 4] = *b"GGUF";
/// Strings longer than this are skipped rather than kept (chat templates are a
/// few KiB; a 64 MiB "name" is an attack, not a model).
const MAX_KEPT_STRING: u64 = 1 << 20;
/// GGML tensors have at most 4 dimensions.
const MAX_TENSOR_DIMS: u32 = 4;

/// What `leash model info` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GgufInfo {
    /// The model file read.
    pub path: PathBuf,
    /// Its size in bytes (what must fit in memory, roughly).
    pub file_size: u64,
    /// GGUF format version (2 or 3).
    pub version: u32,
    /// `general.architecture`, e.g. `llama`, `qwen2`.
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    /// `general.parameter_count`, else the sum of the tensor shapes.
    pub parameter_count: u64,
    /// Whether `parameter_count` was stated by the file or summed by leash.
    pub parameter_count_source: ParameterCountSource,
    /// The quantization, from `general.file_type` (e.g. `Q4_1`), else the
    /// tensor type holding most weights.
    pub quantization: String,
    /// `{architecture}.context_length`: the training context.
    pub context_length: Option<u64>,
    /// `tokenizer.chat_template` (Jinja), when present and at most 1 MiB.
    pub chat_template: Option<String>,
    /// How many tensors (weight arrays) the file holds.
    pub tensor_count: u64,
    /// How many metadata key/value pairs the header holds.
    pub metadata_count: u64,
}

/// Where [`GgufInfo::parameter_count`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterCountSource {
    /// The file says so (`general.parameter_count`).
    Metadata,
    /// Summed from the tensor shapes.
    TensorShapes,
}

/// Why a file could not be read as a GGUF model.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The file could not be opened or read (missing, unreadable, cut short).
    #[error("{path}: {error}")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The OS's error.
        error: std::io::Error,
    },
    /// The file does not start with the GGUF magic (a wrong file, a partial download page).
    #[error("{path}: not a GGUF model file (starts with {found:?}, expected \"GGUF\")")]
    NotGguf {
        /// The file being read.
        path: PathBuf,
        /// Its first bytes, shown.
        found: String,
    },
    /// A GGUF version this reader does not know the layout of.
    #[error("{path}: GGUF version {version} is not supported (only 2 and 3)")]
    UnsupportedVersion {
        /// The file being read.
        path: PathBuf,
        /// The version the header states.
        version: u32,
    },
    /// The header breaks the format or a sanity limit (a hostile or damaged file).
    #[error("{path}: malformed GGUF at byte {offset}: {detail}")]
    Malformed {
        /// The file being read.
        path: PathBuf,
        /// Where in the file the problem was found.
        offset: u64,
        /// What was wrong there.
        detail: String,
    },
}

/// Reads the header, metadata and tensor descriptions of the GGUF at `path`.
pub fn read_gguf_info(path: &Path) -> Result<GgufInfo, GgufError> {
    let io = |error| GgufError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(io)?;
    let file_size = file.metadata().map_err(io)?.len();
    let mut reader = HeaderReader {
        inner: BufReader::new(file),
        path,
        offset: 0,
        file_size,
    };
    let magic = reader.bytes::<4>()?;
    if magic != MAGIC {
        return Err(GgufError::NotGguf {
            path: path.to_path_buf(),
            found: String::from_utf8_lossy(&magic).into_owned(),
        });
    }
    let version = reader.u32()?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
        });
    }
    let tensor_count = reader.u64()?;
    let metadata_count = reader.u64()?;

    let mut metadata = Metadata::default();
    for _ in 0..metadata_count {
        let key = reader.string(MAX_KEPT_STRING)?;
        let value_type = reader.u32()?;
        metadata.read_value(&mut reader, key.as_deref(), value_type)?;
    }

    let mut tensor_parameters: u64 = 0;
    // (ggml type, elements) summed per type, to name the quantization when
    // `general.file_type` is missing.
    let mut elements_by_type: Vec<(u32, u64)> = Vec::new();
    for _ in 0..tensor_count {
        reader.string(0)?;
        let dims = reader.u32()?;
        if dims > MAX_TENSOR_DIMS {
            return Err(reader.malformed(format!("tensor with {dims} dimensions")));
        }
        let mut elements: u64 = 1;
        for _ in 0..dims {
            elements = elements.saturating_mul(reader.u64()?);
        }
        let tensor_type = reader.u32()?;
        reader.u64()?; // data offset
        tensor_parameters = tensor_parameters.saturating_add(elements);
        match elements_by_type.iter_mut().find(|(t, _)| *t == tensor_type) {
            Some((_, total)) => *total = total.saturating_add(elements),
            None => elements_by_type.push((tensor_type, elements)),
        }
    }

    let (parameter_count, parameter_count_source) = match metadata.parameter_count {
        Some(count) => (count, ParameterCountSource::Metadata),
        None => (tensor_parameters, ParameterCountSource::TensorShapes),
    };
    let quantization = match metadata.file_type {
        Some(file_type) => file_type_name(file_type),
        None => elements_by_type
            .iter()
            .max_by_key(|(_, elements)| *elements)
            .map_or_else(|| "unknown".to_string(), |(t, _)| tensor_type_name(*t)),
    };
    let context_length = metadata.architecture.as_ref().and_then(|arch| {
        metadata
            .context_lengths
            .iter()
            .find(|(key_arch, _)| key_arch == arch)
            .map(|(_, length)| *length)
    });
    Ok(GgufInfo {
        path: path.to_path_buf(),
        file_size,
        version,
        architecture: metadata.architecture,
        name: metadata.name,
        parameter_count,
        parameter_count_source,
        quantization,
        context_length,
        chat_template: metadata.chat_template,
        tensor_count,
        metadata_count,
    })
}

/// The metadata leash cares about; everything else is skipped.
#[derive(Debug, Default)]
struct Metadata {
    architecture: Option<String>,
    name: Option<String>,
    parameter_count: Option<u64>,
    file_type: Option<u64>,
    /// `(arch, n)` for every `{arch}.context_length`: the architecture key may
    /// come after it.
    context_lengths: Vec<(String, u64)>,
    chat_template: Option<String>,
}

/// A scalar metadata value, widened.
enum Scalar {
    Unsigned(u64),
    Signed(i64),
    Other,
}

impl Metadata {
    fn read_value(
        &mut self,
        reader: &mut HeaderReader<'_>,
        key: Option<&str>,
        value_type: u32,
    ) -> Result<(), GgufError> {
        const STRING: u32 = 8;
        const ARRAY: u32 = 9;
        match value_type {
            STRING => {
                let value = reader.string(MAX_KEPT_STRING)?;
                match key {
                    Some("general.architecture") => self.architecture = value,
                    Some("general.name") => self.name = value,
                    Some("tokenizer.chat_template") => self.chat_template = value,
                    Some(_) | None => {}
                }
            }
            ARRAY => {
                let item_type = reader.u32()?;
                let count = reader.u64()?;
                if item_type == ARRAY {
                    return Err(reader.malformed("nested metadata arrays".to_string()));
                }
                match (item_type, scalar_size(item_type)) {
                    (STRING, _) => {
                        for _ in 0..count {
                            reader.string(0)?;
                        }
                    }
                    (_, Some(size)) => reader.skip(count.saturating_mul(size))?,
                    (_, None) => {
                        return Err(reader.malformed(format!("unknown array type {item_type}")));
                    }
                }
            }
            scalar => {
                let value = reader.scalar(scalar)?;
                let unsigned = match value {
                    Scalar::Unsigned(v) => Some(v),
                    Scalar::Signed(v) => u64::try_from(v).ok(),
                    Scalar::Other => None,
                };
                match (key, unsigned) {
                    (Some("general.parameter_count"), Some(v)) => self.parameter_count = Some(v),
                    (Some("general.file_type"), Some(v)) => self.file_type = Some(v),
                    (Some(key), Some(v)) => {
                        if let Some(arch) = key.strip_suffix(".context_length") {
                            self.context_lengths.push((arch.to_string(), v));
                        }
                    }
                    (Some(_) | None, _) => {}
                }
            }
        }
        Ok(())
    }
}

/// Size in bytes of a scalar GGUF value type; `None` for strings, arrays and
/// unknown types.
fn scalar_size(value_type: u32) -> Option<u64> {
    match value_type {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// Sequential little-endian reads that know where they are and how much file
/// is left.
struct HeaderReader<'a> {
    inner: BufReader<File>,
    path: &'a Path,
    offset: u64,
    file_size: u64,
}

impl HeaderReader<'_> {
    fn malformed(&self, detail: String) -> GgufError {
        GgufError::Malformed {
            path: self.path.to_path_buf(),
            offset: self.offset,
            detail,
        }
    }

    /// Fails unless `len` more bytes exist, so no length from the file is
    /// trusted before it is checked.
    fn ensure_available(&self, len: u64) -> Result<(), GgufError> {
        let left = self.file_size.saturating_sub(self.offset);
        if len > left {
            return Err(self.malformed(format!(
                "needs {len} bytes but only {left} are left (truncated or corrupt)"
            )));
        }
        Ok(())
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        self.ensure_available(N as u64)?;
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|error| GgufError::Io {
                path: self.path.to_path_buf(),
                error,
            })?;
        self.offset += N as u64;
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.bytes::<4>()?))
    }

    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.bytes::<8>()?))
    }

    fn skip(&mut self, len: u64) -> Result<(), GgufError> {
        self.ensure_available(len)?;
        let delta = i64::try_from(len).map_err(|_| self.malformed(format!("length {len}")))?;
        self.inner
            .seek_relative(delta)
            .map_err(|error| GgufError::Io {
                path: self.path.to_path_buf(),
                error,
            })?;
        self.offset += len;
        Ok(())
    }

    /// Reads a length-prefixed string: kept (lossily decoded) when at most
    /// `keep_up_to` bytes, skipped otherwise.
    fn string(&mut self, keep_up_to: u64) -> Result<Option<String>, GgufError> {
        let len = self.u64()?;
        if len > keep_up_to {
            self.skip(len)?;
            return Ok(None);
        }
        self.ensure_available(len)?;
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
        self.inner
            .read_exact(&mut buf)
            .map_err(|error| GgufError::Io {
                path: self.path.to_path_buf(),
                error,
            })?;
        self.offset += len;
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }

    fn scalar(&mut self, value_type: u32) -> Result<Scalar, GgufError> {
        Ok(match value_type {
            0 => Scalar::Unsigned(u64::from(self.bytes::<1>()?[0])),
            1 => Scalar::Signed(i64::from(i8::from_le_bytes(self.bytes::<1>()?))),
            2 => Scalar::Unsigned(u64::from(u16::from_le_bytes(self.bytes::<2>()?))),
            3 => Scalar::Signed(i64::from(i16::from_le_bytes(self.bytes::<2>()?))),
            4 => Scalar::Unsigned(u64::from(self.u32()?)),
            5 => Scalar::Signed(i64::from(i32::from_le_bytes(self.bytes::<4>()?))),
            10 => Scalar::Unsigned(self.u64()?),
            11 => Scalar::Signed(i64::from_le_bytes(self.bytes::<8>()?)),
            6 | 7 | 12 => {
                let size = scalar_size(value_type).unwrap_or(0);
                self.skip(size)?;
                Scalar::Other
            }
            other => return Err(self.malformed(format!("unknown metadata value type {other}"))),
        })
    }
}

/// llama.cpp's `llama_ftype` names (`general.file_type`).
fn file_type_name(file_type: u64) -> String {
    let name = match file_type {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        39 => "NVFP4",
        40 => "Q1_0",
        41 => "Q2_0",
        other => return format!("unknown file type {other}"),
    };
    name.to_string()
}

/// ggml's tensor type names.
fn tensor_type_name(tensor_type: u32) -> String {
    let name = match tensor_type {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        6 => "Q5_0",
        7 => "Q5_1",
        8 => "Q8_0",
        9 => "Q8_1",
        10 => "Q2_K",
        11 => "Q3_K",
        12 => "Q4_K",
        13 => "Q5_K",
        14 => "Q6_K",
        15 => "Q8_K",
        16 => "IQ2_XXS",
        17 => "IQ2_XS",
        18 => "IQ3_XXS",
        19 => "IQ1_S",
        20 => "IQ4_NL",
        21 => "IQ3_S",
        22 => "IQ2_S",
        23 => "IQ4_XS",
        24 => "I8",
        25 => "I16",
        26 => "I32",
        27 => "I64",
        28 => "F64",
        29 => "IQ1_M",
        30 => "BF16",
        34 => "TQ1_0",
        35 => "TQ2_0",
        39 => "MXFP4",
        40 => "NVFP4",
        41 => "Q1_0",
        42 => "Q2_0",
        other => return format!("unknown tensor type {other}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Builds GGUF bytes the way llama.cpp's writer lays them out.
    #[derive(Default)]
    struct GgufBuilder {
        metadata: Vec<u8>,
        metadata_count: u64,
        tensors: Vec<u8>,
        tensor_count: u64,
    }

    impl GgufBuilder {
        fn string(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        fn meta_string(mut self, key: &str, value: &str) -> Self {
            Self::string(&mut self.metadata, key);
            self.metadata.extend_from_slice(&8u32.to_le_bytes());
            Self::string(&mut self.metadata, value);
            self.metadata_count += 1;
            self
        }
        fn meta_u32(mut self, key: &str, value: u32) -> Self {
            Self::string(&mut self.metadata, key);
            self.metadata.extend_from_slice(&4u32.to_le_bytes());
            self.metadata.extend_from_slice(&value.to_le_bytes());
            self.metadata_count += 1;
            self
        }
        fn meta_string_array(mut self, key: &str, values: &[&str]) -> Self {
            Self::string(&mut self.metadata, key);
            self.metadata.extend_from_slice(&9u32.to_le_bytes());
            self.metadata.extend_from_slice(&8u32.to_le_bytes());
            self.metadata
                .extend_from_slice(&(values.len() as u64).to_le_bytes());
            for v in values {
                Self::string(&mut self.metadata, v);
            }
            self.metadata_count += 1;
            self
        }
        fn tensor(mut self, name: &str, dims: &[u64], tensor_type: u32) -> Self {
            Self::string(&mut self.tensors, name);
            self.tensors
                .extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                self.tensors.extend_from_slice(&d.to_le_bytes());
            }
            self.tensors.extend_from_slice(&tensor_type.to_le_bytes());
            self.tensors.extend_from_slice(&0u64.to_le_bytes());
            self.tensor_count += 1;
            self
        }
        fn build(self, version: u32) -> Vec<u8> {
            let mut out = b"GGUF".to_vec();
            out.extend_from_slice(&version.to_le_bytes());
            out.extend_from_slice(&self.tensor_count.to_le_bytes());
            out.extend_from_slice(&self.metadata_count.to_le_bytes());
            out.extend_from_slice(&self.metadata);
            out.extend_from_slice(&self.tensors);
            out
        }
    }

    fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        file.flush().unwrap();
        file
    }

    fn small_model() -> GgufBuilder {
        GgufBuilder::default()
            // The context length comes before the architecture on purpose.
            .meta_u32("llama.context_length", 8192)
            .meta_string("general.architecture", "llama")
            .meta_string("general.name", "Tiny")
            .meta_u32("general.file_type", 3)
            .meta_string_array("tokenizer.ggml.tokens", &["a", "b", "<|im_end|>"])
            .meta_string("tokenizer.chat_template", "{{ messages }}")
            .tensor("token_embd.weight", &[64, 100], 3)
            .tensor("output_norm.weight", &[64], 0)
    }

    #[test]
    fn reads_the_metadata_leash_reports() {
        let file = write_temp(&small_model().build(3));
        let info = read_gguf_info(file.path()).unwrap();
        assert_eq!(info.architecture.as_deref(), Some("llama"));
        assert_eq!(info.name.as_deref(), Some("Tiny"));
        assert_eq!(info.context_length, Some(8192));
        assert_eq!(info.quantization, "Q4_1");
        assert_eq!(info.chat_template.as_deref(), Some("{{ messages }}"));
        assert_eq!(info.parameter_count, 64 * 100 + 64);
        assert_eq!(
            info.parameter_count_source,
            ParameterCountSource::TensorShapes
        );
        assert_eq!(info.tensor_count, 2);
        assert_eq!(info.metadata_count, 6);
        assert_eq!(info.version, 3);
    }

    #[test]
    fn parameter_count_from_metadata_wins_over_tensor_shapes() {
        let bytes = small_model()
            .meta_u32("general.parameter_count", 135_000_000)
            .build(3);
        let info = read_gguf_info(write_temp(&bytes).path()).unwrap();
        assert_eq!(info.parameter_count, 135_000_000);
        assert_eq!(info.parameter_count_source, ParameterCountSource::Metadata);
    }

    #[test]
    fn quantization_falls_back_to_the_dominant_tensor_type() {
        let bytes = GgufBuilder::default()
            .meta_string("general.architecture", "qwen2")
            .tensor("a", &[1000, 10], 12)
            .tensor("b", &[10], 0)
            .build(3);
        let info = read_gguf_info(write_temp(&bytes).path()).unwrap();
        assert_eq!(info.quantization, "Q4_K");
        assert_eq!(info.context_length, None);
    }

    #[test]
    fn not_gguf_names_the_path() {
        let file = write_temp(b"#!/bin/sh\necho not a model\n");
        let err = read_gguf_info(file.path()).unwrap_err();
        assert!(matches!(err, GgufError::NotGguf { .. }), "{err}");
        assert!(
            err.to_string().contains(&file.path().display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn empty_file_is_malformed_not_a_panic() {
        let err = read_gguf_info(write_temp(b"").path()).unwrap_err();
        assert!(
            matches!(err, GgufError::Malformed { offset: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn version_1_is_unsupported() {
        let err = read_gguf_info(write_temp(&small_model().build(1)).path()).unwrap_err();
        assert!(
            matches!(err, GgufError::UnsupportedVersion { version: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let err = read_gguf_info(Path::new("/nonexistent/model.gguf")).unwrap_err();
        assert!(matches!(err, GgufError::Io { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/model.gguf"), "{err}");
    }

    #[test]
    fn truncated_file_is_malformed() {
        let bytes = small_model().build(3);
        for cut in [10, 30, bytes.len() / 2, bytes.len() - 1] {
            let err = read_gguf_info(write_temp(&bytes[..cut]).path()).unwrap_err();
            assert!(
                matches!(err, GgufError::Malformed { .. }),
                "cut {cut}: {err}"
            );
        }
    }

    #[test]
    fn hostile_lengths_fail_without_allocating() {
        // A string length of 2^62 right after the header.
        let mut bytes = b"GGUF".to_vec();
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(&0u64.to_le_bytes());
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.extend_from_slice(&(1u64 << 62).to_le_bytes());
        let err = read_gguf_info(write_temp(&bytes).path()).unwrap_err();
        assert!(
            matches!(err, GgufError::Malformed { offset: 32, .. }),
            "{err}"
        );
    }

    #[test]
    fn oversized_chat_template_is_dropped_not_kept() {
        let template = "x".repeat(usize::try_from(MAX_KEPT_STRING).unwrap() + 1);
        let bytes = small_model()
            .meta_string("tokenizer.chat_template", &template)
            .build(3);
        let info = read_gguf_info(write_temp(&bytes).path()).unwrap();
        assert_eq!(info.chat_template, None);
    }
}
