//! Looking at a run's model: generated digits, classes of images, inpainted images — always
//! from a checkpoint on disk (the latest or a named one), never from the training state in
//! memory, so a run's result cannot depend on being looked at. Also the images these take,
//! brought to the model's side as the training data was.

use std::path::Path;

use ndarray::{Array2, Array3, Axis};

use super::{Manager, ServiceError};
use crate::data::{downsample_area, grey_to_pm1};
use crate::model::{Generated, HelmholtzMachine, Inpainting, Region, region_mask};
use crate::run::{self, Checkpoint, Connection, RunError};

/// Largest side of an image a client may send.
pub const MAX_SIDE: u32 = 4096;

/// An image as a client sends it.
#[derive(Clone, Debug, PartialEq)]
pub enum Image {
    /// Grey levels 0 (background) to 255 (ink), row-major.
    Grey { width: u32, height: u32, pixels: Vec<u8> },
    /// A PNG file.
    Png(Vec<u8>),
    /// Values in [−1, 1], row-major.
    Scaled { width: u32, height: u32, pixels: Vec<f32> },
}

/// An image's values in the model's scale (`scaled`) or as grey levels, `[height, width]`.
fn decode(image: &Image, field: &str) -> Result<(Array2<f32>, bool), ServiceError> {
    let shape = |w: u32, h: u32, len: usize| {
        if !(1..=MAX_SIDE).contains(&w) || !(1..=MAX_SIDE).contains(&h) {
            return Err(ServiceError::invalid(
                field,
                format!("{w} × {h} pixels: each side must lie in [1, {MAX_SIDE}]"),
            ));
        }
        if len != (w * h) as usize {
            return Err(ServiceError::invalid(
                field,
                format!("{len} pixel values for a {w} × {h} image (expected {})", w * h),
            ));
        }
        Ok((h as usize, w as usize))
    };
    match image {
        Image::Grey { width, height, pixels } => {
            let dim = shape(*width, *height, pixels.len())?;
            let values = pixels.iter().map(|&g| f32::from(g)).collect();
            Ok((Array2::from_shape_vec(dim, values).expect("checked shape"), false))
        }
        Image::Scaled { width, height, pixels } => {
            let dim = shape(*width, *height, pixels.len())?;
            if let Some(bad) = pixels.iter().find(|v| !(v.is_finite() && v.abs() <= 1.0)) {
                return Err(ServiceError::invalid(field, format!("{bad} is outside [-1, 1]")));
            }
            Ok((Array2::from_shape_vec(dim, pixels.clone()).expect("checked shape"), true))
        }
        Image::Png(bytes) => {
            let decoded = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
                .map_err(|e| ServiceError::invalid(field, format!("not a PNG image: {e}")))?
                .to_luma8();
            let (w, h) = decoded.dimensions();
            shape(w, h, decoded.as_raw().len())?;
            let values = decoded.as_raw().iter().map(|&g| f32::from(g)).collect();
            let dim = (h as usize, w as usize);
            Ok((Array2::from_shape_vec(dim, values).expect("checked shape"), false))
        }
    }
}

/// Images as the model sees them: each brought to `side × side` by exact area averaging (as
/// the training data was), grey levels mapped to [−1, 1]; `[n, side²]`. `field` names the
/// request's list (`images`) in errors.
pub fn to_model(images: &[Image], side: usize, field: &str) -> Result<Array2<f32>, ServiceError> {
    let mut out = Array2::zeros((images.len(), side * side));
    for (i, (image, mut row)) in images.iter().zip(out.outer_iter_mut()).enumerate() {
        let (values, scaled) = decode(image, &format!("{field}[{i}]"))?;
        let (h, w) = values.dim();
        let stack = values.insert_axis(Axis(0));
        let small: Array3<f32> =
            if (h, w) == (side, side) { stack } else { downsample_area(stack.view(), side, side) };
        for (o, &v) in row.iter_mut().zip(small.iter()) {
            *o = if scaled { v } else { grey_to_pm1(v) };
        }
    }
    Ok(out)
}

