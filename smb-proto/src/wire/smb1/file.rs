//! File I/O: SMB_COM_NT_CREATE_ANDX (MS-CIFS 2.2.4.64, MS-SMB 2.2.4.9),
//! SMB_COM_READ_ANDX (MS-CIFS 2.2.4.42, MS-SMB 2.2.4.2), SMB_COM_WRITE_ANDX
//! (MS-CIFS 2.2.4.43, MS-SMB 2.2.4.3), SMB_COM_CLOSE (MS-CIFS 2.2.4.5) and
//! SMB_COM_FLUSH (MS-CIFS 2.2.4.6).
//!
//! READ_ANDX and WRITE_ANDX always use the 64-bit offset forms (WordCount 12 and 14,
//! CAP_LARGE_FILES) and the high length words of CAP_LARGE_READX / CAP_LARGE_WRITEX.
//! A large read's ByteCount cannot say its length, so the data is located by DataOffset
//! and DataLength(High) alone, bounds-checked against the message.

use bytes::Bytes;

use super::{words_only as words, Blocks, Parsed, ANDX_NONE, HEADER_LEN};
use crate::wire::codec::{slice_bytes, DecodeError};
use crate::wire::create::{CreateResponse, FileId};
use crate::wire::fscc::FileTime;

/// ImpersonationLevel SECURITY_IMPERSONATION (MS-CIFS 2.2.4.64.1).
const IMPERSONATION: u32 = 2;

/// NT_CREATE_ANDX request (WordCount 24): the same access, share, disposition, option
/// and attribute values as an SMB2 CREATE (MS-FSCC), no oplock, no extended response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NtCreateRequest {
    /// FileName, relative to the share (`\dir\file`).
    pub name: String,
    /// DesiredAccess.
    pub desired_access: u32,
    /// ExtFileAttributes for a new file.
    pub attributes: u32,
    /// ShareAccess.
    pub share_access: u32,
    /// CreateDisposition.
    pub disposition: u32,
    /// CreateOptions.
    pub create_options: u32,
}

impl NtCreateRequest {
    /// Appends the blocks after an already-written header. NameLength counts the name's
    /// bytes with its NUL; the name is padded to an even offset from the header
    /// (it would start at the odd offset 83).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let name_len = (self.name.encode_utf16().count() * 2 + 2).min(0xFFFF) as u16;
        let mut b = Blocks::default();
        b.words(&ANDX_NONE)
            .words(&[0])
            .words(&name_len.to_le_bytes())
            .words(&0u32.to_le_bytes()) // Flags: no oplock
            .words(&0u32.to_le_bytes()) // RootDirectoryFID
            .words(&self.desired_access.to_le_bytes())
            .words(&0u64.to_le_bytes()) // AllocationSize
            .words(&self.attributes.to_le_bytes())
            .words(&self.share_access.to_le_bytes())
            .words(&self.disposition.to_le_bytes())
            .words(&self.create_options.to_le_bytes())
            .words(&IMPERSONATION.to_le_bytes())
            .words(&[0]) // SecurityFlags
            .utf16z(&self.name);
        b.finish(out);
    }

    /// Decodes a request (WordCount 24, MS-CIFS 2.2.4.64.1) as a server (or a capture's
    /// reader) sees it; `msg` starts at the header.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the blocks do not fit the message or WordCount is not 24.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let p = Parsed::new(msg)?;
        let mut r = p.words(&[24], "nt create word count")?;
        r.skip(
            4 + 1 + 2 + 4 + 4,
            "andx, reserved, name length, flags, root fid",
        )?;
        let desired_access = r.u32("desired access")?;
        r.skip(8, "allocation size")?;
        let attributes = r.u32("ext file attributes")?;
        let share_access = r.u32("share access")?;
        let disposition = r.u32("create disposition")?;
        let create_options = r.u32("create options")?;
        let (name, _) = p.string(0, "nt create name")?;
        Ok(NtCreateRequest {
            name,
            desired_access,
            attributes,
            share_access,
            disposition,
            create_options,
        })
    }
}

/// NT_CREATE_ANDX response: what an SMB2 CREATE response says, read as one
/// ([`NtCreateResponse::decode`]). The FID is the [`FileId`] `FileId::smb1(fid)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtCreateResponse;

