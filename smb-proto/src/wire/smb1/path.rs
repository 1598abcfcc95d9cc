//! The path commands of the core protocol: SMB_COM_CREATE_DIRECTORY (MS-CIFS 2.2.4.1),
//! SMB_COM_DELETE_DIRECTORY (2.2.4.2), SMB_COM_DELETE (2.2.4.7) and SMB_COM_RENAME
//! (2.2.4.8). Each name follows a BufferFormat byte 0x04, then a pad byte when the
//! UTF-16 string would start at an odd offset from the header. Their replies have no
//! words and no bytes ([`decode_empty`](super::trans2::decode_empty)).

use super::Blocks;

/// SearchAttributes of a DELETE: hidden and system files match too (MS-CIFS 2.2.1.2.4).
pub const DELETE_ATTRIBUTES: u16 = 0x0006;
/// SearchAttributes of a RENAME: hidden, system files and directories.
pub const RENAME_ATTRIBUTES: u16 = 0x0016;

/// BufferFormat of a null-terminated string (MS-CIFS 2.2.1.4).
const SMB_STRING: u8 = 0x04;

/// Which path command, and its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRequest {
    /// CREATE_DIRECTORY of this directory (its parent must exist).
    CreateDirectory(String),
    /// DELETE_DIRECTORY of this (empty) directory.
    DeleteDirectory(String),
    /// DELETE of the files this name matches: the last component is a **pattern**
    /// (`*`, `?`, and the DOS wildcards `<`, `>`, `"`).
    Delete(String),
    /// RENAME; never replaces an existing name.
    Rename {
        /// OldFileName.
        from: String,
        /// NewFileName.
        to: String,
    },
}

impl PathRequest {
    /// Appends the blocks after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut b = Blocks::default();
        match self {
            PathRequest::CreateDirectory(name) | PathRequest::DeleteDirectory(name) => {
                b.bytes(&[SMB_STRING]).utf16z(name);
            }
            PathRequest::Delete(name) => {
                b.words(&DELETE_ATTRIBUTES.to_le_bytes())
                    .bytes(&[SMB_STRING])
                    .utf16z(name);
            }
            PathRequest::Rename { from, to } => {
                b.words(&RENAME_ATTRIBUTES.to_le_bytes())
                    .bytes(&[SMB_STRING])
                    .utf16z(from)
                    .bytes(&[SMB_STRING])
                    .utf16z(to);
            }
        }
        b.finish(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::{encoded, reply};
    use crate::wire::smb1::trans2::decode_empty;

    #[test]
    fn names_follow_their_buffer_format_aligned_from_the_header() {
        // No words: bytes at 35 (odd), 0x04 at 35, the name at 36.
        let out = encoded(|o| PathRequest::CreateDirectory("d".into()).encode(o));
        assert_eq!(&out[32..], &[0, 5, 0, 4, b'd', 0, 0, 0]);
        // One word: bytes at 37, 0x04 at 37, the name at 38 (MS-CIFS: DELETE's name at 38).
        let out = encoded(|o| PathRequest::Delete("*".into()).encode(o));
        assert_eq!(&out[32..], &[1, 6, 0, 5, 0, 4, b'*', 0, 0, 0]);
        // RENAME: the old name ends at an even offset, so the second 0x04 is followed by
        // a pad byte.
        let out = encoded(|o| {
            PathRequest::Rename {
                from: "a".into(),
                to: "b".into(),
            }
            .encode(o)
        });
        assert_eq!(
            &out[32..],
            &[1, 0x16, 0, 11, 0, 4, b'a', 0, 0, 0, 4, 0, b'b', 0, 0, 0]
        );
        assert_eq!(
            &encoded(|o| PathRequest::DeleteDirectory("d".into()).encode(o))[32..],
            &[0, 5, 0, 4, b'd', 0, 0, 0]
        );
        assert!(decode_empty(&reply(0x06, 0, &[0, 0, 0])).is_ok());
        assert!(decode_empty(&reply(0x06, 0, &[1, 0, 0, 0, 0])).is_err());
    }
}
