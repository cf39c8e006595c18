//! Outputs of a run: PNG grids of digits (the paper's Fig. 2 c–e) and metrics as JSON lines.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use image::{GrayImage, Luma};
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Image { path: PathBuf, source: image::ImageError },
    #[error("{0}")]
    Shape(String),
}

/// Layout of a grid picture.
#[derive(Clone, Copy, Debug)]
pub struct GridLayout {
    /// Side of one square image in pixels (16 for the paper's digits).
    pub side: usize,
    pub columns: usize,
    /// Each source pixel becomes `scale × scale` output pixels.
    pub scale: u32,
    /// Background pixels between images.
    pub gap: u32,
}

impl Default for GridLayout {
    fn default() -> Self {
        GridLayout { side: 16, columns: 10, scale: 3, gap: 2 }
    }
}

fn grey(value: f32) -> u8 {
    // [-1, 1] → [0, 255]: background −1 is black, ink +1 white, as in MNIST.
    (((value.clamp(-1.0, 1.0) + 1.0) * 127.5).round()) as u8
}

/// Draws images (rows of `[n, side²]`, values in [−1, 1]) into a grid, row-major; `None`
/// leaves a cell empty.
fn draw_cells(cells: &[Option<ArrayView1<f32>>], rows: usize, layout: GridLayout) -> GrayImage {
    let cell = layout.side as u32 * layout.scale;
    let width = layout.columns as u32 * (cell + layout.gap) + layout.gap;
    let height = rows as u32 * (cell + layout.gap) + layout.gap;
    let mut img = GrayImage::from_pixel(width, height, Luma([64]));
    for (index, image) in cells.iter().enumerate() {
        let Some(image) = image else { continue };
        let (row, col) = (index / layout.columns, index % layout.columns);
        let x0 = layout.gap + col as u32 * (cell + layout.gap);
        let y0 = layout.gap + row as u32 * (cell + layout.gap);
        for (p, &value) in image.iter().enumerate().take(layout.side * layout.side) {
            let (py, px) = ((p / layout.side) as u32, (p % layout.side) as u32);
            for dy in 0..layout.scale {
                for dx in 0..layout.scale {
                    img.put_pixel(
                        x0 + px * layout.scale + dx,
                        y0 + py * layout.scale + dy,
                        Luma([grey(value)]),
                    );
                }
            }
        }
    }
    img
}

fn save(img: &GrayImage, path: &Path) -> Result<(), ReportError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|source| ReportError::Io { path: parent.to_path_buf(), source })?;
    }
    // Written next to the target and renamed, so a crash never leaves half a picture.
    let tmp = path.with_extension("png.tmp");
    img.save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(|source| ReportError::Image { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path)
        .map_err(|source| ReportError::Io { path: path.to_path_buf(), source })
}

fn check_width(images: ArrayView2<f32>, layout: GridLayout) -> Result<(), ReportError> {
    if images.ncols() < layout.side * layout.side {
        return Err(ReportError::Shape(format!(
            "images have {} values, need at least {} for {}×{} pixels",
            images.ncols(),
            layout.side * layout.side,
            layout.side,
            layout.side
        )));
    }
    Ok(())
}

/// A grid of images `[n, ≥ side²]` (Fig. 2c: generated digits; 2d: their nearest neighbours).
pub fn write_grid(
    path: &Path,
    images: ArrayView2<f32>,
    layout: GridLayout,
) -> Result<(), ReportError> {
    check_width(images, layout)?;
    let cells: Vec<_> = images.outer_iter().map(Some).collect();
    let rows = cells.len().div_ceil(layout.columns).max(1);
    save(&draw_cells(&cells, rows, layout), path)
}

/// Index of the nearest row of `pool` (Euclidean distance over the first `width` columns)
/// for each row of `queries`.
pub fn nearest_neighbours(
    queries: ArrayView2<f32>,
    pool: ArrayView2<f32>,
    width: usize,
) -> Vec<usize> {
    let q = queries.slice(ndarray::s![.., ..width]);
    let p = pool.slice(ndarray::s![.., ..width]);
    // |q − p|² = |q|² − 2 q·p + |p|²; |q|² is constant per query, so drop it.
    let pool_norms: Vec<f32> = p.outer_iter().map(|r| r.dot(&r)).collect();
    let cross: Array2<f32> = q.dot(&p.t());
    cross
        .outer_iter()
        .map(|row| {
            row.iter()
                .zip(&pool_norms)
                .map(|(&c, &n)| n - 2.0 * c)
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
                .unwrap_or(0)
        })
        .collect()
}

