//! IOCTL request and response, MS-SMB2 2.2.31 / 2.2.32, the VALIDATE_NEGOTIATE_INFO
//! payloads (2.2.31.4 / 2.2.32.6), the snapshot list (2.2.32.2), the server-side copy
//! payloads: the resume key (2.2.32.3), the copy-chunk request (2.2.31.1) and its answer
//! (2.2.32.1), and the server's network interfaces (2.2.32.5).

use std::net::IpAddr;

use bytes::Bytes;

use super::codec::{self, DecodeError, Reader};
use super::create::{variable_buffer, FileId};
use super::fscc::{encode_chain, EntryChain, FileTime};
use super::header::HEADER_LEN;
use super::negotiate::{put_u16_list, read_u16_list};

/// Control codes used by an SMB2 client, MS-SMB2 2.2.31 and MS-FSCC 2.3.
pub mod fsctl {
    /// FSCTL_DFS_GET_REFERRALS.
    pub const DFS_GET_REFERRALS: u32 = 0x0006_0194;
    /// FSCTL_DFS_GET_REFERRALS_EX.
    pub const DFS_GET_REFERRALS_EX: u32 = 0x0006_01B0;
    /// FSCTL_PIPE_PEEK.
    pub const PIPE_PEEK: u32 = 0x0011_400C;
    /// FSCTL_PIPE_WAIT.
    pub const PIPE_WAIT: u32 = 0x0011_0018;
    /// FSCTL_PIPE_TRANSCEIVE: write then read a named pipe (DCE/RPC over SMB).
    pub const PIPE_TRANSCEIVE: u32 = 0x0011_C017;
    /// FSCTL_SRV_COPYCHUNK.
    pub const SRV_COPYCHUNK: u32 = 0x0014_40F2;
    /// FSCTL_SRV_COPYCHUNK_WRITE.
    pub const SRV_COPYCHUNK_WRITE: u32 = 0x0014_80F2;
    /// FSCTL_SRV_ENUMERATE_SNAPSHOTS: list previous versions.
    pub const SRV_ENUMERATE_SNAPSHOTS: u32 = 0x0014_4064;
    /// FSCTL_SRV_REQUEST_RESUME_KEY: the source key of a server-side copy.
    pub const SRV_REQUEST_RESUME_KEY: u32 = 0x0014_0078;
    /// FSCTL_SRV_READ_HASH.
    pub const SRV_READ_HASH: u32 = 0x0014_41BB;
    /// FSCTL_LMR_REQUEST_RESILIENCY.
    pub const LMR_REQUEST_RESILIENCY: u32 = 0x0014_01D4;
    /// FSCTL_QUERY_NETWORK_INTERFACE_INFO.
    pub const QUERY_NETWORK_INTERFACE_INFO: u32 = 0x0014_01FC;
    /// FSCTL_SET_REPARSE_POINT.
    pub const SET_REPARSE_POINT: u32 = 0x0009_00A4;
    /// FSCTL_GET_REPARSE_POINT.
    pub const GET_REPARSE_POINT: u32 = 0x0009_00A8;
    /// FSCTL_VALIDATE_NEGOTIATE_INFO.
    pub const VALIDATE_NEGOTIATE_INFO: u32 = 0x0014_0204;
}

/// Flags, MS-SMB2 2.2.31.
pub mod flags {
    /// SMB2_0_IOCTL_IS_IOCTL.
    pub const IS_IOCTL: u32 = 0x0000_0000;
    /// SMB2_0_IOCTL_IS_FSCTL: the code is a file system control.
    pub const IS_FSCTL: u32 = 0x0000_0001;
}

/// SMB2 IOCTL Request, MS-SMB2 2.2.31.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoctlRequest {
    /// CtlCode, see [`fsctl`].
    pub ctl_code: u32,
    /// The open the control applies to; [`FileId::ANY`] for codes that need none.
    pub file_id: FileId,
    /// Input: the control's input payload.
    pub input: Bytes,
    /// MaxInputResponse.
    pub max_input_response: u32,
    /// MaxOutputResponse.
    pub max_output_response: u32,
    /// Flags, see [`flags`].
    pub flags: u32,
}

impl IoctlRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 57;
    /// Header + fixed part: where the input goes.
    const BUFFER_OFFSET: usize = HEADER_LEN + 56;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        // With input, both offsets point at the buffer (as Samba and Windows send them);
        // without, both are zero and a single pad byte stands in for the buffer.
        let offset = if self.input.is_empty() {
            0
        } else {
            Self::BUFFER_OFFSET as u32
        };
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.ctl_code.to_le_bytes());
        self.file_id.encode(out);
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&(self.input.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.max_input_response.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes()); // OutputOffset
        out.extend_from_slice(&0u32.to_le_bytes()); // OutputCount
        out.extend_from_slice(&self.max_output_response.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        if self.input.is_empty() {
            out.push(0);
        } else {
            out.extend_from_slice(&self.input);
        }
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "ioctl request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "ioctl request structure size")?;
        r.skip(2, "reserved")?;
        let ctl_code = r.u32("ctl code")?;
        let file_id = FileId::decode(&mut r)?;
        let input_offset = r.u32("input offset")?;
        let input_count = r.u32("input count")?;
        let max_input_response = r.u32("max input response")?;
        r.skip(8, "output offset and count")?;
        let max_output_response = r.u32("max output response")?;
        let flags = r.u32("flags")?;
        Ok(IoctlRequest {
            ctl_code,
            file_id,
            input: variable_buffer(
                msg,
                input_offset as usize,
                input_count as usize,
                Self::BUFFER_OFFSET,
                "ioctl input",
            )?,
            max_input_response,
            max_output_response,
            flags,
        })
    }
}

