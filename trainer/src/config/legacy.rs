//! Runs written before the config had sections: their checkpoints (version 1) hold one flat
//! table of settings, and the annealer's address with them. They still resume.

use serde_json::Value;

use super::layers::{Layer, build};
use super::{ConfigError, Preset, RunConfig, field};

/// Where each flat setting of a version-1 config lives now.
const FLAT: &[(&str, &str)] = &[
    ("data_dir", "data.dir"),
    ("train_size", "data.train_size"),
    ("test_size", "data.test_size"),
    ("hidden1", "model.hidden1"),
    ("hidden2", "model.hidden2"),
    ("init_std", "model.init_std"),
    ("batch_size", "schedule.batch_size"),
    ("iterations", "schedule.iterations"),
    ("lr_start", "schedule.lr_start"),
    ("lr_end", "schedule.lr_end"),
    ("lr_hold_fraction", "schedule.lr_hold_fraction"),
    ("prior", "prior.kind"),
    ("prior_lr_scale", "prior.lr_scale"),
    ("prior_warmup_epochs", "prior.warmup_epochs"),
    ("gibbs_sweeps", "prior.gibbs_sweeps"),
    ("num_reads", "annealing.num_reads"),
    ("annealing_time", "annealing.annealing_time"),
    ("reads_per_call", "annealing.reads_per_call"),
    ("chain_strength", "annealing.chain_strength"),
    ("device_seed", "annealing.device_seed"),
    ("seed", "run.seed"),
    ("checkpoint_every", "run.checkpoint_every"),
    ("eval_every", "evaluation.every"),
    ("eval_size", "evaluation.size"),
];

/// Values version-1 configs took when a setting was missing (they were added later).
const FLAT_DEFAULTS: &[(&str, f64)] =
    &[("prior_warmup_epochs", 0.0), ("gibbs_sweeps", 10.0), ("reads_per_call", 0.0)];

/// The dotted name of a version-1 flat setting.
pub fn path_of(flat: &str) -> Option<&'static str> {
    FLAT.iter().find(|(old, _)| *old == flat).map(|&(_, new)| new)
}

/// A version-1 flat config (as JSON) as a config, and the annealer address it recorded.
pub fn from_flat(flat: &Value) -> Result<(RunConfig, Option<String>), ConfigError> {
    let origin = "version-1 checkpoint";
    let Value::Object(entries) = flat else {
        return Err(ConfigError::Layer {
            origin: origin.into(),
            message: "no config table".into(),
        });
    };
    let mut layer = Layer::new(origin);
    for &(key, value) in FLAT_DEFAULTS {
        if !entries.contains_key(key) {
            let spec = field(path_of(key).expect("defaults name flat keys")).expect("declared");
            layer.set_text(spec, &value.to_string())?;
        }
    }
    let mut annealer = None;
    for (key, value) in entries {
        match key.as_str() {
            "preset" => layer.preset = value.as_str().and_then(Preset::from_name),
            "annealer" => annealer = value.as_str().map(str::to_string),
            _ => {
                let path = path_of(key).ok_or_else(|| {
                    ConfigError::field(key.as_str(), "unknown setting (version-1 checkpoint)")
                })?;
                layer.set(
                    field(path).expect("the flat table names declared settings"),
                    value.clone(),
                )?;
            }
        }
    }
    let mut config = build(None, &[layer])?;
    // Version 1 always asked for the solver's default thermalizations, whatever the preset.
    config.annealing.programming_thermalization = None;
    config.annealing.readout_thermalization = None;
    Ok((config, annealer))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings added after version 1 (a version-1 run has them at their old behaviour).
    const NEWER: &[&str] = &[
        "schedule.epochs",
        "annealing.solver",
        "annealing.programming_thermalization",
        "annealing.readout_thermalization",
        "data.side",
        "data.classes",
        "evaluation.full_every",
        "schedule.optimizer",
        "schedule.wake_samples",
        "schedule.wake_recognition",
    ];

    #[test]
    fn every_flat_setting_maps_to_a_declared_one_and_back() {
        for (old, new) in FLAT {
            assert!(field(new).is_some(), "{old} → {new} is not declared");
        }
        // Every setting but the newer ones existed in version 1.
        for spec in super::super::fields() {
            let known = FLAT.iter().any(|(_, new)| *new == spec.path);
            assert!(known || NEWER.contains(&spec.path), "{} has no version-1 name", spec.path);
        }
    }

    #[test]
    fn a_version_1_config_reads_as_the_same_settings() {
        // The default preset as version 1 wrote it (checkpoint JSON, f32 values as serde_json
        // prints them), with the annealer's address.
        let flat = serde_json::json!({
            "preset": "default", "data_dir": "data/mnist-10k", "train_size": 8000,
            "test_size": 2000, "hidden1": 120, "hidden2": 60, "init_std": 0.01,
            "batch_size": 100, "iterations": 4000, "lr_start": 0.05, "lr_end": 0.005,
            "lr_hold_fraction": 0.5, "prior_lr_scale": 0.5, "prior_warmup_epochs": 5.0,
            "prior": "quantum", "num_reads": 100, "annealing_time": 1000.0,
            "chain_strength": -1.0, "gibbs_sweeps": 10, "reads_per_call": 0,
            "annealer": "http://127.0.0.1:50051", "device_seed": 7, "seed": 1,
            "checkpoint_every": 500, "eval_every": 80, "eval_size": 2000
        });
        let (config, annealer) = from_flat(&flat).unwrap();
        // The default preset then annealed for 1000 µs.
        let mut expected = RunConfig::preset(Preset::Default);
        expected.annealing.annealing_time = 1000.0;
        (expected.data.train_size, expected.data.test_size) = (8000, 2000);
        assert_eq!(config, expected);
        assert_eq!(annealer.as_deref(), Some("http://127.0.0.1:50051"));
    }

    #[test]
    fn settings_missing_from_early_version_1_configs_take_their_old_defaults() {
        // Every setting 1, except those that cannot be.
        let mut entries: serde_json::Map<String, Value> =
            FLAT.iter().map(|(k, _)| (k.to_string(), Value::from(1))).collect();
        for (key, value) in [
            ("data_dir", serde_json::json!("d")),
            ("prior", "factorized".into()),
            ("chain_strength", (-1.0).into()),
            ("lr_hold_fraction", 0.5.into()),
        ] {
            entries.insert(key.into(), value);
        }
        for key in ["prior_warmup_epochs", "gibbs_sweeps", "reads_per_call"] {
            entries.remove(key);
        }
        let (config, annealer) = from_flat(&Value::Object(entries)).unwrap();
        assert_eq!((config.prior.warmup_epochs, config.prior.gibbs_sweeps), (0.0, 10));
        assert_eq!(config.annealing.reads_per_call, 0);
        assert_eq!(annealer, None);
    }
}
