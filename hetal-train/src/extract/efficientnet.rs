//! EfficientNet-Lite0 feature extractor (1280-d pooled features).
//!
//! EfficientNet-Lite is EfficientNet-B0's block layout without
//! squeeze-and-excitation, with ReLU6 activations, batch norm with
//! epsilon 1e-3, an unscaled stem (32 channels) and head (1280 channels),
//! and TensorFlow "same" padding (the extra pixel of an even padding goes
//! after, on the bottom and right). Weight names follow the PyTorch port of
//! the TensorFlow checkpoint (`_conv_stem`, `_blocks.N._expand_conv`, ...).
//!
//! Activations are kept channels-last (NHWC): the 1x1 convolutions, which
//! hold almost all the arithmetic, are matrix products (candle's gemm, all
//! cores), the depthwise convolutions a direct loop parallel over rows.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use rayon::prelude::*;

use super::ExtractError;

/// Input resolution of EfficientNet-Lite0.
pub const IMAGE_SIZE: usize = 224;
/// Width of the pooled features.
pub const FEATURE_DIM: usize = 1280;
/// Batch-norm epsilon of the TensorFlow models.
const BN_EPS: f32 = 1e-3;

/// Stages of EfficientNet-Lite0: (repeats, kernel, first stride, expansion, output channels).
const STAGES: [(usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
];
const STEM_CHANNELS: usize = 32;

/// A batch of channels-last activations.
#[derive(Debug, Clone)]
pub struct Activations {
    /// Batch size.
    pub n: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// `n * h * w * c` values, NHWC.
    pub data: Vec<f32>,
}

/// Named `f32` tensors (PyTorch names, row-major, with their shapes).
pub type Weights = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// Batch norm in inference form: `y = x * scale + shift`, per channel.
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// A convolution followed by batch norm and, optionally, ReLU6.
struct Conv {
    /// Pointwise and stem weights `[k*k*cin, cout]`; depthwise `[k*k, c]`.
    weight: Vec<f32>,
    k: usize,
    stride: usize,
    cin: usize,
    cout: usize,
    depthwise: bool,
    bn: Affine,
    relu6: bool,
}

struct Block {
    expand: Option<Conv>,
    depthwise: Conv,
    project: Conv,
    skip: bool,
}

/// EfficientNet-Lite0 up to global average pooling.
pub struct EfficientNetLite0 {
    stem: Conv,
    blocks: Vec<Block>,
    head: Conv,
    device: Device,
}

fn take<'a>(w: &'a Weights, name: &str, shape: &[usize]) -> Result<&'a [f32], ExtractError> {
    let missing = || ExtractError::Unsupported {
        path: "EfficientNet-Lite0 weights".into(),
        what: format!("tensor `{name}` missing or not of shape {shape:?}"),
    };
    match w.get(name) {
        Some((s, data)) if s == shape && data.len() == shape.iter().product::<usize>() => Ok(data),
        _ => Err(missing()),
    }
}

fn affine(w: &Weights, prefix: &str, c: usize) -> Result<Affine, ExtractError> {
    let gamma = take(w, &format!("{prefix}.weight"), &[c])?;
    let beta = take(w, &format!("{prefix}.bias"), &[c])?;
    let mean = take(w, &format!("{prefix}.running_mean"), &[c])?;
    let var = take(w, &format!("{prefix}.running_var"), &[c])?;
    let scale: Vec<f32> = (0..c)
        .map(|i| gamma[i] / (var[i] + BN_EPS).sqrt())
        .collect();
    let shift = (0..c).map(|i| beta[i] - mean[i] * scale[i]).collect();
    Ok(Affine { scale, shift })
}

/// Loads a dense convolution `[cout, cin, k, k]` as `[k*k*cin, cout]`.
fn dense(
    w: &Weights,
    conv: &str,
    bn: &str,
    (cin, cout, k, stride): (usize, usize, usize, usize),
    relu6: bool,
) -> Result<Conv, ExtractError> {
    let src = take(w, &format!("{conv}.weight"), &[cout, cin, k, k])?;
    let mut weight = vec![0f32; k * k * cin * cout];
    for co in 0..cout {
        for ci in 0..cin {
            for t in 0..k * k {
                weight[(t * cin + ci) * cout + co] = src[(co * cin + ci) * k * k + t];
            }
        }
    }
    Ok(Conv {
        weight,
        k,
        stride,
        cin,
        cout,
        depthwise: false,
        bn: affine(w, bn, cout)?,
        relu6,
    })
}

