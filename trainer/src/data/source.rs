//! What a data path names, and loading it.
//!
//! One path names a data set ([`locate`]):
//! - a directory holding an MNIST-format IDX distribution — `train-images-idx3-ubyte` and
//!   `train-labels-idx1-ubyte` (also spelt `train-images.idx3-ubyte`), each plain, `.gz` or
//!   `.bz2`, with the test pair `t10k-…` beside them if present;
//! - a directory holding USPS in LIBSVM format: `usps`, with `usps.t` as its test set if present,
//!   each plain or `.bz2` (or `.gz`);
//! - a directory holding the shipped MNIST-10k pair (`mnist10k-images-idx3-ubyte.gz`,
//!   `mnist10k-labels-idx1-ubyte.gz`): a single set;
//! - or one file: an IDX images file (any name with `images` and `idx3`; its labels are the
//!   file named with `labels` and `idx1` instead, and a `train` images file has the `t10k` or
//!   `test` files of the same names as its test set), or else a LIBSVM text file (`name`, with
//!   `name.t` as its test set).
//!
//! Directories are tried in that order. Compression is recognised by content
//! ([`super::read_maybe_compressed`]); the suffixes only help find the files.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use super::{DataError, Dataset, Shape, Split, load_idx, load_usps};

/// Suffixes a stored file may carry after its standard name.
const STORED_SUFFIXES: [&str; 3] = ["", ".gz", ".bz2"];

/// The names a directory is searched for, in order (each with any of [`STORED_SUFFIXES`]).
const DIRECTORY_ENTRIES: [&str; 4] =
    ["train-images-idx3-ubyte", "train-images.idx3-ubyte", "usps", "mnist10k-images-idx3-ubyte"];

/// An IDX images file and its labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxFiles {
    pub images: PathBuf,
    pub labels: PathBuf,
}

/// The files of a data set, as [`locate`] found them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// MNIST-format IDX: the training part, and the test part if the distribution has one.
    Idx { train: IdxFiles, test: Option<IdxFiles> },
    /// LIBSVM text (USPS): the training file, and the test file if there is one.
    Usps { train: PathBuf, test: Option<PathBuf> },
}

/// A data set as loaded: its training part and, if it has one, its test part.
#[derive(Clone, Debug, PartialEq)]
pub struct Parts {
    pub train: Dataset,
    pub test: Option<Dataset>,
    /// The files of each part, for messages.
    pub source: Source,
}

/// Finds the data set `path` names (see the module docs). Only looks at names: nothing is read.
pub fn locate(path: &Path) -> Result<Source, DataError> {
    let meta =
        fs::metadata(path).map_err(|error| DataError::Io { path: path.to_path_buf(), error })?;
    if !meta.is_dir() {
        return of_file(path);
    }
    DIRECTORY_ENTRIES
        .iter()
        .find_map(|name| stored(&path.join(name)))
        .map_or_else(|| Err(DataError::NotFound { dir: path.to_path_buf() }), |f| of_file(&f))
}

/// Loads the data set `path` names at `shape` and takes `split` of it ([`Split`]):
/// `(train, test)`.
pub fn load(path: &Path, shape: Shape, split: Split) -> Result<(Dataset, Dataset), DataError> {
    locate(path)?.load(shape)?.take(split)
}

/// `path` as stored: itself, or with a compression suffix, whichever file exists first.
fn stored(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    STORED_SUFFIXES
        .iter()
        .map(|suffix| path.with_file_name(format!("{name}{suffix}")))
        .find(|p| p.is_file())
}

/// A file name without its compression suffix.
fn bare_name(name: &str) -> &str {
    [".gz", ".bz2"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name)
}

/// The data set whose training file is `file`.
fn of_file(file: &Path) -> Result<Source, DataError> {
    let dir = file.parent().unwrap_or(Path::new(""));
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let bare = bare_name(name);
    if bare.contains("images") && bare.contains("idx3") {
        let train = idx_pair(dir, file.to_path_buf(), bare)?;
        // The test images of a `train` file: `t10k` (MNIST) or `test` (EMNIST, Fashion-MNIST
        // mirrors) in its place.
        let test_images = ["t10k", "test"]
            .iter()
            .filter(|_| bare.contains("train"))
            .find_map(|t| stored(&dir.join(bare.replacen("train", t, 1))));
        let test = match test_images {
            Some(images) => {
                let test_bare =
                    bare_name(images.file_name().and_then(|n| n.to_str()).unwrap_or(""))
                        .to_string();
                Some(idx_pair(dir, images, &test_bare)?)
            }
            None => None,
        };
        return Ok(Source::Idx { train, test });
    }
    let test = if bare.ends_with(".t") { None } else { stored(&dir.join(format!("{bare}.t"))) };
    Ok(Source::Usps { train: file.to_path_buf(), test })
}