impl NtCreateResponse {
    /// Decodes the response (WordCount 0x22, or 0x2A / 0x32 as Windows and Samba send
    /// for the extended form) into the SMB2 CREATE response it stands for: no oplock
    /// (none is asked for), no create contexts. `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<CreateResponse, DecodeError> {
        let mut r = words(msg, &[0x22, 0x2A, 0x32], "nt create word count")?;
        r.skip(4, "andx")?;
        let _oplock = r.u8("oplock level")?;
        let fid = r.u16("fid")?;
        let create_action = r.u32("create action")?;
        let creation_time = FileTime(r.u64("creation time")?);
        let last_access_time = FileTime(r.u64("last access time")?);
        let last_write_time = FileTime(r.u64("last write time")?);
        let change_time = FileTime(r.u64("change time")?);
        let file_attributes = r.u32("ext file attributes")?;
        let allocation_size = r.u64("allocation size")?;
        let end_of_file = r.u64("end of file")?;
        Ok(CreateResponse {
            oplock_level: 0,
            flags: 0,
            create_action,
            creation_time,
            last_access_time,
            last_write_time,
            change_time,
            allocation_size,
            end_of_file,
            file_attributes,
            file_id: FileId::smb1(fid),
            create_contexts: Vec::new(),
        })
    }
}

/// READ_ANDX request (WordCount 12: 64-bit offset; MaxCountHigh for reads past
/// 64 KiB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadRequest {
    /// The file.
    pub fid: u16,
    /// Where to read.
    pub offset: u64,
    /// How many bytes at most (below 16 MiB: MaxCountOfBytesToReturn and
    /// MaxCountHigh).
    pub length: u32,
}

impl ReadRequest {
    /// Appends the blocks after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let low = (self.length & 0xFFFF) as u16;
        let high = (self.length >> 16) as u16;
        Blocks::default()
            .words(&ANDX_NONE)
            .words(&self.fid.to_le_bytes())
            .words(&(self.offset as u32).to_le_bytes())
            .words(&low.to_le_bytes()) // MaxCountOfBytesToReturn
            .words(&low.to_le_bytes()) // MinCountOfBytesToReturn
            .words(&u32::from(high).to_le_bytes()) // MaxCountHigh (the Timeout's low half)
            .words(&0u16.to_le_bytes()) // Remaining
            .words(&((self.offset >> 32) as u32).to_le_bytes())
            .finish(out);
    }
}

impl ReadRequest {
    /// Decodes a request (WordCount 10, or 12 with the high offset; MS-CIFS 2.2.4.42.1,
    /// MS-SMB 2.2.4.2.1) as a server (or a capture's reader) sees it; the length counts
    /// MaxCountHigh; `msg` starts at the header.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the words do not fit the message or WordCount is neither.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = words(msg, &[10, 12], "read andx word count")?;
        let wide = msg.get(HEADER_LEN) == Some(&12);
        r.skip(4, "andx")?;
        let fid = r.u16("fid")?;
        let low_offset = r.u32("offset")?;
        let low = r.u16("max count")?;
        r.skip(2, "min count")?;
        let high = r.u16("max count high")?;
        r.skip(2 + 2, "timeout high, remaining")?;
        let high_offset = if wide { r.u32("offset high")? } else { 0 };
        Ok(ReadRequest {
            fid,
            offset: u64::from(high_offset) << 32 | u64::from(low_offset),
            length: u32::from(high) << 16 | u32::from(low),
        })
    }
}

/// READ_ANDX response: the data, a zero-copy slice of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResponse {
    /// The bytes read (empty at or past the end of the file).
    pub data: Bytes,
}

impl ReadResponse {
    /// Decodes the response (WordCount 12); `msg` starts at the header. The data is
    /// `DataLength | DataLengthHigh << 16` bytes at DataOffset (from the header), after
    /// the parameter block and within the message.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = words(msg, &[12], "read andx word count")?;
        r.skip(4 + 2 + 2 + 2, "andx, available, compaction, reserved")?;
        let low = r.u16("data length")?;
        let offset = usize::from(r.u16("data offset")?);
        let high = r.u16("data length high")?;
        let len = usize::from(low) | usize::from(high) << 16;
        // The words end at 32 + 1 + 24; ByteCount follows.
        let first = HEADER_LEN + 1 + 24 + 2;
        if len > 0 && offset < first {
            return Err(DecodeError::invalid("read andx data offset", offset as u64));
        }
        let data = if len == 0 {
            Bytes::new()
        } else {
            slice_bytes(msg, offset, len, "read andx data")?
        };
        Ok(ReadResponse { data })
    }
}

