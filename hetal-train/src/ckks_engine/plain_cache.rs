//! The engine's cache of reused plaintexts (the diagonals of linear
//! transforms), encoded and prepared once.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use hetal_nostd::encrypt::Ciphertext;

use super::{engine_error, CkksEngine, CkksTarget};
use crate::ckks::PreparedPlaintext;
use crate::engine::{Complex, Engine, EngineError, EngineResult};

/// values, the level and the scale (the values are compared on a hit), up to
/// a byte budget (prepared in Montgomery form for the products).
#[derive(Default)]
pub(super) struct PlainCache {
    entries: Mutex<Entries>,
    bytes: std::sync::atomic::AtomicUsize,
}

type CachedPlain = (Vec<Complex>, Arc<PreparedPlaintext>);

/// The cached plaintexts by (hash of the values, level, scale bits).
type Entries = HashMap<(u64, usize, u64), Vec<CachedPlain>>;

impl PlainCache {
    fn lock(&self) -> EngineResult<MutexGuard<'_, Entries>> {
        self.entries
            .lock()
            .map_err(|_| EngineError::Poisoned("plaintext cache"))
    }

    /// Drops the encodings of `values` at every level and scale.
    pub(super) fn forget(&self, values: &[Complex]) -> EngineResult<()> {
        let hash = values_hash(values);
        let mut freed = 0;
        self.lock()?.retain(|&(h, _, _), list| {
            if h == hash {
                list.retain(|(vals, pt)| {
                    let keep = vals.as_slice() != values;
                    if !keep {
                        freed += pt.bytes() + vals.len() * 16;
                    }
                    keep
                });
            }
            !list.is_empty()
        });
        self.bytes.fetch_sub(freed, Ordering::Relaxed);
        Ok(())
    }
}

/// The cache's hash of a slot vector (its values' bits).
fn values_hash(values: &[Complex]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for z in values {
        z.re.to_bits().hash(&mut hasher);
        z.im.to_bits().hash(&mut hasher);
    }
    hasher.finish()
}

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
        let key = (values_hash(values), level, scale.to_bits());
        let lock = || self.plain_cache.lock();
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