/// An IDX images file (bare name `bare`) and the labels file beside it.
fn idx_pair(dir: &Path, images: PathBuf, bare: &str) -> Result<IdxFiles, DataError> {
    let labels_name = bare.replacen("images", "labels", 1).replacen("idx3", "idx1", 1);
    let labels = dir.join(&labels_name);
    match stored(&labels) {
        Some(labels) => Ok(IdxFiles { images, labels }),
        None => Err(DataError::MissingLabels { images, labels }),
    }
}

impl Source {
    /// Reads every file, bringing the images to `shape` and checking the labels against it.
    pub fn load(&self, shape: Shape) -> Result<Parts, DataError> {
        let idx = |f: &IdxFiles| load_idx(&f.images, &f.labels, shape);
        let usps = |f: &PathBuf| load_usps(f)?.resized(shape.side).with_classes(shape.classes, f);
        let (train, test) = match self {
            Source::Idx { train, test } => (idx(train)?, test.as_ref().map(idx).transpose()?),
            Source::Usps { train, test } => (usps(train)?, test.as_ref().map(usps).transpose()?),
        };
        Ok(Parts { train, test, source: self.clone() })
    }

    /// The file that holds the training part (its images).
    fn train_file(&self) -> &Path {
        match self {
            Source::Idx { train, .. } => &train.images,
            Source::Usps { train, .. } => train,
        }
    }

    /// The file that holds the test part (its images), if there is one.
    fn test_file(&self) -> Option<&Path> {
        match self {
            Source::Idx { test, .. } => test.as_ref().map(|t| t.images.as_path()),
            Source::Usps { test, .. } => test.as_deref(),
        }
    }
}

impl fmt::Display for Source {
    /// `IDX train-images-idx3-ubyte.gz (+ labels) and t10k-images-idx3-ubyte.gz (+ labels)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, labels) = match self {
            Source::Idx { .. } => ("IDX", " (+ labels)"),
            Source::Usps { .. } => ("USPS", ""),
        };
        write!(f, "{kind} {}{labels}", self.train_file().display())?;
        if let Some(test) = self.test_file() {
            write!(f, " and {}{labels}", test.display())?;
        }
        Ok(())
    }
}

