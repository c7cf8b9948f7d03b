//! What a job implies: slot count, tile shape, rotation steps,
//! bootstrapping settings, batch sizes and tile counts. Every party derives
//! them from the job file the same way.

use hetal_nostd::params::Params;

use super::{JobError, JobSpec};
use crate::ckks_engine::BootstrapConfig;
use crate::linalg::{padded_classes, BlockMatrix, Layout, Matrix, TileShape};
use crate::train::{plan_job, JobPlan, JobShape};

/// A job's derived layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Geometry {
    /// The parameters.
    pub params: Params,
    /// Slots per ciphertext (N/2).
    pub slots: usize,
    /// Classes padded to a power of two.
    pub period: usize,
    /// Tile shape.
    pub shape: TileShape,
}

impl Geometry {
    /// Derives the geometry of `spec`.
    pub fn of(spec: &JobSpec) -> Result<Self, JobError> {
        let invalid = |key, problem: String| JobError::Invalid {
            path: "job".into(),
            key,
            problem,
        };
        let params = spec
            .preset()
            .build()
            .map_err(|e| invalid("preset", e.to_string()))?;
        let slots = params.n() / 2;
        let period = padded_classes(spec.classes);
        let shape = TileShape::for_batch(spec.batch_size, period, slots)
            .map_err(|e| invalid("batch_size", e.to_string()))?;
        Ok(Geometry {
            params,
            slots,
            period,
            shape,
        })
    }

    /// Rotation steps besides bootstrapping's: exactly those the job's
    /// training and validation make, from a dry run
    /// ([`crate::train::plan_job`]); the key owner and the server derive
    /// the same list.
    pub fn rotation_steps(&self, spec: &JobSpec) -> Result<Vec<i64>, JobError> {
        Ok(self
            .plan(spec)?
            .rotations
            .iter()
            .map(|&r| r as i64)
            .collect())
    }

    /// The dry run of the job (rotations and operation counts).
    pub fn plan(&self, spec: &JobSpec) -> Result<JobPlan, JobError> {
        let shape = JobShape::new(&self.params, self.slots, spec.features, spec.classes);
        plan_job(&shape, &spec.train_config(), spec.softmax_method()).map_err(|e| {
            JobError::Invalid {
                path: "job".into(),
                key: "batch_size",
                problem: e.to_string(),
            }
        })
    }

    /// Bootstrapping settings: those that fit the preset's chain
    /// ([`BootstrapConfig::for_segments`]).
    pub fn bootstrap_config(&self) -> BootstrapConfig {
        BootstrapConfig::for_segments(self.params.segments())
    }

    /// Level of freshly encrypted data.
    pub fn data_level(&self) -> usize {
        self.params.user_top_level()
    }

    /// Number of tiles of a `rows × cols` matrix in `layout`.
    pub fn tiles(&self, rows: usize, cols: usize, layout: Layout) -> Result<usize, JobError> {
        BlockMatrix::encode(&Matrix::zeros(rows, cols), self.shape, layout)
            .map(|m| m.tiles().len())
            .map_err(|e| JobError::Invalid {
                path: "job".into(),
                key: "batch_size",
                problem: e.to_string(),
            })
    }
}
