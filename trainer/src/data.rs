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

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut2, Axis, Slice};

/// Number of classes (digits 0–9), i.e. class bits appended to the pixels.
pub const N_CLASSES: usize = 10;
/// IDX magic of an unsigned-byte, 3-dimensional array (images N × H × W).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// IDX magic of an unsigned-byte, 1-dimensional array (labels).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// File name of the shipped images in `data/mnist-10k/`.
pub const MNIST_10K_IMAGES: &str = "mnist10k-images-idx3-ubyte.gz";
/// File name of the shipped labels in `data/mnist-10k/`.
pub const MNIST_10K_LABELS: &str = "mnist10k-labels-idx1-ubyte.gz";
/// Side of the images the paper trains on (16 × 16 = 256 pixels).
pub const PAPER_SIDE: usize = 16;
/// Number of pixels per USPS image (16 × 16).
pub const USPS_PIXELS: usize = PAPER_SIDE * PAPER_SIDE;

/// Values a little outside [−1, 1] (printing round-off in text files) are clamped, not rejected.
const RANGE_SLACK: f32 = 1e-4;

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

// ---------------------------------------------------------------------------------------------
// Reading (possibly compressed) files
// ---------------------------------------------------------------------------------------------

/// Reads a whole file, transparently decompressing gzip (`1f 8b`) and bzip2 (`BZh`) by their
/// magic bytes; anything else is returned as stored.
pub fn read_maybe_compressed(path: impl AsRef<Path>) -> Result<Vec<u8>, DataError> {
    let path = path.as_ref();
    let io_err = |source| DataError::Io { path: path.to_path_buf(), source };
    let raw = fs::read(path).map_err(io_err)?;
    let mut out = Vec::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut out).map_err(io_err)?;
        Ok(out)
    } else if raw.starts_with(b"BZh") {
        bzip2::read::MultiBzDecoder::new(raw.as_slice()).read_to_end(&mut out).map_err(io_err)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

// ---------------------------------------------------------------------------------------------
// IDX
// ---------------------------------------------------------------------------------------------

/// Images as stored in an IDX file: `count` images of `rows × cols` u8 grey values (0 background,
/// 255 ink), row-major, image after image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<u8>,
}

impl IdxImages {
    /// The images as `[count, rows, cols]`.
    pub fn view(&self) -> ArrayView3<'_, u8> {
        ArrayView3::from_shape((self.count, self.rows, self.cols), &self.data)
            .expect("IdxImages invariant: data.len() == count * rows * cols")
    }
}

/// Parses an IDX byte buffer with the given magic (which fixes the element type u8 and the number
/// of dimensions): returns the dimensions and the data bytes, whose length must match exactly.
fn parse_idx<'a>(
    path: &Path,
    bytes: &'a [u8],
    expected_magic: u32,
) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let path_buf = || path.to_path_buf();
    if bytes.len() < 4 {
        return Err(DataError::Truncated {
            path: path_buf(),
            what: "IDX header",
            expected: 4,
            found: bytes.len() as u64,
        });
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if magic != expected_magic {
        return Err(DataError::BadMagic {
            path: path_buf(),
            found: magic,
            expected: expected_magic,
        });
    }
    let ndims = (expected_magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        return Err(DataError::Truncated {
            path: path_buf(),
            what: "IDX header",
            expected: header_len as u64,
            found: bytes.len() as u64,
        });
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let total = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| {
        DataError::BadHeader { path: path_buf(), reason: format!("dimensions {dims:?} overflow") }
    })?;
    let data = &bytes[header_len..];
    if data.len() < total {
        return Err(DataError::Truncated {
            path: path_buf(),
            what: "IDX data",
            expected: total as u64,
            found: data.len() as u64,
        });
    }
    if data.len() > total {
        return Err(DataError::TrailingBytes {
            path: path_buf(),
            extra: (data.len() - total) as u64,
        });
    }
    Ok((dims, data))
}

/// Reads an IDX file of u8 images (magic `0x00000803`, dimensions N × H × W), plain or compressed.
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages, DataError> {
    let path = path.as_ref();
    let bytes = read_maybe_compressed(path)?;
    let (dims, data) = parse_idx(path, &bytes, IDX_IMAGES_MAGIC)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(DataError::BadHeader {
            path: path.to_path_buf(),
            reason: format!("images of {rows} x {cols} pixels"),
        });
    }
    Ok(IdxImages { count, rows, cols, data: data.to_vec() })
}

