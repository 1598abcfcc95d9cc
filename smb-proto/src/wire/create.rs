//! CREATE request and response, MS-SMB2 2.2.13 / 2.2.14, with the create context chain
//! of 2.2.13.2. Also home of [`FileId`] (2.2.14.1), which most later commands carry.

use bytes::Bytes;

use super::codec::{self, DecodeError, Reader};
use super::fscc::{EntryChain, FileTime};
use super::header::HEADER_LEN;

/// SMB2_FILEID, MS-SMB2 2.2.14.1: the handle of an open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FileId {
    /// Persistent: survives a reconnect for durable handles.
    pub persistent: u64,
    /// Volatile: may change on reconnect.
    pub volatile: u64,
}

impl FileId {
    /// All ones: in a related compound request, "the file opened by the previous
    /// request" (MS-SMB2 3.2.4.1.4).
    pub const ANY: FileId = FileId {
        persistent: u64::MAX,
        volatile: u64::MAX,
    };

    /// The [`FileId`] standing for SMB1 FID `fid` (MS-CIFS 2.2.1.6.1): the FID in the
    /// persistent part, so that one handle type serves both protocols.
    pub fn smb1(fid: u16) -> FileId {
        FileId {
            persistent: u64::from(fid),
            volatile: 0,
        }
    }

    /// The SMB1 FID this [`FileId`] stands for ([`FileId::smb1`]).
    pub fn smb1_fid(&self) -> u16 {
        self.persistent as u16
    }

    /// Appends the 16-byte encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.persistent.to_le_bytes());
        out.extend_from_slice(&self.volatile.to_le_bytes());
    }

    /// Reads the 16-byte encoding.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FileId {
            persistent: r.u64("file id persistent")?,
            volatile: r.u64("file id volatile")?,
        })
    }
}

/// The variable-length field `[offset, offset + len)` of `msg`, zero-copy. `fixed_end` is
/// where the message's fixed part ends (header + StructureSize rounded down to even).
///
/// An empty field yields empty `Bytes` whatever its offset, because servers send offset 0
/// with length 0. A non-empty field must lie after the fixed part and inside `msg`.
pub(crate) fn variable_buffer(
    msg: &Bytes,
    offset: usize,
    len: usize,
    fixed_end: usize,
    what: &'static str,
) -> Result<Bytes, DecodeError> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    if offset < fixed_end {
        return Err(DecodeError::invalid(what, offset as u64));
    }
    codec::slice_bytes(msg, offset, len, what)
}

/// RequestedOplockLevel / OplockLevel values, MS-SMB2 2.2.13.
pub mod oplock_level {
    /// SMB2_OPLOCK_LEVEL_NONE.
    pub const NONE: u8 = 0x00;
    /// SMB2_OPLOCK_LEVEL_II.
    pub const II: u8 = 0x01;
    /// SMB2_OPLOCK_LEVEL_EXCLUSIVE.
    pub const EXCLUSIVE: u8 = 0x08;
    /// SMB2_OPLOCK_LEVEL_BATCH.
    pub const BATCH: u8 = 0x09;
    /// SMB2_OPLOCK_LEVEL_LEASE: the lease is requested in an `RqLs` create context.
    pub const LEASE: u8 = 0xFF;
}

/// ImpersonationLevel values, MS-SMB2 2.2.13.
pub mod impersonation_level {
    /// Anonymous.
    pub const ANONYMOUS: u32 = 0;
    /// Identification.
    pub const IDENTIFICATION: u32 = 1;
    /// Impersonation: what Windows and Samba clients send.
    pub const IMPERSONATION: u32 = 2;
    /// Delegate.
    pub const DELEGATE: u32 = 3;
}

