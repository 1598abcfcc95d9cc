//! SMB1 codecs (MS-CIFS, MS-SMB): only what an SMB1 connection needs so far — the
//! header, NEGOTIATE, SESSION_SETUP_ANDX with extended security, TREE_CONNECT_ANDX,
//! TREE_DISCONNECT, LOGOFF_ANDX, ECHO and NT_CANCEL; file I/O: NT_CREATE_ANDX,
//! READ_ANDX, WRITE_ANDX, CLOSE and FLUSH; TRANSACTION and TRANSACTION2 (with the
//! bounded reassembly of a response in several messages), the TRANSACTION2 searches and
//! path queries, FIND_CLOSE2, and the core path commands (CREATE_DIRECTORY,
//! DELETE_DIRECTORY, DELETE, RENAME); on open files and the file system, the
//! TRANSACTION2 QUERY_FILE_INFORMATION, SET_FILE_INFORMATION and QUERY_FS_INFORMATION,
//! and LOCKING_ANDX; NT_TRANSACT (security descriptors, IOCTL, change notification).
//!
//! Conventions (as for the SMB2 codecs in [`crate::wire`]):
//! * A request's `encode(&self, out)` appends what follows the 32-byte header: the
//!   parameter block (WordCount, Words) and the data block (ByteCount, Bytes),
//!   MS-CIFS 2.2.3.2 and 2.2.3.3. UTF-16 strings in the data block are 2-byte aligned
//!   relative to the header's start (MS-CIFS 2.2.3.3), which the block builder knows without
//!   being told where the header is: the data block starts at `32 + 1 + 2·WordCount + 2`.
//! * A response's `decode(msg)` takes the whole message from its header; WordCount and
//!   ByteCount are checked against the message, and payloads are zero-copy slices.
//! * AndX commands are sent unchained (AndXCommand 0xFF, MS-CIFS 2.2.3.4); decoders
//!   read the first command's block and ignore any chain.

pub mod ea;
pub mod file;
pub mod handle_info;
pub mod header;
pub mod locking;
pub mod negotiate;
pub mod nt_transact;
pub mod path;
pub mod request;
pub mod session_setup;
pub mod simple;
pub mod trans;
pub mod trans2;
pub mod tree;

use bytes::Bytes;

use crate::wire::codec::{put_utf16le, slice_bytes, utf16le, DecodeError, Reader};
pub use header::{Smb1Command, Smb1Header, HEADER_LEN, PROTOCOL_ID};
pub use request::Smb1Request;

/// The AndX prefix of an unchained request's words: no next command (MS-CIFS 2.2.3.4).
pub(crate) const ANDX_NONE: [u8; 4] = [0xFF, 0, 0, 0];

/// A request's parameter words and data bytes, built in order, words first.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    words: Vec<u8>,
    bytes: Vec<u8>,
}

impl Blocks {
    /// Appends to the words.
    pub(crate) fn words(&mut self, w: &[u8]) -> &mut Self {
        self.words.extend_from_slice(w);
        self
    }

    /// Appends to the data bytes.
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        self
    }

    /// Appends `s` as NUL-terminated UTF-16LE, after a pad byte when it would start at an
    /// odd offset from the header (MS-CIFS 2.2.3.3).
    pub(crate) fn utf16z(&mut self, s: &str) -> &mut Self {
        let at = HEADER_LEN + 1 + self.words.len() + 2 + self.bytes.len();
        if at % 2 == 1 {
            self.bytes.push(0);
        }
        put_utf16le(&mut self.bytes, s);
        self.bytes.extend_from_slice(&[0, 0]);
        self
    }

    /// Appends `s` as a NUL-terminated 8-bit string.
    pub(crate) fn asciiz(&mut self, s: &str) -> &mut Self {
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        self
    }

    /// Writes WordCount, the words, ByteCount and the bytes. The words are an even
    /// number of bytes below 512 and the bytes below 64 KiB by construction of every
    /// request here; anything longer is cut to what the counts can say.
    pub(crate) fn finish(&self, out: &mut Vec<u8>) {
        let words = &self.words[..self.words.len().min(510) & !1];
        out.push((words.len() / 2) as u8);
        out.extend_from_slice(words);
        let bytes = &self.bytes[..self.bytes.len().min(0xFFFF)];
        out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        out.extend_from_slice(bytes);
    }
}

