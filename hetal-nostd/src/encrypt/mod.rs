//! Encryption: the allocation-free streaming encryptor and, with `alloc`,
//! owned ciphertexts built on top of it (byte-identical for identical seeds).

mod stream;

pub use stream::{
    EncryptError, EncryptScratch, EncryptionKey, LimbOut, LimbSource, NttSource, PublicKeyView,
    ScratchNtt, StreamEncryptor,
};

#[cfg(feature = "alloc")]
mod owned;
#[cfg(feature = "alloc")]
pub use owned::{encrypt, Ciphertext, Key, C1};
