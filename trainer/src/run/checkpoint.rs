//! `checkpoint.json`: everything needed to continue a run bit for bit.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RunError;
use super::files::write_atomic;
use super::update::TrainingState;
use crate::config::{RunConfig, legacy};

/// The format written today. Version 1 (a flat config holding the annealer's address) still
/// reads.
pub const VERSION: u32 = 2;

/// A run's config and training state, and where it last sampled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    pub config: RunConfig,
    #[serde(flatten)]
    pub state: TrainingState,
    /// The remote annealer the run last used (`None`: the in-process emulator). Not part of the
    /// run's identity: `--resume DIR --annealer URL` moves it elsewhere.
    #[serde(default)]
    pub annealer: Option<String>,
}

impl Checkpoint {
    /// Writes `path` atomically: the previous checkpoint survives any crash.
    pub fn save(&self, path: &Path) -> Result<(), RunError> {
        let bytes = serde_json::to_vec(self).map_err(|e| RunError::Checkpoint {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(write_atomic(path, &bytes)?)
    }

    /// Reads `path` (either version).
    pub fn load(path: &Path) -> Result<Self, RunError> {
        let bad = |message: String| RunError::Checkpoint { path: path.to_path_buf(), message };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let mut value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("not a qahm checkpoint: {e}")))?;
        let version = value.get("version").and_then(|v| v.as_u64());
        match version {
            Some(1) => {
                let (config, annealer) = legacy::from_flat(&value["config"])?;
                value["config"] = serde_json::to_value(&config).expect("configs serialise");
                value["annealer"] = annealer.into();
                value["version"] = VERSION.into();
            }
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => {
                return Err(bad(format!(
                    "checkpoint version {v} is newer than this trainer reads ({VERSION})"
                )));
            }
            None => return Err(bad("not a qahm checkpoint: no version".into())),
        }
        let checkpoint: Checkpoint = serde_json::from_value(value)
            .map_err(|e| bad(format!("not a qahm checkpoint: {e}")))?;
        checkpoint.config.validate()?;
        Ok(checkpoint)
    }
}
