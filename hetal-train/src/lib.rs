//! `hetal-train`: the server side of hetal (evaluator, HETAL algorithms,
//! training) and the `hetal` command-line tool.

pub mod bench;
pub mod circuits;
pub mod ckks;
pub mod data;
pub mod demo;
pub mod engine;
#[cfg(feature = "extract")]
pub mod extract;
pub mod linalg;
pub mod softmax;
pub mod train;