/// SMB2 IOCTL Response, MS-SMB2 2.2.32.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoctlResponse {
    /// CtlCode echoed.
    pub ctl_code: u32,
    /// FileId echoed.
    pub file_id: FileId,
    /// Input echoed back (usually empty).
    pub input: Bytes,
    /// Output: the control's result, a zero-copy slice of the message.
    pub output: Bytes,
    /// Flags: reserved, 0.
    pub flags: u32,
}

impl IoctlResponse {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 49;
    /// Header + fixed part.
    const BUFFER_OFFSET: usize = HEADER_LEN + 48;

    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "ioctl response")?;
        r.structure_size(Self::STRUCTURE_SIZE, "ioctl response structure size")?;
        r.skip(2, "reserved")?;
        let ctl_code = r.u32("ctl code")?;
        let file_id = FileId::decode(&mut r)?;
        let input_offset = r.u32("input offset")?;
        let input_count = r.u32("input count")?;
        let output_offset = r.u32("output offset")?;
        let output_count = r.u32("output count")?;
        let flags = r.u32("flags")?;
        Ok(IoctlResponse {
            ctl_code,
            file_id,
            input: variable_buffer(
                msg,
                input_offset as usize,
                input_count as usize,
                Self::BUFFER_OFFSET,
                "ioctl input",
            )?,
            output: variable_buffer(
                msg,
                output_offset as usize,
                output_count as usize,
                Self::BUFFER_OFFSET,
                "ioctl output",
            )?,
            flags,
        })
    }

    /// Appends the body after an already-written header (for a scripted server): input
    /// then output, the output 8-byte aligned.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let output_offset = super::codec::align8(Self::BUFFER_OFFSET + self.input.len());
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.ctl_code.to_le_bytes());
        self.file_id.encode(out);
        out.extend_from_slice(&(Self::BUFFER_OFFSET as u32).to_le_bytes());
        out.extend_from_slice(&(self.input.len() as u32).to_le_bytes());
        out.extend_from_slice(&(output_offset as u32).to_le_bytes());
        out.extend_from_slice(&(self.output.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.input);
        out.resize(
            out.len() + output_offset - Self::BUFFER_OFFSET - self.input.len(),
            0,
        );
        out.extend_from_slice(&self.output);
    }
}

/// VALIDATE_NEGOTIATE_INFO Request, MS-SMB2 2.2.31.4: the IOCTL input that lets the
/// server confirm what the client sent in NEGOTIATE (3.0 / 3.0.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateNegotiateInfoRequest {
    /// Capabilities sent in NEGOTIATE.
    pub capabilities: u32,
    /// ClientGuid sent in NEGOTIATE.
    pub guid: [u8; 16],
    /// SecurityMode sent in NEGOTIATE.
    pub security_mode: u16,
    /// Dialects sent in NEGOTIATE.
    pub dialects: Vec<u16>,
}

impl ValidateNegotiateInfoRequest {
    /// Appends the structure (the IOCTL input).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.guid);
        out.extend_from_slice(&self.security_mode.to_le_bytes());
        out.extend_from_slice(&(self.dialects.len() as u16).to_le_bytes());
        put_u16_list(out, &self.dialects);
    }

    /// Decodes the structure (for a scripted server).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let capabilities = r.u32("capabilities")?;
        let guid = r.array("guid")?;
        let security_mode = r.u16("security mode")?;
        let count = r.u16("dialect count")?;
        Ok(ValidateNegotiateInfoRequest {
            capabilities,
            guid,
            security_mode,
            dialects: read_u16_list(&mut r, count, "dialects")?,
        })
    }
}

/// VALIDATE_NEGOTIATE_INFO Response, MS-SMB2 2.2.32.6: what the server negotiated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidateNegotiateInfoResponse {
    /// Server Capabilities.
    pub capabilities: u32,
    /// ServerGuid.
    pub guid: [u8; 16],
    /// Server SecurityMode.
    pub security_mode: u16,
    /// The negotiated Dialect.
    pub dialect: u16,
}

impl ValidateNegotiateInfoResponse {
    /// Decodes the structure (the IOCTL output).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        Ok(ValidateNegotiateInfoResponse {
            capabilities: r.u32("capabilities")?,
            guid: r.array("guid")?,
            security_mode: r.u16("security mode")?,
            dialect: r.u16("dialect")?,
        })
    }

    /// Appends the 24-byte structure (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.guid);
        out.extend_from_slice(&self.security_mode.to_le_bytes());
        out.extend_from_slice(&self.dialect.to_le_bytes());
    }
}

/// SRV_SNAPSHOT_ARRAY, MS-SMB2 2.2.32.2: the output of FSCTL_SRV_ENUMERATE_SNAPSHOTS,
/// the previous versions a server keeps of a share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SrvSnapshotArray {
    /// NumberOfSnapShots: how many the server keeps.
    pub number_of_snapshots: u32,
    /// SnapShotArraySize: the bytes the whole list of tokens takes, returned or not.
    pub snapshot_array_size: u32,
    /// The snapshots returned (NumberOfSnapShotsReturned), in the server's order, each
    /// from its `@GMT-YYYY.MM.DD-HH.MM.SS` token.
    pub snapshots: Vec<FileTime>,
}

impl SrvSnapshotArray {
    /// NumberOfSnapShots, NumberOfSnapShotsReturned, SnapShotArraySize.
    pub const FIXED_LEN: u32 = 12;

    /// The complete answer listing `snapshots`.
    pub fn new(snapshots: Vec<FileTime>) -> Self {
        SrvSnapshotArray {
            number_of_snapshots: snapshots.len() as u32,
            snapshot_array_size: Self::tokens(&snapshots).len() as u32,
            snapshots,
        }
    }

