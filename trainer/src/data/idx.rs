//! The IDX format MNIST is distributed in, and loading IDX files as a [`Dataset`].

use std::path::Path;

use ndarray::ArrayView3;

use super::read_maybe_compressed;
use super::{DataError, Dataset, Shape, downsample_area, grey_to_pm1};

/// IDX magic of an unsigned-byte, 3-dimensional array (images N × H × W).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// IDX magic of an unsigned-byte, 1-dimensional array (labels).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// File name of the shipped images in `data/mnist-10k/`.
pub const MNIST_10K_IMAGES: &str = "mnist10k-images-idx3-ubyte.gz";
/// File name of the shipped labels in `data/mnist-10k/`.
pub const MNIST_10K_LABELS: &str = "mnist10k-labels-idx1-ubyte.gz";

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
    let truncated = |what, expected: usize, found: usize| DataError::Truncated {
        path: path_buf(),
        what,
        expected: expected as u64,
        found: found as u64,
    };
    if bytes.len() < 4 {
        return Err(truncated("IDX header", 4, bytes.len()));
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
        return Err(truncated("IDX header", header_len, bytes.len()));
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
        return Err(truncated("IDX data", total, data.len()));
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

/// Loads IDX images and labels, brings the images to `shape.side × shape.side` by exact area
/// averaging ([`downsample_area`]) and maps grey values from [0, 255] to [−1, +1]. Every label
/// must be below `shape.classes`.
///
/// With the stored size equal to the model's the images are only rescaled.
pub fn load_idx(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
    shape: Shape,
) -> Result<Dataset, DataError> {
    let (images_path, labels_path) = (images.as_ref(), labels.as_ref());
    let side = shape.side;
    if side == 0 {
        return Err(DataError::Invalid(format!("target size {side} x {side}")));
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
    // Area averaging is affine-invariant (its weights sum to 1), so average raw grey values and
    // rescale afterwards.
    let grey = idx.view().mapv(f32::from);
    let small = if (idx.rows, idx.cols) == (side, side) {
        grey
    } else {
        downsample_area(grey.view(), side, side)
    };
    let pixels = small
        .into_shape_with_order((idx.count, side * side))
        .expect("contiguous standard layout")
        .mapv_into(grey_to_pm1);
    Dataset { pixels, labels, height: side, width: side, classes: shape.classes }
        .with_classes(shape.classes, labels_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_util::{
        assert_error_naming, assert_names, bzip, gzip, idx_bytes, scratch,
    };
    use approx::assert_abs_diff_eq;
    use std::fs;
    use std::path::PathBuf;

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
            let (pi3, pl3) = write_idx_pair(&dir, 12, 3, 3, compress);
            let ds = load_idx(&pi3, &pl3, Shape { side: 3, classes: 10 }).unwrap();
            assert_eq!((ds.len(), ds.height(), ds.width(), ds.n_visible()), (12, 3, 3, 19));
            assert_abs_diff_eq!(ds.pixels()[[1, 0]], grey_to_pm1(10.0));
            // Downsampled to 2 × 2: pixel (0,0) of image 0 averages the 2.5 × 1.5 corner.
            let small = load_idx(&pi, &pl, Shape { side: 2, classes: 10 }).unwrap();
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
        assert_error_naming!(
            read_idx_images(&pl),
            &pl,
            DataError::BadMagic { found: IDX_LABELS_MAGIC, expected: IDX_IMAGES_MAGIC, .. }
        );
        assert_error_naming!(read_idx_labels(&pi), &pi, DataError::BadMagic { .. });
        // A text file.
        let p = dir.join("notes.txt");
        fs::write(&p, b"hello world").unwrap();
        assert_error_naming!(read_idx_images(&p), &p, DataError::BadMagic { .. });
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
        assert_error_naming!(read_idx_images(&p), &p, DataError::Io { .. });
        // Extra bytes after the declared data.
        let mut long = full.clone();
        long.push(0);
        fs::write(&p, &long).unwrap();
        assert_error_naming!(read_idx_images(&p), &p, DataError::TrailingBytes { extra: 1, .. });
        // A missing file.
        let missing = dir.join("nope");
        assert_error_naming!(read_idx_images(&missing), &missing, DataError::Io { .. });
        // Zero-sized images.
        fs::write(&p, idx_bytes(IDX_IMAGES_MAGIC, &[1, 0, 4], &[])).unwrap();
        assert_error_naming!(read_idx_images(&p), &p, DataError::BadHeader { .. });
    }

    #[test]
    fn idx_count_mismatch_and_bad_labels_are_errors_naming_the_files() {
        let dir = scratch("idx-count");
        let (pi, _) = write_idx_pair(&dir, 4, 2, 2, true);
        let pl = dir.join("labels3");
        fs::write(&pl, idx_bytes(IDX_LABELS_MAGIC, &[3], &[0, 1, 2])).unwrap();
        let err = assert_error_naming!(
            load_idx(&pi, &pl, Shape { side: 2, classes: 10 }),
            &pi,
            DataError::CountMismatch { n_images: 4, n_labels: 3, .. }
        );
        assert_names(&err, &pl);

        fs::write(&pl, idx_bytes(IDX_LABELS_MAGIC, &[4], &[0, 1, 12, 2])).unwrap();
        assert_error_naming!(
            load_idx(&pi, &pl, Shape { side: 2, classes: 10 }),
            &pl,
            DataError::TooManyClasses { index: 2, label: 12, classes: 10, .. }
        );
        // With enough class bits the same labels load.
        let ds = load_idx(&pi, &pl, Shape { side: 2, classes: 13 }).unwrap();
        assert_eq!((ds.classes(), ds.n_visible()), (13, 17));
    }
}