/// A run's error as the service reports it.
fn refusal(e: RunError) -> ServiceError {
    match e {
        RunError::NoCheckpoint { dir, update: None } => ServiceError::FailedPrecondition(format!(
            "{}: the run has no checkpoint yet",
            dir.file_name().unwrap_or_default().to_string_lossy()
        )),
        RunError::NoCheckpoint { update: Some(u), .. } => {
            ServiceError::invalid("checkpoint", format!("the run has no checkpoint at update {u}"))
        }
        other => ServiceError::Internal(format!("{other:#}")),
    }
}

/// The checkpoint of the run in `dir` (the latest unless `update` names one).
pub fn checkpoint(dir: &Path, update: Option<u64>) -> Result<Checkpoint, ServiceError> {
    run::load_checkpoint(dir, update).map_err(refusal)
}

/// `n` digits from the model at a checkpoint (see [`crate::model::generate`]).
pub fn generate(
    checkpoint: &Checkpoint,
    connection: &Connection,
    n: usize,
    reads_per_call: usize,
    seed: u64,
) -> Result<Generated, ServiceError> {
    let state = checkpoint.state.prior.clone();
    let config = &checkpoint.config;
    let mut prior = run::open_prior(config, Some(state), connection, &mut |_| {})
        .map_err(|e| ServiceError::Unavailable(format!("{e:#}")))?;
    crate::model::generate(&checkpoint.state.machine, prior.as_mut(), n, reads_per_call, seed)
        .map_err(|e| ServiceError::Unavailable(format!("{e:#}")))
}

/// Class-bit means `[n, classes]` of images `[n, pixels]` through the model, and each image's
/// probabilities: P(bit c on) = (1 + mean_c) / 2, normalised over the classes.
pub fn classify(machine: &HelmholtzMachine, pixels: &Array2<f32>) -> (Vec<u8>, Array2<f32>) {
    let means = machine.class_scores(pixels.view());
    let classes = crate::model::argmax_rows(means.view());
    let mut probabilities = means.mapv(|m| (1.0 + m) / 2.0);
    for mut row in probabilities.outer_iter_mut() {
        let total: f32 = row.sum();
        if total > 0.0 {
            row /= total;
        }
    }
    (classes, probabilities)
}

/// Images with `hidden` pixels restored through the model (see
/// [`HelmholtzMachine::inpaint`]).
pub fn reconstruct(
    machine: &HelmholtzMachine,
    pixels: &Array2<f32>,
    hidden: &[bool],
    passes: usize,
) -> Inpainting {
    machine.inpaint(pixels.view(), hidden, passes)
}

/// Which pixels to hide for [`Manager::reconstruct`].
#[derive(Clone, Debug, PartialEq)]
pub enum Mask {
    Region(Region),
    /// One flag per pixel at the model's side, row-major (`true` = hidden).
    Pixels(Vec<bool>),
}

/// A count of a request: its value, or `default` for 0, within `[1, max]`.
fn count(field: &str, value: u64, default: usize, max: usize) -> Result<usize, ServiceError> {
    let value = if value == 0 { default as u64 } else { value };
    if !(1..=max as u64).contains(&value) {
        return Err(ServiceError::invalid(field, format!("{value} is outside [1, {max}]")));
    }
    Ok(value as usize)
}

/// The side of a machine's square images.
fn side_of(machine: &HelmholtzMachine) -> usize {
    (machine.sizes.pixels as f64).sqrt().round() as usize
}

/// What a look at a checkpoint found, and which checkpoint it was.
#[derive(Clone, Debug, PartialEq)]
pub struct Looked<T> {
    /// Updates the checkpoint holds.
    pub checkpoint: u64,
    /// Side of the model's square images.
    pub side: usize,
    pub value: T,
}