impl Parts {
    /// `(train, test)` as `split` asks ([`Split`]): from a test part of the data set's own the
    /// first `split.test` examples (0: all), else the end of the single set.
    pub fn take(self, split: Split) -> Result<(Dataset, Dataset), DataError> {
        let Some(test) = self.test else { return self.train.split(split) };
        let first = |part: Dataset, n: usize, setting, file: Option<&Path>| match n {
            0 => Ok(part),
            n if n <= part.len() => Ok(part.first(n)),
            n => Err(DataError::TooFew {
                setting,
                path: file.unwrap_or(Path::new("")).to_path_buf(),
                asked: n,
                have: part.len(),
            }),
        };
        let train_file = Some(self.source.train_file());
        Ok((
            first(self.train, split.train, "data.train_size", train_file)?,
            first(test, split.test, "data.test_size", self.source.test_file())?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_util::{bzip, gzip, idx_bytes, scratch, usps_line};
    use crate::data::{IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, MNIST_10K_IMAGES, MNIST_10K_LABELS};

    /// Writes `n` images of `side × side` (image i is all grey `i`) and labels `i mod 10` as
    /// `dir/images_name` and `dir/labels_name`, gzip-compressed if the name ends in `.gz`.
    fn write_idx(dir: &Path, images_name: &str, labels_name: &str, n: usize, side: usize) {
        let data: Vec<u8> = (0..n).flat_map(|i| vec![i as u8; side * side]).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let dims = [n as u32, side as u32, side as u32];
        for (name, bytes) in [
            (images_name, idx_bytes(IDX_IMAGES_MAGIC, &dims, &data)),
            (labels_name, idx_bytes(IDX_LABELS_MAGIC, &[n as u32], &labels)),
        ] {
            let bytes = if name.ends_with(".gz") { gzip(&bytes) } else { bytes };
            fs::write(dir.join(name), bytes).unwrap();
        }
    }

    /// A USPS file of `n` lines: line i has label `i mod 10 + 1` and every pixel `i / n`.
    fn write_usps(path: &Path, n: usize, compress: bool) {
        let text: String =
            (0..n).map(|i| usps_line((i % 10 + 1) as u32, &[i as f32 / n as f32; 256])).collect();
        fs::write(path, if compress { bzip(text.as_bytes()) } else { text.into_bytes() }).unwrap();
    }

    fn sizes(parts: &(Dataset, Dataset)) -> (usize, usize) {
        (parts.0.len(), parts.1.len())
    }

    #[test]
    fn an_mnist_distribution_keeps_its_own_split_gzipped_or_not() {
        for (suffix, spelling) in [(".gz", "-"), ("", "-"), ("", "."), (".gz", ".")] {
            let dir = scratch(&format!("src-mnist{suffix}{spelling}"));
            let name = |set: &str, what: &str, n: u8| {
                format!("{set}-{what}{spelling}idx{n}-ubyte{suffix}")
            };
            write_idx(&dir, &name("train", "images", 3), &name("train", "labels", 1), 12, 28);
            write_idx(&dir, &name("t10k", "images", 3), &name("t10k", "labels", 1), 5, 28);
            let source = locate(&dir).unwrap();
            let Source::Idx { train, test: Some(test) } = &source else { panic!("{source:?}") };
            assert_eq!(train.labels, dir.join(name("train", "labels", 1)));
            assert_eq!(test.images, dir.join(name("t10k", "images", 3)));
            // Named directly, the training images file finds the same set.
            assert_eq!(locate(&train.images).unwrap(), source);

            let parts = load(&dir, Shape::default(), Split::default()).unwrap();
            assert_eq!(sizes(&parts), (12, 5));
            let (tr, te) = &parts;
            assert_eq!((tr.height(), tr.width(), tr.n_visible()), (16, 16, 266));
            // Image 3 of the test part is all grey 3: constant images stay constant.
            assert!(te.pixels().row(3).iter().all(|&x| (x - (3.0 / 127.5 - 1.0)).abs() < 1e-6));
            assert_eq!(te.labels(), &[0, 1, 2, 3, 4]);
            // Sizes take the first examples of each part.
            let parts = load(&dir, Shape::default(), Split { train: 4, test: 2 }).unwrap();
            assert_eq!(sizes(&parts), (4, 2));
            assert_eq!(parts.1.labels(), &[0, 1]);
            let err = load(&dir, Shape::default(), Split { train: 13, test: 0 }).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.starts_with("data.train_size: 13 is more than the 12 examples of "),
                "{msg}"
            );
            assert!(msg.contains(&name("train", "images", 3)), "{msg}");
        }
    }

    #[test]
    fn a_training_pair_alone_is_split_like_a_single_set() {
        let dir = scratch("src-train-only");
        write_idx(&dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 10, 4);
        let (train, test) = load(&dir, Shape { side: 2, classes: 10 }, Split::default()).unwrap();
        assert_eq!((train.len(), test.len()), (8, 2));
        assert_eq!(test.labels(), &[8, 9]);
        // Any IDX file pair named directly, e.g. EMNIST's, with `test` files beside it.
        write_idx(
            &dir,
            "emnist-digits-train-images-idx3-ubyte.gz",
            "emnist-digits-train-labels-idx1-ubyte.gz",
            6,
            4,
        );
        write_idx(
            &dir,
            "emnist-digits-test-images-idx3-ubyte.gz",
            "emnist-digits-test-labels-idx1-ubyte.gz",
            3,
            4,
        );
        let file = dir.join("emnist-digits-train-images-idx3-ubyte.gz");
        assert_eq!(sizes(&load(&file, Shape::default(), Split::default()).unwrap()), (6, 3));
        // The test file named directly is a single set.
        let file = dir.join("emnist-digits-test-images-idx3-ubyte.gz");
        assert!(matches!(locate(&file).unwrap(), Source::Idx { test: None, .. }));
    }

    #[test]
    fn usps_keeps_its_own_split_bzipped_or_not_and_takes_any_side() {
        for compress in [true, false] {
            let dir = scratch(&format!("src-usps-{compress}"));
            let suffix = if compress { ".bz2" } else { "" };
            write_usps(&dir.join(format!("usps{suffix}")), 11, compress);
            write_usps(&dir.join(format!("usps.t{suffix}")), 4, compress);
            let source = locate(&dir).unwrap();
            assert_eq!(
                source,
                Source::Usps {
                    train: dir.join(format!("usps{suffix}")),
                    test: Some(dir.join(format!("usps.t{suffix}")))
                }
            );
            let (train, test) = load(&dir, Shape::default(), Split::default()).unwrap();
            assert_eq!((train.len(), test.len()), (11, 4));
            // Labels 1..10 are digits 0..9; values stay in [−1, 1].
            assert_eq!(test.labels(), &[0, 1, 2, 3]);
            assert_eq!(test.pixels()[[2, 100]], 0.5);
            // 16 → 8: constant images stay constant.
            let (small, _) = load(&dir, Shape { side: 8, classes: 10 }, Split::default()).unwrap();
            assert_eq!(small.n_pixels(), 64);
            assert!(small.pixels().row(5).iter().all(|&x| (x - 5.0 / 11.0).abs() < 1e-6));
            // Too few class bits for the digits: the error names the setting.
            let err = load(&dir, Shape { side: 16, classes: 9 }, Split::default()).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains("label 9 of example 9 needs 10 class bits, but data.classes is 9"),
                "{msg}"
            );
        }
    }

    #[test]
    fn the_shipped_pair_is_a_single_set() {
        let dir = scratch("src-10k");
        write_idx(&dir, MNIST_10K_IMAGES, MNIST_10K_LABELS, 20, 28);
        let source = locate(&dir).unwrap();
        assert_eq!(
            source,
            Source::Idx {
                train: IdxFiles {
                    images: dir.join(MNIST_10K_IMAGES),
                    labels: dir.join(MNIST_10K_LABELS)
                },
                test: None
            }
        );
        assert_eq!(
            source.to_string(),
            format!("IDX {} (+ labels)", dir.join(MNIST_10K_IMAGES).display())
        );
        let (train, test) = load(&dir, Shape::default(), Split { train: 5, test: 3 }).unwrap();
        assert_eq!((train.labels(), test.labels()), (&[0, 1, 2, 3, 4][..], &[7, 8, 9][..]));
    }

    #[test]
    fn what_was_looked_for_and_the_os_error_are_said_once() {
        let dir = scratch("src-missing");
        let err = locate(&dir).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "{}: no data set found: looked for train-images-idx3-ubyte[.gz]",
                dir.display()
            )),
            "{msg}"
        );
        assert!(msg.contains("usps[.bz2]") && msg.contains(MNIST_10K_IMAGES), "{msg}");

        // A path that does not exist: the OS error once, also through an error chain.
        let missing = dir.join("nope");
        let err = locate(&missing).unwrap_err();
        let chain = format!("{:#}", anyhow::Error::from(err));
        assert_eq!(chain.matches("os error").count(), 1, "{chain}");
        assert!(chain.starts_with(&format!("cannot read {}: ", missing.display())), "{chain}");

        // Images without labels.
        fs::write(dir.join("train-images-idx3-ubyte.gz"), gzip(b"x")).unwrap();
        let err = locate(&dir).unwrap_err();
        assert!(matches!(err, DataError::MissingLabels { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: its labels are missing: looked for {}[.gz|.bz2]",
                dir.join("train-images-idx3-ubyte.gz").display(),
                dir.join("train-labels-idx1-ubyte").display()
            )
        );
    }
}