/// DesiredAccess bits, MS-SMB2 2.2.13.1 (File_Pipe_Printer_Access_Mask and
/// Directory_Access_Mask share the low bits under different names).
pub mod access_mask {
    /// FILE_READ_DATA (files) / FILE_LIST_DIRECTORY (directories).
    pub const FILE_READ_DATA: u32 = 0x0000_0001;
    /// FILE_LIST_DIRECTORY.
    pub const FILE_LIST_DIRECTORY: u32 = 0x0000_0001;
    /// FILE_WRITE_DATA / FILE_ADD_FILE.
    pub const FILE_WRITE_DATA: u32 = 0x0000_0002;
    /// FILE_ADD_FILE.
    pub const FILE_ADD_FILE: u32 = 0x0000_0002;
    /// FILE_APPEND_DATA / FILE_ADD_SUBDIRECTORY.
    pub const FILE_APPEND_DATA: u32 = 0x0000_0004;
    /// FILE_ADD_SUBDIRECTORY.
    pub const FILE_ADD_SUBDIRECTORY: u32 = 0x0000_0004;
    /// FILE_READ_EA.
    pub const FILE_READ_EA: u32 = 0x0000_0008;
    /// FILE_WRITE_EA.
    pub const FILE_WRITE_EA: u32 = 0x0000_0010;
    /// FILE_EXECUTE / FILE_TRAVERSE.
    pub const FILE_EXECUTE: u32 = 0x0000_0020;
    /// FILE_TRAVERSE.
    pub const FILE_TRAVERSE: u32 = 0x0000_0020;
    /// FILE_DELETE_CHILD.
    pub const FILE_DELETE_CHILD: u32 = 0x0000_0040;
    /// FILE_READ_ATTRIBUTES.
    pub const FILE_READ_ATTRIBUTES: u32 = 0x0000_0080;
    /// FILE_WRITE_ATTRIBUTES.
    pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0000_0100;
    /// DELETE.
    pub const DELETE: u32 = 0x0001_0000;
    /// READ_CONTROL.
    pub const READ_CONTROL: u32 = 0x0002_0000;
    /// WRITE_DAC.
    pub const WRITE_DAC: u32 = 0x0004_0000;
    /// WRITE_OWNER.
    pub const WRITE_OWNER: u32 = 0x0008_0000;
    /// SYNCHRONIZE.
    pub const SYNCHRONIZE: u32 = 0x0010_0000;
    /// ACCESS_SYSTEM_SECURITY.
    pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
    /// MAXIMUM_ALLOWED.
    pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
    /// FILE_GENERIC_READ: what GENERIC_READ maps to on a file (MS-SMB2 2.2.13.1.1:
    /// FILE_READ_DATA, FILE_READ_EA, FILE_READ_ATTRIBUTES, READ_CONTROL, SYNCHRONIZE).
    pub const FILE_GENERIC_READ: u32 = 0x0012_0089;
    /// FILE_GENERIC_WRITE: what GENERIC_WRITE maps to on a file (FILE_WRITE_DATA,
    /// FILE_APPEND_DATA, FILE_WRITE_EA, FILE_WRITE_ATTRIBUTES, READ_CONTROL, SYNCHRONIZE).
    pub const FILE_GENERIC_WRITE: u32 = 0x0012_0116;
    /// GENERIC_ALL.
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    /// GENERIC_EXECUTE.
    pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
    /// GENERIC_WRITE.
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    /// GENERIC_READ.
    pub const GENERIC_READ: u32 = 0x8000_0000;
}

/// CreateDisposition values, MS-SMB2 2.2.13.
pub mod disposition {
    /// FILE_SUPERSEDE: replace if it exists, create otherwise.
    pub const SUPERSEDE: u32 = 0;
    /// FILE_OPEN: open an existing file, fail otherwise.
    pub const OPEN: u32 = 1;
    /// FILE_CREATE: create, fail if it exists.
    pub const CREATE: u32 = 2;
    /// FILE_OPEN_IF: open, or create if missing.
    pub const OPEN_IF: u32 = 3;
    /// FILE_OVERWRITE: open and truncate, fail if missing.
    pub const OVERWRITE: u32 = 4;
    /// FILE_OVERWRITE_IF: open and truncate, or create if missing.
    pub const OVERWRITE_IF: u32 = 5;
}

/// CreateOptions bits, MS-SMB2 2.2.13.
pub mod create_options {
    /// FILE_DIRECTORY_FILE.
    pub const DIRECTORY_FILE: u32 = 0x0000_0001;
    /// FILE_WRITE_THROUGH.
    pub const WRITE_THROUGH: u32 = 0x0000_0002;
    /// FILE_SEQUENTIAL_ONLY.
    pub const SEQUENTIAL_ONLY: u32 = 0x0000_0004;
    /// FILE_NO_INTERMEDIATE_BUFFERING.
    pub const NO_INTERMEDIATE_BUFFERING: u32 = 0x0000_0008;
    /// FILE_SYNCHRONOUS_IO_ALERT.
    pub const SYNCHRONOUS_IO_ALERT: u32 = 0x0000_0010;
    /// FILE_SYNCHRONOUS_IO_NONALERT.
    pub const SYNCHRONOUS_IO_NONALERT: u32 = 0x0000_0020;
    /// FILE_NON_DIRECTORY_FILE.
    pub const NON_DIRECTORY_FILE: u32 = 0x0000_0040;
    /// FILE_COMPLETE_IF_OPLOCKED.
    pub const COMPLETE_IF_OPLOCKED: u32 = 0x0000_0100;
    /// FILE_NO_EA_KNOWLEDGE.
    pub const NO_EA_KNOWLEDGE: u32 = 0x0000_0200;
    /// FILE_OPEN_REMOTE_INSTANCE.
    pub const OPEN_REMOTE_INSTANCE: u32 = 0x0000_0400;
    /// FILE_RANDOM_ACCESS.
    pub const RANDOM_ACCESS: u32 = 0x0000_0800;
    /// FILE_DELETE_ON_CLOSE.
    pub const DELETE_ON_CLOSE: u32 = 0x0000_1000;
    /// FILE_OPEN_BY_FILE_ID.
    pub const OPEN_BY_FILE_ID: u32 = 0x0000_2000;
    /// FILE_OPEN_FOR_BACKUP_INTENT.
    pub const OPEN_FOR_BACKUP_INTENT: u32 = 0x0000_4000;
    /// FILE_NO_COMPRESSION.
    pub const NO_COMPRESSION: u32 = 0x0000_8000;
    /// FILE_OPEN_REQUIRING_OPLOCK.
    pub const OPEN_REQUIRING_OPLOCK: u32 = 0x0001_0000;
    /// FILE_DISALLOW_EXCLUSIVE.
    pub const DISALLOW_EXCLUSIVE: u32 = 0x0002_0000;
    /// FILE_RESERVE_OPFILTER.
    pub const RESERVE_OPFILTER: u32 = 0x0010_0000;
    /// FILE_OPEN_REPARSE_POINT.
    pub const OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    /// FILE_OPEN_NO_RECALL.
    pub const OPEN_NO_RECALL: u32 = 0x0040_0000;
    /// FILE_OPEN_FOR_FREE_SPACE_QUERY.
    pub const OPEN_FOR_FREE_SPACE_QUERY: u32 = 0x0080_0000;
}