/// Where a response's parameter words and data bytes are, checked against the message
/// (MS-CIFS 2.2.3.2, 2.2.3.3); only [`Parsed::new`] makes one, so the offsets are in
/// bounds.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    /// The message, from its header.
    msg: Bytes,
    /// WordCount.
    pub(crate) word_count: u8,
    /// Offset of the words in `msg`.
    words_at: usize,
    /// Offset of the data bytes in `msg`.
    bytes_at: usize,
    /// ByteCount.
    pub(crate) byte_count: usize,
}

impl Parsed {
    /// Splits `msg` (from its header) into its blocks.
    pub(crate) fn new(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "smb1 word count")?;
        let word_count = r.u8("smb1 word count")?;
        let words_at = r.pos();
        r.skip(usize::from(word_count) * 2, "smb1 words")?;
        let byte_count = usize::from(r.u16("smb1 byte count")?);
        let bytes_at = r.pos();
        r.skip(byte_count, "smb1 bytes")?;
        Ok(Parsed {
            msg: msg.clone(),
            word_count,
            words_at,
            bytes_at,
            byte_count,
        })
    }

    /// A reader over the words, after checking WordCount is one of `allowed`.
    pub(crate) fn words(
        &self,
        allowed: &[u8],
        what: &'static str,
    ) -> Result<Reader<'_>, DecodeError> {
        if !allowed.contains(&self.word_count) {
            return Err(DecodeError::invalid(what, self.word_count));
        }
        let end = self.words_at + usize::from(self.word_count) * 2;
        let words = self
            .msg
            .get(..end)
            .ok_or(DecodeError::invalid(what, self.word_count))?;
        Reader::at(words, self.words_at, what)
    }

    /// The data bytes.
    pub(crate) fn data(&self) -> Bytes {
        self.msg
            .slice(self.bytes_at..self.bytes_at + self.byte_count)
    }

    /// `len` bytes of the data block from `offset` within it, zero-copy.
    pub(crate) fn data_slice(
        &self,
        offset: usize,
        len: usize,
        what: &'static str,
    ) -> Result<Bytes, DecodeError> {
        slice_bytes(&self.data(), offset, len, what)
    }
}

impl Parsed {
    /// A NUL-terminated string at `offset` in the data block and the offset after it: UTF-16LE
    /// after the pad byte that aligns it from the header (MS-CIFS 2.2.3.3) when the
    /// header's Flags2 says UNICODE, else 8-bit (bytes above 0x7F as Latin-1). A string the
    /// block ends before its NUL is taken to the block's end.
    pub(crate) fn string(
        &self,
        offset: usize,
        what: &'static str,
    ) -> Result<(String, usize), DecodeError> {
        let data = self.data();
        let rest = data
            .get(offset..)
            .ok_or(DecodeError::invalid(what, offset as u64))?;
        let unicode = self
            .msg
            .get(10..12)
            .is_some_and(|f| u16::from_le_bytes([f[0], f[1]]) & header::flags2::UNICODE != 0);
        if !unicode {
            let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
            let s = rest.get(..end).unwrap_or_default();
            let next = offset + (end + 1).min(rest.len());
            return Ok((s.iter().map(|b| char::from(*b)).collect(), next));
        }
        let pad = (self.bytes_at + offset) % 2;
        let text = rest.get(pad..).unwrap_or_default();
        let units = text.len() / 2;
        let end = (0..units)
            .find(|i| text.get(2 * i..2 * i + 2) == Some(&[0, 0][..]))
            .unwrap_or(units);
        let s = utf16le(text.get(..2 * end).unwrap_or_default(), what)?;
        let next = offset + pad + (2 * end + 2).min(text.len());
        Ok((s, next))
    }
}

