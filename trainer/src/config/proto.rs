//! The config's messages in `qahm.trainer.v1` (`proto/qahm/trainer/v1/config.proto`), rendered
//! from the settings' declarations: the API's typed config names exactly what config.toml
//! names, and nobody keeps a second list. A test regenerates the file and fails if the
//! committed one differs (commit the regenerated file), and refuses a change that would give
//! an existing setting another field number (append new settings at the end of a section).

use std::fmt::Write;

use super::{Check, FieldSpec, Kind, SECTIONS};

/// Where the rendered file lives, relative to the workspace root.
pub const PATH: &str = "proto/qahm/trainer/v1/config.proto";

/// Lines of `text` as `// ` comments at `indent`, wrapped before 96 columns.
fn comment(out: &mut String, indent: &str, text: &str) {
    let width = 96 - indent.len() - 3;
    for paragraph in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                writeln!(out, "{indent}// {line}").expect("strings take writes");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        writeln!(out, "{indent}// {line}").expect("strings take writes");
    }
}

fn proto_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Count => "uint64",
        Kind::Real => "double",
        Kind::Text | Kind::Choice(_) => "string",
    }
}

/// What a field's comment says beyond its documentation: the allowed values.
fn allowed(spec: &FieldSpec) -> Option<String> {
    match (spec.kind, spec.check) {
        (Kind::Choice(names), _) => Some(format!("One of: {}.", names.join(", "))),
        (_, Check::Free) => None,
        (_, range) => Some(format!("Allowed: {range}.")),
    }
}

/// The text of `config.proto`.
pub fn render() -> String {
    let mut out = String::new();
    out.push_str(
        "// GENERATED from the settings' declarations in trainer/src/config/mod.rs by the test\n\
         // `config::proto::tests::the_committed_config_proto_is_generated_from_the_declarations`.\n\
         // Edit the declarations, run `cargo test -p trainer config::proto`, commit this file.\n\
         syntax = \"proto3\";\n\npackage qahm.trainer.v1;\n\n",
    );
    comment(
        &mut out,
        "",
        "Every setting of a run, by section, named as config.toml names it. An unset field keeps \
         the value of the preset (or of the layers before this one).",
    );
    out.push_str("message RunConfig {\n");
    for (i, section) in SECTIONS.iter().enumerate() {
        comment(&mut out, "  ", section.doc);
        writeln!(out, "  {} {} = {};", section.name, section.key, i + 1).expect("writes");
    }
    out.push_str("}\n");
    for section in &SECTIONS {
        out.push('\n');
        comment(&mut out, "", section.doc);
        writeln!(out, "message {} {{", section.name).expect("writes");
        for (i, spec) in section.fields.iter().enumerate() {
            let doc = match allowed(spec) {
                Some(extra) => format!("{}\n{extra}", spec.doc),
                None => spec.doc.to_string(),
            };
            comment(&mut out, "  ", &doc);
            writeln!(out, "  optional {} {} = {};", proto_type(spec.kind), spec.key, i + 1)
                .expect("writes");
        }
        out.push_str("}\n");
    }
    out
}

/// `(message, field) → number` of every `optional` field of a rendered file.
pub fn field_numbers(text: &str) -> Vec<(String, String, u32)> {
    let mut message = String::new();
    let mut numbers = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("message ") {
            message = name.trim_end_matches(" {").to_string();
        } else if let Some(field) = line.strip_prefix("optional ") {
            let parts: Vec<&str> = field.trim_end_matches(';').split_whitespace().collect();
            if let [_, name, "=", number] = parts.as_slice()
                && let Ok(n) = number.parse()
            {
                numbers.push((message.clone(), name.to_string(), n));
            }
        }
    }
    numbers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_config_proto_is_generated_from_the_declarations() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(PATH);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let rendered = render();
        // A setting keeps its field number for good: old clients' requests must still mean
        // what they meant.
        let new_numbers = field_numbers(&rendered);
        for (message, name, number) in field_numbers(&committed) {
            if let Some((_, _, now)) =
                new_numbers.iter().find(|(m, n, _)| *m == message && *n == name)
            {
                assert_eq!(
                    *now, number,
                    "{message}.{name} would move from field {number} to {now}: \
                     append new settings at the end of their section"
                );
            }
        }
        if committed != rendered {
            std::fs::write(&path, &rendered).unwrap();
            panic!("{} was stale and has been regenerated: commit it", path.display());
        }
    }

    #[test]
    fn every_setting_has_a_numbered_optional_field_of_its_kind() {
        let numbers = field_numbers(&render());
        assert_eq!(numbers.len(), super::super::fields().count());
        let text = render();
        assert!(text.contains("  optional double lr_start = 4;\n"), "{text}");
        assert!(text.contains("// One of: quantum, factorized, boltzmann."), "{text}");
        assert!(text.contains("  ScheduleConfig schedule = 3;\n"), "{text}");
    }
}
