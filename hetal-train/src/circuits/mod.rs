//! Homomorphic circuits written over the [`Engine`](crate::engine::Engine)
//! trait: building blocks of bootstrapping (polynomial evaluation now;
//! linear transforms, EvalMod and the bootstrap itself to follow).

pub mod poly;
