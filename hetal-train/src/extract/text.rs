//! Sentence embeddings from a sentence-transformers model directory.
//!
//! The directory is what `SentenceTransformer.save` writes (and what the
//! Hugging Face hub holds): `modules.json` lists a `Transformer` module (the
//! encoder in `config.json` + `model.safetensors`, the tokenizer in
//! `tokenizer.json`, the sequence limit in `sentence_bert_config.json`), a
//! `Pooling` module (its `config.json` says which pooling) and optionally a
//! `Normalize` module (L2 normalisation). The computation follows
//! sentence-transformers: strip the text, tokenise with truncation at
//! `max_seq_length`, run the encoder with the attention mask, pool over the
//! unmasked tokens, normalise.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use serde::Deserialize;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::mpnet::{MpNetConfig, MpNetModel};
use super::{progress, ExtractError};

/// How token embeddings become one sentence embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the unmasked tokens.
    Mean,
    /// The first (`[CLS]`) token.
    Cls,
    /// Element-wise maximum over the unmasked tokens.
    Max,
}

/// The encoder network.
enum Backbone {
    Bert(BertModel),
    MpNet(MpNetModel),
}

/// A loaded sentence-transformers model.
pub struct SentenceEncoder {
    tokenizer: Tokenizer,
    tokenizer_path: PathBuf,
    backbone: Backbone,
    pooling: Pooling,
    normalize: bool,
    lowercase: bool,
    max_seq_length: usize,
    pad_id: u32,
    dim: usize,
    device: Device,
}

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: String,
}

#[derive(Deserialize)]
struct StConfig {
    max_seq_length: Option<usize>,
    #[serde(default)]
    do_lower_case: bool,
}

#[derive(Deserialize)]
struct PoolingConfig {
    word_embedding_dimension: usize,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

#[derive(Deserialize)]
struct ModelKind {
    model_type: Option<String>,
    hidden_size: usize,
    max_position_embeddings: usize,
}

/// Reads and parses a JSON file of the model directory.
fn read_json<T: for<'de> Deserialize<'de>>(dir: &Path, file: &str) -> Result<T, ExtractError> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ExtractError::MissingModelFile {
            dir: dir.to_path_buf(),
            file: file.to_string(),
        },
        _ => ExtractError::io(&path, source),
    })?;
    serde_json::from_slice(&bytes).map_err(|source| ExtractError::Json { path, source })
}

fn unsupported(path: PathBuf, what: impl Into<String>) -> ExtractError {
    ExtractError::Unsupported {
        path,
        what: what.into(),
    }
}

/// Reads the pooling mode from a `Pooling` module's configuration.
fn read_pooling(dir: &Path, module: &str, hidden: usize) -> Result<Pooling, ExtractError> {
    let file = if module.is_empty() {
        "config.json".to_string()
    } else {
        format!("{module}/config.json")
    };
    let config: PoolingConfig = read_json(dir, &file)?;
    let path = dir.join(&file);
    if config.word_embedding_dimension != hidden {
        return Err(unsupported(
            path,
            format!(
                "pooling expects width {}, the encoder has {hidden}",
                config.word_embedding_dimension
            ),
        ));
    }
    let modes = [
        (config.pooling_mode_mean_tokens, Some(Pooling::Mean)),
        (config.pooling_mode_cls_token, Some(Pooling::Cls)),
        (config.pooling_mode_max_tokens, Some(Pooling::Max)),
        (config.pooling_mode_mean_sqrt_len_tokens, None),
        (config.pooling_mode_weightedmean_tokens, None),
        (config.pooling_mode_lasttoken, None),
    ];
    let chosen: Vec<Option<Pooling>> = modes.iter().filter(|m| m.0).map(|m| m.1).collect();
    match chosen[..] {
        [Some(mode)] => Ok(mode),
        _ => Err(unsupported(
            path,
            "exactly one of mean, cls or max pooling must be set",
        )),
    }
}

