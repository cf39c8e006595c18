//! Data sets: IDX and USPS files, downsampling, splits.
//!
//! Everything here ends in a [`Dataset`]: grey images with pixel values in [−1, +1] plus a class
//! label each. The model sees one *visible vector* per example (paper Sec. IV): the pixels, then the
//! class as `classes` bits in {−1, +1} (+1 for the example's class, −1 elsewhere); for 16 × 16
//! images and 10 digits that is 256 + 10 = 266 units ([`Dataset::visible`]).
//!
//! A data set is named by one path ([`locate`]): a directory holding an MNIST-format IDX
//! distribution (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, and the test
//! pair `t10k-…` if present), USPS (`usps`, `usps.t`, bzip2 or not), or the shipped MNIST-10k
//! pair (`mnist10k-images-idx3-ubyte.gz`, `mnist10k-labels-idx1-ubyte.gz`); or one such file. A
//! distribution with its own test files keeps that split; a single set is split by [`Split`].
//! Every image is brought to the model's `side × side` by exact area averaging
//! ([`downsample_area`]); the labels must fit the model's class bits ([`Shape`]).
//!
//! Readers:
//! - [`read_idx_images`] / [`read_idx_labels`]: the IDX format MNIST is distributed in (big-endian
//!   header, magic `0x00000803` for u8 images N × H × W, `0x00000801` for u8 labels), plain or
//!   gzip/bzip2-compressed, recognised by magic bytes rather than by file name.
//! - [`load_idx`]: images + labels → downsampled by exact area averaging ([`downsample_area`]) →
//!   grey values mapped linearly from [0, 255] to [−1, +1].
//! - [`load_usps`]: the LIBSVM distribution of USPS (the paper's data), lines
//!   `label idx:value ...` with 256 values in [−1, 1] (kept in [−1, 1], the model's range).
//!
//! Every error from a file names that file, and an OS error is printed once.
//!
//! Rooms: `compressed` (reading possibly compressed files), `idx`, `usps`, `downsample`
//! (area averaging and grey scaling), `source` (what a path names, and loading it); the
//! [`Dataset`] and its [`Split`] live here.

use std::io;
use std::path::PathBuf;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Slice};

mod compressed;
mod downsample;
mod idx;
mod source;
#[cfg(test)]
mod test_util;
mod usps;

pub use compressed::read_maybe_compressed;
pub use downsample::{area_weights, downsample_area, grey_to_pm1};
pub use idx::{
    IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxImages, MNIST_10K_IMAGES, MNIST_10K_LABELS, load_idx,
    read_idx_images, read_idx_labels,
};
pub use source::{IdxFiles, Parts, Source, load, locate};
pub use usps::{USPS_PIXELS, UspsLabels, load_usps, load_usps_with};

/// Number of digit classes (0–9): the paper's class bits.
pub const N_CLASSES: usize = 10;
/// Side of the images the paper trains on (16 × 16 = 256 pixels).
pub const PAPER_SIDE: usize = 16;
/// Most class bits a data set can have (labels are bytes).
pub const MAX_CLASSES: usize = 256;

/// What the model sees of every image: `side × side` pixels and `classes` class bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Side of the square images (16 in the paper).
    pub side: usize,
    /// Class bits after the pixels; every label must be below it (10 for digits).
    pub classes: usize,
}

impl Default for Shape {
    /// The paper's 16 × 16 digits.
    fn default() -> Self {
        Shape { side: PAPER_SIDE, classes: N_CLASSES }
    }
}