    /// The MaxOutputResponse that fetches every snapshot.
    pub fn full_len(&self) -> u64 {
        u64::from(Self::FIXED_LEN) + u64::from(self.snapshot_array_size)
    }

    /// Whether every snapshot the server keeps was returned.
    pub fn is_complete(&self) -> bool {
        self.snapshots.len() as u64 == u64::from(self.number_of_snapshots)
    }

    /// Decodes the structure (the IOCTL output). With no snapshot returned, as in the
    /// answer to a 16-byte MaxOutputResponse, the array itself is not read: only its
    /// size is there.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let number_of_snapshots = r.u32("number of snapshots")?;
        let returned = r.u32("number of snapshots returned")?;
        let snapshot_array_size = r.u32("snapshot array size")?;
        if returned > number_of_snapshots {
            return Err(DecodeError::invalid(
                "number of snapshots returned",
                returned,
            ));
        }
        let mut snapshots = Vec::new();
        if returned > 0 {
            // The tokens are NUL-terminated UTF-16 strings, the list ends with one more
            // NUL; each must be a whole `@GMT-…` token, or the list is not what it says.
            let array = r.bytes(snapshot_array_size as usize, "snapshot array")?;
            let text = codec::utf16le(array, "snapshot array")?;
            for (i, token) in text.split('\0').take_while(|t| !t.is_empty()).enumerate() {
                let time = FileTime::from_gmt_token(token)
                    .ok_or(DecodeError::invalid("snapshot token", i as u64))?;
                snapshots.push(time);
            }
            if snapshots.len() as u64 != u64::from(returned) {
                return Err(DecodeError::invalid(
                    "number of snapshots returned",
                    returned,
                ));
            }
        }
        Ok(SrvSnapshotArray {
            number_of_snapshots,
            snapshot_array_size,
            snapshots,
        })
    }

    /// Appends the structure (for a scripted server): the fields as they are, then the
    /// tokens of `snapshots` if there are any.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.number_of_snapshots.to_le_bytes());
        out.extend_from_slice(&(self.snapshots.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.snapshot_array_size.to_le_bytes());
        if !self.snapshots.is_empty() {
            out.extend_from_slice(&Self::tokens(&self.snapshots));
        }
    }

    /// The SnapShots field: each token NUL-terminated, then a final NUL.
    fn tokens(snapshots: &[FileTime]) -> Vec<u8> {
        let mut text: String = snapshots.iter().map(|t| t.gmt_token() + "\0").collect();
        text.push('\0');
        codec::to_utf16le(&text)
    }
}

/// SRV_REQUEST_RESUME_KEY Response, MS-SMB2 2.2.32.3: the output of
/// FSCTL_SRV_REQUEST_RESUME_KEY, the key that names an open as the source of a
/// server-side copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SrvRequestResumeKey {
    /// ResumeKey: opaque to the client, handed back in [`SrvCopychunkCopy::source_key`].
    pub resume_key: [u8; 24],
}

impl SrvRequestResumeKey {
    /// The MaxOutputResponse to ask it with: the key, ContextLength and the 4 bytes of
    /// Context Windows sends.
    pub const MAX_OUTPUT: u32 = 32;

    /// Decodes the structure (the IOCTL output). ContextLength and Context are unused
    /// and ignored (the client MUST ignore them), but ContextLength must be there.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let resume_key = r.array("resume key")?;
        r.u32("resume key context length")?;
        Ok(SrvRequestResumeKey { resume_key })
    }

    /// Appends the structure (for a scripted server), with no context.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.resume_key);
        out.extend_from_slice(&0u32.to_le_bytes());
    }
}

/// SRV_COPYCHUNK, MS-SMB2 2.2.31.1.1: one range a server-side copy moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SrvCopychunk {
    /// SourceOffset: where in the source the range starts.
    pub source_offset: u64,
    /// TargetOffset: where in the destination it goes.
    pub target_offset: u64,
    /// Length in bytes (a server refuses 0).
    pub length: u32,
}

/// SRV_COPYCHUNK_COPY, MS-SMB2 2.2.31.1: the input of FSCTL_SRV_COPYCHUNK(_WRITE) on
/// the destination's open: the source's resume key and the ranges to copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SrvCopychunkCopy {
    /// SourceKey: the source open's [`SrvRequestResumeKey::resume_key`].
    pub source_key: [u8; 24],
    /// Chunks, in the order the server writes them.
    pub chunks: Vec<SrvCopychunk>,
}

impl SrvCopychunkCopy {
    /// SourceKey, ChunkCount, Reserved.
    pub const FIXED_LEN: usize = 32;
    /// One SRV_COPYCHUNK.
    pub const CHUNK_LEN: usize = 24;

