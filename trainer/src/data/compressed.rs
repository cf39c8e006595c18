//! Reading files that may be stored compressed.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::DataError;

/// Reads a whole file, transparently decompressing gzip (`1f 8b`) and bzip2 (`BZh`) by their
/// magic bytes; anything else is returned as stored.
pub fn read_maybe_compressed(path: impl AsRef<Path>) -> Result<Vec<u8>, DataError> {
    let path = path.as_ref();
    let io_err = |error| DataError::Io { path: path.to_path_buf(), error };
    let raw = fs::read(path).map_err(io_err)?;
    let mut out = Vec::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut out).map_err(io_err)?;
        Ok(out)
    } else if raw.starts_with(b"BZh") {
        bzip2::read::MultiBzDecoder::new(raw.as_slice()).read_to_end(&mut out).map_err(io_err)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}
