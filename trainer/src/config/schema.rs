//! How a setting is declared: once, with its type, documentation, flag and allowed range
//! ([`section!`]). Everything else — presets, the TOML file, command-line flags, API requests,
//! validation messages — reads these declarations.

use std::fmt;
use std::path::PathBuf;

use super::ConfigError;

/// What kind of value a setting holds, as a flag or a layer value must spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A whole number ≥ 0.
    Count,
    /// A real number.
    Real,
    /// Free text (a path).
    Text,
    /// One of these names.
    Choice(&'static [&'static str]),
}

/// One setting: where it lives and how it is spelt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldSpec {
    /// Its section (`schedule`).
    pub section: &'static str,
    /// Its key in the section (`lr_start`).
    pub key: &'static str,
    /// The dotted name every error and layer uses (`schedule.lr_start`).
    pub path: &'static str,
    /// The command-line flag, without dashes (`lr-start`); the dotted name is an alias.
    pub flag: &'static str,
    /// Its documentation (the field's doc comment).
    pub doc: &'static str,
    pub kind: Kind,
    /// Its allowed values.
    pub check: Check,
}

impl FieldSpec {
    /// The first line of the documentation, for `--help`.
    pub fn summary(&self) -> &'static str {
        self.doc.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("")
    }
}

/// The allowed values of a setting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Check {
    /// Any value of the type.
    Free,
    /// A whole number in `[min, max]` (`max = u64::MAX` reads as unbounded).
    Count { min: u64, max: u64 },
    /// A finite real number between `min` and `max`, each end open or closed.
    Real { min: f64, min_open: bool, max: f64, max_open: bool },
}

/// `[min, ∞)` for whole numbers.
pub const fn at_least(min: u64) -> Check {
    Check::Count { min, max: u64::MAX }
}

/// `[min, max]` for whole numbers.
pub const fn count(min: u64, max: u64) -> Check {
    Check::Count { min, max }
}

/// `[min, max]` for reals.
pub const fn closed(min: f64, max: f64) -> Check {
    Check::Real { min, min_open: false, max, max_open: false }
}

/// `[0, 1]`: a fraction.
pub const fn fraction() -> Check {
    closed(0.0, 1.0)
}

/// `(min, max]` for reals.
pub const fn open_closed(min: f64, max: f64) -> Check {
    Check::Real { min, min_open: true, max, max_open: false }
}

/// `[min, ∞)` for reals.
pub const fn non_negative() -> Check {
    Check::Real { min: 0.0, min_open: false, max: f64::INFINITY, max_open: true }
}

/// `(−∞, 0)` for reals.
pub const fn negative() -> Check {
    Check::Real { min: f64::NEG_INFINITY, min_open: true, max: 0.0, max_open: true }
}

/// Seeds are stored in TOML, whose integers are signed 64-bit.
pub const SEED: Check = count(0, i64::MAX as u64);

fn end(v: f64) -> String {
    if v == f64::INFINITY {
        "∞".into()
    } else if v == f64::NEG_INFINITY {
        "−∞".into()
    } else {
        v.to_string()
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Check::Free => write!(f, "any value"),
            Check::Count { min, max: u64::MAX } => write!(f, "[{min}, ∞)"),
            Check::Count { min, max } => write!(f, "[{min}, {max}]"),
            Check::Real { min, min_open, max, max_open } => write!(
                f,
                "{}{}, {}{}",
                if min_open { '(' } else { '[' },
                end(min),
                end(max),
                if max_open { ')' } else { ']' }
            ),
        }
    }
}

impl Check {
    fn admits_count(&self, v: u64) -> bool {
        match *self {
            Check::Count { min, max } => (min..=max).contains(&v),
            Check::Real { .. } => self.admits_real(v as f64),
            Check::Free => true,
        }
    }

    fn admits_real(&self, v: f64) -> bool {
        match *self {
            Check::Real { min, min_open, max, max_open } => {
                v.is_finite()
                    && if min_open { v > min } else { v >= min }
                    && if max_open { v < max } else { v <= max }
            }
            Check::Count { .. } => false,
            Check::Free => true,
        }
    }

    fn outside(&self, path: &str, shown: impl fmt::Display) -> ConfigError {
        ConfigError::field(path, format!("{shown} is outside {self}"))
    }
}

/// A type a setting can have.
pub trait Setting {
    const KIND: Kind;
    /// Checks the value against `check`; the error names `path` and the range.
    fn check(&self, path: &str, check: &Check) -> Result<(), ConfigError>;
}

macro_rules! count_setting {
    ($($t:ty),*) => {$(
        impl Setting for $t {
            const KIND: Kind = Kind::Count;
            fn check(&self, path: &str, check: &Check) -> Result<(), ConfigError> {
                let v = *self as u64;
                if check.admits_count(v) { Ok(()) } else { Err(check.outside(path, v)) }
            }
        }
    )*};
}
count_setting!(u32, u64, usize);