impl EfficientNetLite0 {
    /// Builds the network from its named weights; every tensor is checked
    /// for presence and shape.
    pub fn from_weights(w: &Weights) -> Result<Self, ExtractError> {
        let stem = dense(w, "_conv_stem", "_bn0", (3, STEM_CHANNELS, 3, 2), true)?;
        let mut blocks = Vec::new();
        let mut cin = STEM_CHANNELS;
        for &(repeats, k, first_stride, expand, cout) in &STAGES {
            for r in 0..repeats {
                let i = blocks.len();
                let p = format!("_blocks.{i}");
                let stride = if r == 0 { first_stride } else { 1 };
                let mid = cin * expand;
                let expand_conv = if expand == 1 {
                    None
                } else {
                    let names = (format!("{p}._expand_conv"), format!("{p}._bn0"));
                    Some(dense(w, &names.0, &names.1, (cin, mid, 1, 1), true)?)
                };
                let dw = take(w, &format!("{p}._depthwise_conv.weight"), &[mid, 1, k, k])?;
                let mut weight = vec![0f32; k * k * mid];
                for c in 0..mid {
                    for t in 0..k * k {
                        weight[t * mid + c] = dw[c * k * k + t];
                    }
                }
                let depthwise = Conv {
                    weight,
                    k,
                    stride,
                    cin: mid,
                    cout: mid,
                    depthwise: true,
                    bn: affine(w, &format!("{p}._bn1"), mid)?,
                    relu6: true,
                };
                let project = dense(
                    w,
                    &format!("{p}._project_conv"),
                    &format!("{p}._bn2"),
                    (mid, cout, 1, 1),
                    false,
                )?;
                blocks.push(Block {
                    expand: expand_conv,
                    depthwise,
                    project,
                    skip: stride == 1 && cin == cout,
                });
                cin = cout;
            }
        }
        let head = dense(w, "_conv_head", "_bn1", (cin, FEATURE_DIM, 1, 1), true)?;
        Ok(Self {
            stem,
            blocks,
            head,
            device: Device::Cpu,
        })
    }

    /// Pooled features of preprocessed images (`n x H x W x 3`, NHWC, already
    /// normalised): `n * 1280` values.
    pub fn features(&self, images: Activations) -> Result<Vec<f32>, ExtractError> {
        let mut x = self.conv(&self.stem, &images)?;
        for block in &self.blocks {
            let input = x;
            let mut y = match &block.expand {
                Some(conv) => self.conv(conv, &input)?,
                None => input.clone(),
            };
            y = self.conv(&block.depthwise, &y)?;
            y = self.conv(&block.project, &y)?;
            if block.skip {
                y.data
                    .iter_mut()
                    .zip(&input.data)
                    .for_each(|(a, b)| *a += b);
            }
            x = y;
        }
        let x = self.conv(&self.head, &x)?;
        let pixels = x.h * x.w;
        let mut pooled = vec![0f32; x.n * x.c];
        pooled
            .par_chunks_mut(x.c)
            .enumerate()
            .for_each(|(img, out)| {
                let base = &x.data[img * pixels * x.c..(img + 1) * pixels * x.c];
                for px in base.chunks(x.c) {
                    out.iter_mut().zip(px).for_each(|(o, v)| *o += v);
                }
                out.iter_mut().for_each(|o| *o /= pixels as f32);
            });
        Ok(pooled)
    }