/// WRITE_ANDX request (WordCount 14: 64-bit offset; DataLengthHigh for writes past
/// 64 KiB): one pad byte, then the data at DataOffset 64.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteRequest {
    /// The file.
    pub fid: u16,
    /// Where to write.
    pub offset: u64,
    /// The bytes (below 16 MiB).
    pub data: Bytes,
}

impl WriteRequest {
    /// Where the data starts, from the header: 32 + 1 + 28 + 2 + one pad byte.
    pub const DATA_OFFSET: u16 = 64;

    /// Appends everything but the data: the words, ByteCount and the pad byte. The data
    /// follows, appended ([`WriteRequest::encode`]) or sent from where it is.
    /// ByteCount is the low 16 bits of the pad and data (a large write's cannot say
    /// more; servers go by DataLength and DataLengthHigh).
    pub fn encode_head(&self, out: &mut Vec<u8>) {
        let len = self.data.len() as u32;
        out.push(14);
        out.extend_from_slice(&ANDX_NONE);
        out.extend_from_slice(&self.fid.to_le_bytes());
        out.extend_from_slice(&(self.offset as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // Timeout
        out.extend_from_slice(&0u16.to_le_bytes()); // WriteMode
        out.extend_from_slice(&0u16.to_le_bytes()); // Remaining
        out.extend_from_slice(&((len >> 16) as u16).to_le_bytes());
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&Self::DATA_OFFSET.to_le_bytes());
        out.extend_from_slice(&((self.offset >> 32) as u32).to_le_bytes());
        out.extend_from_slice(&(len.wrapping_add(1) as u16).to_le_bytes());
        out.push(0);
    }

    /// Appends the blocks, data included, after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_head(out);
        out.extend_from_slice(&self.data);
    }
}

impl WriteRequest {
    /// Decodes a request (WordCount 12, or 14 with the high offset; MS-CIFS 2.2.4.43.1,
    /// MS-SMB 2.2.4.3.1) as a server (or a capture's reader) sees it: the data is
    /// `DataLength | DataLengthHigh << 16` bytes at DataOffset (from the header), a
    /// zero-copy slice within the message; `msg` starts at the header.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the words do not fit the message, WordCount is neither, or
    /// the data lies outside the message.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = words(msg, &[12, 14], "write andx word count")?;
        let wide = msg.get(HEADER_LEN) == Some(&14);
        r.skip(4, "andx")?;
        let fid = r.u16("fid")?;
        let low_offset = r.u32("offset")?;
        r.skip(4 + 2 + 2, "timeout, write mode, remaining")?;
        let high = r.u16("data length high")?;
        let low = r.u16("data length")?;
        let data_offset = usize::from(r.u16("data offset")?);
        let high_offset = if wide { r.u32("offset high")? } else { 0 };
        let len = usize::from(low) | usize::from(high) << 16;
        let data = match len {
            0 => Bytes::new(),
            n => slice_bytes(msg, data_offset, n, "write andx data")?,
        };
        Ok(WriteRequest {
            fid,
            offset: u64::from(high_offset) << 32 | u64::from(low_offset),
            data,
        })
    }
}

/// WRITE_ANDX response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteResponse {
    /// Count: the low 16 bits of the bytes written.
    pub count: u16,
    /// CountHigh: the high 16 bits.
    pub count_high: u16,
}

impl WriteResponse {
    /// Decodes the response (WordCount 6); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = words(msg, &[6], "write andx word count")?;
        r.skip(4, "andx")?;
        let count = r.u16("count")?;
        r.skip(2, "available")?;
        Ok(WriteResponse {
            count,
            count_high: r.u16("count high")?,
        })
    }

    /// The bytes written for a write of `asked` bytes: CountHigh counts only when the
    /// write was larger than 64 KiB − 1 (older servers leave it undefined otherwise,
    /// Samba bug 5326).
    pub fn written(&self, asked: usize) -> usize {
        if asked > 0xFFFF {
            usize::from(self.count) | usize::from(self.count_high) << 16
        } else {
            usize::from(self.count)
        }
    }
}

