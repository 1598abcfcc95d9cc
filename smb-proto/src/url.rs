//! smb:// URLs (in progress).