/// Reads an IDX file of u8 labels (magic `0x00000801`), plain or compressed.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>, DataError> {
    let path = path.as_ref();
    let bytes = read_maybe_compressed(path)?;
    let (_, data) = parse_idx(path, &bytes, IDX_LABELS_MAGIC)?;
    Ok(data.to_vec())
}

// ---------------------------------------------------------------------------------------------
// Downsampling and scaling
// ---------------------------------------------------------------------------------------------

/// One-dimensional area-averaging weights `[n_out, n_in]`.
///
/// Output cell `o` covers the input interval `[o·n_in/n_out, (o+1)·n_in/n_out)`; its weight on
/// input cell `i` (covering `[i, i+1)`) is the length of their overlap divided by the output cell's
/// length `n_in/n_out`. Every row sums to 1. Overlaps are computed exactly in integers, in units of
/// `1/n_out` input cells, so 28 → 16 gives weights that are multiples of 1/28.
///
/// # Panics
/// If `n_in` or `n_out` is zero.
pub fn area_weights(n_in: usize, n_out: usize) -> Array2<f32> {
    assert!(n_in > 0 && n_out > 0, "area_weights needs non-empty sizes, got {n_in} -> {n_out}");
    let mut w = Array2::<f32>::zeros((n_out, n_in));
    for o in 0..n_out {
        // In units of 1/n_out input cells: output o spans [o·n_in, (o+1)·n_in),
        // input i spans [i·n_out, (i+1)·n_out).
        let (lo, hi) = (o * n_in, (o + 1) * n_in);
        let first = lo / n_out;
        let last = (hi - 1) / n_out;
        for i in first..=last {
            let overlap = hi.min((i + 1) * n_out) - lo.max(i * n_out);
            w[[o, i]] = (overlap as f64 / n_in as f64) as f32;
        }
    }
    w
}

/// Downsamples (or upsamples) images `[n, H, W]` to `[n, h, w]` by exact area averaging: each output
/// pixel is the area-weighted mean of the input pixels it covers, computed separably as
/// `R · X · Cᵀ` with `R = area_weights(H, h)` and `C = area_weights(W, w)`.
pub fn downsample_area(images: ArrayView3<f32>, h: usize, w: usize) -> Array3<f32> {
    let (n, rows, cols) = images.dim();
    let r = area_weights(rows, h);
    let c_t = area_weights(cols, w).reversed_axes(); // [W, w]
    let mut out = Array3::<f32>::zeros((n, h, w));
    for (img, mut dst) in images.outer_iter().zip(out.outer_iter_mut()) {
        let tmp = r.dot(&img); // [h, W]
        ndarray::linalg::general_mat_mul(1.0, &tmp, &c_t, 0.0, &mut dst);
    }
    out
}