/// CLOSE request (WordCount 3): the FID and LastTimeModified 0xFFFFFFFF (leave it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloseRequest {
    /// The file.
    pub fid: u16,
}

impl CloseRequest {
    /// Appends the blocks after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Blocks::default()
            .words(&self.fid.to_le_bytes())
            .words(&u32::MAX.to_le_bytes())
            .finish(out);
    }
}

impl CloseRequest {
    /// Decodes a request (WordCount 3) as a server (or a capture's reader) sees it;
    /// `msg` starts at the header.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the blocks do not fit the message or WordCount is not 3.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let fid = Parsed::new(msg)?
            .words(&[3], "close word count")?
            .u16("fid")?;
        Ok(CloseRequest { fid })
    }
}

/// FLUSH request (WordCount 1): the FID.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushRequest {
    /// The file.
    pub fid: u16,
}

impl FlushRequest {
    /// Appends the blocks after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Blocks::default().words(&self.fid.to_le_bytes()).finish(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::{assert_robust, encoded, reply};

    #[test]
    fn nt_create_request_pads_the_name_and_counts_its_nul() {
        let req = NtCreateRequest {
            name: r"\a".into(),
            desired_access: 0x0012_019F,
            attributes: 0x80,
            share_access: 7,
            disposition: 5,
            create_options: 0x40,
        };
        let out = encoded(|o| req.encode(o));
        assert_eq!(out[32], 24);
        let w = &out[33..33 + 48];
        assert_eq!(&w[..4], &[0xFF, 0, 0, 0]);
        assert_eq!(u16::from_le_bytes([w[5], w[6]]), 6, "NameLength with NUL");
        assert_eq!(&w[15..19], &0x0012_019Fu32.to_le_bytes());
        assert_eq!(&w[27..31], &0x80u32.to_le_bytes());
        assert_eq!(&w[31..35], &7u32.to_le_bytes());
        assert_eq!(&w[35..39], &5u32.to_le_bytes());
        assert_eq!(&w[39..43], &0x40u32.to_le_bytes());
        assert_eq!(&w[43..47], &2u32.to_le_bytes());
        // ByteCount 7: a pad byte (the name would start at 83), then `\a` and NUL.
        assert_eq!(&out[81..], &[7, 0, 0, b'\\', 0, b'a', 0, 0, 0]);
        assert_eq!((out.len() - 7 + 1) % 2, 0);
    }

    fn create_reply(word_count: u8, extra_words: usize) -> Bytes {
        let mut w = vec![0xFF, 0, 0, 0, 0];
        w.extend_from_slice(&0x4001u16.to_le_bytes());
        w.extend_from_slice(&2u32.to_le_bytes());
        for t in 1..=4u64 {
            w.extend_from_slice(&(t * 1000).to_le_bytes());
        }
        w.extend_from_slice(&0x20u32.to_le_bytes());
        w.extend_from_slice(&4096u64.to_le_bytes());
        w.extend_from_slice(&1234u64.to_le_bytes());
        w.extend_from_slice(&[0; 5]);
        w.resize(68 + extra_words * 2, 0);
        let mut body = vec![word_count];
        body.extend_from_slice(&w);
        body.extend_from_slice(&[0, 0]);
        reply(0xA2, 0, &body)
    }

    #[test]
    fn nt_create_response_in_every_word_count() {
        for (wc, extra) in [(0x22, 0), (0x2A, 16), (0x32, 16)] {
            let msg = create_reply(wc, extra);
            let c = NtCreateResponse::decode(&msg).unwrap();
            assert_eq!(c.file_id, FileId::smb1(0x4001));
            assert_eq!(c.file_id.smb1_fid(), 0x4001);
            assert_eq!(c.create_action, 2);
            assert_eq!(c.creation_time, FileTime(1000));
            assert_eq!(c.change_time, FileTime(4000));
            assert_eq!(
                (c.file_attributes, c.allocation_size, c.end_of_file),
                (0x20, 4096, 1234)
            );
        }
        let msg = create_reply(0x22, 0);
        assert_robust(&msg, NtCreateResponse::decode);
        let mut bad = msg.to_vec();
        bad[32] = 0x21;
        assert!(NtCreateResponse::decode(&Bytes::from(bad)).is_err());
    }

