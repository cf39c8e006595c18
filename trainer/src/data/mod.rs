//! Data sets: IDX and USPS files, downsampling, splits.
//!
//! Everything here ends in a [`Dataset`]: grey images with pixel values in [−1, +1] plus a digit
//! label each. The model sees one *visible vector* per example (paper Sec. IV): the pixels, then the
//! class as 10 bits in {−1, +1} (+1 for the example's class, −1 elsewhere); for 16 × 16 images that
//! is 256 + 10 = 266 units ([`Dataset::visible`]).
//!
//! Readers:
//! - [`read_idx_images`] / [`read_idx_labels`]: the IDX format MNIST is distributed in (big-endian
//!   header, magic `0x00000803` for u8 images N × H × W, `0x00000801` for u8 labels), plain or
//!   gzip/bzip2-compressed, recognised by magic bytes rather than by file name.
//! - [`load_idx`]: images + labels → downsampled by exact area averaging ([`downsample_area`]) →
//!   grey values mapped linearly from [0, 255] to [−1, +1].
//! - [`load_usps`]: the LIBSVM distribution of USPS (the paper's data), lines
//!   `label idx:value ...` with 256 values in [−1, 1].
//!
//! Every error from a file names that file.
//!
//! Rooms: `compressed` (reading possibly compressed files), `idx`, `usps`, `downsample`
//! (area averaging and grey scaling); the [`Dataset`] and its [`Split`] live here.

use std::io;
use std::path::PathBuf;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Slice};

mod compressed;
mod downsample;
mod idx;
#[cfg(test)]
mod test_util;
mod usps;

pub use compressed::read_maybe_compressed;
pub use downsample::{area_weights, downsample_area, grey_to_pm1};
pub use idx::{
    IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxImages, MNIST_10K_IMAGES, MNIST_10K_LABELS, load_idx,
    load_mnist_10k, read_idx_images, read_idx_labels,
};
pub use usps::{USPS_PIXELS, UspsLabels, load_usps, load_usps_with};

/// Number of classes (digits 0–9), i.e. class bits appended to the pixels.
pub const N_CLASSES: usize = 10;
/// Side of the images the paper trains on (16 × 16 = 256 pixels).
pub const PAPER_SIDE: usize = 16;

/// Errors of the data module. Every variant that comes from a file names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
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
    #[error("{}: label {label} of example {index} is not a digit 0-9", .path.display())]
    BadLabel { path: PathBuf, index: usize, label: u8 },
    #[error("{}:{line}: {reason}", .path.display())]
    BadUspsLine { path: PathBuf, line: usize, reason: String },
    #[error("{}: no examples", .path.display())]
    Empty { path: PathBuf },
    #[error(
        "cannot split {n} examples into the first {train} for training and the last {test} for testing"
    )]
    BadSplit { n: usize, train: usize, test: usize },
    #[error("invalid dataset: {0}")]
    Invalid(String),
}

/// The class as ±1 bits: +1 at `label`, −1 elsewhere.
///
/// # Panics
/// If `label >= N_CLASSES`.
pub fn class_bits(label: u8) -> [f32; N_CLASSES] {
    assert!((label as usize) < N_CLASSES, "label {label} is not a digit");
    let mut bits = [-1.0; N_CLASSES];
    bits[label as usize] = 1.0;
    bits
}

/// Labelled grey images, pixels in [−1, +1].
///
/// Invariants: `pixels` is `[len, height·width]` with finite values in [−1, 1]; `labels.len() ==
/// len`; every label < [`N_CLASSES`].
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pixels: Array2<f32>,
    labels: Vec<u8>,
    height: usize,
    width: usize,
}

/// A deterministic train/test split: the first `train` examples and the last `test` ones (the
/// shipped files are already shuffled). Examples in between, if any, are in neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Split {
    pub train: usize,
    pub test: usize,
}

impl Default for Split {
    /// The first 8,000 for training, the last 2,000 for testing (of the shipped 10,000).
    fn default() -> Self {
        Split { train: 8000, test: 2000 }
    }
}

