//! `metrics.jsonl`: one JSON object per update, each update exactly once — also across
//! crashes. Lines are flushed as they are written; a checkpoint first makes them durable, and
//! a resumed run first drops every line after its checkpoint (the updates it will redo) and a
//! torn last line.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::files::{FileError, write_atomic};
use super::update::UpdateMetrics;

/// The metrics file of a run, open for appending.
pub struct MetricsLog {
    path: PathBuf,
    out: BufWriter<File>,
}

/// The update number of a metrics line, if it is a whole, well-formed line.
fn update_of(line: &str) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.get("iteration")?.as_u64()
}

impl MetricsLog {
    /// Opens `path` for a run whose checkpoint holds `completed` updates: keeps the lines of
    /// updates 1..=`completed` (in order, each once), drops the rest, then appends.
    pub fn open(path: &Path, completed: u64) -> Result<Self, FileError> {
        let existing = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(FileError { path: path.to_path_buf(), source: e }),
        };
        let mut kept = String::new();
        let mut next = 1;
        for line in existing.as_deref().unwrap_or_default().lines() {
            if next > completed {
                break;
            }
            if update_of(line) == Some(next) {
                kept.push_str(line);
                kept.push('\n');
                next += 1;
            }
        }
        if existing.as_deref() != Some(kept.as_str()) {
            write_atomic(path, kept.as_bytes())?;
        }
        let file =
            OpenOptions::new().create(true).append(true).open(path).map_err(FileError::at(path))?;
        Ok(MetricsLog { path: path.to_path_buf(), out: BufWriter::new(file) })
    }

    /// Appends one update's line and flushes it to the file.
    pub fn write(&mut self, metrics: &UpdateMetrics) -> Result<(), FileError> {
        let line = serde_json::to_string(metrics)
            .map_err(|e| FileError { path: self.path.clone(), source: std::io::Error::other(e) })?;
        writeln!(self.out, "{line}").map_err(FileError::at(&self.path))?;
        self.out.flush().map_err(FileError::at(&self.path))
    }

    /// Makes every line written so far durable (before a checkpoint claims those updates).
    pub fn sync(&mut self) -> Result<(), FileError> {
        self.out.flush().map_err(FileError::at(&self.path))?;
        self.out.get_ref().sync_data().map_err(FileError::at(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(iteration: u64) -> String {
        serde_json::to_string(&UpdateMetrics { iteration, ..UpdateMetrics::default() }).unwrap()
    }

    fn updates(path: &Path) -> Vec<u64> {
        std::fs::read_to_string(path).unwrap().lines().map(|l| update_of(l).unwrap()).collect()
    }

    #[test]
    fn reopening_keeps_each_checkpointed_update_once_and_drops_the_rest() {
        let dir = std::env::temp_dir().join(format!("qahm-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("metrics.jsonl");
        // Updates 1–5 from a first session; a crash after update 7 with the checkpoint at 5,
        // the line of update 8 torn in half.
        let mut text: String = (1..=7).map(|i| line(i) + "\n").collect();
        text.push_str(&line(8)[..20]);
        std::fs::write(&path, &text).unwrap();
        let mut log = MetricsLog::open(&path, 5).unwrap();
        assert_eq!(updates(&path), vec![1, 2, 3, 4, 5]);
        for i in 6..=9 {
            log.write(&UpdateMetrics { iteration: i, ..UpdateMetrics::default() }).unwrap();
        }
        log.sync().unwrap();
        assert_eq!(updates(&path), (1..=9).collect::<Vec<_>>());
        // A fresh run (nothing completed) starts an empty file.
        MetricsLog::open(&path, 0).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
