//! The engine's cache of reused plaintexts (the diagonals of linear
//! transforms), encoded and prepared once.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use hetal_nostd::encrypt::Ciphertext;

use super::{engine_error, CkksEngine, CkksTarget};
use crate::ckks::PreparedPlaintext;
use crate::engine::{Complex, Engine, EngineError, EngineResult};

/// values, the level and the scale (the values are compared on a hit), up to
/// a byte budget (prepared in Montgomery form for the products).
#[derive(Default)]
pub(super) struct PlainCache {
    entries: Mutex<HashMap<(u64, usize, u64), Vec<CachedPlain>>>,
    bytes: std::sync::atomic::AtomicUsize,
}

type CachedPlain = (Vec<Complex>, Arc<PreparedPlaintext>);

/// Memory the plaintext cache may use.
const PLAIN_CACHE_BYTES: usize = 6 << 30;

impl CkksEngine {
    /// Bytes the plaintext cache holds now.
    pub fn plain_cache_bytes(&self) -> usize {
        self.plain_cache.bytes.load(Ordering::Relaxed)
    }

    /// The encoding of a reused plaintext for the term `a` of a linear
    /// combination landing on `out`, from the cache or encoded (and kept
    /// while the cache has room).
    pub(super) fn reused_plaintext(
        &self,
        values: &[Complex],
        a: &Ciphertext,
        out: CkksTarget,
    ) -> EngineResult<Arc<PreparedPlaintext>> {
        let level = out.level + 1;
        if level > self.max_level() {
            return Err(EngineError::InvalidLevel {
                requested: out.level,
                max: self.max_level() - 1,
            });
        }
        let q = self.ev.context().modulus(level).value() as f64;
        let scale = out.scale * q / a.scale;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for z in values {
            z.re.to_bits().hash(&mut hasher);
            z.im.to_bits().hash(&mut hasher);
        }
        let key = (hasher.finish(), level, scale.to_bits());
        let lock = || {
            self.plain_cache
                .entries
                .lock()
                .map_err(|_| EngineError::Poisoned("plaintext cache"))
        };
        if let Some(hit) = lock()?
            .get(&key)
            .and_then(|v| v.iter().find(|(vals, _)| vals.as_slice() == values))
        {
            return Ok(hit.1.clone());
        }
        let encoded = self
            .ev
            .encode(values, a.log_slots, level, scale)
            .map_err(engine_error)?;
        let pt = Arc::new(
            self.ev
                .prepare_plaintext(encoded, scale)
                .map_err(engine_error)?,
        );
        let size = pt.bytes() + values.len() * 16;
        let used = self.plain_cache.bytes.load(Ordering::Relaxed);
        if used + size <= PLAIN_CACHE_BYTES {
            self.plain_cache.bytes.fetch_add(size, Ordering::Relaxed);
            lock()?
                .entry(key)
                .or_default()
                .push((values.to_vec(), pt.clone()));
        }
        Ok(pt)
    }
}
