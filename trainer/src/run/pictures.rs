//! A run's pictures: PNG grids of digits, as the paper's Fig. 2 c–e — generated digits, the
//! nearest training image of each, generated digits by their most probable class.

use std::path::Path;

use image::{GrayImage, Luma};
use ndarray::{ArrayView1, ArrayView2, Axis, s};
use thiserror::Error;

use super::files::{FileError, write_atomic};
use crate::data::Dataset;
use crate::eval::nearest_neighbours;
use crate::model::HelmholtzMachine;
use crate::prior::{Prior, PriorError};
use crate::seed;

#[derive(Debug, Error)]
pub enum PictureError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{0}")]
    Encode(#[from] image::ImageError),
    #[error("{0}")]
    Shape(String),
    #[error(transparent)]
    Prior(#[from] PriorError),
}

/// The pictures' prior samples come from calls of this many reads: the reads of one call share
/// its control errors and lean towards the same few digits (one call of 100 reads can miss a
/// class that ten calls of ten show in its share).
pub const READS_PER_CALL: usize = 10;

/// Fig. 2 c–e into `dir`: `generated.png` (100 generated digits), `nearest.png` (the nearest
/// training image of each), `by_class.png` (1000 generated digits sorted into rows by their
/// most probable class). The prior draws are viewing draws on their own streams.
pub fn write_pictures(
    dir: &Path,
    machine: &HelmholtzMachine,
    prior: &mut dyn Prior,
    train: &Dataset,
) -> Result<(), PictureError> {
    let samples = prior.view(100, READS_PER_CALL, seed::PICTURES_GENERATED)?;
    let generated = machine.generator.generate_mean_field(samples.view());
    let pixels = machine.sizes.pixels;
    // Square images of the model's side (`data.side`).
    let layout = GridLayout { side: pixels.isqrt(), ..GridLayout::default() };
    write_grid(&dir.join("generated.png"), generated.view(), layout)?;
    let nearest = nearest_neighbours(generated.view(), train.pixels(), pixels);
    let neighbours = train.pixels().select(Axis(0), &nearest);
    write_grid(&dir.join("nearest.png"), neighbours.view(), layout)?;
    // More samples for the by-class picture, so every class row can fill up.
    let more = prior.view(1000, READS_PER_CALL, seed::PICTURES_BY_CLASS)?;
    let more_generated = machine.generator.generate_mean_field(more.view());
    let classes = more_generated.slice(s![.., pixels..]);
    write_class_grid(&dir.join("by_class.png"), more_generated.view(), classes, layout)
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

fn save(img: &GrayImage, path: &Path) -> Result<(), PictureError> {
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)?;
    Ok(write_atomic(path, png.get_ref())?)
}

fn check_width(images: ArrayView2<f32>, layout: GridLayout) -> Result<(), PictureError> {
    if images.ncols() < layout.side * layout.side {
        return Err(PictureError::Shape(format!(
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
) -> Result<(), PictureError> {
    check_width(images, layout)?;
    let cells: Vec<_> = images.outer_iter().map(Some).collect();
    let rows = cells.len().div_ceil(layout.columns).max(1);
    save(&draw_cells(&cells, rows, layout), path)
}

/// Fig. 2e: one row per class, holding the images whose most probable class it is, most
/// confident first (`class_scores` is `[n, classes]`, higher = more probable).
pub fn write_class_grid(
    path: &Path,
    images: ArrayView2<f32>,
    class_scores: ArrayView2<f32>,
    layout: GridLayout,
) -> Result<(), PictureError> {
    check_width(images, layout)?;
    let classes = class_scores.ncols();
    let mut by_class: Vec<Vec<(f32, usize)>> = vec![Vec::new(); classes];
    for (i, scores) in class_scores.outer_iter().enumerate() {
        let (best, &score) = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .ok_or_else(|| PictureError::Shape("no class scores".into()))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

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
            Err(PictureError::Shape(_))
        ));
    }
}
