//! SMB2/3 cryptography: key derivation, signing, encryption, preauth integrity; SMB1
//! MD5 signing ([`smb1_signing`]).

pub mod encryption;
mod gcm;
pub mod kdf;
pub mod preauth;
pub mod signing;
pub mod smb1_signing;