impl Manager {
    /// Runs `look` on the run's checkpoint on a blocking thread.
    async fn look<T: Send + 'static>(
        &self,
        id: &str,
        update: Option<u64>,
        look: impl FnOnce(&Checkpoint, &Connection) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<Looked<T>, ServiceError> {
        self.get(id)?;
        let dir = self.dir_of(id);
        let connection = self.connection().clone();
        tokio::task::spawn_blocking(move || {
            let checkpoint = checkpoint(&dir, update)?;
            let value = look(&checkpoint, &connection)?;
            let side = side_of(&checkpoint.state.machine);
            Ok(Looked { checkpoint: checkpoint.state.iteration, side, value })
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// `n` ([1, 10000]) digits from the run's model, prior samples in calls of
    /// `reads_per_call` ([1, 10000], 0 = 10) reads.
    pub async fn generate(
        &self,
        id: &str,
        n: u64,
        reads_per_call: u64,
        seed: u64,
        update: Option<u64>,
    ) -> Result<Looked<Generated>, ServiceError> {
        let n = count("n", n, 0, 10_000)?;
        let per_call = count("reads_per_call", reads_per_call, 10, 10_000)?;
        self.look(id, update, move |c, connection| generate(c, connection, n, per_call, seed)).await
    }

    /// The class and per-class probabilities of each image (at most 10000).
    pub async fn classify(
        &self,
        id: &str,
        images: Vec<Image>,
        update: Option<u64>,
    ) -> Result<Looked<(Vec<u8>, Array2<f32>)>, ServiceError> {
        count("images", images.len() as u64, 0, 10_000)?;
        self.look(id, update, move |c, _| {
            let machine = &c.state.machine;
            let pixels = to_model(&images, side_of(machine), "images")?;
            Ok(classify(machine, &pixels))
        })
        .await
    }

    /// Images (at most 1000) with `mask` hidden, restored in `passes` ([1, 1000], 0 = 10).
    pub async fn reconstruct(
        &self,
        id: &str,
        images: Vec<Image>,
        mask: Mask,
        passes: u64,
        update: Option<u64>,
    ) -> Result<Looked<Inpainting>, ServiceError> {
        count("images", images.len() as u64, 0, 1000)?;
        let passes = count("passes", passes, 10, 1000)?;
        self.look(id, update, move |c, _| {
            let machine = &c.state.machine;
            let side = side_of(machine);
            let hidden = match mask {
                Mask::Region(region) => region_mask(region, side),
                Mask::Pixels(hidden) if hidden.len() == side * side => hidden,
                Mask::Pixels(hidden) => {
                    return Err(ServiceError::invalid(
                        "hidden",
                        format!("{} flags for {side} × {side} pixels", hidden.len()),
                    ));
                }
            };
            let pixels = to_model(&images, side, "images")?;
            Ok(reconstruct(machine, &pixels, &hidden, passes))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_of_any_size_are_averaged_to_the_models_side_as_the_data_was() {
        // A 32 × 32 grey image of two halves: averaging 2 × 2 blocks keeps the halves.
        let pixels: Vec<u8> = (0..32 * 32).map(|p| if p % 32 < 16 { 0 } else { 255 }).collect();
        let grey = Image::Grey { width: 32, height: 32, pixels };
        let x = to_model(&[grey], 16, "images").unwrap();
        assert_eq!(x.dim(), (1, 256));
        assert_eq!((x[[0, 0]], x[[0, 15]]), (-1.0, 1.0));
        // A scaled image at the model's side passes unchanged.
        let values: Vec<f32> = (0..256).map(|p| (p as f32 / 255.0) * 2.0 - 1.0).collect();
        let scaled = Image::Scaled { width: 16, height: 16, pixels: values.clone() };
        assert_eq!(to_model(&[scaled], 16, "images").unwrap().row(0).to_vec(), values);
    }

    #[test]
    fn a_png_reads_as_its_grey_levels() {
        let img =
            image::GrayImage::from_fn(16, 16, |x, _| image::Luma([if x < 8 { 0 } else { 255 }]));
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let x = to_model(&[Image::Png(png.into_inner())], 16, "images").unwrap();
        assert_eq!((x[[0, 0]], x[[0, 8]]), (-1.0, 1.0));
    }

    #[test]
    fn bad_images_are_named_by_their_place_in_the_request() {
        let short = Image::Grey { width: 4, height: 4, pixels: vec![0; 15] };
        let e = to_model(&[Image::Png(vec![1, 2]), short.clone()], 16, "images").unwrap_err();
        assert!(matches!(&e, ServiceError::Invalid { field, .. } if field == "images[0]"), "{e}");
        let ok = Image::Grey { width: 1, height: 1, pixels: vec![0] };
        let e = to_model(&[ok, short], 16, "images").unwrap_err();
        assert_eq!(e.to_string(), "images[1]: 15 pixel values for a 4 × 4 image (expected 16)");
        let huge = Image::Scaled { width: 5000, height: 1, pixels: vec![] };
        assert!(to_model(&[huge], 16, "images").unwrap_err().to_string().contains("[1, 4096]"));
    }
}
