//! `hetal-train`: the server side of hetal (evaluator, HETAL algorithms,
//! training) and the `hetal` command-line tool.

pub mod bench;
pub mod circuits;
pub mod ckks;
pub mod cli;
pub mod data;
pub mod demo;
pub mod engine;
pub mod io;
pub mod job;
pub mod linalg;
pub mod protocol;
pub mod softmax;
pub mod train;
