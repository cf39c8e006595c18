//! Test helpers shared by the data rooms.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::DataError;

/// A fresh scratch directory in the system temp dir, unique per test and process.
pub(super) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qahm-data-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// An IDX file's bytes: magic, dimensions, data.
pub(super) fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// One USPS line in LIBSVM format: `label 1:v1 2:v2 ...`.
pub(super) fn usps_line(label: u32, values: &[f32]) -> String {
    let mut s = label.to_string();
    for (i, v) in values.iter().enumerate() {
        s.push_str(&format!(" {}:{}", i + 1, v));
    }
    s.push('\n');
    s
}

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

pub(super) fn bzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

pub(super) fn assert_names(err: &DataError, path: &Path) {
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg:?} does not name {path:?}");
}

/// Asserts that `$result` is an error matching `$pattern` whose message names `$path`, and
/// evaluates to the error.
macro_rules! assert_error_naming {
    ($result:expr, $path:expr, $pattern:pat) => {{
        let err = $result.unwrap_err();
        assert!(matches!(err, $pattern), "{err:?}");
        $crate::data::test_util::assert_names(&err, $path);
        err
    }};
}
pub(super) use assert_error_naming;
