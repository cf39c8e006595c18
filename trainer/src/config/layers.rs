//! A config built in one pass from layers: a preset, then each layer's values over it, in
//! order (the `--config` file, command-line flags, an API request). A layer names settings by
//! section and key, exactly as `config.toml` does; every value is checked against the
//! setting's declared kind as it is applied, so an error names the layer and the dotted field.

use std::path::Path;

use serde_json::{Map, Value};

use super::{ConfigError, FieldSpec, Kind, Preset, RunConfig, field};

/// Settings that say the same thing in two units: a layer that sets one clears the other.
const ALTERNATIVES: &[(&str, &str)] = &[("schedule.iterations", "schedule.epochs")];

/// Some settings, from one source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layer {
    /// Where the values come from, for messages (`runs/a.toml`, `command line`).
    pub origin: String,
    /// The preset the layer asks for, if it names one (a copied `config.toml` does).
    pub preset: Option<Preset>,
    /// `{section: {key: value}}`.
    values: Map<String, Value>,
}

impl Layer {
    /// An empty layer.
    pub fn new(origin: impl Into<String>) -> Self {
        Layer { origin: origin.into(), ..Layer::default() }
    }

    fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::Layer { origin: self.origin.clone(), message: message.into() }
    }

    /// A layer from a JSON object `{"preset"?: name, section: {key: value}}`; nulls are unset.
    pub fn from_json(origin: impl Into<String>, value: Value) -> Result<Self, ConfigError> {
        let mut layer = Layer::new(origin);
        let Value::Object(top) = value else {
            return Err(layer.error("expected a table of sections"));
        };
        for (name, section) in top {
            if name == "preset" {
                let Some(preset) = section.as_str().and_then(Preset::from_name) else {
                    return Err(ConfigError::field(
                        "preset",
                        format!(
                            "{section} is not one of {} ({})",
                            Preset::NAMES.join(", "),
                            layer.origin
                        ),
                    ));
                };
                layer.preset = Some(preset);
                continue;
            }
            let entries = match section {
                Value::Object(entries) => entries,
                // An unset section of an API request.
                Value::Null if sections().contains(&name.as_str()) => continue,
                _ => return Err(layer.unknown_or_flat(&name)),
            };
            if !sections().contains(&name.as_str()) {
                return Err(layer.unknown_or_flat(&name));
            }
            for (key, value) in entries {
                let path = format!("{name}.{key}");
                let spec = field(&path).ok_or_else(|| layer.unknown(&path))?;
                layer.set(spec, value)?;
            }
        }
        Ok(layer)
    }

    /// The layer as a JSON object, the shape [`Layer::from_json`] reads (an API request's
    /// `config`).
    pub fn to_json(&self) -> Value {
        let mut top = self.values.clone();
        if let Some(preset) = self.preset {
            top.insert("preset".into(), Value::from(preset.name()));
        }
        Value::Object(top)
    }

    /// A layer from TOML text.
    pub fn from_toml(origin: impl Into<String>, text: &str) -> Result<Self, ConfigError> {
        let origin = origin.into();
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Layer {
            origin: origin.clone(),
            message: format!("not valid TOML: {}", e.message()),
        })?;
        let value = json_of(toml::Value::Table(table), "", &origin)?;
        Self::from_json(origin, value)
    }

    /// A layer from a TOML file (`--config`).
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Layer { origin: origin.clone(), message: e.to_string() })?;
        Self::from_toml(origin, &text)
    }

    /// Sets one setting from text as typed on a command line, checked against its kind.
    pub fn set_text(&mut self, spec: &FieldSpec, text: &str) -> Result<(), ConfigError> {
        let value = match spec.kind {
            Kind::Count => text.parse::<u64>().ok().map(Value::from),
            Kind::Real => match text.parse::<f64>() {
                Ok(v) if !v.is_finite() => return Err(not_finite(spec.path, v, &self.origin)),
                Ok(v) => Some(Value::from(v)),
                Err(_) => None,
            },
            Kind::Text | Kind::Choice(_) => Some(Value::from(text)),
        };
        let value = value.ok_or_else(|| kind_error(spec, &Value::from(text), &self.origin))?;
        self.set(spec, value)
    }

    /// Sets one setting, checked against its kind (a null leaves it unset).
    pub fn set(&mut self, spec: &FieldSpec, value: Value) -> Result<(), ConfigError> {
        if value.is_null() {
            return Ok(());
        }
        if !kind_admits(spec.kind, &value) {
            return Err(kind_error(spec, &value, &self.origin));
        }
        let section = self.values.entry(spec.section).or_insert_with(|| Value::Object(Map::new()));
        section.as_object_mut().expect("sections are tables").insert(spec.key.into(), value);
        Ok(())
    }

    fn get(&self, path: &str) -> Option<&Value> {
        let (section, key) = path.split_once('.')?;
        self.values.get(section)?.get(key)
    }

    fn unknown(&self, path: &str) -> ConfigError {
        ConfigError::field(path, format!("unknown setting ({})", self.origin))
    }

    fn unknown_or_flat(&self, name: &str) -> ConfigError {
        let sections = sections();
        match super::legacy::path_of(name) {
            Some(path) => ConfigError::field(
                name,
                format!("settings live in sections now: write it as {path} ({})", self.origin),
            ),
            None if sections.contains(&name) => self.error(format!("{name} must be a table")),
            None => ConfigError::field(
                name,
                format!("unknown section ({}); sections are {}", self.origin, sections.join(", ")),
            ),
        }
    }
}