impl Dataset {
    /// Builds a dataset from pixels `[n, height·width]` in [−1, 1] and labels 0–9, checking the
    /// invariants.
    pub fn new(
        pixels: Array2<f32>,
        labels: Vec<u8>,
        height: usize,
        width: usize,
    ) -> Result<Self, DataError> {
        let invalid = |s: String| Err(DataError::Invalid(s));
        if height == 0 || width == 0 {
            return invalid(format!("images of {height} x {width} pixels"));
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
        if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l as usize >= N_CLASSES) {
            return invalid(format!("label {l} of example {i} is not a digit 0-9"));
        }
        if let Some(x) = pixels.iter().find(|x| x.is_nan() || x.abs() > 1.0) {
            return invalid(format!("pixel value {x} outside [-1, 1]"));
        }
        Ok(Dataset { pixels, labels, height, width })
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

    /// Visible units per example: pixels then [`N_CLASSES`] class bits (266 for 16 × 16).
    pub fn n_visible(&self) -> usize {
        self.n_pixels() + N_CLASSES
    }

    /// Pixels `[n, height·width]` in [−1, 1], each image row-major.
    pub fn pixels(&self) -> ArrayView2<'_, f32> {
        self.pixels.view()
    }

    /// Digit labels 0–9.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Class bits `[n, 10]`: +1 at the label, −1 elsewhere.
    pub fn class_bits(&self) -> Array2<f32> {
        let mut out = Array2::from_elem((self.len(), N_CLASSES), -1.0);
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
            height: self.height,
            width: self.width,
        }
    }

    /// The examples in `range` (contiguous).
    fn slice(&self, range: std::ops::Range<usize>) -> Dataset {
        Dataset {
            pixels: self.pixels.slice_axis(Axis(0), Slice::from(range.clone())).to_owned(),
            labels: self.labels[range].to_vec(),
            height: self.height,
            width: self.width,
        }
    }

    /// Splits into `(train, test)`: the first `split.train` examples and the last `split.test`.
    pub fn split(&self, split: Split) -> Result<(Dataset, Dataset), DataError> {
        let n = self.len();
        match split.train.checked_add(split.test) {
            Some(total) if total <= n => {
                Ok((self.slice(0..split.train), self.slice(n - split.test..n)))
            }
            _ => Err(DataError::BadSplit { n, train: split.train, test: split.test }),
        }
    }

    /// Concatenates two datasets with the same image size (e.g. USPS `usps` + `usps.t`).
    pub fn concat(&self, other: &Dataset) -> Result<Dataset, DataError> {
        if (self.height, self.width) != (other.height, other.width) {
            return Err(DataError::Invalid(format!(
                "cannot concatenate {}x{} and {}x{} images",
                self.height, self.width, other.height, other.width
            )));
        }
        let pixels = ndarray::concatenate(Axis(0), &[self.pixels.view(), other.pixels.view()])
            .expect("same number of columns");
        let labels = self.labels.iter().chain(&other.labels).copied().collect();
        Ok(Dataset { pixels, labels, height: self.height, width: self.width })
    }

    /// Number of examples of each class.
    pub fn class_counts(&self) -> [usize; N_CLASSES] {
        let mut counts = [0; N_CLASSES];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_vectors_splits_and_selection() {
        let pixels = Array2::from_shape_fn((5, 4), |(i, j)| (i as f32 - j as f32) / 10.0);
        let ds = Dataset::new(pixels, vec![3, 0, 9, 1, 1], 2, 2).unwrap();
        let v = ds.visible();
        assert_eq!(v.dim(), (5, 14));
        let (v_px, v_bits) = v.view().split_at(Axis(1), 4);
        assert_eq!(v_px, ds.pixels());
        assert_eq!(v_bits.row(0).to_vec(), class_bits(3).to_vec());
        assert_eq!(v_bits.row(2).sum(), -8.0); // one +1, nine −1
        assert_eq!(ds.class_bits().row(1).to_vec(), class_bits(0).to_vec());

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

        assert!(Dataset::new(Array2::zeros((2, 4)), vec![0], 2, 2).is_err());
        assert!(Dataset::new(Array2::zeros((1, 4)), vec![10], 2, 2).is_err());
        assert!(Dataset::new(Array2::from_elem((1, 4), 1.5), vec![1], 2, 2).is_err());
        assert!(Dataset::new(Array2::from_elem((1, 4), f32::NAN), vec![1], 2, 2).is_err());
        assert!(Dataset::new(Array2::zeros((1, 5)), vec![1], 2, 2).is_err());
    }
}
