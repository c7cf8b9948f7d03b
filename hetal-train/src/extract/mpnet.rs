//! MPNet encoder (all-mpnet-base-v2, the HETAL paper's text model) in candle.
//!
//! MPNet is a BERT-style encoder with three differences: no token-type
//! embeddings, RoBERTa-style position ids (counted from the padding index
//! plus one over the unmasked tokens), and a learned relative-position bias
//! added to every layer's attention scores. The bias is shared by all
//! layers: a table of `relative_attention_num_buckets x heads` indexed by a
//! bucket of the key-minus-query distance (exact below 8, logarithmic up to
//! 128, one bucket per sign).

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

/// The fields of an MPNet `config.json` the encoder uses.
#[derive(Debug, Clone, Deserialize)]
pub struct MpNetConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Hidden width.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Feed-forward activation (only `gelu` is supported).
    pub hidden_act: String,
    /// Rows of the position embedding table.
    pub max_position_embeddings: usize,
    /// Layer-norm epsilon.
    pub layer_norm_eps: f64,
    /// Buckets of the relative attention bias.
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    /// Padding token id (position ids start after it).
    #[serde(default = "default_pad")]
    pub pad_token_id: u32,
}

fn default_buckets() -> usize {
    32
}

fn default_pad() -> u32 {
    1
}

/// Largest distance with its own logarithmic bucket.
const MAX_DISTANCE: i64 = 128;

/// The bucket of relative position `relative` (key minus query).
///
/// Half the buckets are for positive distances; of each half, distances
/// below a quarter of the buckets are exact and larger ones share buckets on
/// a log scale up to `MAX_DISTANCE`. The logarithm is taken in `f32` the
/// way the PyTorch reference does, so that the bucket edges agree with it.
pub fn relative_position_bucket(relative: i64, num_buckets: usize) -> usize {
    let half = (num_buckets / 2) as i64;
    let n = -relative;
    let mut bucket = if n < 0 { half } else { 0 };
    let n = n.abs();
    let max_exact = half / 2;
    if n < max_exact {
        bucket += n;
    } else {
        let ratio = (n as f32 / max_exact as f32).ln();
        let scale = ((MAX_DISTANCE as f64 / max_exact as f64).ln()) as f32;
        let large = max_exact + (ratio / scale * (half - max_exact) as f32) as i64;
        bucket += large.min(half - 1);
    }
    bucket as usize
}

struct SelfAttention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    head_dim: usize,
}

impl SelfAttention {
    fn load(vb: VarBuilder, c: &MpNetConfig) -> Result<Self> {
        let h = c.hidden_size;
        Ok(Self {
            q: linear(h, h, vb.pp("q"))?,
            k: linear(h, h, vb.pp("k"))?,
            v: linear(h, h, vb.pp("v"))?,
            o: linear(h, h, vb.pp("o"))?,
            heads: c.num_attention_heads,
            head_dim: h / c.num_attention_heads,
        })
    }