impl SentenceEncoder {
    /// Loads a sentence-transformers model directory. Every file is checked
    /// and a missing or mismatched one is reported by name.
    pub fn load(dir: &Path) -> Result<Self, ExtractError> {
        if !dir.is_dir() {
            return Err(ExtractError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not a model directory"),
            ));
        }
        let modules: Vec<ModuleEntry> = read_json(dir, "modules.json")?;
        let kind: ModelKind = read_json(dir, "config.json")?;
        let config_path = dir.join("config.json");
        let (mut has_transformer, mut pooling, mut normalize) = (false, None, false);
        for (index, module) in modules.iter().enumerate() {
            let name = module.kind.rsplit('.').next().unwrap_or_default();
            match (index, name) {
                (0, "Transformer") if module.path.is_empty() => has_transformer = true,
                (_, "Pooling") if has_transformer && pooling.is_none() => {
                    pooling = Some(read_pooling(dir, &module.path, kind.hidden_size)?)
                }
                (_, "Normalize") if pooling.is_some() => normalize = true,
                _ => {
                    return Err(unsupported(
                        dir.join("modules.json"),
                        format!("module {index} `{}` at `{}`", module.kind, module.path),
                    ))
                }
            }
        }
        let pooling = pooling.ok_or_else(|| {
            unsupported(dir.join("modules.json"), "no Transformer + Pooling modules")
        })?;
        let st: StConfig = match read_json(dir, "sentence_bert_config.json") {
            Err(ExtractError::MissingModelFile { .. }) => StConfig {
                max_seq_length: None,
                do_lower_case: false,
            },
            other => other?,
        };
        let limit = match kind.model_type.as_deref() {
            // RoBERTa-style position ids start after the padding index.
            Some("mpnet") => kind.max_position_embeddings.saturating_sub(2),
            _ => kind.max_position_embeddings,
        };
        let max_seq_length = st.max_seq_length.unwrap_or(limit).min(limit);

