//! SMB2/3 cryptography: key derivation, signing, encryption, preauth integrity.

pub mod encryption;
mod gcm;
pub mod kdf;
pub mod preauth;
pub mod signing;
