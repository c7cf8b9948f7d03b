//! Image input: a folder of class sub-folders, and the model's preprocessing.
//!
//! Preprocessing for EfficientNet-Lite0 (the TensorFlow evaluation recipe,
//! with a bilinear resize): a centred square crop of 224/256 of the shorter
//! side, offset `(side - crop + 1) / 2`; a bilinear resize to 224 x 224
//! (half-pixel centres, no antialiasing: PyTorch's
//! `interpolate(mode="bilinear", align_corners=False)`); grey images
//! repeated over the three channels; then `(x - 127) / 128` per value.

use std::path::{Path, PathBuf};

use super::efficientnet::IMAGE_SIZE;
use super::ExtractError;
use crate::io::{read_npy_f32, FileError, Problem};

/// File extensions read as images (case-insensitive).
const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];
/// TensorFlow's crop padding: the crop is `size / (size + 32)` of the shorter side.
const CROP_PADDING: usize = 32;

/// The images of a class-folder tree and their class names.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFolder {
    /// Image files, class by class, each class's files sorted by name.
    pub files: Vec<PathBuf>,
    /// The class (sub-folder name) of each file.
    pub labels: Vec<String>,
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, ExtractError> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| ExtractError::io(dir, e))? {
        let path = entry.map_err(|e| ExtractError::io(dir, e))?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden {
            entries.push(path);
        }
    }
    entries.sort();
    Ok(entries)
}

/// Lists `root/<class>/<image>` (sub-folders sorted by name are the classes;
/// hidden entries, loose files in `root` and non-image files are skipped).
/// A tree with no images is an error.
pub fn list_image_folder(root: &Path) -> Result<ImageFolder, ExtractError> {
    let mut folder = ImageFolder {
        files: Vec::new(),
        labels: Vec::new(),
    };
    for class_dir in sorted_entries(root)?.into_iter().filter(|p| p.is_dir()) {
        let class = class_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for file in sorted_entries(&class_dir)? {
            let is_image = file.extension().is_some_and(|e| {
                let e = e.to_string_lossy().to_ascii_lowercase();
                IMAGE_EXTENSIONS.contains(&e.as_str())
            });
            if is_image && file.is_file() {
                folder.files.push(file);
                folder.labels.push(class.clone());
            }
        }
    }
    if folder.files.is_empty() {
        return Err(ExtractError::EmptyInput {
            path: root.to_path_buf(),
        });
    }
    Ok(folder)
}

/// A stack of images from an `.npy` file, as intensities in [0, 255].
#[derive(Debug, Clone, PartialEq)]
pub struct ImageStack {
    /// Number of images.
    pub count: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// Channels per pixel: 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// `count * height * width * channels` values, image-major, then row,
    /// column, channel (NumPy's C order of an `(N, H, W, C)` array).
    pub pixels: Vec<f32>,
}

/// Reads an image stack: shape `(N, H, W)` (grey) or `(N, H, W, C)` with
/// C = 1 or 3, H and W not zero, C order, any numeric dtype (`u8` 0-255, or
/// floats taken as 0-255).
pub fn read_image_stack(path: &Path) -> Result<ImageStack, ExtractError> {
    let array = read_npy_f32(path)?;
    let dims: Vec<usize> = array.shape.iter().map(|&d| d as usize).collect();
    let (count, height, width, channels) = match dims[..] {
        [n, h, w] => (n, h, w, 1),
        [n, h, w, c] if c == 1 || c == 3 => (n, h, w, c),
        _ => (0, 0, 0, 0),
    };
    if height == 0 || width == 0 {
        return Err(FileError::bad(
            path,
            Problem::Shape {
                expected: "an image stack (N, H, W) or (N, H, W, C) with C = 1 or 3",
                got: array.shape,
            },
        )
        .into());
    }
    Ok(ImageStack {
        count,
        height,
        width,
        channels,
        pixels: array.values,
    })
}

/// Decodes an image file to RGB intensities in [0, 255]: `(height, width, pixels)`.
pub fn load_rgb(path: &Path) -> Result<(usize, usize, Vec<f32>), ExtractError> {
    let image = image::open(path).map_err(|source| ExtractError::Image {
        path: path.to_path_buf(),
        source,
    })?;
    let rgb = image.to_rgb8();
    let (w, h) = rgb.dimensions();
    Ok((
        h as usize,
        w as usize,
        rgb.into_raw().into_iter().map(f32::from).collect(),
    ))
}