    /// Appends the structure (the IOCTL input).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.source_key);
        out.extend_from_slice(&(self.chunks.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for c in &self.chunks {
            out.extend_from_slice(&c.source_offset.to_le_bytes());
            out.extend_from_slice(&c.target_offset.to_le_bytes());
            out.extend_from_slice(&c.length.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
        }
    }

    /// Decodes the structure (for a scripted server); ChunkCount must fit in `buf`
    /// before anything is allocated for it.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let source_key = r.array("source key")?;
        let count = r.u32("chunk count")?;
        r.skip(4, "reserved")?;
        if count as usize > r.remaining() / Self::CHUNK_LEN {
            return Err(DecodeError::invalid("chunk count", count));
        }
        let mut chunks = Vec::with_capacity(count as usize);
        for _ in 0..count {
            chunks.push(SrvCopychunk {
                source_offset: r.u64("chunk source offset")?,
                target_offset: r.u64("chunk target offset")?,
                length: r.u32("chunk length")?,
            });
            r.skip(4, "chunk reserved")?;
        }
        Ok(SrvCopychunkCopy { source_key, chunks })
    }
}

/// SRV_COPYCHUNK_RESPONSE, MS-SMB2 2.2.32.1: the output of FSCTL_SRV_COPYCHUNK(_WRITE).
/// With STATUS_INVALID_PARAMETER the three fields are the server's limits instead
/// (ServerSideCopyMaxNumberofChunks, ServerSideCopyMaxChunkSize,
/// ServerSideCopyMaxDataSize), so the client can ask again within them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SrvCopychunkResponse {
    /// ChunksWritten, or the most chunks one request may carry.
    pub chunks_written: u32,
    /// ChunkBytesWritten (the bytes of a partly written last chunk), or the largest
    /// chunk.
    pub chunk_bytes_written: u32,
    /// TotalBytesWritten, or the most bytes one request may copy.
    pub total_bytes_written: u32,
}

impl SrvCopychunkResponse {
    /// The structure's size: the MaxOutputResponse of a copy-chunk request.
    pub const LEN: u32 = 12;

    /// Decodes the structure (the IOCTL output).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        Ok(SrvCopychunkResponse {
            chunks_written: r.u32("chunks written")?,
            chunk_bytes_written: r.u32("chunk bytes written")?,
            total_bytes_written: r.u32("total bytes written")?,
        })
    }

    /// Appends the structure (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.chunks_written.to_le_bytes());
        out.extend_from_slice(&self.chunk_bytes_written.to_le_bytes());
        out.extend_from_slice(&self.total_bytes_written.to_le_bytes());
    }
}

/// Capability flags of a [`NetworkInterfaceInfo`], MS-SMB2 2.2.32.5.
pub mod iface_capability {
    /// RSS_CAPABLE: the interface does receive-side scaling.
    pub const RSS_CAPABLE: u32 = 0x0000_0001;
    /// RDMA_CAPABLE: the interface does RDMA (SMB Direct).
    pub const RDMA_CAPABLE: u32 = 0x0000_0002;
}

/// NETWORK_INTERFACE_INFO, MS-SMB2 2.2.32.5: one address of one of the server's network
/// interfaces, an entry of the output of FSCTL_QUERY_NETWORK_INTERFACE_INFO. The port is
/// never given: a channel goes to the port the first connection reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkInterfaceInfo {
    /// IfIndex: the interface the address belongs to. A client tells interfaces apart by
    /// it (MS-SMB2 3.2.5.14.11); Samba sends 0xFFFFFFFF when it knows none.
    pub if_index: u32,
    /// Capability, see [`iface_capability`].
    pub capability: u32,
    /// LinkSpeed, in bits per second.
    pub link_speed: u64,
    /// The address (SockAddr_Storage, 2.2.32.5.1); `None` for a family other than
    /// IPv4 (InterNetwork) and IPv6 (InterNetworkV6).
    pub address: Option<IpAddr>,
}

impl NetworkInterfaceInfo {
    /// Every entry is this long: Next, IfIndex, Capability, Reserved, LinkSpeed, then a
    /// 128-byte SockAddr_Storage.
    pub const LEN: usize = 152;
    /// The MaxOutputResponse to ask the list with: what Windows asks (MS-SMB2 <177>).
    pub const MAX_LIST_LEN: u32 = 64 * 1024;
    /// The most entries a list may hold: as many as [`MAX_LIST_LEN`](Self::MAX_LIST_LEN)
    /// bytes carry.
    pub const MAX_ENTRIES: usize = Self::MAX_LIST_LEN as usize / Self::LEN;
    /// SockAddr_Storage Family: InterNetwork (SOCKADDR_IN, 2.2.32.5.1.1).
    const INET: u16 = 0x0002;
    /// SockAddr_Storage Family: InterNetworkV6 (SOCKADDR_IN6, 2.2.32.5.1.2).
    const INET6: u16 = 0x0017;

    /// Decodes the FSCTL's output: entries linked by Next, the offset from an entry's
    /// start to the next one's, 0 after the last. An empty buffer is an empty list. An
    /// address of an unknown family is kept with [`address`](Self::address) `None`;
    /// ports, IPv6 flow information and scope ids are ignored.
    ///
    /// ```
    /// use smb_proto::wire::ioctl::NetworkInterfaceInfo;
    /// let nic = NetworkInterfaceInfo {
    ///     if_index: 2,
    ///     capability: 0,
    ///     link_speed: 1_000_000_000,
    ///     address: Some("192.0.2.7".parse().unwrap()),
    /// };
    /// let list = NetworkInterfaceInfo::encode_list(&[nic, nic]);
    /// assert_eq!(NetworkInterfaceInfo::decode_list(&list), Ok(vec![nic, nic]));
    /// ```
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when an entry is cut short, when a Next is not 0 but shorter than
    /// an entry, not a multiple of 8 or past the end of `buf`, or when the list holds
    /// more than [`MAX_ENTRIES`](Self::MAX_ENTRIES) entries.
    pub fn decode_list(buf: &[u8]) -> Result<Vec<Self>, DecodeError> {
        let mut list = Vec::new();
        for entry in EntryChain::new(buf, Self::LEN, "network interface next") {
            let (_, entry) = entry?;
            if list.len() == Self::MAX_ENTRIES {
                return Err(DecodeError::invalid(
                    "network interface count",
                    list.len() as u64 + 1,
                ));
            }
            list.push(Self::decode(entry)?);
        }
        Ok(list)
    }

