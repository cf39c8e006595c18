//! USPS in its LIBSVM text distribution (the paper's data).

use std::fmt;
use std::path::Path;

use ndarray::Array2;

use super::{DataError, Dataset, N_CLASSES, PAPER_SIDE, read_maybe_compressed};

/// Number of pixels per USPS image (16 × 16).
pub const USPS_PIXELS: usize = PAPER_SIDE * PAPER_SIDE;

/// Values a little outside [−1, 1] (printing round-off in text files) are clamped, not rejected.
const RANGE_SLACK: f32 = 1e-4;

/// How USPS labels map to digits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UspsLabels {
    /// Labels 1..=10 meaning digits 0..=9 (digit = label − 1), as in the LIBSVM distribution.
    OneToTen,
    /// Labels 0..=9 are the digits.
    ZeroToNine,
    /// `ZeroToNine` if some label is 0, else `OneToTen` (a file with both 0 and 10 is an error).
    #[default]
    Auto,
}

impl fmt::Display for UspsLabels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UspsLabels::OneToTen => "labels 1-10",
            UspsLabels::ZeroToNine => "labels 0-9",
            UspsLabels::Auto => "labels 0-9 or 1-10",
        })
    }
}

/// Loads USPS from its LIBSVM-style text file (`usps` or `usps.t`, optionally bzip2- or
/// gzip-compressed): one example per line, `label idx:value ...` with indices 1..=256 (row-major
/// 16 × 16) and values in [−1, 1]. Missing indices are 0 (LIBSVM's sparse convention); blank lines
/// are skipped. Labels per [`UspsLabels::Auto`]; the dataset has 10 class bits and 16 × 16
/// images ([`Dataset::with_classes`] and [`Dataset::resized`] change them).
pub fn load_usps(path: impl AsRef<Path>) -> Result<Dataset, DataError> {
    load_usps_with(path, UspsLabels::Auto)
}