/// Errors of the data module. Every variant that comes from a file names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The OS error is part of the message, not a source, so that a chain printed with `{:#}`
    /// shows it once.
    #[error("cannot read {}: {error}", .path.display())]
    Io { path: PathBuf, error: io::Error },
    #[error(
        "{}: no data set found: looked for train-images-idx3-ubyte[.gz] (MNIST format, with \
         t10k-images-idx3-ubyte[.gz] as its test set), usps[.bz2] (USPS, with usps.t[.bz2]) and \
         mnist10k-images-idx3-ubyte.gz (the shipped MNIST-10k)",
        .dir.display()
    )]
    NotFound { dir: PathBuf },
    #[error("{}: its labels are missing: looked for {}[.gz|.bz2]", .images.display(), .labels.display())]
    MissingLabels { images: PathBuf, labels: PathBuf },
    #[error("{}: bad IDX magic number {found:#010x}, expected {expected:#010x}", .path.display())]
    BadMagic { path: PathBuf, found: u32, expected: u32 },
    #[error("{}: truncated {what}: need {expected} bytes, found {found}", .path.display())]
    Truncated { path: PathBuf, what: &'static str, expected: u64, found: u64 },
    #[error("{}: {extra} unexpected bytes after the data", .path.display())]
    TrailingBytes { path: PathBuf, extra: u64 },
    #[error("{}: bad IDX header: {reason}", .path.display())]
    BadHeader { path: PathBuf, reason: String },
    #[error(
        "{} holds {n_images} images but {} holds {n_labels} labels",
        .images.display(),
        .labels.display()
    )]
    CountMismatch { images: PathBuf, labels: PathBuf, n_images: usize, n_labels: usize },
    #[error(
        "{}: label {label} of example {index} needs {} class bits, but data.classes is {classes}",
        .path.display(),
        bits_for(.label)
    )]
    TooManyClasses { path: PathBuf, index: usize, label: u8, classes: usize },
    #[error("{}:{line}: {reason}", .path.display())]
    BadUspsLine { path: PathBuf, line: usize, reason: String },
    #[error("{}: no examples", .path.display())]
    Empty { path: PathBuf },
    #[error(
        "cannot split {n} examples into the first {train} for training and the last {test} for testing"
    )]
    BadSplit { n: usize, train: usize, test: usize },
    #[error("{setting}: {asked} is more than the {have} examples of {}", .path.display())]
    TooFew { setting: &'static str, path: PathBuf, asked: usize, have: usize },
    #[error("invalid dataset: {0}")]
    Invalid(String),
}

/// Class bits a label needs (labels count from 0).
fn bits_for(label: &u8) -> usize {
    usize::from(*label) + 1
}

/// Labelled grey images, pixels in [−1, +1].
///
/// Invariants: `pixels` is `[len, height·width]` with finite values in [−1, 1]; `labels.len() ==
/// len`; every label < `classes` ≤ [`MAX_CLASSES`].
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pixels: Array2<f32>,
    labels: Vec<u8>,
    height: usize,
    width: usize,
    classes: usize,
}

/// How many examples to train and test on; 0 leaves the choice to the data set.
///
/// A data set with a test part of its own (MNIST's `t10k-…`, USPS's `usps.t`) trains on the
/// first `train` examples of its training part and tests on the first `test` of its test part
/// (0: the whole part). A single set of `n` examples (the shipped MNIST-10k) trains on its first
/// `train` and tests on its last `test` (the shipped files are already shuffled); a 0 takes the
/// rest, and both 0 take the last fifth for testing (8,000 and 2,000 of the shipped 10,000).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Split {
    pub train: usize,
    pub test: usize,
}

impl Dataset {
    /// Builds a dataset from pixels `[n, height·width]` in [−1, 1] and labels below `classes`,
    /// checking the invariants.
    pub fn new(
        pixels: Array2<f32>,
        labels: Vec<u8>,
        height: usize,
        width: usize,
        classes: usize,
    ) -> Result<Self, DataError> {
        let invalid = |s: String| Err(DataError::Invalid(s));
        if height == 0 || width == 0 {
            return invalid(format!("images of {height} x {width} pixels"));
        }
        if !(1..=MAX_CLASSES).contains(&classes) {
            return invalid(format!("{classes} classes (allowed: 1 to {MAX_CLASSES})"));
        }
        if pixels.ncols() != height * width {
            return invalid(format!(
                "{} pixel columns for {height} x {width} images",
                pixels.ncols()
            ));
        }
        if pixels.nrows() != labels.len() {
            return invalid(format!("{} images but {} labels", pixels.nrows(), labels.len()));
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l as usize >= classes) {
            return invalid(format!("label {l} of example {i} is not below {classes}"));
        }
        if let Some(x) = pixels.iter().find(|x| x.is_nan() || x.abs() > 1.0) {
            return invalid(format!("pixel value {x} outside [-1, 1]"));
        }
        Ok(Dataset { pixels, labels, height, width, classes })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Image width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Pixels per image (`height · width`).
    pub fn n_pixels(&self) -> usize {
        self.height * self.width
    }

    /// Class bits per example (every label is below it).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Visible units per example: pixels then the class bits (266 for 16 × 16 digits).
    pub fn n_visible(&self) -> usize {
        self.n_pixels() + self.classes
    }

    /// Pixels `[n, height·width]` in [−1, 1], each image row-major.
    pub fn pixels(&self) -> ArrayView2<'_, f32> {
        self.pixels.view()
    }