/// Create context names, MS-SMB2 2.2.13.2.
pub mod context_name {
    /// SMB2_CREATE_EA_BUFFER.
    pub const EA_BUFFER: &[u8; 4] = b"ExtA";
    /// SMB2_CREATE_SD_BUFFER.
    pub const SD_BUFFER: &[u8; 4] = b"SecD";
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST.
    pub const DURABLE_HANDLE_REQUEST: &[u8; 4] = b"DHnQ";
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT.
    pub const DURABLE_HANDLE_RECONNECT: &[u8; 4] = b"DHnC";
    /// SMB2_CREATE_ALLOCATION_SIZE.
    pub const ALLOCATION_SIZE: &[u8; 4] = b"AlSi";
    /// SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST.
    pub const QUERY_MAXIMAL_ACCESS_REQUEST: &[u8; 4] = b"MxAc";
    /// SMB2_CREATE_TIMEWARP_TOKEN (open a previous version).
    pub const TIMEWARP_TOKEN: &[u8; 4] = b"TWrp";
    /// SMB2_CREATE_QUERY_ON_DISK_ID.
    pub const QUERY_ON_DISK_ID: &[u8; 4] = b"QFid";
    /// SMB2_CREATE_REQUEST_LEASE (v1 and v2).
    pub const REQUEST_LEASE: &[u8; 4] = b"RqLs";
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2.
    pub const DURABLE_HANDLE_REQUEST_V2: &[u8; 4] = b"DH2Q";
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2.
    pub const DURABLE_HANDLE_RECONNECT_V2: &[u8; 4] = b"DH2C";
}

/// CreateAction values, MS-SMB2 2.2.14.
pub mod create_action {
    /// FILE_SUPERSEDED.
    pub const SUPERSEDED: u32 = 0;
    /// FILE_OPENED.
    pub const OPENED: u32 = 1;
    /// FILE_CREATED.
    pub const CREATED: u32 = 2;
    /// FILE_OVERWRITTEN.
    pub const OVERWRITTEN: u32 = 3;
}

/// Response Flags, MS-SMB2 2.2.14.
pub mod response_flags {
    /// SMB2_CREATE_FLAG_REPARSEPOINT (3.1.1).
    pub const REPARSEPOINT: u8 = 0x01;
}

/// SMB2 CREATE Request, MS-SMB2 2.2.13.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRequest {
    /// RequestedOplockLevel, see [`oplock_level`].
    pub requested_oplock_level: u8,
    /// ImpersonationLevel, see [`impersonation_level`].
    pub impersonation_level: u32,
    /// DesiredAccess, see [`access_mask`].
    pub desired_access: u32,
    /// FileAttributes for a new file, see [`super::fscc::file_attributes`].
    pub file_attributes: u32,
    /// ShareAccess, see [`super::fscc::share_access`].
    pub share_access: u32,
    /// CreateDisposition, see [`disposition`].
    pub create_disposition: u32,
    /// CreateOptions, see [`create_options`].
    pub create_options: u32,
    /// Name relative to the share root, `\`-separated, no leading `\`; empty opens the root.
    pub name: String,
    /// Create contexts as `(name, data)`, encoded as the 2.2.13.2 chain.
    pub create_contexts: Vec<(Vec<u8>, Vec<u8>)>,
}

