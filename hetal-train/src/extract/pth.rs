//! Model weights files: PyTorch checkpoints (`.pth`, any `torch.save`
//! format, through `pytorch-reader`) and safetensors, and the conversion
//! from the first to the second (`hetal extract convert`).
//!
//! `pytorch-reader` gathers strided tensors into row-major order, which
//! matters here: the EfficientNet-Lite0 checkpoint was converted from
//! TensorFlow and 50 of its 296 tensors are non-contiguous views.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use pytorch_reader::{DType, PytorchReader};

use super::efficientnet::Weights;
use super::ExtractError;

/// Reads every floating-point tensor of a PyTorch checkpoint as `f32`
/// (integer tensors such as batch-norm counters are skipped).
pub fn read_pth(path: &Path) -> Result<Weights, ExtractError> {
    let err = |source| ExtractError::Checkpoint {
        path: path.to_path_buf(),
        source,
    };
    let reader = PytorchReader::new(path).map_err(err)?;
    let mut out = Weights::new();
    for (name, tensor) in reader.tensors() {
        let bytes = tensor.read().map_err(|e| ExtractError::io(path, e))?;
        let values: Vec<f32> = match tensor.dtype() {
            DType::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::F64 => bytes
                .chunks_exact(8)
                .map(|b| f64::from_ne_bytes(b.try_into().unwrap_or_default()) as f32)
                .collect(),
            _ => continue,
        };
        out.insert(name.clone(), (tensor.shape().to_vec(), values));
    }
    Ok(out)
}

/// Reads every tensor of a safetensors file as `f32`.
pub fn read_safetensors(path: &Path) -> Result<Weights, ExtractError> {
    let mismatch = |source| ExtractError::WeightsMismatch {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(|e| ExtractError::io(path, e))?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(mismatch)?;
    let mut out = Weights::new();
    for (name, tensor) in tensors {
        let shape = tensor.dims().to_vec();
        let values = tensor
            .to_dtype(candle_core::DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(mismatch)?;
        out.insert(name, (shape, values));
    }
    Ok(out)
}

/// Reads weights by file type: safetensors if the file says so, otherwise
/// a PyTorch checkpoint.
pub fn read_weights(path: &Path) -> Result<Weights, ExtractError> {
    if path.extension().is_some_and(|e| e == "safetensors") {
        read_safetensors(path)
    } else {
        read_pth(path)
    }
}

/// Converts a PyTorch checkpoint to safetensors (f32, row-major), atomically.
/// Returns the number of tensors written.
pub fn convert_to_safetensors(pth: &Path, out: &Path) -> Result<usize, ExtractError> {
    let weights = read_pth(pth)?;
    let mut tensors = HashMap::new();
    for (name, (shape, values)) in &weights {
        tensors.insert(
            name.clone(),
            Tensor::from_slice(values, shape.as_slice(), &Device::Cpu)?,
        );
    }
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = out.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    candle_core::safetensors::save(&tensors, &tmp)?;
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ExtractError::io(out, e)
    })?;
    Ok(tensors.len())
}