    /// `[B, T, H] -> [B, heads, T, head_dim]`.
    fn split(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        x.reshape((b, t, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn forward(&self, x: &Tensor, mask: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (b, t, h) = x.dims3()?;
        let q = self.split(&self.q.forward(x)?)?;
        let k = self.split(&self.k.forward(x)?)?;
        let v = self.split(&self.v.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?;
        let scores = scores.broadcast_add(bias)?.broadcast_add(mask)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        self.o.forward(&context)
    }
}

struct Layer {
    attn: SelfAttention,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl Layer {
    fn load(vb: VarBuilder, c: &MpNetConfig) -> Result<Self> {
        let (h, eps) = (c.hidden_size, c.layer_norm_eps);
        Ok(Self {
            attn: SelfAttention::load(vb.pp("attention.attn"), c)?,
            attn_norm: layer_norm(h, eps, vb.pp("attention.LayerNorm"))?,
            intermediate: linear(h, c.intermediate_size, vb.pp("intermediate.dense"))?,
            output: linear(c.intermediate_size, h, vb.pp("output.dense"))?,
            output_norm: layer_norm(h, eps, vb.pp("output.LayerNorm"))?,
        })
    }

    fn forward(&self, x: &Tensor, mask: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let attended = self
            .attn_norm
            .forward(&(self.attn.forward(x, mask, bias)? + x)?)?;
        let hidden = self.intermediate.forward(&attended)?.gelu_erf()?;
        self.output_norm
            .forward(&(self.output.forward(&hidden)? + attended)?)
    }
}

/// The MPNet encoder: embeddings, layers and the shared relative bias.
pub struct MpNetModel {
    word: Embedding,
    position: Embedding,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    relative_bias: Embedding,
    buckets: usize,
    pad: u32,
    device: Device,
}

impl MpNetModel {
    /// Loads the weights (`embeddings.*`, `encoder.*`, optionally under an
    /// `mpnet.` prefix).
    pub fn load(vb: VarBuilder, c: &MpNetConfig) -> Result<Self> {
        if c.hidden_act != "gelu" {
            candle_core::bail!("MPNet activation `{}` is not supported", c.hidden_act);
        }
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            candle_core::bail!("hidden size not divisible by the head count");
        }
        let vb = if vb.contains_tensor("mpnet.embeddings.word_embeddings.weight") {
            vb.pp("mpnet")
        } else {
            vb
        };
        let h = c.hidden_size;
        let emb = vb.pp("embeddings");
        let enc = vb.pp("encoder");
        let layers = (0..c.num_hidden_layers)
            .map(|i| Layer::load(enc.pp(format!("layer.{i}")), c))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            word: embedding(c.vocab_size, h, emb.pp("word_embeddings"))?,
            position: embedding(c.max_position_embeddings, h, emb.pp("position_embeddings"))?,
            embed_norm: layer_norm(h, c.layer_norm_eps, emb.pp("LayerNorm"))?,
            layers,
            relative_bias: embedding(
                c.relative_attention_num_buckets,
                c.num_attention_heads,
                enc.pp("relative_attention_bias"),
            )?,
            buckets: c.relative_attention_num_buckets,
            pad: c.pad_token_id,
            device: vb.device().clone(),
        })
    }

    /// The `[1, heads, T, T]` relative-position bias for length `t`.
    fn position_bias(&self, t: usize) -> Result<Tensor> {
        let buckets: Vec<u32> = (0..t as i64)
            .flat_map(|q| {
                (0..t as i64).map(move |k| relative_position_bucket(k - q, self.buckets) as u32)
            })
            .collect();
        let buckets = Tensor::from_vec(buckets, (t, t), &self.device)?;
        self.relative_bias
            .forward(&buckets)?
            .permute((2, 0, 1))?
            .unsqueeze(0)?
            .contiguous()
    }

    /// Token embeddings `[B, T, H]` of `input_ids` `[B, T]` with the 0/1
    /// `attention_mask` `[B, T]` (padding on the right or anywhere: masked
    /// tokens get the padding position and are ignored by attention).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let (_, t) = input_ids.dims2()?;
        let mask = attention_mask.to_dtype(DType::U32)?;
        // Position ids: padding index + running count of real tokens, or the
        // padding index itself at masked positions.
        let positions = ((mask.to_dtype(DType::F32)?.cumsum(1)? * mask.to_dtype(DType::F32)?)?
            + f64::from(self.pad))?
        .to_dtype(DType::U32)?;
        let embedded = (self.word.forward(input_ids)? + self.position.forward(&positions)?)?;
        let mut x = self.embed_norm.forward(&embedded)?;
        let maskf = mask.to_dtype(DType::F32)?;
        let additive = ((maskf.ones_like()? - maskf)? * f64::from(f32::MIN))?
            .unsqueeze(1)?
            .unsqueeze(1)?;
        let bias = self.position_bias(t)?;
        for layer in &self.layers {
            x = layer.forward(&x, &additive, &bias)?;
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::relative_position_bucket;

    #[test]
    fn buckets_are_exact_near_and_logarithmic_far() {
        // Key before query (negative relative position) uses the low half.
        assert_eq!(relative_position_bucket(0, 32), 0);
        assert_eq!(relative_position_bucket(-7, 32), 7);
        assert_eq!(relative_position_bucket(3, 32), 19);
        // Far distances saturate at the last bucket of each half.
        assert_eq!(relative_position_bucket(-1000, 32), 15);
        assert_eq!(relative_position_bucket(1000, 32), 31);
    }

    #[test]
    fn buckets_match_transformers() {
        // scripts/reference/mpnet_buckets.py: transformers' bucket of every
        // relative position in -520..=520 (the log-scale edges included).
        let json = include_str!("../../tests/fixtures/mpnet_buckets.json");
        let fixture: serde_json::Value = serde_json::from_str(json).unwrap();
        let first = fixture["first_relative_position"].as_i64().unwrap();
        let expected = fixture["buckets"].as_array().unwrap();
        assert_eq!(expected.len(), 1041);
        for (i, bucket) in expected.iter().enumerate() {
            let rel = first + i as i64;
            assert_eq!(
                relative_position_bucket(rel, 32) as u64,
                bucket.as_u64().unwrap(),
                "relative position {rel}"
            );
        }
    }
}