macro_rules! real_setting {
    ($($t:ty),*) => {$(
        impl Setting for $t {
            const KIND: Kind = Kind::Real;
            fn check(&self, path: &str, check: &Check) -> Result<(), ConfigError> {
                let v = f64::from(*self);
                if check.admits_real(v) { Ok(()) } else { Err(check.outside(path, self)) }
            }
        }
    )*};
}
real_setting!(f32, f64);

impl Setting for Option<u64> {
    const KIND: Kind = Kind::Count;
    fn check(&self, path: &str, check: &Check) -> Result<(), ConfigError> {
        self.as_ref().map_or(Ok(()), |v| v.check(path, check))
    }
}

impl Setting for PathBuf {
    const KIND: Kind = Kind::Text;
    fn check(&self, path: &str, _check: &Check) -> Result<(), ConfigError> {
        if self.as_os_str().is_empty() {
            return Err(ConfigError::field(path, "must not be empty"));
        }
        Ok(())
    }
}

/// A section's declaration: its names, documentation and settings.
#[derive(Clone, Copy, Debug)]
pub struct SectionSpec {
    pub name: &'static str,
    pub key: &'static str,
    pub doc: &'static str,
    pub fields: &'static [FieldSpec],
}

impl SectionSpec {
    pub const fn of<S: Section>() -> Self {
        SectionSpec { name: S::NAME, key: S::KEY, doc: S::DOC, fields: S::FIELDS }
    }
}

/// A group of settings, as declared by [`section!`].
pub trait Section {
    /// The section's type name (`ScheduleConfig`), also its message name in the proto.
    const NAME: &'static str;
    /// Its key in config.toml (`schedule`).
    const KEY: &'static str;
    /// Its documentation.
    const DOC: &'static str;
    /// Its settings, in declaration order.
    const FIELDS: &'static [FieldSpec];
    /// Checks every setting against its declared range.
    fn check(&self) -> Result<(), ConfigError>;
}

/// Declares a section of the config: a serde struct whose every field carries its doc, its
/// flag and its check, plus the [`Section`] impl that lists and checks them. A field may carry
/// `#[serde(...)]` after its doc, e.g. a default for files written before it existed.
macro_rules! section {
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident in $key:literal {
            $(
                $(#[doc = $doc:literal])*
                $(#[serde($($serde:tt)*)])*
                pub $field:ident: $ty:ty, flag $flag:literal, check $check:expr;
            )*
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                $(#[serde($($serde)*)])*
                pub $field: $ty,
            )*
        }

        impl $crate::config::schema::Section for $name {
            const NAME: &'static str = stringify!($name);
            const KEY: &'static str = $key;
            const DOC: &'static str = concat!($($sdoc, "\n",)*);
            const FIELDS: &'static [$crate::config::schema::FieldSpec] = &[$(
                $crate::config::schema::FieldSpec {
                    section: $key,
                    key: stringify!($field),
                    path: concat!($key, ".", stringify!($field)),
                    flag: $flag,
                    doc: concat!($($doc, "\n",)*),
                    kind: <$ty as $crate::config::schema::Setting>::KIND,
                    check: $check,
                },
            )*];
            fn check(&self) -> Result<(), $crate::config::ConfigError> {
                let mut specs = Self::FIELDS.iter();
                $(
                    let spec = specs.next().expect("one spec per field");
                    $crate::config::schema::Setting::check(&self.$field, spec.path, &spec.check)?;
                )*
                Ok(())
            }
        }
    };
}
pub(crate) use section;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_print_as_intervals() {
        assert_eq!(open_closed(0.0, 10.0).to_string(), "(0, 10]");
        assert_eq!(at_least(1).to_string(), "[1, ∞)");
        assert_eq!(negative().to_string(), "(−∞, 0)");
        assert_eq!(count(1, 100_000).to_string(), "[1, 100000]");
    }

    #[test]
    fn real_checks_refuse_non_finite_values_and_respect_open_ends() {
        let e = (-1.0f32).check("schedule.lr_start", &open_closed(0.0, 10.0)).unwrap_err();
        assert_eq!(e.to_string(), "schedule.lr_start: -1 is outside (0, 10]");
        assert!(0.0f64.check("x", &open_closed(0.0, 1.0)).is_err());
        assert!(10.0f64.check("x", &open_closed(0.0, 10.0)).is_ok());
        assert!(f64::NAN.check("x", &non_negative()).is_err());
        assert!(f64::INFINITY.check("x", &non_negative()).is_err());
    }

    #[test]
    fn seeds_must_fit_a_signed_64_bit_integer() {
        assert!((i64::MAX as u64).check("run.seed", &SEED).is_ok());
        let e = (1u64 << 63).check("run.seed", &SEED).unwrap_err();
        assert!(e.to_string().starts_with("run.seed: 9223372036854775808 is outside [0, "), "{e}");
    }
}