        if !matches!(kind.model_type.as_deref(), Some("bert" | "mpnet")) {
            return Err(unsupported(
                config_path,
                format!("model_type {:?} (supported: bert, mpnet)", kind.model_type),
            ));
        }
        let device = Device::Cpu;
        let weights_path = dir.join("model.safetensors");
        let weights = std::fs::read(&weights_path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ExtractError::MissingModelFile {
                dir: dir.to_path_buf(),
                file: "model.safetensors".into(),
            },
            _ => ExtractError::io(&weights_path, source),
        })?;
        let mismatch = |source| ExtractError::WeightsMismatch {
            path: weights_path.clone(),
            source,
        };
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(mismatch)?;
        let backbone = match kind.model_type.as_deref() {
            Some("bert") => {
                let config: BertConfig = read_json(dir, "config.json")?;
                Backbone::Bert(BertModel::load(vb, &config).map_err(mismatch)?)
            }
            // MPNet, the only other type let through above.
            _ => {
                let config: MpNetConfig = read_json(dir, "config.json")?;
                Backbone::MpNet(MpNetModel::load(vb, &config).map_err(mismatch)?)
            }
        };

        let tokenizer_path = dir.join("tokenizer.json");
        if !tokenizer_path.is_file() {
            return Err(ExtractError::MissingModelFile {
                dir: dir.to_path_buf(),
                file: "tokenizer.json".into(),
            });
        }
        let tok_err = |source| ExtractError::Tokenizer {
            path: tokenizer_path.clone(),
            source,
        };
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(tok_err)?;
        let pad_id = tokenizer.get_padding().map_or(0, |p| p.pad_id);
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_seq_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(tok_err)?;
        Ok(Self {
            tokenizer,
            tokenizer_path,
            backbone,
            pooling,
            normalize,
            lowercase: st.do_lower_case,
            max_seq_length,
            pad_id,
            dim: kind.hidden_size,
            device,
        })
    }

    /// Width of the sentence embeddings.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Longest token sequence the model reads (longer inputs are truncated).
    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    /// Whether the embeddings are L2-normalised.
    pub fn normalizes(&self) -> bool {
        self.normalize
    }

    /// The pooling mode.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// Token ids of each text, as the model sees them (special tokens added,
    /// truncated at `max_seq_length`).
    pub fn tokenize<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<u32>>, ExtractError> {
        let inputs: Vec<String> = texts
            .iter()
            .map(|t| {
                let t = t.as_ref().trim();
                if self.lowercase {
                    t.to_lowercase()
                } else {
                    t.to_string()
                }
            })
            .collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|source| ExtractError::Tokenizer {
                path: self.tokenizer_path.clone(),
                source,
            })?;
        Ok(encodings.iter().map(|e| e.get_ids().to_vec()).collect())
    }

    /// Embeds one batch of token sequences; returns `ids.len() * dim` values.
    pub fn embed_tokens(&self, ids: &[Vec<u32>]) -> Result<Vec<f32>, ExtractError> {
        let batch = ids.len();
        let width = ids.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut flat_ids = vec![self.pad_id; batch * width];
        let mut flat_mask = vec![0u32; batch * width];
        for (row, seq) in ids.iter().enumerate() {
            flat_ids[row * width..row * width + seq.len()].copy_from_slice(seq);
            flat_mask[row * width..row * width + seq.len()].fill(1);
        }
        let input_ids = Tensor::from_vec(flat_ids, (batch, width), &self.device)?;
        let mask = Tensor::from_vec(flat_mask, (batch, width), &self.device)?;
        let hidden = match &self.backbone {
            Backbone::Bert(model) => {
                model.forward(&input_ids, &input_ids.zeros_like()?, Some(&mask))?
            }
            Backbone::MpNet(model) => model.forward(&input_ids, &mask)?,
        };
        let maskf = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let pooled = match self.pooling {
            Pooling::Mean => {
                let sum = hidden.broadcast_mul(&maskf)?.sum(1)?;
                let count = maskf.sum(1)?.clamp(1e-9f32, f32::MAX)?;
                sum.broadcast_div(&count)?
            }
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Max => {
                // Masked positions are pushed to a very negative value first.
                let penalty = ((maskf.ones_like()? - &maskf)? * -1e9f64)?;
                hidden.broadcast_add(&penalty)?.max(1)?
            }
        };
        let pooled = if self.normalize {
            let norm = pooled
                .sqr()?
                .sum_keepdim(1)?
                .sqrt()?
                .clamp(1e-12f32, f32::MAX)?;
            pooled.broadcast_div(&norm)?
        } else {
            pooled
        };
        Ok(pooled.flatten_all()?.to_vec1::<f32>()?)
    }

    /// Embeds `texts` in batches of `batch_size` (longest texts first, as
    /// sentence-transformers does), with a progress bar on stderr when
    /// `show_progress`. Returns `texts.len() * dim` values in input order.
    pub fn embed<S: AsRef<str>>(
        &self,
        texts: &[S],
        batch_size: usize,
        show_progress: bool,
    ) -> Result<Vec<f32>, ExtractError> {
        let batch_size = batch_size.max(1);
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].as_ref().trim().chars().count()));
        let bar = progress(texts.len(), "embedding texts");
        if !show_progress {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let mut out = vec![0f32; texts.len() * self.dim];
        for chunk in order.chunks(batch_size) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_ref()).collect();
            let ids = self.tokenize(&batch)?;
            let vectors = self.embed_tokens(&ids)?;
            for (k, &i) in chunk.iter().enumerate() {
                out[i * self.dim..(i + 1) * self.dim]
                    .copy_from_slice(&vectors[k * self.dim..(k + 1) * self.dim]);
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        Ok(out)
    }
}