#[cfg(test)]
mod shipped {
    use super::*;
    use crate::data::N_CLASSES;

    /// FNV-1a over the bits of every pixel and every label of `(train, test)`, in order.
    fn fingerprint(train: &Dataset, test: &Dataset) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        for ds in [train, test] {
            for x in ds.pixels().iter() {
                eat(&x.to_bits().to_le_bytes());
            }
            eat(ds.labels());
        }
        h
    }

    /// What the loader before data sets of any kind (`load_mnist_10k` then the first 8,000 and
    /// the last 2,000) gave for the shipped files, to the bit.
    const SHIPPED_FINGERPRINT: u64 = 0x7d2a_9fa9_93dd_c819;

    #[test]
    fn shipped_mnist_10k_loads_as_the_paper_preprocesses_it_bit_for_bit_as_before() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist-10k");
        let (train, test) = load(&dir, Shape::default(), Split::default()).unwrap();
        assert_eq!((train.len(), test.len()), (8000, 2000));
        assert_eq!(fingerprint(&train, &test), SHIPPED_FINGERPRINT);
        let ds = train.concat(&test).unwrap();
        assert_eq!((ds.height(), ds.width(), ds.n_visible()), (16, 16, 266));
        assert_eq!(ds.classes(), N_CLASSES);
        // Counts from data/mnist-10k/README.md; first labels 9, 3, 6, 2, 3.
        assert_eq!(ds.class_counts(), vec![1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
        assert_eq!(&ds.labels()[..5], &[9, 3, 6, 2, 3]);
        let px = ds.pixels();
        assert!(px.iter().all(|x| (-1.0..=1.0).contains(x)));
        // MNIST has a blank border: the 16 × 16 corners are background (−1) in every image.
        assert!(px.column(0).iter().all(|&x| x == -1.0));
        // Mean ink: MNIST's mean grey is ≈ 0.13 of 255, i.e. ≈ −0.74 in [−1, 1]; area averaging
        // preserves the mean exactly (weights sum to 1).
        let mean = px.mean().unwrap();
        assert!((-0.80..-0.68).contains(&mean), "mean pixel {mean}");
        // Both splits mix all classes.
        assert!(train.class_counts().iter().all(|&c| c > 600));
        assert!(test.class_counts().iter().all(|&c| c > 120));
    }
}