/// Maps a grey value in [0, 255] linearly to [−1, +1] (0 → −1, 255 → +1), clamping round-off.
#[inline]
pub fn grey_to_pm1(g: f32) -> f32 {
    (g / 127.5 - 1.0).clamp(-1.0, 1.0)
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

// ---------------------------------------------------------------------------------------------
// Dataset
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// IDX → Dataset
// ---------------------------------------------------------------------------------------------

/// Loads IDX images and labels, downsamples the images to `height × width` by exact area
/// averaging ([`downsample_area`]) and maps grey values from [0, 255] to [−1, +1].
///
/// With `height × width` equal to the stored size the images are only rescaled.
pub fn load_idx(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
    height: usize,
    width: usize,
) -> Result<Dataset, DataError> {
    let (images_path, labels_path) = (images.as_ref(), labels.as_ref());
    if height == 0 || width == 0 {
        return Err(DataError::Invalid(format!("target size {height} x {width}")));
    }
    let idx = read_idx_images(images_path)?;
    let labels = read_idx_labels(labels_path)?;
    if idx.count != labels.len() {
        return Err(DataError::CountMismatch {
            images: images_path.to_path_buf(),
            labels: labels_path.to_path_buf(),
            n_images: idx.count,
            n_labels: labels.len(),
        });
    }
    if let Some((index, &label)) =
        labels.iter().enumerate().find(|&(_, &l)| l as usize >= N_CLASSES)
    {
        return Err(DataError::BadLabel { path: labels_path.to_path_buf(), index, label });
    }
    // Area averaging is affine-invariant (its weights sum to 1), so average raw grey values and
    // rescale afterwards.
    let grey = idx.view().mapv(f32::from);
    let small = if (idx.rows, idx.cols) == (height, width) {
        grey
    } else {
        downsample_area(grey.view(), height, width)
    };
    let pixels = small
        .into_shape_with_order((idx.count, height * width))
        .expect("contiguous standard layout")
        .mapv_into(grey_to_pm1);
    Ok(Dataset { pixels, labels, height, width })
}

/// Loads the shipped `data/mnist-10k/` directory at the paper's 16 × 16 resolution.
pub fn load_mnist_10k(dir: impl AsRef<Path>) -> Result<Dataset, DataError> {
    let dir = dir.as_ref();
    load_idx(dir.join(MNIST_10K_IMAGES), dir.join(MNIST_10K_LABELS), PAPER_SIDE, PAPER_SIDE)
}

// ---------------------------------------------------------------------------------------------
// USPS (LIBSVM format)
// ---------------------------------------------------------------------------------------------

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
/// are skipped. Labels per [`UspsLabels::Auto`].
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
    Ok(Dataset { pixels, labels, height: PAPER_SIDE, width: PAPER_SIDE })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use std::io::Write;

    /// A fresh scratch directory in the system temp dir, unique per test and process.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("qahm-data-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn bzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// Writes `n` images of `rows × cols` (pixel value = (image + position) mod 256) and labels
    /// `i mod 10`; returns the two paths.
    fn write_idx_pair(
        dir: &Path,
        n: usize,
        rows: usize,
        cols: usize,
        compress: bool,
    ) -> (PathBuf, PathBuf) {
        let data: Vec<u8> = (0..n * rows * cols).map(|k| ((k / (rows * cols)) + k) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let img = idx_bytes(IDX_IMAGES_MAGIC, &[n as u32, rows as u32, cols as u32], &data);
        let lab = idx_bytes(IDX_LABELS_MAGIC, &[n as u32], &labels);
        // Deliberately misleading names: compression is detected by content.
        let (pi, pl) = (dir.join("images.idx"), dir.join("labels.gz"));
        fs::write(&pi, if compress { gzip(&img) } else { img }).unwrap();
        fs::write(&pl, if compress { gzip(&lab) } else { lab }).unwrap();
        (pi, pl)
    }

    fn assert_names(err: &DataError, path: &Path) {
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg:?} does not name {path:?}");
    }

    #[test]
    fn area_weights_rows_sum_to_one_and_match_hand_values() {
        let w = area_weights(28, 16);
        assert_eq!(w.dim(), (16, 28));
        for row in w.outer_iter() {
            // Exact rational weights rounded to f32 once each: sum within a few ulps of 1.
            assert_abs_diff_eq!(row.sum(), 1.0, epsilon = 1e-6);
        }
        // Output 0 covers [0, 1.75): all of input 0 and 3/4 of input 1, over length 1.75.
        assert_abs_diff_eq!(w[[0, 0]], 1.0 / 1.75, epsilon = 1e-7);
        assert_abs_diff_eq!(w[[0, 1]], 0.75 / 1.75, epsilon = 1e-7);
        assert_eq!(w[[0, 2]], 0.0);
        // Output 1 covers [1.75, 3.5): 1/4 of input 1, all of 2, half of 3.
        assert_abs_diff_eq!(w[[1, 1]], 0.25 / 1.75, epsilon = 1e-7);
        assert_abs_diff_eq!(w[[1, 2]], 1.0 / 1.75, epsilon = 1e-7);
        assert_abs_diff_eq!(w[[1, 3]], 0.5 / 1.75, epsilon = 1e-7);
        // Integer factor: plain block averaging; identity size: identity.
        let w2 = area_weights(4, 2);
        assert_eq!(w2, ndarray::array![[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]]);
        assert_eq!(area_weights(5, 5), Array2::<f32>::eye(5));
        // Upsampling 2 → 3: the middle output straddles both inputs equally.
        let up = area_weights(2, 3);
        assert_eq!(up.row(1).to_vec(), vec![0.5, 0.5]);
        assert_eq!(up.row(0).to_vec(), vec![1.0, 0.0]);
    }

    #[test]
    fn downsampling_matches_a_brute_force_area_integral() {
        // Brute force: split every input pixel into n_out × n_out sub-cells (so every output
        // boundary falls on a sub-cell boundary) and average the sub-cells inside each output pixel.
        let (h_in, w_in, h, w) = (7usize, 5usize, 3usize, 2usize);
        let img = Array3::from_shape_fn((2, h_in, w_in), |(n, i, j)| {
            ((n * 31 + i * 7 + j * 13) % 17) as f32
        });
        let fast = downsample_area(img.view(), h, w);
        for n in 0..2 {
            for o in 0..h {
                for p in 0..w {
                    let mut sum = 0.0f64;
                    let mut count = 0usize;
                    // Sub-cell (a, b) at resolution h_in*h × w_in*w.
                    for a in o * h_in..(o + 1) * h_in {
                        for b in p * w_in..(p + 1) * w_in {
                            sum += img[[n, a / h, b / w]] as f64;
                            count += 1;
                        }
                    }
                    // f32 matrix products of values < 17 with weights summing to 1: error ≲ 1e-5.
                    assert_abs_diff_eq!(fast[[n, o, p]] as f64, sum / count as f64, epsilon = 1e-5);
                }
            }
        }
    }

    #[test]
    fn constant_images_stay_constant_and_scale_to_pm1() {
        for g in [0.0f32, 255.0, 100.0] {
            let img = Array3::from_elem((1, 28, 28), g);
            let small = downsample_area(img.view(), 16, 16);
            for &x in small.iter() {
                assert_abs_diff_eq!(x, g, epsilon = 1e-3);
            }
        }
        assert_eq!(grey_to_pm1(0.0), -1.0);
        assert_eq!(grey_to_pm1(255.0), 1.0);
        assert_eq!(grey_to_pm1(255.0 * 1.000_001), 1.0);
    }

    #[test]
    fn idx_round_trip_plain_and_gzip_with_any_size() {
        let dir = scratch("idx-rt");
        for compress in [false, true] {
            let (pi, pl) = write_idx_pair(&dir, 12, 5, 3, compress);
            let imgs = read_idx_images(&pi).unwrap();
            assert_eq!((imgs.count, imgs.rows, imgs.cols), (12, 5, 3));
            assert_eq!(imgs.view()[[1, 0, 0]], 1 + 15);
            let labels = read_idx_labels(&pl).unwrap();
            assert_eq!(labels, (0..12).map(|i| (i % 10) as u8).collect::<Vec<_>>());

            // Same size: only rescaling.
            let ds = load_idx(&pi, &pl, 5, 3).unwrap();
            assert_eq!((ds.len(), ds.height(), ds.width(), ds.n_visible()), (12, 5, 3, 25));
            assert_abs_diff_eq!(ds.pixels()[[1, 0]], grey_to_pm1(16.0));
            // Downsampled to 2 × 2: pixel (0,0) of image 0 averages the 2.5 × 1.5 corner.
            let small = load_idx(&pi, &pl, 2, 2).unwrap();
            let grey = read_idx_images(&pi).unwrap().view().mapv(f32::from);
            let expect = downsample_area(grey.view(), 2, 2)[[0, 0, 0]];
            assert_abs_diff_eq!(small.pixels()[[0, 0]], grey_to_pm1(expect), epsilon = 1e-6);
        }
        // bzip2 is recognised too.
        let lab = idx_bytes(IDX_LABELS_MAGIC, &[3], &[1, 2, 3]);
        let p = dir.join("labels.bz2.but.named.oddly");
        fs::write(&p, bzip(&lab)).unwrap();
        assert_eq!(read_idx_labels(&p).unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn idx_wrong_magic_is_an_error_naming_the_file() {
        let dir = scratch("idx-magic");
        let (pi, pl) = write_idx_pair(&dir, 4, 2, 2, false);
        // Labels file read as images and vice versa.
        let err = read_idx_images(&pl).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic { found: IDX_LABELS_MAGIC, expected: IDX_IMAGES_MAGIC, .. }
            ),
            "{err:?}"
        );
        assert_names(&err, &pl);
        let err = read_idx_labels(&pi).unwrap_err();
        assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
        assert_names(&err, &pi);
        // A text file.
        let p = dir.join("notes.txt");
        fs::write(&p, b"hello world").unwrap();
        let err = read_idx_images(&p).unwrap_err();
        assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
        assert_names(&err, &p);
    }

    #[test]
    fn idx_truncation_and_trailing_bytes_are_errors_naming_the_file() {
        let dir = scratch("idx-trunc");
        let full = idx_bytes(IDX_IMAGES_MAGIC, &[3, 4, 4], &[7u8; 48]);
        let p = dir.join("images");
        // Cut in the data, in the header, in the magic.
        for (cut, what) in [(full.len() - 1, "IDX data"), (10, "IDX header"), (2, "IDX header")] {
            fs::write(&p, &full[..cut]).unwrap();
            let err = read_idx_images(&p).unwrap_err();
            match &err {
                DataError::Truncated { what: w, .. } => assert_eq!(*w, what),
                other => panic!("cut at {cut}: expected Truncated, got {other:?}"),
            }
            assert_names(&err, &p);
        }
        // A truncated gzip stream is an I/O error, still naming the file.
        let gz = gzip(&full);
        fs::write(&p, &gz[..gz.len() / 2]).unwrap();
        let err = read_idx_images(&p).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err:?}");
        assert_names(&err, &p);
        // Extra bytes after the declared data.
        let mut long = full.clone();
        long.push(0);
        fs::write(&p, &long).unwrap();
        let err = read_idx_images(&p).unwrap_err();
        assert!(matches!(err, DataError::TrailingBytes { extra: 1, .. }), "{err:?}");
        assert_names(&err, &p);
        // A missing file.
        let missing = dir.join("nope");
        let err = read_idx_images(&missing).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err:?}");
        assert_names(&err, &missing);
        // Zero-sized images.
        fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[1, 0, 4], &[])).unwrap();
        let err = read_idx_images(&p).unwrap_err();
        assert!(matches!(err, DataError::BadHeader { .. }), "{err:?}");
        assert_names(&err, &p);
    }

    #[test]
    fn idx_count_mismatch_and_bad_labels_are_errors_naming_the_files() {
        let dir = scratch("idx-count");
        let (pi, _) = write_idx_pair(&dir, 4, 2, 2, true);
        let pl = dir.join("labels3");
        fs::write(&pl, idx_bytes(IDX_LABELS_MAGIC, &[3], &[0, 1, 2])).unwrap();
        let err = load_idx(&pi, &pl, 2, 2).unwrap_err();
        assert!(
            matches!(err, DataError::CountMismatch { n_images: 4, n_labels: 3, .. }),
            "{err:?}"
        );
        assert_names(&err, &pi);
        assert_names(&err, &pl);

        fs::write(&pl, idx_bytes(IDX_LABELS_MAGIC, &[4], &[0, 1, 12, 2])).unwrap();
        let err = load_idx(&pi, &pl, 2, 2).unwrap_err();
        assert!(matches!(err, DataError::BadLabel { index: 2, label: 12, .. }), "{err:?}");
        assert_names(&err, &pl);
    }

    fn usps_line(label: u32, values: &[f32]) -> String {
        let mut s = label.to_string();
        for (i, v) in values.iter().enumerate() {
            s.push_str(&format!(" {}:{}", i + 1, v));
        }
        s.push('\n');
        s
    }

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
        let err = load_usps(&p).unwrap_err();
        assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
        assert_names(&err, &p);
        fs::write(&p, b"3 1:0.5\n\xff\xfe\n").unwrap();
        let err = load_usps(&p).unwrap_err();
        assert!(matches!(err, DataError::BadUspsLine { line: 2, .. }), "{err:?}");
        // Forcing a convention that does not fit.
        fs::write(&p, "0 1:0.5\n").unwrap();
        let err = load_usps_with(&p, UspsLabels::OneToTen).unwrap_err();
        assert!(matches!(err, DataError::BadUspsLine { line: 1, .. }), "{err:?}");
    }

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

    #[test]
    fn shipped_mnist_10k_loads_as_the_paper_preprocesses_it() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist-10k");
        let ds = load_mnist_10k(&dir).unwrap();
        assert_eq!(ds.len(), 10_000);
        assert_eq!((ds.height(), ds.width(), ds.n_visible()), (16, 16, 266));
        // Counts from data/mnist-10k/README.md; first labels 9, 3, 6, 2, 3.
        assert_eq!(ds.class_counts(), [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
        assert_eq!(&ds.labels()[..5], &[9, 3, 6, 2, 3]);
        let px = ds.pixels();
        assert!(px.iter().all(|x| (-1.0..=1.0).contains(x)));
        // MNIST has a blank border: the 16 × 16 corners are background (−1) in every image.
        assert!(px.column(0).iter().all(|&x| x == -1.0));
        // Mean ink: MNIST's mean grey is ≈ 0.13 of 255, i.e. ≈ −0.74 in [−1, 1]; area averaging
        // preserves the mean exactly (weights sum to 1).
        let mean = px.mean().unwrap();
        assert!((-0.80..-0.68).contains(&mean), "mean pixel {mean}");

        let (train, test) = ds.split(Split::default()).unwrap();
        assert_eq!((train.len(), test.len()), (8000, 2000));
        assert_eq!(test.labels()[0], ds.labels()[8000]);
        // Both splits mix all classes.
        assert!(train.class_counts().iter().all(|&c| c > 600));
        assert!(test.class_counts().iter().all(|&c| c > 120));
    }
}
