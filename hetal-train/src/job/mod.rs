//! Jobs as the three roles see them: the job file, frame files (keys,
//! encrypted data, weights, checkpoints) and the key owner's key files.

pub mod checkpoint;
pub mod data;
pub mod frames;
pub mod geometry;
pub mod keyfiles;
pub mod spec;

pub use spec::{JobError, JobSpec};