impl CreateRequest {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 57;
    /// Header + fixed part: where the name starts.
    const BUFFER_OFFSET: usize = HEADER_LEN + 56;

    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let name = codec::to_utf16le(&self.name);
        let contexts_offset = codec::align8(Self::BUFFER_OFFSET + name.len());
        let mut contexts = Vec::new();
        encode_create_contexts(
            self.create_contexts.iter().map(|(n, d)| (&n[..], &d[..])),
            &mut contexts,
        );
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.push(0); // SecurityFlags: reserved
        out.push(self.requested_oplock_level);
        out.extend_from_slice(&self.impersonation_level.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // SmbCreateFlags
        out.extend_from_slice(&0u64.to_le_bytes()); // Reserved
        out.extend_from_slice(&self.desired_access.to_le_bytes());
        out.extend_from_slice(&self.file_attributes.to_le_bytes());
        out.extend_from_slice(&self.share_access.to_le_bytes());
        out.extend_from_slice(&self.create_disposition.to_le_bytes());
        out.extend_from_slice(&self.create_options.to_le_bytes());
        // NameOffset points at the buffer even for an empty name, as Windows sends it.
        out.extend_from_slice(&(Self::BUFFER_OFFSET as u16).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        let (ctx_off, ctx_len) = if contexts.is_empty() {
            (0, 0)
        } else {
            (contexts_offset as u32, contexts.len() as u32)
        };
        out.extend_from_slice(&ctx_off.to_le_bytes());
        out.extend_from_slice(&ctx_len.to_le_bytes());
        out.extend_from_slice(&name);
        if !contexts.is_empty() {
            out.resize(
                out.len() + contexts_offset - Self::BUFFER_OFFSET - name.len(),
                0,
            );
            out.extend_from_slice(&contexts);
        } else if name.is_empty() {
            // 2.2.13: the Buffer MUST be at least one byte long.
            out.push(0);
        }
    }

    /// Decodes a request (for a scripted server); `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "create request")?;
        r.structure_size(Self::STRUCTURE_SIZE, "create request structure size")?;
        r.skip(1, "security flags")?;
        let requested_oplock_level = r.u8("requested oplock level")?;
        let impersonation_level = r.u32("impersonation level")?;
        r.skip(16, "smb create flags and reserved")?;
        let desired_access = r.u32("desired access")?;
        let file_attributes = r.u32("file attributes")?;
        let share_access = r.u32("share access")?;
        let create_disposition = r.u32("create disposition")?;
        let create_options = r.u32("create options")?;
        let name_offset = r.u16("name offset")?;
        let name_length = r.u16("name length")?;
        let ctx_offset = r.u32("create contexts offset")?;
        let ctx_length = r.u32("create contexts length")?;
        let name = variable_buffer(
            msg,
            name_offset.into(),
            name_length.into(),
            Self::BUFFER_OFFSET,
            "name",
        )?;
        let contexts = decode_create_contexts(
            msg,
            ctx_offset as usize,
            ctx_length as usize,
            Self::BUFFER_OFFSET,
        )?;
        Ok(CreateRequest {
            requested_oplock_level,
            impersonation_level,
            desired_access,
            file_attributes,
            share_access,
            create_disposition,
            create_options,
            name: codec::utf16le(&name, "name")?,
            create_contexts: contexts
                .into_iter()
                .map(|(n, d)| (n.to_vec(), d.to_vec()))
                .collect(),
        })
    }
}

/// SMB2 CREATE Response, MS-SMB2 2.2.14.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateResponse {
    /// OplockLevel granted, see [`oplock_level`].
    pub oplock_level: u8,
    /// Flags, see [`response_flags`].
    pub flags: u8,
    /// CreateAction, see [`create_action`].
    pub create_action: u32,
    /// CreationTime.
    pub creation_time: FileTime,
    /// LastAccessTime.
    pub last_access_time: FileTime,
    /// LastWriteTime.
    pub last_write_time: FileTime,
    /// ChangeTime.
    pub change_time: FileTime,
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndofFile: the file size in bytes.
    pub end_of_file: u64,
    /// FileAttributes, see [`super::fscc::file_attributes`].
    pub file_attributes: u32,
    /// FileId of the new open.
    pub file_id: FileId,
    /// Create contexts as `(name, data)`, zero-copy slices of the message.
    pub create_contexts: Vec<(Bytes, Bytes)>,
}

impl CreateResponse {
    /// StructureSize.
    const STRUCTURE_SIZE: u16 = 89;
    /// Header + fixed part.
    const BUFFER_OFFSET: usize = HEADER_LEN + 88;

    /// Decodes a response; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "create response")?;
        r.structure_size(Self::STRUCTURE_SIZE, "create response structure size")?;
        let oplock_level = r.u8("oplock level")?;
        let flags = r.u8("flags")?;
        let create_action = r.u32("create action")?;
        let creation_time = FileTime(r.u64("creation time")?);
        let last_access_time = FileTime(r.u64("last access time")?);
        let last_write_time = FileTime(r.u64("last write time")?);
        let change_time = FileTime(r.u64("change time")?);
        let allocation_size = r.u64("allocation size")?;
        let end_of_file = r.u64("end of file")?;
        let file_attributes = r.u32("file attributes")?;
        r.skip(4, "reserved2")?;
        let file_id = FileId::decode(&mut r)?;
        let ctx_offset = r.u32("create contexts offset")?;
        let ctx_length = r.u32("create contexts length")?;
        Ok(CreateResponse {
            oplock_level,
            flags,
            create_action,
            creation_time,
            last_access_time,
            last_write_time,
            change_time,
            allocation_size,
            end_of_file,
            file_attributes,
            file_id,
            create_contexts: decode_create_contexts(
                msg,
                ctx_offset as usize,
                ctx_length as usize,
                Self::BUFFER_OFFSET,
            )?,
        })
    }

    /// Appends the body after an already-written header (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut contexts = Vec::new();
        encode_create_contexts(
            self.create_contexts.iter().map(|(n, d)| (&n[..], &d[..])),
            &mut contexts,
        );
        out.extend_from_slice(&Self::STRUCTURE_SIZE.to_le_bytes());
        out.push(self.oplock_level);
        out.push(self.flags);
        out.extend_from_slice(&self.create_action.to_le_bytes());
        for t in [
            self.creation_time,
            self.last_access_time,
            self.last_write_time,
            self.change_time,
        ] {
            out.extend_from_slice(&t.0.to_le_bytes());
        }
        out.extend_from_slice(&self.allocation_size.to_le_bytes());
        out.extend_from_slice(&self.end_of_file.to_le_bytes());
        out.extend_from_slice(&self.file_attributes.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        self.file_id.encode(out);
        let (off, len) = if contexts.is_empty() {
            (0, 0)
        } else {
            (Self::BUFFER_OFFSET as u32, contexts.len() as u32)
        };
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&contexts);
    }
}