    /// Decodes one entry; the chain has checked it holds [`LEN`](Self::LEN) bytes.
    fn decode(entry: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(entry);
        let next = r.u32("network interface next")?;
        if next % 8 != 0 {
            return Err(DecodeError::invalid("network interface next", next));
        }
        let if_index = r.u32("if index")?;
        let capability = r.u32("capability")?;
        r.skip(4, "reserved")?;
        let link_speed = r.u64("link speed")?;
        let family = r.u16("address family")?;
        r.skip(2, "port")?;
        let address = match family {
            Self::INET => Some(IpAddr::from(r.array::<4>("ipv4 address")?)),
            Self::INET6 => {
                r.skip(4, "flow info")?;
                Some(IpAddr::from(r.array::<16>("ipv6 address")?))
            }
            _ => None,
        };
        Ok(NetworkInterfaceInfo {
            if_index,
            capability,
            link_speed,
            address,
        })
    }

    /// The FSCTL's output listing `entries` (for tests and scripted servers): each
    /// entry [`LEN`](Self::LEN) bytes, port, flow information and scope id 0, and an
    /// address of `None` as family 0.
    pub fn encode_list(entries: &[Self]) -> Vec<u8> {
        let mut out = Vec::with_capacity(entries.len() * Self::LEN);
        encode_chain(entries, 8, &mut out, |e, out| e.encode(out));
        out
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&0u32.to_le_bytes()); // Next, set by the chain
        out.extend_from_slice(&self.if_index.to_le_bytes());
        out.extend_from_slice(&self.capability.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.link_speed.to_le_bytes());
        match self.address {
            Some(IpAddr::V4(a)) => {
                out.extend_from_slice(&Self::INET.to_le_bytes());
                out.extend_from_slice(&0u16.to_be_bytes()); // Port
                out.extend_from_slice(&a.octets());
            }
            Some(IpAddr::V6(a)) => {
                out.extend_from_slice(&Self::INET6.to_le_bytes());
                out.extend_from_slice(&0u16.to_be_bytes()); // Port
                out.extend_from_slice(&0u32.to_be_bytes()); // FlowInfo
                out.extend_from_slice(&a.octets());
            }
            None => {}
        }
        out.resize(start + Self::LEN, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    /// smb311_share_list.pcapng frame 17: FSCTL_PIPE_TRANSCEIVE carrying a DCE/RPC bind
    /// to SRVSVC (2.2.31).
    const IOCTL_REQ_PIPE: &str =
        "fe534d4240000100000000000b00010010000000000000000500000000000000000000008f3b7031a53e8714\
        00000000000000000000000000000000000000003900000017c01100aa3c10ff000000005902965e00000000\
        7800000048000000000000007800000000000000b8100000010000000000000005000b031000000048000000\
        01000000b810b810000000000100000000000100c84f324b7016d30112785a47bf6ee18803000000045d888a\
        eb1cc9119fe808002b10486002000000";
    /// smb311_share_list.pcapng frame 21: its final (async) response with the bind_ack
    /// (2.2.32).
    const IOCTL_RESP_PIPE: &str =
        "fe534d4240000100000000000b000000130000000000000005000000000000000500000000000000a53e8714\
        00000000000000000000000000000000000000003100000017c01100aa3c10ff000000005902965e00000000\
        70000000000000007000000044000000000000000000000005000c03100000004400000001000000b810b810\
        5f1d00000d005c706970655c73727673766300000100000000000000045d888aeb1cc9119fe808002b104860\
        02000000";
    /// smb311_default.pcapng frame 95: FSCTL_SRV_ENUMERATE_SNAPSHOTS, no input.
    const IOCTL_REQ_SNAPSHOTS: &str =
        "fe534d4240000100000000000b00010010000000000000002702000000000000000000001f5981431d720b7c\
        000000000000000000000000000000000000000039000000644014001ac81c7d00000000566fb32400000000\
        000000000000000000000000000000000000000010000000010000000000000000";
    /// smb210_sign.pcapng frame 14: FSCTL_VALIDATE_NEGOTIATE_INFO (2.2.31.4 input).
    const IOCTL_REQ_VALIDATE: &str =
        "fe534d4240000100000000000b0001000800000000000000040000000000000000000000ccc7ae7b0edd341b\
        00000000641ecd05c1177ebac53964104718dc813900000004021400ffffffffffffffffffffffffffffffff\
        780000001c00000000000000780000000000000018000000010000000000000000000000cd31f3611526c749\
        9e0ab04bf1f7fd440300020002021002";
    /// smb210_sign.pcapng frame 15: its response (2.2.32.6 output).
    const IOCTL_RESP_VALIDATE: &str =
        "fe534d4240000100000000000b0001000900000000000000040000000000000000000000ccc7ae7b0edd341b\
        000000006c0b6bb362bead9874ff2cf3368939ea3100000004021400ffffffffffffffffffffffffffffffff\
        7000000000000000700000001800000000000000000000000700000074657374737276000000000000000000\
        01001002";

    #[test]
    fn pipe_transceive_round_trips() {
        let msg = hex(IOCTL_REQ_PIPE);
        let req = IoctlRequest::decode(&msg).unwrap();
        assert_eq!(req.ctl_code, fsctl::PIPE_TRANSCEIVE);
        assert_eq!(req.flags, flags::IS_FSCTL);
        // File Id ff103caa-0000-0000-5902-965e00000000.
        assert_eq!(
            req.file_id,
            FileId {
                persistent: 0xff10_3caa,
                volatile: 0x5e96_0259
            }
        );
        assert_eq!(req.input.len(), 72);
        assert_eq!(req.input[..4], [5, 0, 11, 3]); // DCE/RPC v5.0 bind
        assert_eq!((req.max_input_response, req.max_output_response), (0, 4280));
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));