    /// Class labels, each below [`Dataset::classes`].
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Class bits `[n, classes]`: +1 at the label, −1 elsewhere.
    pub fn class_bits(&self) -> Array2<f32> {
        let mut out = Array2::from_elem((self.len(), self.classes), -1.0);
        for (mut row, &l) in out.outer_iter_mut().zip(&self.labels) {
            row[l as usize] = 1.0;
        }
        out
    }

    /// The visible matrix `[n, n_pixels + 10]`: pixels, then class bits.
    pub fn visible(&self) -> Array2<f32> {
        let rows: Vec<usize> = (0..self.len()).collect();
        let mut out = Array2::zeros((self.len(), self.n_visible()));
        self.fill_visible(&rows, out.view_mut());
        out
    }

    /// Writes the visible vectors of the examples `rows` (in that order) into `out`
    /// `[rows.len(), n_visible]`, e.g. a minibatch buffer reused across steps.
    ///
    /// # Panics
    /// If `out` has the wrong shape or a row index is out of range.
    pub fn fill_visible(&self, rows: &[usize], mut out: ArrayViewMut2<f32>) {
        assert_eq!(out.dim(), (rows.len(), self.n_visible()), "fill_visible: output shape");
        let p = self.n_pixels();
        for (dst, &r) in out.outer_iter_mut().zip(rows) {
            let (mut px, mut bits) = dst.split_at(Axis(0), p);
            px.assign(&self.pixels.row(r));
            bits.fill(-1.0);
            bits[self.labels[r] as usize] = 1.0;
        }
    }