/// The commands chained after a message's first one (MS-CIFS 2.2.3.4): each AndX
/// block's AndXCommand, with the offset from the header where its block (WordCount)
/// starts. The first block is at [`HEADER_LEN`] and is the header's `command`. Each
/// block must lie after the previous one within the message, so a chain cannot loop nor
/// grow past the message; a block that breaks this is an error. A block with fewer than
/// two words (an error response) ends the chain.
///
/// # Errors
///
/// [`DecodeError`] when an AndXOffset points backwards or past the message.
pub fn andx_chain(msg: &[u8], command: u8) -> Result<Vec<(Smb1Command, usize)>, DecodeError> {
    let mut chain = Vec::new();
    let (mut command, mut at) = (command, HEADER_LEN);
    while is_andx(command) {
        let mut r = Reader::at(msg, at, "andx word count")?;
        if r.u8("andx word count")? < 2 {
            break;
        }
        let next = r.u8("andx command")?;
        r.skip(1, "andx reserved")?;
        let offset = usize::from(r.u16("andx offset")?);
        if next == 0xFF {
            break;
        }
        if offset <= at || offset >= msg.len() {
            return Err(DecodeError::invalid("andx offset", offset as u64));
        }
        chain.push((Smb1Command(next), offset));
        (command, at) = (next, offset);
    }
    Ok(chain)
}

/// Whether a command's words start with the AndX block (MS-CIFS 2.2.3.4; Samba's
/// `smb1cli_is_andx_req`).
fn is_andx(command: u8) -> bool {
    matches!(
        command,
        0x24 | 0x2D | 0x2E | 0x2F | 0x73 | 0x74 | 0x75 | 0xA2
    )
}

/// A reader over a response's words, WordCount one of `allowed`, the words within the
/// message. Unlike [`Parsed`], ByteCount is not looked at: NT_CREATE_ANDX
/// answers may say fewer words than they carry (MS-SMB 2.2.4.9.2, Samba's
/// `smb1cli_ntcreatex_done`), and a large READ_ANDX's ByteCount is wrong by design.
pub(crate) fn words_only<'a>(
    msg: &'a [u8],
    allowed: &[u8],
    what: &'static str,
) -> Result<Reader<'a>, DecodeError> {
    let mut r = Reader::at(msg, HEADER_LEN, what)?;
    let count = r.u8(what)?;
    if !allowed.contains(&count) {
        return Err(DecodeError::invalid(what, count));
    }
    let mut check = r.clone();
    check.skip(usize::from(count) * 2, what)?;
    Ok(r)
}

/// Helpers for the SMB1 wire tests.
#[cfg(test)]
pub(crate) mod test_util {
    use bytes::Bytes;

    use super::header::{flags, Smb1Header};

    /// A reply message: a header for `command` with `status`, then `body` (the blocks).
    pub(crate) fn reply(command: u8, status: u32, body: &[u8]) -> Bytes {
        let mut out = Vec::new();
        Smb1Header {
            command,
            status,
            flags: flags::REPLY,
            flags2: super::header::flags2::NT_STATUS | super::header::flags2::UNICODE,
            mid: 7,
            ..Default::default()
        }
        .encode(&mut out);
        out.extend_from_slice(body);
        out.into()
    }

    /// Every truncation, corruption and random body of `msg` (see
    /// [`crate::wire::request::test_util::assert_robust`]): a message cut before its
    /// WordCount must not decode.
    pub(crate) fn assert_robust<T>(
        msg: &Bytes,
        decode: impl Fn(&Bytes) -> Result<T, crate::wire::DecodeError>,
    ) {
        crate::wire::request::test_util::assert_robust_with(msg, super::HEADER_LEN, 1, decode);
    }