/// The sections' names, in declaration order.
fn sections() -> Vec<&'static str> {
    super::SECTIONS.iter().map(|s| s.key).collect()
}

fn not_finite(path: &str, value: f64, origin: &str) -> ConfigError {
    ConfigError::field(path, format!("{value} is not a finite number ({origin})"))
}

/// TOML as JSON, refusing what JSON cannot hold (a NaN or infinite number would turn into a
/// null, and a null leaves a setting unset) rather than dropping it.
fn json_of(value: toml::Value, path: &str, origin: &str) -> Result<Value, ConfigError> {
    Ok(match value {
        toml::Value::Float(f) if !f.is_finite() => return Err(not_finite(path, f, origin)),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::String(s) => Value::from(s),
        toml::Value::Boolean(b) => Value::from(b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(items) => Value::Array(
            items.into_iter().map(|v| json_of(v, path, origin)).collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| {
                    let inner = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    json_of(v, &inner, origin).map(|v| (k, v))
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn kind_admits(kind: Kind, value: &Value) -> bool {
    match kind {
        Kind::Count => value.as_u64().is_some(),
        Kind::Real => value.is_number(),
        Kind::Text => value.is_string(),
        Kind::Choice(names) => value.as_str().is_some_and(|s| names.contains(&s)),
    }
}

fn kind_error(spec: &FieldSpec, value: &Value, origin: &str) -> ConfigError {
    let expected = match spec.kind {
        Kind::Count => "a whole number ≥ 0".to_string(),
        Kind::Real => "a number".to_string(),
        Kind::Text => "text".to_string(),
        Kind::Choice(names) => format!("one of {}", names.join(", ")),
    };
    ConfigError::field(spec.path, format!("{value} is not {expected} ({origin})"))
}

/// The config of `explicit` (or else the first preset a layer names, or else the default
/// preset) with every layer applied over it in order, validated.
pub fn build(explicit: Option<Preset>, layers: &[Layer]) -> Result<RunConfig, ConfigError> {
    let preset =
        explicit.or_else(|| layers.iter().find_map(|l| l.preset)).unwrap_or(Preset::Default);
    let mut tree = serde_json::to_value(RunConfig::preset(preset)).expect("configs serialise");
    for layer in layers {
        for &(a, b) in ALTERNATIVES {
            if layer.get(a).is_some() && layer.get(b).is_some() {
                return Err(ConfigError::field(
                    b,
                    format!("give {a} or {b}, not both ({})", layer.origin),
                ));
            }
        }
        for (section, entries) in &layer.values {
            for (key, value) in entries.as_object().expect("sections are tables") {
                let path = format!("{section}.{key}");
                for &(a, b) in ALTERNATIVES {
                    let other = if path == a {
                        Some(b)
                    } else if path == b {
                        Some(a)
                    } else {
                        None
                    };
                    if let Some((s, k)) = other.and_then(|o| o.split_once('.')) {
                        tree[s][k] = Value::Null;
                    }
                }
                tree[section.as_str()][key.as_str()] = value.clone();
            }
        }
    }
    let config: RunConfig = serde_json::from_value(tree)
        .map_err(|e| ConfigError::Layer { origin: "config".into(), message: e.to_string() })?;
    config.validate()?;
    Ok(config)
}

/// A config from a file as the run directory keeps it (`config.toml`): every setting present.
pub fn read_run_config(path: &Path) -> Result<RunConfig, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Layer { origin: origin.clone(), message: e.to_string() })?;
    let config: RunConfig = toml::from_str(&text)
        .map_err(|e| ConfigError::Layer { origin, message: e.message().to_string() })?;
    config.validate()?;
    Ok(config)
}
