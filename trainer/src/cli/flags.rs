//! One command-line flag per setting, made from the settings' declarations
//! ([`crate::config::fields`]): the flag, its help and its accepted values come from there,
//! and the dotted name (`--schedule.lr_start`) works as an alias. Values reach the config as
//! one layer, checked like any other.

use clap::builder::{PossibleValuesParser, ValueParser};
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

use crate::config::layers::Layer;
use crate::config::{self, Check, ConfigError, FieldSpec, Kind};

/// The settings given on the command line, as typed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigFlags {
    values: Vec<(&'static FieldSpec, String)>,
}

impl ConfigFlags {
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The first flag given, as typed (for messages).
    pub fn first_flag(&self) -> Option<String> {
        self.values.first().map(|(spec, _)| format!("--{}", spec.flag))
    }

    /// The flags as a config layer.
    pub fn layer(&self) -> Result<Layer, ConfigError> {
        let mut layer = Layer::new("command line");
        for (spec, text) in &self.values {
            layer.set_text(spec, text)?;
        }
        Ok(layer)
    }
}

fn arg(spec: &'static FieldSpec) -> Arg {
    let (value_name, parser): (&str, ValueParser) = match spec.kind {
        Kind::Count => ("N", ValueParser::string()),
        Kind::Real => ("X", ValueParser::string()),
        Kind::Text => ("PATH", ValueParser::string()),
        Kind::Choice(names) => ("NAME", PossibleValuesParser::new(names).into()),
    };
    Arg::new(spec.path)
        .long(spec.flag)
        .visible_alias(spec.path)
        .value_name(value_name)
        .value_parser(parser)
        .allow_negative_numbers(spec.kind == Kind::Real)
        .help(match spec.check {
            Check::Free => spec.summary().to_string(),
            range => format!("{} Allowed: {range}.", spec.summary()),
        })
        .help_heading("Settings (flag, or its key in config.toml)")
}

impl Args for ConfigFlags {
    fn augment_args(cmd: Command) -> Command {
        config::fields().fold(cmd, |cmd, spec| cmd.arg(arg(spec)))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for ConfigFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let values = config::fields()
            .filter_map(|spec| matches.get_one::<String>(spec.path).map(|v| (spec, v.clone())))
            .collect();
        Ok(ConfigFlags { values })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}