/// Source index and weight pair of one output coordinate of a bilinear resize.
fn bilinear_taps(input: usize, output: usize) -> Vec<(usize, usize, f32)> {
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|d| {
            let src = (scale * (d as f32 + 0.5) - 0.5).max(0.0);
            let i0 = (src as usize).min(input - 1);
            let i1 = if i0 + 1 < input { i0 + 1 } else { i0 };
            (i0, i1, src - i0 as f32)
        })
        .collect()
}

/// Preprocesses one `height x width x channels` image (channels 1 or 3,
/// intensities in [0, 255]) into the model's `224 x 224 x 3` input.
pub fn preprocess(height: usize, width: usize, channels: usize, pixels: &[f32]) -> Vec<f32> {
    assert!(channels == 1 || channels == 3, "1 or 3 channels");
    assert_eq!(pixels.len(), height * width * channels, "pixel count");
    let side = height.min(width);
    let crop = ((IMAGE_SIZE * side) / (IMAGE_SIZE + CROP_PADDING)).max(1);
    let (top, left) = ((height - crop).div_ceil(2), (width - crop).div_ceil(2));
    let ys = bilinear_taps(crop, IMAGE_SIZE);
    let xs = bilinear_taps(crop, IMAGE_SIZE);
    let at = |y: usize, x: usize, c: usize| {
        let c = if channels == 1 { 0 } else { c };
        pixels[((top + y) * width + left + x) * channels + c]
    };
    let mut out = Vec::with_capacity(IMAGE_SIZE * IMAGE_SIZE * 3);
    for &(y0, y1, ly) in &ys {
        for &(x0, x1, lx) in &xs {
            for c in 0..3 {
                let top_row = (1.0 - lx) * at(y0, x0, c) + lx * at(y0, x1, c);
                let bottom_row = (1.0 - lx) * at(y1, x0, c) + lx * at(y1, x1, c);
                let v = (1.0 - ly) * top_row + ly * bottom_row;
                out.push((v - 127.0) / 128.0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_lists_classes_in_order_and_skips_other_files() {
        let root = std::env::temp_dir().join(format!("hetal-imgs-{}", std::process::id()));
        for (class, file) in [("dogs", "b.png"), ("cats", "z.png"), ("cats", "a.PNG")] {
            std::fs::create_dir_all(root.join(class)).unwrap();
            image::RgbImage::new(4, 3)
                .save(root.join(class).join(file))
                .unwrap();
        }
        std::fs::write(root.join("cats/notes.txt"), b"x").unwrap();
        std::fs::write(root.join("loose.png"), b"x").unwrap();
        let folder = list_image_folder(&root).unwrap();
        let names: Vec<String> = folder
            .files
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["cats/a.PNG", "cats/z.png", "dogs/b.png"]);
        assert_eq!(folder.labels, ["cats", "cats", "dogs"]);
        let (h, w, px) = load_rgb(&folder.files[0]).unwrap();
        assert_eq!((h, w, px.len()), (3, 4, 36));
        // A corrupt image is an error naming the file.
        std::fs::write(root.join("dogs/b.png"), b"not a png").unwrap();
        let err = load_rgb(&root.join("dogs/b.png")).unwrap_err();
        assert!(err.to_string().contains("b.png"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
        assert!(matches!(
            list_image_folder(&root),
            Err(ExtractError::Io { .. })
        ));
    }

    #[test]
    fn preprocessing_of_a_constant_image_is_constant() {
        let px = vec![255.0; 30 * 40];
        let out = preprocess(30, 40, 1, &px);
        assert_eq!(out.len(), IMAGE_SIZE * IMAGE_SIZE * 3);
        assert!(out.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn bilinear_taps_use_half_pixel_centres() {
        // Upscaling 2 -> 4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25.
        let taps = bilinear_taps(2, 4);
        assert_eq!(taps[0], (0, 1, 0.0));
        assert_eq!(taps[1], (0, 1, 0.25));
        assert_eq!(taps[2], (0, 1, 0.75));
        assert_eq!(taps[3], (1, 1, 0.25));
    }
}
