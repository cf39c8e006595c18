//! Writing files so that a crash never leaves half of one: every file a run writes goes
//! through [`write_atomic`]. Also the `.npy` format of `trainer generate`.

use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::Array2;

/// Why a file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    pub fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
        move |source| FileError { path: path.to_path_buf(), source }
    }
}

/// Writes `bytes` to `path` atomically and durably: a temporary file beside it, fsync, rename
/// over `path`, fsync of the directory. A reader sees the old file or the new one, never a
/// mix, whatever happens (crash, SIGKILL, power loss after the call returns).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(FileError::at(&dir))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(FileError { path: tmp, source });
    }
    std::fs::rename(&tmp, path).map_err(FileError::at(path))?;
    sync_dir(&dir).map_err(FileError::at(&dir))
}

/// Makes `to` (replaced if present) a hard link to `from`, or a copy where links cannot be
/// made (another file system), atomically either way.
pub fn link_or_copy(from: &Path, to: &Path) -> Result<(), FileError> {
    let dir = to.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(FileError::at(dir))?;
    let tmp = dir.join(format!(".link-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(from, &tmp).is_err() {
        let bytes = std::fs::read(from).map_err(FileError::at(from))?;
        return write_atomic(to, &bytes);
    }
    std::fs::rename(&tmp, to).map_err(FileError::at(to))?;
    sync_dir(dir).map_err(FileError::at(dir))
}

/// Makes a rename in `dir` durable (a no-op where directories cannot be opened as files).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn npy_header(descr: &str, shape: &str) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header, padded with spaces and '\n' to 64 bytes.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

/// A numpy `.npy` file (format 1.0) of a little-endian f32 matrix.
pub fn npy_f32(a: &Array2<f32>) -> Vec<u8> {
    let mut bytes = npy_header("<f4", &format!("({}, {})", a.nrows(), a.ncols()));
    for v in a.iter() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

/// A numpy `.npy` file of a u8 vector.
pub fn npy_u8(v: &[u8]) -> Vec<u8> {
    let mut bytes = npy_header("|u1", &format!("({},)", v.len()));
    bytes.extend_from_slice(v);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("qahm-files-{}", std::process::id()));
        let path = dir.join("a.json");
        write_atomic(&path, b"first, longer contents").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_atomic_write_names_the_file_and_keeps_the_old_one() {
        let dir = std::env::temp_dir().join(format!("qahm-files-ro-{}", std::process::id()));
        let path = dir.join("keep.txt");
        write_atomic(&path, b"old").unwrap();
        // A directory where the file should go: the rename fails.
        let blocked = dir.join("sub");
        std::fs::create_dir_all(blocked.join("x")).unwrap();
        let err = write_atomic(&blocked, b"new").unwrap_err();
        assert!(err.to_string().contains("sub"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn npy_headers_are_padded_to_64_bytes() {
        let bytes = npy_f32(&Array2::zeros((3, 2)));
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(bytes.len(), 10 + header_len + 3 * 2 * 4);
        assert!(String::from_utf8_lossy(&bytes[10..10 + header_len]).contains("(3, 2)"));
    }
}