    fn conv(&self, conv: &Conv, x: &Activations) -> Result<Activations, ExtractError> {
        assert_eq!(x.c, conv.cin, "channel count");
        let (oh, pad_top) = same_padding(x.h, conv.k, conv.stride);
        let (ow, pad_left) = same_padding(x.w, conv.k, conv.stride);
        let mut out = if conv.depthwise {
            depthwise(conv, x, (oh, ow), (pad_top, pad_left))
        } else {
            let rows = x.n * oh * ow;
            let patch = conv.k * conv.k * conv.cin;
            let cols = if conv.k == 1 && conv.stride == 1 {
                Tensor::from_slice(&x.data, (rows, patch), &self.device)?
            } else {
                Tensor::from_vec(
                    im2col(conv, x, (oh, ow), (pad_top, pad_left)),
                    (rows, patch),
                    &self.device,
                )?
            };
            let w = Tensor::from_slice(&conv.weight, (patch, conv.cout), &self.device)?;
            cols.matmul(&w)?.flatten_all()?.to_vec1::<f32>()?
        };
        let c = conv.cout;
        out.par_chunks_mut(c * ow.max(1)).for_each(|row| {
            for px in row.chunks_mut(c) {
                for ((v, s), t) in px.iter_mut().zip(&conv.bn.scale).zip(&conv.bn.shift) {
                    let y = *v * s + t;
                    *v = if conv.relu6 { y.clamp(0.0, 6.0) } else { y };
                }
            }
        });
        Ok(Activations {
            n: x.n,
            h: oh,
            w: ow,
            c,
            data: out,
        })
    }
}

/// TensorFlow "same" padding: output size `ceil(input / stride)` and the
/// padding before (the smaller half when the total is odd).
pub fn same_padding(input: usize, k: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let total = ((out - 1) * stride + k).saturating_sub(input);
    (out, total / 2)
}

/// Patches of a dense convolution, `[n*oh*ow, k*k*cin]`, zero outside the image.
fn im2col(
    conv: &Conv,
    x: &Activations,
    (oh, ow): (usize, usize),
    (pt, pl): (usize, usize),
) -> Vec<f32> {
    let (k, s, c) = (conv.k, conv.stride, x.c);
    let patch = k * k * c;
    let mut cols = vec![0f32; x.n * oh * ow * patch];
    cols.par_chunks_mut(ow * patch)
        .enumerate()
        .for_each(|(row, out)| {
            let (img, oy) = (row / oh, row % oh);
            for ox in 0..ow {
                for ky in 0..k {
                    for kx in 0..k {
                        let iy = (oy * s + ky) as isize - pt as isize;
                        let ix = (ox * s + kx) as isize - pl as isize;
                        if iy < 0 || ix < 0 || iy as usize >= x.h || ix as usize >= x.w {
                            continue;
                        }
                        let src = ((img * x.h + iy as usize) * x.w + ix as usize) * c;
                        let dst = ox * patch + (ky * k + kx) * c;
                        out[dst..dst + c].copy_from_slice(&x.data[src..src + c]);
                    }
                }
            }
        });
    cols
}

/// Depthwise convolution (one `k x k` filter per channel), NHWC.
fn depthwise(
    conv: &Conv,
    x: &Activations,
    (oh, ow): (usize, usize),
    (pt, pl): (usize, usize),
) -> Vec<f32> {
    let (k, s, c) = (conv.k, conv.stride, x.c);
    let mut out = vec![0f32; x.n * oh * ow * c];
    out.par_chunks_mut(ow * c)
        .enumerate()
        .for_each(|(row, dst)| {
            let (img, oy) = (row / oh, row % oh);
            for ox in 0..ow {
                let acc = &mut dst[ox * c..(ox + 1) * c];
                for ky in 0..k {
                    let iy = (oy * s + ky) as isize - pt as isize;
                    if iy < 0 || iy as usize >= x.h {
                        continue;
                    }
                    for kx in 0..k {
                        let ix = (ox * s + kx) as isize - pl as isize;
                        if ix < 0 || ix as usize >= x.w {
                            continue;
                        }
                        let src = ((img * x.h + iy as usize) * x.w + ix as usize) * c;
                        let w = &conv.weight[(ky * k + kx) * c..(ky * k + kx + 1) * c];
                        for ((a, v), f) in acc.iter_mut().zip(&x.data[src..src + c]).zip(w) {
                            *a += v * f;
                        }
                    }
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::same_padding;

    #[test]
    fn tensorflow_same_padding() {
        // Stride 2, kernel 3 on an even input: one pixel after, none before.
        assert_eq!(same_padding(224, 3, 2), (112, 0));
        // Kernel 5, stride 2: 1 before, 2 after.
        assert_eq!(same_padding(28, 5, 2), (14, 1));
        // Stride 1 keeps the size with symmetric padding.
        assert_eq!(same_padding(14, 5, 1), (14, 2));
        assert_eq!(same_padding(7, 3, 1), (7, 1));
    }
}