    #[test]
    fn read_request_splits_length_and_offset() {
        let req = ReadRequest {
            fid: 0x0102,
            offset: 0x0000_0005_0000_0010,
            length: 0x0001_0000,
        };
        let out = encoded(|o| req.encode(o));
        assert_eq!(out[32], 12);
        let w = &out[33..57];
        assert_eq!(&w[4..6], &[2, 1]);
        assert_eq!(&w[6..10], &0x10u32.to_le_bytes());
        assert_eq!(&w[10..12], &[0, 0], "MaxCount low");
        assert_eq!(&w[14..16], &[1, 0], "MaxCountHigh");
        assert_eq!(&w[20..24], &5u32.to_le_bytes(), "OffsetHigh");
        assert_eq!(&out[57..], &[0, 0]);
    }

    fn read_reply(len: usize, offset: u16, high: u16, data: &[u8]) -> Bytes {
        let mut body = vec![12u8, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        body.extend_from_slice(&(len as u16).to_le_bytes());
        body.extend_from_slice(&offset.to_le_bytes());
        body.extend_from_slice(&high.to_le_bytes());
        body.extend_from_slice(&[0; 8]);
        // ByteCount: the pad and data, cut to 16 bits as servers do.
        body.extend_from_slice(&((data.len() + 1) as u16).to_le_bytes());
        body.push(0);
        body.extend_from_slice(data);
        reply(0x2E, 0, &body)
    }

    #[test]
    fn read_response_goes_by_data_offset_and_length() {
        let msg = read_reply(3, 60, 0, b"abc");
        assert_eq!(&ReadResponse::decode(&msg).unwrap().data[..], b"abc");
        assert_robust(&msg, ReadResponse::decode);
        // 64 KiB + 2: ByteCount wraps, DataLengthHigh says the rest.
        let big = vec![7u8; 0x10002];
        let msg = read_reply(2, 60, 1, &big);
        let data = ReadResponse::decode(&msg).unwrap().data;
        assert_eq!(data.len(), 0x10002);
        // Past the message, over the words, and empty.
        assert!(ReadResponse::decode(&read_reply(4, 60, 0, b"abc")).is_err());
        assert!(ReadResponse::decode(&read_reply(3, 40, 0, b"abc")).is_err());
        assert!(ReadResponse::decode(&read_reply(0, 0, 0, b""))
            .unwrap()
            .data
            .is_empty());
    }

    #[test]
    fn write_request_puts_data_at_64() {
        let req = WriteRequest {
            fid: 9,
            offset: 0x1_0000_0002,
            data: Bytes::from(vec![0xAB; 0x10001]),
        };
        let out = encoded(|o| req.encode(o));
        assert_eq!(out[32], 14);
        let w = &out[33..61];
        assert_eq!(&w[4..6], &[9, 0]);
        assert_eq!(&w[6..10], &2u32.to_le_bytes());
        assert_eq!(&w[18..20], &[1, 0], "DataLengthHigh");
        assert_eq!(&w[20..22], &[1, 0], "DataLength");
        assert_eq!(&w[22..24], &[64, 0], "DataOffset");
        assert_eq!(&w[24..28], &1u32.to_le_bytes(), "OffsetHigh");
        assert_eq!(&out[61..63], &[2, 0], "ByteCount, low 16 bits");
        assert_eq!(out[63], 0);
        assert_eq!(out.len(), 64 + 0x10001);
        assert!(out[64..].iter().all(|b| *b == 0xAB));
        let mut head = vec![0; 32];
        req.encode_head(&mut head);
        assert_eq!(head[..], out[..64]);
    }

    #[test]
    fn write_response_counts_high_only_for_large_writes() {
        let msg = reply(0x2F, 0, &[6, 0xFF, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
        let w = WriteResponse::decode(&msg).unwrap();
        assert_eq!(w.written(0x10002), 0x10002);
        assert_eq!(w.written(2), 2);
        assert_robust(&msg, WriteResponse::decode);
    }

    #[test]
    fn close_and_flush_requests() {
        let out = encoded(|o| CloseRequest { fid: 5 }.encode(o));
        assert_eq!(&out[32..], &[3, 5, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0]);
        let out = encoded(|o| FlushRequest { fid: 5 }.encode(o));
        assert_eq!(&out[32..], &[1, 5, 0, 0, 0]);
    }
}