/// SMB2_CREATE_CONTEXT header size: Next, NameOffset, NameLength, Reserved, DataOffset,
/// DataLength.
const CONTEXT_HEADER_LEN: usize = 16;

/// Appends a create context chain (MS-SMB2 2.2.13.2): each context and each data field
/// 8-byte aligned, `Next` linking them, no padding after the last one. `out` must start
/// 8-byte aligned relative to the header.
fn encode_create_contexts<'a>(
    contexts: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
    out: &mut Vec<u8>,
) {
    let count = contexts.len();
    for (i, (name, data)) in contexts.enumerate() {
        let start = out.len();
        let data_offset = codec::align8(CONTEXT_HEADER_LEN + name.len());
        let next = if i + 1 == count {
            0
        } else {
            codec::align8(data_offset + data.len()) as u32
        };
        out.extend_from_slice(&next.to_le_bytes());
        out.extend_from_slice(&(CONTEXT_HEADER_LEN as u16).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        let data_off = if data.is_empty() {
            0
        } else {
            data_offset as u16
        };
        out.extend_from_slice(&data_off.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(name);
        if !data.is_empty() {
            out.resize(start + data_offset, 0);
            out.extend_from_slice(data);
        }
        if next != 0 {
            out.resize(start + next as usize, 0);
        }
    }
}

/// Decodes the create context chain at `[offset, offset + len)` of `msg`. Each context's
/// name and data must lie inside that context, so no context can reach into another.
fn decode_create_contexts(
    msg: &Bytes,
    offset: usize,
    len: usize,
    fixed_end: usize,
) -> Result<Vec<(Bytes, Bytes)>, DecodeError> {
    let region = variable_buffer(msg, offset, len, fixed_end, "create contexts")?;
    EntryChain::new(&region, CONTEXT_HEADER_LEN, "create context")
        .map(|e| {
            let (start, ctx) = e?;
            let ctx_bytes = codec::slice_bytes(&region, start, ctx.len(), "create context")?;
            let mut r = Reader::new(ctx);
            r.skip(4, "create context next")?;
            let name_offset = usize::from(r.u16("create context name offset")?);
            let name_length = usize::from(r.u16("create context name length")?);
            r.skip(2, "create context reserved")?;
            let data_offset = usize::from(r.u16("create context data offset")?);
            let data_length = r.u32("create context data length")? as usize;
            let name =
                codec::slice_bytes(&ctx_bytes, name_offset, name_length, "create context name")?;
            let data = if data_length == 0 {
                Bytes::new()
            } else {
                codec::slice_bytes(&ctx_bytes, data_offset, data_length, "create context data")?
            };
            Ok((name, data))
        })
        .collect()
}

/// SMB2_CREATE_REQUEST_LEASE (MS-SMB2 2.2.13.2.8, 32 bytes) and
/// SMB2_CREATE_REQUEST_LEASE_V2 (2.2.13.2.10, 52 bytes), sent in an `RqLs` context; the
/// server answers in the same layout (2.2.14.2.10, 2.2.14.2.11). Version 2 (SMB 3.x)
/// carries a parent lease key and the lease's epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseContext {
    /// LeaseKey: the client's name for the lease.
    pub lease_key: [u8; 16],
    /// LeaseState, see [`lease_state`](super::oplock_break::lease_state).
    pub lease_state: u32,
    /// LeaseFlags (SMB2_LEASE_FLAG_BREAK_IN_PROGRESS 0x02 in a response;
    /// SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET 0x04 in v2).
    pub flags: u32,
    /// `Some((parent lease key, epoch))` for the v2 layout, `None` for v1.
    pub v2: Option<([u8; 16], u16)>,
}

impl LeaseContext {
    /// Size of the v1 layout.
    pub const V1_LEN: usize = 32;
    /// Size of the v2 layout.
    pub const V2_LEN: usize = 52;

    /// The context's data, as it goes into an `RqLs` context.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::V2_LEN);
        out.extend_from_slice(&self.lease_key);
        out.extend_from_slice(&self.lease_state.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // LeaseDuration: reserved
        if let Some((parent, epoch)) = self.v2 {
            out.extend_from_slice(&parent);
            out.extend_from_slice(&epoch.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
        }
        out
    }

    /// Decodes an `RqLs` context's data: v1 at 32 bytes, v2 at 52 or more (a server may
    /// pad); anything else is malformed.
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        if data.len() < Self::V1_LEN || (data.len() > Self::V1_LEN && data.len() < Self::V2_LEN) {
            return Err(DecodeError::invalid(
                "lease context length",
                data.len() as u64,
            ));
        }
        let mut r = Reader::new(data);
        let lease_key = r.array("lease key")?;
        let lease_state = r.u32("lease state")?;
        let flags = r.u32("lease flags")?;
        r.skip(8, "lease duration")?;
        let v2 = if data.len() >= Self::V2_LEN {
            let parent = r.array("parent lease key")?;
            Some((parent, r.u16("lease epoch")?))
        } else {
            None
        };
        Ok(LeaseContext {
            lease_key,
            lease_state,
            flags,
            v2,
        })
    }
}

/// SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 (MS-SMB2 2.2.13.2.11, 32 bytes), sent in a
/// `DH2Q` context: asks for an open that outlives its connection for `timeout`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurableRequestV2 {
    /// Timeout in milliseconds the server keeps the open after a disconnect; 0 lets the
    /// server choose.
    pub timeout: u32,
    /// Flags: SMB2_DHANDLE_FLAG_PERSISTENT (0x02) asks for a persistent handle.
    pub flags: u32,
    /// CreateGuid: the client's name for the open, the key of a reconnect and of replay
    /// detection.
    pub create_guid: [u8; 16],
}