/// Fig. 2e: one row per class, holding the images whose most probable class it is, most
/// confident first (`class_scores` is `[n, classes]`, higher = more probable).
pub fn write_class_grid(
    path: &Path,
    images: ArrayView2<f32>,
    class_scores: ArrayView2<f32>,
    layout: GridLayout,
) -> Result<(), ReportError> {
    check_width(images, layout)?;
    let classes = class_scores.ncols();
    let mut by_class: Vec<Vec<(f32, usize)>> = vec![Vec::new(); classes];
    for (i, scores) in class_scores.outer_iter().enumerate() {
        let (best, &score) = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .ok_or_else(|| ReportError::Shape("no class scores".into()))?;
        by_class[best].push((score, i));
    }
    let mut cells = Vec::with_capacity(classes * layout.columns);
    for members in &mut by_class {
        members.sort_by(|a, b| b.0.total_cmp(&a.0));
        for slot in 0..layout.columns {
            cells.push(members.get(slot).map(|&(_, i)| images.row(i)));
        }
    }
    save(&draw_cells(&cells, classes, layout), path)
}

/// Appends one JSON object per line, flushed at every line (a crash loses at most one line).
pub struct MetricsWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl MetricsWriter {
    pub fn append(path: &Path) -> Result<Self, ReportError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| ReportError::Io { path: path.to_path_buf(), source })?;
        Ok(MetricsWriter { path: path.to_path_buf(), out: BufWriter::new(file) })
    }

    pub fn write<T: Serialize>(&mut self, record: &T) -> Result<(), ReportError> {
        let io = |source| ReportError::Io { path: self.path.clone(), source };
        let line = serde_json::to_string(record).map_err(|e| io(std::io::Error::other(e)))?;
        writeln!(self.out, "{line}").map_err(io)?;
        self.out.flush().map_err(|source| ReportError::Io { path: self.path.clone(), source })
    }
}

/// Mean over rows of the squared difference of the first `width` columns.
pub fn mean_squared_error(a: ArrayView2<f32>, b: ArrayView2<f32>, width: usize) -> f32 {
    let d = &a.slice(ndarray::s![.., ..width]) - &b.slice(ndarray::s![.., ..width]);
    d.mapv(|x| x * x).sum_axis(Axis(1)).mean().unwrap_or(0.0) / width as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn nearest_neighbour_is_the_closest_row() {
        let pool = array![[0.0, 0.0], [1.0, 1.0], [-1.0, 1.0]];
        let queries = array![[0.9, 0.8], [-0.7, 0.9], [0.1, -0.1]];
        assert_eq!(nearest_neighbours(queries.view(), pool.view(), 2), vec![1, 2, 0]);
    }

    #[test]
    fn grids_are_written_as_png_of_the_expected_size() {
        let dir = std::env::temp_dir().join(format!("qahm-report-{}", std::process::id()));
        let images =
            Array2::from_shape_fn((12, 256), |(i, p)| if (i + p) % 3 == 0 { 1.0 } else { -1.0 });
        let layout = GridLayout::default();
        let path = dir.join("grid.png");
        write_grid(&path, images.view(), layout).unwrap();
        let img = image::open(&path).unwrap().to_luma8();
        let cell = 16 * 3;
        assert_eq!(img.width(), 10 * (cell + 2) + 2);
        assert_eq!(img.height(), 2 * (cell + 2) + 2);
        // The first pixel of the first image is ink (+1 → 255).
        assert_eq!(img.get_pixel(2, 2).0[0], 255);

        let scores = Array2::from_shape_fn((12, 10), |(i, c)| if c == i % 10 { 1.0 } else { 0.0 });
        write_class_grid(&dir.join("classes.png"), images.view(), scores.view(), layout).unwrap();
        let img = image::open(dir.join("classes.png")).unwrap().to_luma8();
        assert_eq!(img.height(), 10 * (cell + 2) + 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn too_narrow_images_are_an_error() {
        let images = Array2::<f32>::zeros((2, 100));
        let path = std::env::temp_dir().join("qahm-never-written.png");
        assert!(matches!(
            write_grid(&path, images.view(), GridLayout::default()),
            Err(ReportError::Shape(_))
        ));
    }
}