/// [`load_usps`] with an explicit label convention.
pub fn load_usps_with(
    path: impl AsRef<Path>,
    convention: UspsLabels,
) -> Result<Dataset, DataError> {
    let path = path.as_ref();
    let bytes = read_maybe_compressed(path)?;
    let bad = |line: usize, reason: String| DataError::BadUspsLine {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
        bad(line, "not UTF-8 text".to_string())
    })?;

    let mut pixels: Vec<f32> = Vec::new();
    // (raw label, 1-based line number) per example.
    let mut raw_labels: Vec<(u8, usize)> = Vec::new();
    let mut seen = [false; USPS_PIXELS];
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut tokens = line.split_ascii_whitespace();
        let Some(label_tok) = tokens.next() else { continue };
        let label: i64 = label_tok
            .parse()
            .map_err(|_| bad(line_no, format!("label {label_tok:?} is not an integer")))?;
        if !(0..=10).contains(&label) {
            return Err(bad(line_no, format!("label {label} outside 0-10")));
        }
        let start = pixels.len();
        pixels.resize(start + USPS_PIXELS, 0.0);
        seen.fill(false);
        for tok in tokens {
            let (idx, val) = tok
                .split_once(':')
                .ok_or_else(|| bad(line_no, format!("{tok:?} is not index:value")))?;
            let idx: usize =
                idx.parse().ok().filter(|i| (1..=USPS_PIXELS).contains(i)).ok_or_else(|| {
                    bad(line_no, format!("index {idx:?} outside 1-{USPS_PIXELS}"))
                })?;
            let val: f32 =
                val.parse().map_err(|_| bad(line_no, format!("value {val:?} is not a number")))?;
            if val.is_nan() || val.abs() > 1.0 + RANGE_SLACK {
                return Err(bad(line_no, format!("value {val} outside [-1, 1]")));
            }
            if std::mem::replace(&mut seen[idx - 1], true) {
                return Err(bad(line_no, format!("index {idx} repeated")));
            }
            pixels[start + idx - 1] = val.clamp(-1.0, 1.0);
        }
        raw_labels.push((label as u8, line_no));
    }
    if raw_labels.is_empty() {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }

    let convention = match convention {
        UspsLabels::Auto if raw_labels.iter().any(|&(l, _)| l == 0) => UspsLabels::ZeroToNine,
        UspsLabels::Auto => UspsLabels::OneToTen,
        c => c,
    };
    let labels = raw_labels
        .iter()
        .map(|&(l, line)| match convention {
            UspsLabels::OneToTen if l >= 1 => Ok(l - 1),
            UspsLabels::ZeroToNine if l <= 9 => Ok(l),
            _ => Err(bad(line, format!("label {l} does not fit {convention}"))),
        })
        .collect::<Result<Vec<u8>, _>>()?;
    let n = labels.len();
    let pixels = Array2::from_shape_vec((n, USPS_PIXELS), pixels).expect("n rows of 256");
    Ok(Dataset { pixels, labels, height: PAPER_SIDE, width: PAPER_SIDE, classes: N_CLASSES })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_util::{assert_error_naming, assert_names, bzip, scratch, usps_line};
    use approx::assert_abs_diff_eq;
    use std::fs;

    #[test]
    fn usps_libsvm_files_load_plain_and_bz2() {
        let dir = scratch("usps-ok");
        let a: Vec<f32> = (0..256).map(|i| i as f32 / 127.5 - 1.0).collect();
        let b: Vec<f32> = vec![1.0; 256];
        // Labels 1..10 (digit = label − 1); the second line is sparse (missing indices are 0).
        let mut text = usps_line(1, &a) + &usps_line(10, &b) + "\n";
        text.push_str("7 1:-1 256:0.5\n");
        let plain = dir.join("usps");
        fs::write(&plain, &text).unwrap();
        let bz = dir.join("usps.bz2");
        fs::write(&bz, bzip(text.as_bytes())).unwrap();
        for p in [&plain, &bz] {
            let ds = load_usps(p).unwrap();
            assert_eq!(ds.len(), 3);
            assert_eq!((ds.height(), ds.width(), ds.n_visible()), (16, 16, 266));
            assert_eq!(ds.labels(), &[0, 9, 6]);
            assert_abs_diff_eq!(ds.pixels()[[0, 200]], a[200]);
            assert_eq!(ds.pixels()[[1, 17]], 1.0);
            assert_eq!(ds.pixels()[[2, 0]], -1.0);
            assert_eq!(ds.pixels()[[2, 1]], 0.0);
            assert_eq!(ds.pixels()[[2, 255]], 0.5);
        }
        // Labels 0..9 are detected, or can be forced.
        let zero = dir.join("usps0");
        fs::write(&zero, usps_line(0, &a) + &usps_line(9, &b)).unwrap();
        assert_eq!(load_usps(&zero).unwrap().labels(), &[0, 9]);
        let one = dir.join("usps1");
        fs::write(&one, usps_line(3, &a)).unwrap();
        assert_eq!(load_usps(&one).unwrap().labels(), &[2]);
        assert_eq!(load_usps_with(&one, UspsLabels::ZeroToNine).unwrap().labels(), &[3]);
    }

    #[test]
    fn usps_bad_lines_are_errors_naming_file_and_line() {
        let dir = scratch("usps-bad");
        let good = "3 1:0.5 2:-0.5\n";
        let cases: &[(&str, &str)] = &[
            ("x 1:0.5\n", "not an integer"),
            ("11 1:0.5\n", "outside 0-10"),
            ("3 0:0.5\n", "index \"0\""),
            ("3 257:0.5\n", "index \"257\""),
            ("3 1:1.5\n", "outside [-1, 1]"),
            ("3 1:nan\n", "outside [-1, 1]"),
            ("3 1:abc\n", "not a number"),
            ("3 1-0.5\n", "not index:value"),
            ("3 1:0.5 1:0.2\n", "repeated"),
            ("0 1:0.5\n10 1:0.5\n", "does not fit"),
        ];
        let p = dir.join("usps.t");
        for (bad, why) in cases {
            fs::write(&p, format!("{good}{bad}")).unwrap();
            let err = load_usps(&p).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, DataError::BadUspsLine { line: 2.., .. }), "{bad:?}: {err:?}");
            assert!(msg.contains(why), "{bad:?}: {msg:?} lacks {why:?}");
            assert_names(&err, &p);
        }
        fs::write(&p, "\n\n").unwrap();
        assert_error_naming!(load_usps(&p), &p, DataError::Empty { .. });
        fs::write(&p, b"3 1:0.5\n\xff\xfe\n").unwrap();
        let err = load_usps(&p).unwrap_err();
        assert!(matches!(err, DataError::BadUspsLine { line: 2, .. }), "{err:?}");
        // Forcing a convention that does not fit.
        fs::write(&p, "0 1:0.5\n").unwrap();
        let err = load_usps_with(&p, UspsLabels::OneToTen).unwrap_err();
        assert!(matches!(err, DataError::BadUspsLine { line: 1, .. }), "{err:?}");
    }
}