    /// The examples `rows`, in that order.
    ///
    /// # Panics
    /// If a row index is out of range.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        Dataset {
            pixels: self.pixels.select(Axis(0), rows),
            labels: rows.iter().map(|&r| self.labels[r]).collect(),
            ..self.empty_like()
        }
    }

    /// The examples in `range` (contiguous).
    fn slice(&self, range: std::ops::Range<usize>) -> Dataset {
        Dataset {
            pixels: self.pixels.slice_axis(Axis(0), Slice::from(range.clone())).to_owned(),
            labels: self.labels[range].to_vec(),
            ..self.empty_like()
        }
    }

    /// No examples, this one's shape.
    fn empty_like(&self) -> Dataset {
        Dataset {
            pixels: Array2::zeros((0, self.n_pixels())),
            labels: Vec::new(),
            height: self.height,
            width: self.width,
            classes: self.classes,
        }
    }

    /// The first `n` examples.
    fn first(&self, n: usize) -> Dataset {
        self.slice(0..n)
    }

    /// The images brought to `side × side` by exact area averaging ([`downsample_area`]); this
    /// dataset itself if they already are. Area averaging keeps values in [−1, 1] (its weights are
    /// non-negative and sum to 1); round-off past the ends is clamped.
    pub fn resized(self, side: usize) -> Dataset {
        if (self.height, self.width) == (side, side) {
            return self;
        }
        let n = self.len();
        let images = self
            .pixels
            .into_shape_with_order((n, self.height, self.width))
            .expect("contiguous standard layout");
        let pixels = downsample_area(images.view(), side, side)
            .into_shape_with_order((n, side * side))
            .expect("contiguous standard layout")
            .mapv_into(|x| x.clamp(-1.0, 1.0));
        Dataset { pixels, labels: self.labels, height: side, width: side, classes: self.classes }
    }

    /// The same examples with `classes` class bits; `path` (where the labels come from) names
    /// the data in the error if a label does not fit.
    pub fn with_classes(
        self,
        classes: usize,
        path: &std::path::Path,
    ) -> Result<Dataset, DataError> {
        if let Some((index, &label)) =
            self.labels.iter().enumerate().find(|&(_, &l)| l as usize >= classes)
        {
            return Err(DataError::TooManyClasses {
                path: path.to_path_buf(),
                index,
                label,
                classes,
            });
        }
        Ok(Dataset { classes, ..self })
    }

    /// Splits a single set into `(train, test)`: the first `split.train` examples and the last
    /// `split.test`; a 0 takes the rest, both 0 the last fifth for testing ([`Split`]).
    pub fn split(&self, split: Split) -> Result<(Dataset, Dataset), DataError> {
        let n = self.len();
        let split = match (split.train, split.test) {
            (0, 0) => Split { train: n - n / 5, test: n / 5 },
            (0, test) => Split { train: n.saturating_sub(test), test },
            (train, 0) => Split { train, test: n.saturating_sub(train) },
            given => Split { train: given.0, test: given.1 },
        };
        if split.train == 0 || split.test == 0 {
            return Err(DataError::BadSplit { n, train: split.train, test: split.test });
        }
        match split.train.checked_add(split.test) {
            Some(total) if total <= n => {
                Ok((self.slice(0..split.train), self.slice(n - split.test..n)))
            }
            _ => Err(DataError::BadSplit { n, train: split.train, test: split.test }),
        }
    }

    /// Concatenates two datasets with the same image size and class bits (e.g. USPS `usps` +
    /// `usps.t`).
    pub fn concat(&self, other: &Dataset) -> Result<Dataset, DataError> {
        if (self.height, self.width, self.classes) != (other.height, other.width, other.classes) {
            return Err(DataError::Invalid(format!(
                "cannot concatenate {}x{} images of {} classes and {}x{} images of {} classes",
                self.height, self.width, self.classes, other.height, other.width, other.classes
            )));
        }
        let pixels = ndarray::concatenate(Axis(0), &[self.pixels.view(), other.pixels.view()])
            .expect("same number of columns");
        let labels = self.labels.iter().chain(&other.labels).copied().collect();
        Ok(Dataset { pixels, labels, ..self.empty_like() })
    }

    /// Number of examples of each class, `[classes]`.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(label: usize, classes: usize) -> Vec<f32> {
        (0..classes).map(|c| if c == label { 1.0 } else { -1.0 }).collect()
    }

    #[test]
    fn visible_vectors_splits_and_selection() {
        let pixels = Array2::from_shape_fn((5, 4), |(i, j)| (i as f32 - j as f32) / 10.0);
        let ds = Dataset::new(pixels, vec![3, 0, 9, 1, 1], 2, 2, 10).unwrap();
        let v = ds.visible();
        assert_eq!(v.dim(), (5, 14));
        let (v_px, v_bits) = v.view().split_at(Axis(1), 4);
        assert_eq!(v_px, ds.pixels());
        assert_eq!(v_bits.row(0).to_vec(), bits(3, 10));
        assert_eq!(v_bits.row(2).sum(), -8.0); // one +1, nine −1
        assert_eq!(ds.class_bits().row(1).to_vec(), bits(0, 10));

        let mut batch = Array2::zeros((2, 14));
        ds.fill_visible(&[4, 0], batch.view_mut());
        assert_eq!(batch.row(0), v.row(4));
        assert_eq!(batch.row(1), v.row(0));

        let (train, test) = ds.split(Split { train: 3, test: 1 }).unwrap();
        assert_eq!(train.labels(), &[3, 0, 9]);
        assert_eq!(test.labels(), &[1]);
        assert_eq!(test.pixels().row(0), ds.pixels().row(4));
        assert!(matches!(
            ds.split(Split { train: 4, test: 2 }),
            Err(DataError::BadSplit { n: 5, train: 4, test: 2 })
        ));
        assert!(matches!(
            ds.split(Split { train: usize::MAX, test: 2 }),
            Err(DataError::BadSplit { .. })
        ));
        assert_eq!(ds.select(&[2, 2]).labels(), &[9, 9]);
        assert_eq!(ds.concat(&test).unwrap().len(), 6);
        assert_eq!(ds.class_counts()[1], 2);

        assert!(Dataset::new(Array2::zeros((2, 4)), vec![0], 2, 2, 10).is_err());
        assert!(Dataset::new(Array2::zeros((1, 4)), vec![10], 2, 2, 10).is_err());
        assert!(Dataset::new(Array2::zeros((1, 4)), vec![0], 2, 2, 0).is_err());
        assert!(Dataset::new(Array2::from_elem((1, 4), 1.5), vec![1], 2, 2, 10).is_err());
        assert!(Dataset::new(Array2::from_elem((1, 4), f32::NAN), vec![1], 2, 2, 10).is_err());
        assert!(Dataset::new(Array2::zeros((1, 5)), vec![1], 2, 2, 10).is_err());
    }

    #[test]
    fn a_zero_size_takes_the_rest_and_both_zero_the_last_fifth_for_testing() {
        let ds = Dataset::new(Array2::zeros((10, 1)), (0..10).collect(), 1, 1, 10).unwrap();
        let labels = |split| {
            let (train, test) = ds.split(split).unwrap();
            (train.labels().to_vec(), test.labels().to_vec())
        };
        assert_eq!(labels(Split::default()), ((0..8).collect(), vec![8, 9]));
        assert_eq!(labels(Split { train: 3, test: 0 }), ((0..3).collect(), (3..10).collect()));
        assert_eq!(labels(Split { train: 0, test: 4 }), ((0..6).collect(), (6..10).collect()));
        assert!(matches!(
            ds.split(Split { train: 10, test: 0 }),
            Err(DataError::BadSplit { n: 10, train: 10, test: 0 })
        ));
        // One example cannot be split.
        let one = ds.first(1);
        assert!(matches!(one.split(Split::default()), Err(DataError::BadSplit { .. })));
    }

    #[test]
    fn fewer_or_more_class_bits_than_digits() {
        let ds = Dataset::new(Array2::zeros((3, 1)), vec![0, 2, 1], 1, 1, 10).unwrap();
        let three = ds.clone().with_classes(3, std::path::Path::new("labels")).unwrap();
        assert_eq!((three.classes(), three.n_visible()), (3, 4));
        assert_eq!(three.class_bits().row(1).to_vec(), bits(2, 3));
        assert_eq!(three.class_counts(), vec![1, 1, 1]);
        let err = ds.with_classes(2, std::path::Path::new("dir/labels")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dir/labels: label 2 of example 1 needs 3 class bits, but data.classes is 2"
        );
    }

    #[test]
    fn resizing_averages_areas_and_keeps_labels() {
        // Two 4 × 4 images: 2 × 2 blocks of −1, 1, 0.5, −0.5.
        let px = Array2::from_shape_fn((2, 16), |(n, p)| {
            let block = [-1.0, 1.0, 0.5, -0.5][(p / 8) * 2 + (p % 4) / 2];
            if n == 0 { block } else { -block }
        });
        let ds = Dataset::new(px, vec![4, 7], 4, 4, 10).unwrap();
        let small = ds.clone().resized(2);
        assert_eq!((small.height(), small.width(), small.n_pixels()), (2, 2, 4));
        assert_eq!(small.pixels().row(0).to_vec(), vec![-1.0, 1.0, 0.5, -0.5]);
        assert_eq!(small.pixels().row(1).to_vec(), vec![1.0, -1.0, -0.5, 0.5]);
        assert_eq!(small.labels(), &[4, 7]);
        assert_eq!(ds.clone().resized(4), ds);
    }
}