        let msg = hex(IOCTL_RESP_PIPE);
        let resp = IoctlResponse::decode(&msg).unwrap();
        assert_eq!(resp.ctl_code, fsctl::PIPE_TRANSCEIVE);
        assert_eq!(resp.file_id, req.file_id);
        assert!(resp.input.is_empty());
        assert_eq!(resp.output.len(), 68);
        assert_eq!(resp.output[..4], [5, 0, 12, 3]); // bind_ack
        assert_eq!(body(&with_header(|o| resp.encode(o))), body(&msg));
    }

    #[test]
    fn request_without_input_round_trips() {
        let msg = hex(IOCTL_REQ_SNAPSHOTS);
        let req = IoctlRequest::decode(&msg).unwrap();
        assert_eq!(req.ctl_code, fsctl::SRV_ENUMERATE_SNAPSHOTS);
        assert!(req.input.is_empty());
        assert_eq!(req.max_output_response, 16);
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn validate_negotiate_info_round_trips() {
        let msg = hex(IOCTL_REQ_VALIDATE);
        let req = IoctlRequest::decode(&msg).unwrap();
        assert_eq!(req.ctl_code, fsctl::VALIDATE_NEGOTIATE_INFO);
        assert_eq!(req.file_id, FileId::ANY);
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
        let info = ValidateNegotiateInfoRequest::decode(&req.input).unwrap();
        assert_eq!(info.capabilities, 0);
        assert_eq!(info.guid, hex("cd31f3611526c7499e0ab04bf1f7fd44")[..]);
        assert_eq!(info.security_mode, 3);
        assert_eq!(info.dialects, [0x0202, 0x0210]);
        let mut input = Vec::new();
        info.encode(&mut input);
        assert_eq!(input, req.input);

        let msg = hex(IOCTL_RESP_VALIDATE);
        let resp = IoctlResponse::decode(&msg).unwrap();
        let out = ValidateNegotiateInfoResponse::decode(&resp.output).unwrap();
        assert_eq!(out.capabilities, 0x07);
        assert_eq!(&out.guid, b"testsrv\0\0\0\0\0\0\0\0\0");
        assert_eq!(out.security_mode, 0x01);
        assert_eq!(out.dialect, 0x0210);
        let mut output = Vec::new();
        out.encode(&mut output);
        assert_eq!(output, resp.output);
    }

    /// The answer to FSCTL_SRV_ENUMERATE_SNAPSHOTS with room for every snapshot, laid out
    /// by hand per MS-SMB2 2.2.32.2 as Samba sends it: two tokens of 25 UTF-16 units
    /// each with its NUL, and the final NUL (SnapShotArraySize 2 * 50 + 2 = 0x66).
    fn snapshot_answer() -> Vec<u8> {
        let mut b = hex("02000000 02000000 66000000").to_vec();
        b.extend(codec::to_utf16le(
            "@GMT-2026.03.01-00.00.00\0@GMT-2026.01.15-12.30.59\0\0",
        ));
        b
    }

    #[test]
    fn snapshot_arrays_decode_their_tokens_as_times() {
        let full = SrvSnapshotArray::decode(&snapshot_answer()).unwrap();
        let times: Vec<String> = full.snapshots.iter().map(|t| t.gmt_token()).collect();
        assert_eq!(
            times,
            ["@GMT-2026.03.01-00.00.00", "@GMT-2026.01.15-12.30.59"]
        );
        assert_eq!(full.number_of_snapshots, 2);
        assert_eq!(full.snapshot_array_size, 0x66);
        assert!(full.is_complete());
        assert_eq!(SrvSnapshotArray::new(full.snapshots.clone()), full);
        let mut out = Vec::new();
        full.encode(&mut out);
        assert_eq!(out, snapshot_answer());

        // The answer to a 16-byte MaxOutputResponse: the counts and the size needed.
        let probe = SrvSnapshotArray::decode(&hex("02000000 00000000 66000000 00000000")).unwrap();
        assert!(probe.snapshots.is_empty() && !probe.is_complete());
        assert_eq!(probe.full_len(), 12 + 0x66);
        let none = SrvSnapshotArray::decode(&hex("00000000 00000000 02000000 00000000")).unwrap();
        assert!(none.is_complete());
    }

    #[test]
    fn snapshot_arrays_that_lie_are_errors() {
        let good = snapshot_answer();
        for n in 0..good.len() {
            assert!(SrvSnapshotArray::decode(&good[..n]).is_err(), "cut to {n}");
        }
        let with = |at: usize, bytes: &[u8]| {
            let mut b = good.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            SrvSnapshotArray::decode(&b)
        };
        // More returned than there are, more returned than tokens, fewer.
        assert!(with(4, &[3]).is_err());
        assert!(with(0, &[3]).and_then(|_| with(4, &[3])).is_err());
        let mut three = good.clone();
        three[0] = 3;
        three[4] = 3;
        assert!(SrvSnapshotArray::decode(&three).is_err());
        assert!(with(4, &[1]).is_err());
        // An odd size, a size past the end, a token that is not a time.
        assert!(with(8, &[0x65]).is_err());
        assert!(with(8, &[0xff]).is_err());
        assert_eq!(
            with(12 + 2 * 10, &[b'9', 0]),
            Err(DecodeError::invalid("snapshot token", 0u64))
        );
    }

    /// FSCTL_SRV_COPYCHUNK_WRITE's input laid out by hand per MS-SMB2 2.2.31.1: a key of
    /// 24 bytes 0x01..=0x18, two chunks (1 MiB from 0 to 4096; 10 bytes from 2^32 to 0).
    fn copychunk_input() -> Vec<u8> {
        let mut b: Vec<u8> = (1..=24).collect();
        b.extend(hex("02000000 00000000"));
        b.extend(hex("0000000000000000 0010000000000000 00001000 00000000"));
        b.extend(hex("0000000001000000 0000000000000000 0a000000 00000000"));
        b
    }

    #[test]
    fn copychunk_requests_round_trip() {
        let copy = SrvCopychunkCopy::decode(&copychunk_input()).unwrap();
        assert_eq!(copy.source_key.to_vec(), (1..=24).collect::<Vec<u8>>());
        assert_eq!(
            copy.chunks,
            [
                SrvCopychunk {
                    source_offset: 0,
                    target_offset: 4096,
                    length: 1 << 20
                },
                SrvCopychunk {
                    source_offset: 1 << 32,
                    target_offset: 0,
                    length: 10
                },
            ]
        );
        let mut out = Vec::new();
        copy.encode(&mut out);
        assert_eq!(out, copychunk_input());
        assert_eq!(
            out.len(),
            SrvCopychunkCopy::FIXED_LEN + 2 * SrvCopychunkCopy::CHUNK_LEN
        );
    }

    #[test]
    fn copychunk_requests_that_lie_are_errors() {
        let good = copychunk_input();
        for n in 0..good.len() {
            assert!(SrvCopychunkCopy::decode(&good[..n]).is_err(), "cut to {n}");
        }
        // A count the bytes cannot hold is refused before anything is allocated.
        let mut huge = good.clone();
        huge[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            SrvCopychunkCopy::decode(&huge),
            Err(DecodeError::invalid("chunk count", u32::MAX))
        );
        let mut none = good[..32].to_vec();
        none[24] = 0;
        assert!(SrvCopychunkCopy::decode(&none).unwrap().chunks.is_empty());
    }

    #[test]
    fn resume_keys_and_copychunk_answers_decode() {
        // Windows' 32-byte answer (2.2.32.3): the key, ContextLength 4, 4 bytes of context.
        let mut answer: Vec<u8> = (0xa0..0xb8).collect();
        answer.extend(hex("04000000 00000000"));
        let key = SrvRequestResumeKey::decode(&answer).unwrap();
        assert_eq!(key.resume_key[..], answer[..24]);
        assert_eq!(answer.len() as u32, SrvRequestResumeKey::MAX_OUTPUT);
        let mut out = Vec::new();
        key.encode(&mut out);
        assert_eq!(SrvRequestResumeKey::decode(&out), Ok(key));
        for n in 0..28 {
            assert!(
                SrvRequestResumeKey::decode(&answer[..n]).is_err(),
                "cut to {n}"
            );
        }

        // The limits Samba answers an oversized request with (2.2.32.1, 3.3.5.15.6.2):
        // 256 chunks, 1 MiB each, 16 MiB in all.
        let limits = hex("00010000 00001000 00000001");
        let resp = SrvCopychunkResponse::decode(&limits).unwrap();
        assert_eq!(
            resp,
            SrvCopychunkResponse {
                chunks_written: 256,
                chunk_bytes_written: 1 << 20,
                total_bytes_written: 16 << 20,
            }
        );
        let mut out = Vec::new();
        resp.encode(&mut out);
        assert_eq!(out, limits);
        assert_eq!(out.len() as u32, SrvCopychunkResponse::LEN);
        for n in 0..12 {
            assert!(SrvCopychunkResponse::decode(&limits[..n]).is_err());
        }
    }

    #[test]
    fn output_past_the_message_is_an_error() {
        let mut m = hex(IOCTL_RESP_PIPE).to_vec();
        m[HEADER_LEN + 36] = 69; // OutputCount 69 with 68 bytes present
        assert!(IoctlResponse::decode(&m.into()).is_err());
    }

    /// One NETWORK_INTERFACE_INFO laid out by hand per MS-SMB2 2.2.32.5: Next, IfIndex,
    /// Capability, Reserved, LinkSpeed, then `sockaddr` (family first) padded to 128.
    fn iface_entry(
        next: u32,
        if_index: u32,
        capability: u32,
        speed: u64,
        sockaddr: &str,
    ) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(next.to_le_bytes());
        b.extend(if_index.to_le_bytes());
        b.extend(capability.to_le_bytes());
        b.extend(hex("deadbeef")); // Reserved: ignored
        b.extend(speed.to_le_bytes());
        b.extend(hex(sockaddr));
        b.resize(152, 0);
        b
    }

    /// 127.0.0.1 on interface 101 (RSS, 10 Gb/s), then fe80::1:2 on 102 (1 Gb/s), each
    /// with a port, the IPv6 one with flow information and a scope id, all ignored.
    fn iface_list() -> Vec<u8> {
        let mut b = iface_entry(152, 101, 1, 10_000_000_000, "0200 01bd 7f000001");
        b.extend(iface_entry(
            0,
            102,
            0,
            1_000_000_000,
            "1700 01bd 12345678 fe800000000000000000000000010002 07000000",
        ));
        b
    }

    fn nic(if_index: u32, capability: u32, link_speed: u64, address: &str) -> NetworkInterfaceInfo {
        NetworkInterfaceInfo {
            if_index,
            capability,
            link_speed,
            address: Some(address.parse().unwrap()),
        }
    }

    #[test]
    fn network_interfaces_decode_ipv4_and_ipv6_in_network_byte_order() {
        let list = NetworkInterfaceInfo::decode_list(&iface_list()).unwrap();
        assert_eq!(
            list,
            [
                nic(
                    101,
                    iface_capability::RSS_CAPABLE,
                    10_000_000_000,
                    "127.0.0.1"
                ),
                nic(102, 0, 1_000_000_000, "fe80::1:2"),
            ]
        );
        // The list as it is encoded differs only in what the decoder ignores.
        let mut plain = iface_list();
        for entry in [0, 152] {
            plain[entry + 12..entry + 16].fill(0); // Reserved
            plain[entry + 26..entry + 28].fill(0); // Port
        }
        plain[152 + 28..152 + 32].fill(0); // FlowInfo
        plain[152 + 48..152 + 52].fill(0); // ScopeId
        assert_eq!(NetworkInterfaceInfo::encode_list(&list), plain);
        assert_eq!(NetworkInterfaceInfo::decode_list(&[]), Ok(Vec::new()));
        assert!(NetworkInterfaceInfo::encode_list(&[]).is_empty());
    }

    #[test]
    fn network_interfaces_round_trip_whatever_they_hold() {
        let list = [
            nic(7, 3, u64::MAX, "::"),
            NetworkInterfaceInfo::default(),
            nic(u32::MAX, 2, 1, "255.255.255.255"),
            nic(0, 0, 0, "2001:db8::ff"),
        ];
        let bytes = NetworkInterfaceInfo::encode_list(&list);
        assert_eq!(bytes.len(), 4 * NetworkInterfaceInfo::LEN);
        assert_eq!(bytes[..4], 152u32.to_le_bytes());
        assert_eq!(bytes[3 * 152..3 * 152 + 4], [0; 4], "the last Next is 0");
        assert_eq!(NetworkInterfaceInfo::decode_list(&bytes).unwrap(), list);
    }

    #[test]
    fn network_interfaces_of_an_unknown_family_are_kept_without_an_address() {
        // AF_NETBIOS (0x11) first, then an IPv4 entry that still decodes.
        let mut b = iface_entry(152, 5, 2, 100, "1100 0000 0a000001");
        b.extend(iface_entry(0, 6, 0, 100, "0200 0000 0a000002"));
        assert_eq!(
            NetworkInterfaceInfo::decode_list(&b).unwrap(),
            [
                NetworkInterfaceInfo {
                    if_index: 5,
                    capability: iface_capability::RDMA_CAPABLE,
                    link_speed: 100,
                    address: None,
                },
                nic(6, 0, 100, "10.0.0.2"),
            ]
        );
    }

    #[test]
    fn network_interface_lists_that_lie_are_errors() {
        let good = iface_list();
        for n in 1..good.len() {
            assert!(
                NetworkInterfaceInfo::decode_list(&good[..n]).is_err(),
                "cut to {n}"
            );
        }
        let with_next = |list: &[u8], next: u32| {
            let mut b = list.to_vec();
            b[..4].copy_from_slice(&next.to_le_bytes());
            NetworkInterfaceInfo::decode_list(&b)
        };
        let bad = |next: u32| DecodeError::invalid("network interface next", next);
        // Into the entry itself (also every "backwards" offset: Next is unsigned).
        for next in [1, 8, 144, 151] {
            assert_eq!(with_next(&good, next), Err(bad(next)));
        }
        // Past the end, at the end, and an offset that overflows.
        for next in [304, 153 * 8, u32::MAX] {
            assert_eq!(with_next(&good, next), Err(bad(next)));
        }
        // Not 8-aligned, with room for an entry there.
        let mut three = good.clone();
        three.extend(iface_entry(0, 9, 0, 1, "0200 0000 7f000009"));
        assert_eq!(with_next(&three, 156), Err(bad(156)));
        assert_eq!(with_next(&three, 153), Err(bad(153)));
        assert_eq!(
            with_next(&three, 304)
                .unwrap()
                .iter()
                .map(|i| i.if_index)
                .collect::<Vec<_>>(),
            [101, 9],
            "an aligned Next may skip bytes"
        );
    }

    #[test]
    fn network_interface_lists_are_bounded() {
        let one = nic(1, 0, 1, "127.0.0.1");
        let most = vec![one; NetworkInterfaceInfo::MAX_ENTRIES];
        let bytes = NetworkInterfaceInfo::encode_list(&most);
        assert!(bytes.len() <= NetworkInterfaceInfo::MAX_LIST_LEN as usize);
        assert_eq!(
            NetworkInterfaceInfo::decode_list(&bytes).unwrap().len(),
            most.len()
        );
        let too_many = NetworkInterfaceInfo::encode_list(&vec![one; most.len() + 1]);
        assert_eq!(
            NetworkInterfaceInfo::decode_list(&too_many),
            Err(DecodeError::invalid(
                "network interface count",
                most.len() as u64 + 1
            ))
        );
    }

    #[test]
    fn decoders_survive_malformed_input() {
        assert_robust(&hex(IOCTL_RESP_PIPE), IoctlResponse::decode);
        let ifaces = IoctlResponse {
            ctl_code: fsctl::QUERY_NETWORK_INTERFACE_INFO,
            file_id: FileId::ANY,
            output: iface_list().into(),
            ..Default::default()
        };
        assert_robust(&with_header(|o| ifaces.encode(o)), |m| {
            IoctlResponse::decode(m).and_then(|r| NetworkInterfaceInfo::decode_list(&r.output))
        });
        assert_robust(&hex(IOCTL_REQ_PIPE), IoctlRequest::decode);
        for n in 0..24 {
            let full = hex(IOCTL_RESP_VALIDATE);
            let output = &full[HEADER_LEN + 48..];
            assert!(ValidateNegotiateInfoResponse::decode(&output[..n]).is_err());
        }
    }
}