    /// A request's blocks as encoded after a header (offsets from the message's start).
    pub(crate) fn encoded(encode: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = vec![0u8; super::HEADER_LEN];
        encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_strings_are_aligned_from_the_header() {
        // One word: the data block starts at 32 + 1 + 2 + 2 = 37, odd, so a string first
        // in it gets a pad byte; after one more byte it does not.
        let mut b = Blocks::default();
        b.words(&[1, 0]).utf16z("A");
        assert_eq!(b.bytes, [0, b'A', 0, 0, 0]);
        let mut b = Blocks::default();
        b.words(&[1, 0]).bytes(&[9]).utf16z("A");
        assert_eq!(b.bytes, [9, b'A', 0, 0, 0]);
        let mut out = Vec::new();
        b.finish(&mut out);
        assert_eq!(out, [1, 1, 0, 5, 0, 9, b'A', 0, 0, 0]);
    }

    /// A request as sent: a Unicode header for `command`, then what `encode` appends.
    fn request(command: Smb1Command, encode: impl FnOnce(&mut Vec<u8>)) -> Bytes {
        let mut out = Vec::new();
        header::Smb1Header {
            command: command.0,
            flags2: header::flags2::UNICODE | header::flags2::NT_STATUS,
            mid: 3,
            ..Default::default()
        }
        .encode(&mut out);
        encode(&mut out);
        out.into()
    }

    #[test]
    fn requests_decode_as_they_were_encoded() {
        use test_util::assert_robust;
        let dialects = request(Smb1Command::NEGOTIATE, |o| {
            negotiate::NegotiateRequest {
                dialects: vec![negotiate::NT_LM_012, negotiate::SMB_2_WILDCARD],
            }
            .encode(o)
        });
        assert_eq!(
            negotiate::requested_dialects(&dialects).unwrap(),
            ["NT LM 0.12", "SMB 2.???"]
        );
        assert_robust(&dialects, negotiate::requested_dialects);

        let setup = session_setup::SessionSetupRequest {
            max_buffer_size: 0xFFFF,
            max_mpx: 50,
            vc_number: 1,
            session_key: 7,
            capabilities: 0x8000_C254,
            security_blob: Bytes::from_static(&[0x60, 1, 2]),
            native_os: "os".into(),
            native_lanman: "smb-rs".into(),
        };
        let msg = request(Smb1Command::SESSION_SETUP_ANDX, |o| setup.encode(o));
        assert_eq!(
            session_setup::SessionSetupRequest::decode(&msg).unwrap(),
            setup
        );
        assert_robust(&msg, session_setup::SessionSetupRequest::decode);

        let tree = tree::TreeConnectRequest {
            path: r"\\S\share".into(),
        };
        let msg = request(Smb1Command::TREE_CONNECT_ANDX, |o| tree.encode(o));
        assert_eq!(tree::TreeConnectRequest::decode(&msg).unwrap(), tree);
        assert_robust(&msg, tree::TreeConnectRequest::decode);
        // The path follows PasswordLength bytes of password (here 3, so no pad byte).
        let msg = request(Smb1Command::TREE_CONNECT_ANDX, |o| {
            o.extend_from_slice(&[4, 0xFF, 0, 0, 0, 0, 0, 3, 0]);
            let mut bytes = b"pw\0".to_vec();
            put_utf16le(&mut bytes, "\\\\S\\x\0");
            bytes.extend_from_slice(b"?????\0");
            o.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            o.extend_from_slice(&bytes);
        });
        assert_eq!(
            tree::TreeConnectRequest::decode(&msg).unwrap().path,
            r"\\S\x"
        );

        let create = file::NtCreateRequest {
            name: r"\dir\ä.txt".into(),
            desired_access: 0x0012_019F,
            attributes: 0x80,
            share_access: 7,
            disposition: 5,
            create_options: 0x40,
        };
        let msg = request(Smb1Command::NT_CREATE_ANDX, |o| create.encode(o));
        assert_eq!(file::NtCreateRequest::decode(&msg).unwrap(), create);
        assert_robust(&msg, file::NtCreateRequest::decode);

        let read = file::ReadRequest {
            fid: 0x4001,
            offset: 5 << 32 | 9,
            length: 0x2_0010,
        };
        let msg = request(Smb1Command::READ_ANDX, |o| read.encode(o));
        assert_eq!(file::ReadRequest::decode(&msg).unwrap(), read);
        assert_robust(&msg, file::ReadRequest::decode);

        let write = file::WriteRequest {
            fid: 0x4001,
            offset: 1 << 32 | 3,
            data: Bytes::from_static(b"hello"),
        };
        let msg = request(Smb1Command::WRITE_ANDX, |o| write.encode(o));
        assert_eq!(file::WriteRequest::decode(&msg).unwrap(), write);
        assert_robust(&msg, file::WriteRequest::decode);
        // Past 64 KiB the length's high word counts (DataLengthHigh).
        let large = file::WriteRequest {
            data: vec![0x5A; 70_000].into(),
            ..write
        };
        let msg = request(Smb1Command::WRITE_ANDX, |o| large.encode(o));
        assert_eq!(file::WriteRequest::decode(&msg).unwrap(), large);

        let close = file::CloseRequest { fid: 0x4002 };
        let msg = request(Smb1Command::CLOSE, |o| close.encode(o));
        assert_eq!(file::CloseRequest::decode(&msg).unwrap(), close);
        assert_robust(&msg, file::CloseRequest::decode);

        let mut rap = trans::TransRequest::trans2(0, vec![0, 0, 1], 8, 4096);
        rap.kind = trans::TransKind::Transaction;
        rap.name = r"\PIPE\LANMAN".into();
        rap.data = Bytes::from_static(b"data");
        for t in [trans2::find_first2("dir\\*"), rap] {
            let msg = request(t.kind.command(), |o| t.encode(o));
            assert_eq!(trans::TransRequest::decode(&msg).unwrap(), t);
            assert_robust(&msg, trans::TransRequest::decode);
        }
    }

    #[test]
    fn andx_chains_are_followed_forward_only() {
        // SESSION_SETUP_ANDX (2 words) → TREE_CONNECT_ANDX at 40 (2 words) → end.
        let mut msg = request(Smb1Command::SESSION_SETUP_ANDX, |o| {
            o.extend_from_slice(&[2, 0x75, 0, 40, 0, 0, 0]);
            o.extend_from_slice(&[0, 2, 0xFF, 0, 0, 0, 0, 0]);
        })
        .to_vec();
        assert_eq!(
            andx_chain(&msg, 0x73).unwrap(),
            [(Smb1Command::TREE_CONNECT_ANDX, 40)]
        );
        assert!(
            andx_chain(&msg, 0x04).unwrap().is_empty(),
            "CLOSE is no AndX"
        );
        // Pointing back at itself, or past the end, is an error.
        msg[41] = 0x73;
        msg[43] = 40;
        assert!(andx_chain(&msg, 0x73).is_err());
        msg[43] = 0xFF;
        msg[44] = 0xFF;
        assert!(andx_chain(&msg, 0x73).is_err());
        for n in 0..msg.len() {
            let _ = andx_chain(&msg[..n], 0x73);
        }
    }

    #[test]
    fn blocks_are_checked_against_the_message() {
        let ok = test_util::reply(0x2B, 0, &[1, 1, 0, 2, 0, 0xAA, 0xBB]);
        let p = Parsed::new(&ok).unwrap();
        assert_eq!((p.word_count, p.byte_count), (1, 2));
        assert_eq!(&p.data()[..], [0xAA, 0xBB]);
        assert!(p.words(&[2], "w").is_err());
        assert_eq!(p.words(&[1], "w").unwrap().u16("x").unwrap(), 1);
        // ByteCount past the end, WordCount past the end, nothing after the header.
        assert!(Parsed::new(&test_util::reply(0x2B, 0, &[1, 1, 0, 3, 0, 0xAA, 0xBB])).is_err());
        assert!(Parsed::new(&test_util::reply(0x2B, 0, &[9, 1, 0])).is_err());
        assert!(Parsed::new(&test_util::reply(0x2B, 0, &[])).is_err());
    }
}