impl DurableRequestV2 {
    /// SMB2_DHANDLE_FLAG_PERSISTENT.
    pub const PERSISTENT: u32 = 0x02;
    /// Size of the layout.
    pub const LEN: usize = 32;

    /// The context's data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.extend_from_slice(&self.timeout.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // Reserved
        out.extend_from_slice(&self.create_guid);
        out
    }

    /// Decodes a request's data (for a scripted server).
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(data);
        let timeout = r.u32("durable v2 timeout")?;
        let flags = r.u32("durable v2 flags")?;
        r.skip(8, "durable v2 reserved")?;
        Ok(DurableRequestV2 {
            timeout,
            flags,
            create_guid: r.array("durable v2 create guid")?,
        })
    }
}

/// SMB2_CREATE_DURABLE_HANDLE_RESPONSE_V2 (MS-SMB2 2.2.14.2.12, 8 bytes): the server
/// made the open durable, for `timeout` milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurableResponseV2 {
    /// Timeout granted, in milliseconds.
    pub timeout: u32,
    /// Flags granted (SMB2_DHANDLE_FLAG_PERSISTENT).
    pub flags: u32,
}

impl DurableResponseV2 {
    /// Decodes the `DH2Q` response context's data.
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(data);
        Ok(DurableResponseV2 {
            timeout: r.u32("durable v2 response timeout")?,
            flags: r.u32("durable v2 response flags")?,
        })
    }

    /// The context's data (for a scripted server).
    pub fn encode(&self) -> Vec<u8> {
        [self.timeout.to_le_bytes(), self.flags.to_le_bytes()].concat()
    }
}

/// SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2 (MS-SMB2 2.2.13.2.12, 36 bytes), sent in a
/// `DH2C` context: reclaims the durable open `file_id` made with `create_guid`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurableReconnectV2 {
    /// The FileId the open had.
    pub file_id: FileId,
    /// The CreateGuid it was opened with.
    pub create_guid: [u8; 16],
    /// Flags (SMB2_DHANDLE_FLAG_PERSISTENT when the open was persistent).
    pub flags: u32,
}

impl DurableReconnectV2 {
    /// Size of the layout.
    pub const LEN: usize = 36;

    /// The context's data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        self.file_id.encode(&mut out);
        out.extend_from_slice(&self.create_guid);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out
    }

    /// Decodes a request's data (for a scripted server).
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(data);
        Ok(DurableReconnectV2 {
            file_id: FileId::decode(&mut r)?,
            create_guid: r.array("durable v2 reconnect create guid")?,
            flags: r.u32("durable v2 reconnect flags")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fscc::{file_attributes, share_access};
    use crate::wire::request::test_util::{assert_robust, body, hex, with_header};

    /// smb311_default.pcapng frame 26: CREATE of directory `dir1` (2.2.13).
    const CREATE_REQ_DIR1: &str =
        "fe534d4240000100000000000500010010000000000000000a00000000000000000000001f5981431d720b7c\
        0000000000000000000000000000000000000000390000000200000000000000000000000000000000000000\
        80000000100000000300000002000000010000007800080000000000000000006400690072003100";
    /// smb311_default.pcapng frame 47: CREATE of the share root, an empty name.
    const CREATE_REQ_ROOT: &str =
        "fe534d4240000100000000000500010010000000000000001300000000000000000000001f5981431d720b7c\
        0000000000000000000000000000000000000000390000000200000000000000000000000000000000000000\
        810000001000000003000000010000000100000078000000000000000000000000";
    /// smb311_share_list.pcapng frame 14: CREATE of the `srvsvc` pipe on IPC$.
    const CREATE_REQ_PIPE: &str =
        "fe534d4240000100000000000500010010000000000000000400000000000000000000008f3b7031a53e8714\
        0000000000000000000000000000000000000000390000000200000000000000000000000000000000000000\
        9f0102000000000003000000010000000000000078000c000000000000000000730072007600730076006300";
    /// smb311_default.pcapng frame 21: the response creating `hello.txt` (2.2.14).
    const CREATE_RESP_HELLO: &str =
        "fe534d4240000100000000000500010011000000000000000700000000000000000000001f5981431d720b7c\
        000000000000000000000000000000000000000059000000020000006f342957617add016f342957617add01\
        6f342957617add016f342957617add010000000000000000000000000000000020000000000000002e371b74\
        00000000743af703000000000000000000000000";

    #[test]
    fn requests_decode_and_re_encode_byte_for_byte() {
        let msg = hex(CREATE_REQ_DIR1);
        let req = CreateRequest::decode(&msg).unwrap();
        assert_eq!(req.name, "dir1");
        assert_eq!(req.requested_oplock_level, oplock_level::NONE);
        assert_eq!(req.impersonation_level, impersonation_level::IMPERSONATION);
        assert_eq!(req.desired_access, access_mask::FILE_READ_ATTRIBUTES);
        assert_eq!(req.file_attributes, file_attributes::DIRECTORY);
        assert_eq!(req.share_access, share_access::READ | share_access::WRITE);
        assert_eq!(req.create_disposition, disposition::CREATE);
        assert_eq!(req.create_options, create_options::DIRECTORY_FILE);
        assert!(req.create_contexts.is_empty());
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));

        let msg = hex(CREATE_REQ_PIPE);
        let req = CreateRequest::decode(&msg).unwrap();
        assert_eq!(req.name, "srvsvc");
        assert_eq!(req.desired_access, 0x0002_019f);
        assert_eq!(req.create_disposition, disposition::OPEN);
        assert_eq!(body(&with_header(|o| req.encode(o))), body(&msg));
    }

    #[test]
    fn empty_name_still_sends_a_one_byte_buffer() {
        // 2.2.13: "the Buffer field MUST be at least one byte in length".
        let msg = hex(CREATE_REQ_ROOT);
        let req = CreateRequest::decode(&msg).unwrap();
        assert_eq!(req.name, "");
        let encoded = with_header(|o| req.encode(o));
        assert_eq!(encoded.len(), HEADER_LEN + 57);
        assert_eq!(body(&encoded), body(&msg));
    }

    #[test]
    fn response_decodes_times_sizes_and_file_id() {
        let msg = hex(CREATE_RESP_HELLO);
        let resp = CreateResponse::decode(&msg).unwrap();
        assert_eq!(resp.oplock_level, oplock_level::NONE);
        assert_eq!(resp.create_action, create_action::CREATED);
        // Nov 22, 2026 09:10:38.3717487 UTC for all four times.
        assert_eq!(resp.creation_time, FileTime(0x01dd_7a61_5729_346f));
        assert_eq!(resp.last_write_time, resp.creation_time);
        assert_eq!((resp.allocation_size, resp.end_of_file), (0, 0));
        assert_eq!(resp.file_attributes, file_attributes::ARCHIVE);
        // File Id 741b372e-0000-0000-743a-f70300000000.
        assert_eq!(
            resp.file_id,
            FileId {
                persistent: 0x741b_372e,
                volatile: 0x03f7_3a74
            }
        );
        assert!(resp.create_contexts.is_empty());
        assert_eq!(body(&with_header(|o| resp.encode(o))), body(&msg));
    }

    /// The request of 2.2.13 with two create contexts, laid out by hand from 2.2.13.2:
    /// contexts start 8-byte aligned after the name, each has a 16-byte header, its name
    /// at offset 16, its data 8-byte aligned, and Next is the aligned size (0 for the
    /// last).
    #[test]
    fn create_contexts_follow_the_2_2_13_2_layout() {
        let req = CreateRequest {
            name: "a".into(),
            create_contexts: vec![
                (b"DHnQ".to_vec(), vec![0xAB; 16]),
                (b"MxAc".to_vec(), Vec::new()),
            ],
            ..Default::default()
        };
        let msg = with_header(|o| req.encode(o));
        let b = body(&msg);
        let ctx_offset = u32::from_le_bytes(b[48..52].try_into().unwrap());
        let ctx_length = u32::from_le_bytes(b[52..56].try_into().unwrap());
        assert_eq!(ctx_offset, 128); // align8(120 + 2)
        let expected_chain = [
            // DHnQ: Next 40, NameOffset 16, NameLength 4, Reserved, DataOffset 24, DataLength 16
            &hex("28000000 1000 0400 0000 1800 10000000")[..],
            b"DHnQ",
            &[0; 4],
            &[0xAB; 16],
            // MxAc: last (Next 0), no data (DataOffset 0, DataLength 0)
            &hex("00000000 1000 0400 0000 0000 00000000")[..],
            b"MxAc",
        ]
        .concat();
        assert_eq!(ctx_length as usize, expected_chain.len());
        assert_eq!(&msg[128..], &expected_chain[..]);
        assert_eq!(&msg[120..122], &[b'a', 0]);
        assert_eq!(CreateRequest::decode(&msg).unwrap(), req);
    }

    /// A CREATE response carrying an MxAc response context (QueryStatus 0, MaximalAccess
    /// 0x001f01ff), assembled by hand per 2.2.14 and 2.2.14.2.5.
    fn response_with_context() -> Bytes {
        let mut m = hex(CREATE_RESP_HELLO).to_vec();
        m[HEADER_LEN + 80..HEADER_LEN + 88].copy_from_slice(&hex("98000000 20000000"));
        m.extend_from_slice(&hex("00000000 1000 0400 0000 1800 08000000"));
        m.extend_from_slice(b"MxAc");
        m.extend_from_slice(&[0; 4]);
        m.extend_from_slice(&hex("00000000 ff011f00"));
        m.into()
    }

    #[test]
    fn response_create_contexts_are_zero_copy_slices() {
        let msg = response_with_context();
        let resp = CreateResponse::decode(&msg).unwrap();
        assert_eq!(resp.create_contexts.len(), 1);
        let (name, data) = &resp.create_contexts[0];
        assert_eq!(&name[..], b"MxAc");
        assert_eq!(&data[..], &hex("00000000ff011f00")[..]);
        assert_eq!(data.as_ptr(), msg[msg.len() - 8..].as_ptr());
    }

    #[test]
    fn hostile_context_chains_are_rejected() {
        let ctx = HEADER_LEN + 88; // where the context starts in response_with_context
                                   // Data reaching past the context's own extent.
        let mut m = response_with_context().to_vec();
        m[ctx + 12] = 0x40;
        assert!(CreateResponse::decode(&m.into()).is_err());
        // Next pointing back into the context itself: would loop forever if followed.
        let mut m = response_with_context().to_vec();
        m[ctx] = 0x08;
        assert!(CreateResponse::decode(&m.into()).is_err());
        // Next pointing past the end of the chain.
        let mut m = response_with_context().to_vec();
        m[ctx] = 0x30;
        assert!(CreateResponse::decode(&m.into()).is_err());
        // CreateContextsOffset inside the fixed part.
        let mut m = response_with_context().to_vec();
        m[HEADER_LEN + 80] = 0x50;
        assert!(CreateResponse::decode(&m.into()).is_err());
    }

    #[test]
    fn decoders_survive_malformed_input() {
        assert_robust(&response_with_context(), CreateResponse::decode);
        assert_robust(&hex(CREATE_REQ_DIR1), CreateRequest::decode);
    }

    /// A v2 lease request for RWH, laid out by hand per 2.2.13.2.10, and the v1 form
    /// of 2.2.13.2.8 (the first 32 bytes).
    #[test]
    fn lease_contexts_follow_2_2_13_2_8_and_2_2_13_2_10() {
        let v2 = LeaseContext {
            lease_key: [0x11; 16],
            lease_state: 0x07,
            flags: 0,
            v2: Some(([0; 16], 3)),
        };
        let want = hex(
            "11111111111111111111111111111111 07000000 00000000 0000000000000000 \
             00000000000000000000000000000000 0300 0000",
        );
        assert_eq!(v2.encode(), want);
        assert_eq!(LeaseContext::decode(&want), Ok(v2));
        let v1 = LeaseContext { v2: None, ..v2 };
        assert_eq!(v1.encode(), want[..32]);
        assert_eq!(LeaseContext::decode(&want[..32]), Ok(v1));
        for bad in [0, 31, 33, 51] {
            assert!(LeaseContext::decode(
                &want.iter().copied().cycle().take(bad).collect::<Vec<_>>()
            )
            .is_err());
        }
    }

    #[test]
    fn durable_v2_contexts_follow_2_2_13_2_11_and_2_2_13_2_12() {
        let q = DurableRequestV2 {
            timeout: 60_000,
            flags: 0,
            create_guid: [7; 16],
        };
        let data = q.encode();
        assert_eq!(data.len(), DurableRequestV2::LEN);
        assert_eq!(&data[..4], &60_000u32.to_le_bytes());
        assert_eq!(&data[8..16], &[0; 8]);
        assert_eq!(DurableRequestV2::decode(&data).unwrap(), q);
        let c = DurableReconnectV2 {
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
            create_guid: [9; 16],
            flags: 0,
        };
        let data = c.encode();
        assert_eq!(data.len(), DurableReconnectV2::LEN);
        assert_eq!(&data[..8], &1u64.to_le_bytes());
        assert_eq!(&data[16..32], &[9; 16]);
        assert_eq!(DurableReconnectV2::decode(&data).unwrap(), c);
        let granted = DurableResponseV2 {
            timeout: 180_000,
            flags: 0,
        };
        assert_eq!(
            DurableResponseV2::decode(&granted.encode()).unwrap(),
            granted
        );
        for n in 0..8 {
            assert!(DurableResponseV2::decode(&granted.encode()[..n]).is_err());
        }
        assert!(DurableRequestV2::decode(&[0; 31]).is_err());
        assert!(DurableReconnectV2::decode(&[0; 35]).is_err());
    }
}
