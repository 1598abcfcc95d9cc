//! SMB_COM_TRANSACTION (MS-CIFS 2.2.4.33) and SMB_COM_TRANSACTION2 (MS-CIFS 2.2.4.46):
//! the request in one message (no secondary requests), a response fragment, and the
//! bounded reassembly of a response the server sent in several messages with the same
//! MID (MS-CIFS 3.2.5.x; Samba cuts replies at the client's MaxBufferSize,
//! `send_trans2_replies`).
//!
//! Parameters and data start 4-byte aligned from the header's start (MS-CIFS
//! 2.2.4.33.1: Pad1, Pad2). In a response, ParameterOffset and DataOffset are offsets
//! from the header's start and are checked against the whole message, not against
//! ByteCount: a reassembled response (see [`TransAssembly`]) may hold more than
//! ByteCount can say.

use bytes::Bytes;

use super::header::Smb1Command;
use super::{Parsed, HEADER_LEN};
use crate::wire::codec::{put_utf16le, slice_bytes, DecodeError, Reader};

/// The most parameter plus data bytes a reassembled response may hold, whatever the
/// request allowed (TRANSACTION2's 16-bit totals keep it far below; the bound is for a
/// future NT_TRANSACT with 32-bit ones).
pub const MAX_REASSEMBLED: usize = 16 << 20;

/// Which transaction command a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransKind {
    /// SMB_COM_TRANSACTION: named pipes and mailslots (RAP on `\PIPE\LANMAN`).
    Transaction,
    /// SMB_COM_TRANSACTION2: file system subcommands (FIND_FIRST2, QUERY_PATH_INFORMATION…).
    Transaction2,
}

impl TransKind {
    /// The header's Command.
    pub fn command(self) -> Smb1Command {
        match self {
            TransKind::Transaction => Smb1Command::TRANSACTION,
            TransKind::Transaction2 => Smb1Command::TRANSACTION2,
        }
    }
}

/// A TRANSACTION or TRANSACTION2 request carried whole in one message (TotalParameterCount
/// = ParameterCount, TotalDataCount = DataCount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransRequest {
    /// TRANSACTION or TRANSACTION2.
    pub kind: TransKind,
    /// Name: the pipe or mailslot of a TRANSACTION (`\PIPE\LANMAN`); a TRANSACTION2
    /// sends an empty name whatever this says.
    pub name: String,
    /// Setup words (TRANSACTION2: the subcommand first).
    pub setup: Vec<u16>,
    /// Transaction parameters.
    pub params: Bytes,
    /// Transaction data.
    pub data: Bytes,
    /// MaxParameterCount: the most parameter bytes the response may carry.
    pub max_params: u16,
    /// MaxDataCount: the most data bytes the response may carry.
    pub max_data: u16,
    /// MaxSetupCount.
    pub max_setup: u8,
}

/// Rounds `n` up to a multiple of 4 (the parameter and data blocks of TRANSACTION,
/// TRANSACTION2 and NT_TRANSACT messages start 4-aligned).
pub(super) fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl TransRequest {
    /// A TRANSACTION2 request for `subcommand` with `params` and no data.
    pub fn trans2(subcommand: u16, params: Vec<u8>, max_params: u16, max_data: u16) -> Self {
        TransRequest {
            kind: TransKind::Transaction2,
            name: String::new(),
            setup: vec![subcommand],
            params: params.into(),
            data: Bytes::new(),
            max_params,
            max_data,
            max_setup: 0,
        }
    }

    /// Appends the blocks after an already-written header: the words, then Name,
    /// Pad1, Parameters, Pad2, Data. Counts are cut to 16 bits and a request too long
    /// for one message is the caller's to refuse (see
    /// [`Smb1Request::encoded_len`](super::Smb1Request::encoded_len)).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let setup = &self.setup[..self.setup.len().min(255)];
        let words_len = 2 * (14 + setup.len());
        let bytes_at = HEADER_LEN + 1 + words_len + 2;
        // Name: UTF-16, 2-byte aligned from the header; TRANSACTION2's is empty.
        let mut name = Vec::new();
        if bytes_at % 2 == 1 {
            name.push(0);
        }
        if self.kind == TransKind::Transaction {
            put_utf16le(&mut name, &self.name);
        }
        name.extend_from_slice(&[0, 0]);
        let param_off = align4(bytes_at + name.len());
        let data_off = align4(param_off + self.params.len());
        let params = self.params.len() as u16;
        let data = self.data.len() as u16;
        out.push((words_len / 2) as u8);
        for w in [params, data, self.max_params, self.max_data] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.push(self.max_setup);
        out.push(0); // Reserved1
        out.extend_from_slice(&0u16.to_le_bytes()); // Flags
        out.extend_from_slice(&0u32.to_le_bytes()); // Timeout
        out.extend_from_slice(&0u16.to_le_bytes()); // Reserved2
        for w in [params, param_off as u16, data, data_off as u16] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.push(setup.len() as u8);
        out.push(0); // Reserved3
        for s in setup {
            out.extend_from_slice(&s.to_le_bytes());
        }
        let byte_count = data_off + self.data.len() - bytes_at;
        out.extend_from_slice(&(byte_count.min(0xFFFF) as u16).to_le_bytes());
        out.extend_from_slice(&name);
        out.resize(out.len() + param_off - bytes_at - name.len(), 0);
        out.extend_from_slice(&self.params);
        out.resize(out.len() + data_off - param_off - self.params.len(), 0);
        out.extend_from_slice(&self.data);
    }
}

impl TransRequest {
    /// Decodes a request (MS-CIFS 2.2.4.33.1, 2.2.4.46.1: WordCount 14 + SetupCount) as
    /// a server (or a capture's reader) sees it; `msg` starts at the header. The kind
    /// is the header's command; a TRANSACTION's name is read, a TRANSACTION2's is left
    /// empty. Parameters and data are this message's (a request continued in secondary
    /// messages has only its first part here), zero-copy slices within the message.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the command is neither transaction, the blocks do not fit the
    /// message, SetupCount disagrees with WordCount, or parameters or data lie outside
    /// the message.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let kind = match msg.get(4).copied() {
            Some(0x25) => TransKind::Transaction,
            Some(0x32) => TransKind::Transaction2,
            c => return Err(DecodeError::invalid("transaction command", c.unwrap_or(0))),
        };
        let p = Parsed::new(msg)?;
        if p.word_count < 14 {
            return Err(DecodeError::invalid(
                "transaction request word count",
                p.word_count,
            ));
        }
        let mut r = p.words(&[p.word_count], "transaction request word count")?;
        r.skip(4, "total parameter and data counts")?;
        let max_params = r.u16("max parameter count")?;
        let max_data = r.u16("max data count")?;
        let max_setup = r.u8("max setup count")?;
        r.skip(1 + 2 + 4 + 2, "reserved, flags, timeout, reserved")?;
        let param_count = usize::from(r.u16("parameter count")?);
        let param_off = usize::from(r.u16("parameter offset")?);
        let data_count = usize::from(r.u16("data count")?);
        let data_off = usize::from(r.u16("data offset")?);
        let setup_count = r.u8("setup count")?;
        if p.word_count - 14 != setup_count {
            return Err(DecodeError::invalid("setup count", setup_count));
        }
        r.skip(1, "reserved")?;
        let setup = (0..setup_count)
            .map(|_| r.u16("setup"))
            .collect::<Result<Vec<_>, _>>()?;
        let name = match kind {
            TransKind::Transaction => p.string(0, "transaction name")?.0,
            TransKind::Transaction2 => String::new(),
        };
        let take = |off: usize, count: usize, what| match count {
            0 => Ok(Bytes::new()),
            n => slice_bytes(msg, off, n, what),
        };
        Ok(TransRequest {
            kind,
            name,
            setup,
            params: take(param_off, param_count, "transaction parameters")?,
            data: take(data_off, data_count, "transaction data")?,
            max_params,
            max_data,
            max_setup,
        })
    }
}

/// One message of a TRANSACTION or TRANSACTION2 response (MS-CIFS 2.2.4.33.2,
/// 2.2.4.46.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransFragment {
    /// TotalParameterCount: the parameter bytes of the whole response.
    pub total_params: usize,
    /// TotalDataCount: the data bytes of the whole response.
    pub total_data: usize,
    /// This message's parameter bytes.
    pub params: Bytes,
    /// ParameterDisplacement: where they go in the whole response's parameters.
    pub param_displacement: usize,
    /// This message's data bytes.
    pub data: Bytes,
    /// DataDisplacement: where they go in the whole response's data.
    pub data_displacement: usize,
    /// Setup words.
    pub setup: Vec<u16>,
}

/// Where a response message's parameters or data lie: count, offset from the header,
/// displacement in the whole response, and what they are (for errors).
pub(super) struct Block(pub usize, pub usize, pub usize, pub &'static str);

impl Block {
    /// This message's bytes of the block. Nothing is read at an offset of zero: a count
    /// of zero may come with any offset.
    fn slice(&self, msg: &Bytes) -> Result<Bytes, DecodeError> {
        match self.0 {
            0 => Ok(Bytes::new()),
            n => slice_bytes(msg, self.1, n, self.3),
        }
    }
}

impl TransFragment {
    /// Decodes one response message; `msg` starts at the header. Parameters and data
    /// are zero-copy slices, checked against the message.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let p = Parsed::new(msg)?;
        if p.word_count < 10 {
            return Err(DecodeError::invalid(
                "transaction response word count",
                p.word_count,
            ));
        }
        let mut r = p.words(&[p.word_count], "transaction response word count")?;
        let total_params = usize::from(r.u16("total parameter count")?);
        let total_data = usize::from(r.u16("total data count")?);
        r.skip(2, "reserved")?;
        let param_count = usize::from(r.u16("parameter count")?);
        let param_off = usize::from(r.u16("parameter offset")?);
        let param_displacement = usize::from(r.u16("parameter displacement")?);
        let data_count = usize::from(r.u16("data count")?);
        let data_off = usize::from(r.u16("data offset")?);
        let data_displacement = usize::from(r.u16("data displacement")?);
        let setup_count = r.u8("setup count")?;
        if p.word_count - 10 != setup_count {
            return Err(DecodeError::invalid("setup count", setup_count));
        }
        r.skip(1, "reserved")?;
        TransFragment::from_blocks(
            msg,
            &mut r,
            setup_count,
            (total_params, total_data),
            Block(
                param_count,
                param_off,
                param_displacement,
                "transaction parameters",
            ),
            Block(data_count, data_off, data_displacement, "transaction data"),
        )
    }

    /// The fragment whose setup words `r` reads next (`setup_count` of them) and whose
    /// parameters and data lie in `msg` where `params` and `data` say: the part a
    /// TRANSACTION/TRANSACTION2 and an NT_TRANSACT response share once their counts
    /// (16 and 32 bits wide) are read.
    pub(super) fn from_blocks(
        msg: &Bytes,
        r: &mut Reader<'_>,
        setup_count: u8,
        (total_params, total_data): (usize, usize),
        params: Block,
        data: Block,
    ) -> Result<Self, DecodeError> {
        let setup = (0..setup_count)
            .map(|_| r.u16("setup"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TransFragment {
            total_params,
            total_data,
            params: params.slice(msg)?,
            param_displacement: params.2,
            data: data.slice(msg)?,
            data_displacement: data.2,
            setup,
        })
    }

    /// Whether this message is the whole response.
    pub(crate) fn is_whole(&self) -> bool {
        self.param_displacement == 0
            && self.data_displacement == 0
            && self.params.len() == self.total_params
            && self.data.len() == self.total_data
    }
}

/// A whole TRANSACTION or TRANSACTION2 response: what an operation decodes from the one
/// message the connection hands it (the server's, or the connection's reassembly of
/// several).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransResponse {
    /// Setup words.
    pub setup: Vec<u16>,
    /// The response's parameters.
    pub params: Bytes,
    /// The response's data.
    pub data: Bytes,
}

impl TransResponse {
    /// Decodes a whole response; `msg` starts at the header. A fragment of a larger
    /// response is an error (the connection reassembles them before an operation sees
    /// them).
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let f = TransFragment::decode(msg)?;
        if !f.is_whole() {
            return Err(DecodeError::invalid(
                "transaction response fragment",
                f.total_params as u64 + f.total_data as u64,
            ));
        }
        Ok(TransResponse {
            setup: f.setup,
            params: f.params,
            data: f.data,
        })
    }

    /// Appends a message holding the whole response after `header` (32 bytes): what
    /// [`TransAssembly`] hands on. ParameterOffset and DataOffset are 16 bits: parameters
    /// that would push the data past 64 KiB from the header cannot be said, and are an
    /// error; ByteCount says at most 0xFFFF.
    fn encode(&self, header: &[u8]) -> Result<Bytes, DecodeError> {
        let setup = &self.setup[..self.setup.len().min(255)];
        let words_len = 2 * (10 + setup.len());
        let bytes_at = HEADER_LEN + 1 + words_len + 2;
        let param_off = align4(bytes_at);
        let data_off = align4(param_off + self.params.len());
        let (Ok(p_off), Ok(d_off)) = (u16::try_from(param_off), u16::try_from(data_off)) else {
            return Err(DecodeError::invalid(
                "reassembled parameter count",
                self.params.len() as u64,
            ));
        };
        let header = header.get(..HEADER_LEN).ok_or(DecodeError::invalid(
            "reassembled header",
            header.len() as u64,
        ))?;
        let mut out = Vec::with_capacity(data_off + self.data.len());
        out.extend_from_slice(header);
        out.push((words_len / 2) as u8);
        let (params, data) = (self.params.len() as u16, self.data.len() as u16);
        for w in [params, data, 0, params, p_off, 0, data, d_off, 0] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.push(setup.len() as u8);
        out.push(0);
        for s in setup {
            out.extend_from_slice(&s.to_le_bytes());
        }
        let byte_count = data_off + self.data.len() - bytes_at;
        out.extend_from_slice(&(byte_count.min(0xFFFF) as u16).to_le_bytes());
        out.resize(param_off, 0);
        out.extend_from_slice(&self.params);
        out.resize(data_off, 0);
        out.extend_from_slice(&self.data);
        Ok(out.into())
    }
}

/// The reassembly of a response sent in several messages (same MID): each message's
/// parameters and data must continue exactly where the previous ones ended
/// (displacements contiguous, never overlapping, never past the totals; a message
/// without parameters or data may say any displacement for them); the totals may
/// shrink but never grow, and never exceed what the request allowed
/// (MaxParameterCount, MaxDataCount) nor [`MAX_REASSEMBLED`]; every message but a whole
/// one must add something. Memory grows only with the bytes received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransAssembly {
    /// An NT_TRANSACT response (32-bit counts and offsets, [`super::nt_transact`]).
    nt: bool,
    max_params: usize,
    max_data: usize,
    /// The totals the messages so far announced (the latest).
    totals: Option<(usize, usize)>,
    params: Vec<u8>,
    data: Vec<u8>,
    setup: Vec<u16>,
}

impl TransAssembly {
    /// A reassembly for a request that allowed `max_params` and `max_data` bytes.
    pub fn new(max_params: u16, max_data: u16) -> Self {
        TransAssembly {
            nt: false,
            max_params: usize::from(max_params),
            max_data: usize::from(max_data),
            totals: None,
            params: Vec::new(),
            data: Vec::new(),
            setup: Vec::new(),
        }
    }

    /// A reassembly of an NT_TRANSACT response, for a request that allowed
    /// `max_params` and `max_data` bytes (the same rules; [`MAX_REASSEMBLED`] bounds it).
    pub fn nt(max_params: u32, max_data: u32) -> Self {
        TransAssembly {
            nt: true,
            max_params: max_params as usize,
            max_data: max_data as usize,
            ..TransAssembly::new(0, 0)
        }
    }

    /// Takes the next message of the response → the whole response as one message once
    /// complete (the server's own when it sent one message), else `None`.
    ///
    /// # Errors
    ///
    /// A message that does not decode, or breaks one of the rules above.
    pub fn push(&mut self, msg: &Bytes) -> Result<Option<Bytes>, DecodeError> {
        let f = if self.nt {
            super::nt_transact::decode_fragment(msg)?
        } else {
            TransFragment::decode(msg)?
        };
        let (tp, td) = (f.total_params, f.total_data);
        if tp > self.max_params {
            return Err(DecodeError::invalid("total parameter count", tp as u64));
        }
        if td > self.max_data || tp.saturating_add(td) > MAX_REASSEMBLED {
            return Err(DecodeError::invalid("total data count", td as u64));
        }
        match self.totals {
            None if f.is_whole() => return Ok(Some(msg.clone())),
            None => self.setup = f.setup.clone(),
            // Totals may shrink (never below what arrived), never grow.
            Some((p, d)) if tp > p || td > d => {
                return Err(DecodeError::invalid(
                    "growing transaction total",
                    (tp + td) as u64,
                ))
            }
            Some(_) => {}
        }
        // A message without parameters (or data) may say any displacement for them:
        // Samba says 0 (`send_trans2_replies`).
        if !f.params.is_empty() && f.param_displacement != self.params.len() {
            return Err(DecodeError::invalid(
                "parameter displacement",
                f.param_displacement as u64,
            ));
        }
        if !f.data.is_empty() && f.data_displacement != self.data.len() {
            return Err(DecodeError::invalid(
                "data displacement",
                f.data_displacement as u64,
            ));
        }
        let params_end = self.params.len() + f.params.len();
        let data_end = self.data.len() + f.data.len();
        if params_end > tp {
            return Err(DecodeError::invalid("parameter count", params_end as u64));
        }
        if data_end > td {
            return Err(DecodeError::invalid("data count", data_end as u64));
        }
        if f.params.is_empty() && f.data.is_empty() && (params_end, data_end) != (tp, td) {
            // A message adding nothing would let a server keep the request open forever.
            return Err(DecodeError::invalid("empty transaction fragment", 0u8));
        }
        self.totals = Some((tp, td));
        self.params.extend_from_slice(&f.params);
        self.data.extend_from_slice(&f.data);
        if (params_end, data_end) != (tp, td) {
            return Ok(None);
        }
        let whole = TransResponse {
            setup: std::mem::take(&mut self.setup),
            params: std::mem::take(&mut self.params).into(),
            data: std::mem::take(&mut self.data).into(),
        };
        if self.nt {
            return super::nt_transact::encode_whole(&whole, msg).map(Some);
        }
        whole.encode(msg).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::{assert_robust, encoded, reply};

    /// The blocks of a response message: `params` at `p_off`, `data` at `d_off` (offsets
    /// from the header), with the given totals and displacements.
    #[allow(clippy::too_many_arguments)]
    fn fragment(totals: (u16, u16), params: &[u8], p_disp: u16, data: &[u8], d_disp: u16) -> Bytes {
        let bytes_at = HEADER_LEN + 1 + 20 + 2;
        let p_off = align4(bytes_at);
        let d_off = align4(p_off + params.len());
        let mut b = vec![10u8];
        for w in [
            totals.0,
            totals.1,
            0,
            params.len() as u16,
            p_off as u16,
            p_disp,
            data.len() as u16,
            d_off as u16,
            d_disp,
        ] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&[0, 0]);
        let count = d_off + data.len() - bytes_at;
        b.extend_from_slice(&(count as u16).to_le_bytes());
        b.resize(p_off - HEADER_LEN, 0);
        b.extend_from_slice(params);
        b.resize(d_off - HEADER_LEN, 0);
        b.extend_from_slice(data);
        reply(0x32, 0, &b)
    }

    #[test]
    fn trans2_request_aligns_parameters_and_data_from_the_header() {
        let mut req = TransRequest::trans2(0x0005, vec![1, 2, 3], 2, 100);
        req.data = Bytes::from_static(b"xy");
        let out = encoded(|o| req.encode(o));
        // WordCount 15 (14 + one setup word); the data block starts at 32+1+30+2 = 65.
        assert_eq!(out[32], 15);
        let w = |i: usize| u16::from_le_bytes([out[33 + 2 * i], out[34 + 2 * i]]);
        assert_eq!((w(0), w(1), w(2), w(3)), (3, 2, 2, 100));
        // ParameterCount, ParameterOffset, DataCount, DataOffset; SetupCount 1, Setup[0].
        assert_eq!((w(9), w(10), w(11), w(12)), (3, 68, 2, 72));
        assert_eq!((out[33 + 26], w(14)), (1, 5));
        // Name: a pad byte (65 is odd), then the empty UTF-16 name, then Pad1 to 68.
        assert_eq!(&out[65..68], &[0, 0, 0]);
        assert_eq!(&out[68..71], &[1, 2, 3]);
        assert_eq!(&out[72..], b"xy");
        assert_eq!(
            usize::from(u16::from_le_bytes([out[63], out[64]])),
            72 + 2 - 65
        );
        // A TRANSACTION names its pipe.
        let mut req = req.clone();
        req.kind = TransKind::Transaction;
        req.name = "\\PIPE\\LANMAN".into();
        let out = encoded(|o| req.encode(o));
        let param_off = usize::from(u16::from_le_bytes([out[53], out[54]]));
        assert_eq!(param_off % 4, 0);
        assert_eq!(&out[param_off..param_off + 3], &[1, 2, 3]);
        assert_eq!(&out[66..68], &[b'\\', 0]);
    }

    #[test]
    fn a_whole_response_decodes_and_passes_through_the_assembly_uncopied() {
        let msg = fragment((2, 3), &[7, 8], 0, b"abc", 0);
        let r = TransResponse::decode(&msg).unwrap();
        assert_eq!((&r.params[..], &r.data[..]), (&[7, 8][..], &b"abc"[..]));
        let mut a = TransAssembly::new(10, 10);
        let whole = a.push(&msg).unwrap().unwrap();
        assert_eq!(whole.as_ptr(), msg.as_ptr());
        assert_robust(&msg, TransResponse::decode);
        // A fragment is not a whole response.
        assert!(TransResponse::decode(&fragment((2, 6), &[7, 8], 0, b"abc", 0)).is_err());
        // An error answer has no words.
        assert!(TransFragment::decode(&reply(0x32, 0xC000_000F, &[0, 0, 0])).is_err());
    }

    #[test]
    fn fragments_reassemble_into_one_message() {
        let mut a = TransAssembly::new(10, 100);
        assert_eq!(
            a.push(&fragment((2, 7), &[7, 8], 0, b"abc", 0)).unwrap(),
            None
        );
        // Samba's displacement for no parameters is 0.
        assert_eq!(a.push(&fragment((2, 7), &[], 0, b"de", 3)).unwrap(), None);
        let whole = a
            .push(&fragment((2, 7), &[], 2, b"fg", 5))
            .unwrap()
            .unwrap();
        let r = TransResponse::decode(&whole).unwrap();
        assert_eq!((&r.params[..], &r.data[..]), (&[7, 8][..], &b"abcdefg"[..]));
        assert_eq!(
            &whole[..HEADER_LEN],
            &fragment((0, 0), &[], 0, &[], 0)[..HEADER_LEN]
        );
        // Totals may shrink to what arrived: the response ends there.
        let mut a = TransAssembly::new(10, 100);
        assert_eq!(
            a.push(&fragment((2, 9), &[7, 8], 0, b"abc", 0)).unwrap(),
            None
        );
        let whole = a
            .push(&fragment((2, 5), &[], 2, b"de", 3))
            .unwrap()
            .unwrap();
        assert_eq!(&TransResponse::decode(&whole).unwrap().data[..], b"abcde");
    }

    #[test]
    fn hostile_fragments_are_refused() {
        let first = || {
            let mut a = TransAssembly::new(10, 100);
            assert_eq!(
                a.push(&fragment((2, 7), &[7, 8], 0, b"abc", 0)).unwrap(),
                None
            );
            a
        };
        let cases: [(&str, Bytes); 10] = [
            ("total grows", fragment((2, 8), &[], 2, b"de", 3)),
            ("params total grows", fragment((3, 7), &[], 2, b"de", 3)),
            ("data gap", fragment((2, 7), &[], 2, b"de", 4)),
            ("data overlap", fragment((2, 7), &[], 2, b"de", 2)),
            ("params displaced", fragment((3, 7), &[9], 1, b"de", 3)),
            ("params overlap", fragment((3, 7), &[9], 0, b"de", 3)),
            ("past the total", fragment((2, 7), &[], 2, b"defgh", 3)),
            (
                "shrunk below what arrived",
                fragment((2, 2), &[], 2, b"", 3),
            ),
            ("adds nothing", fragment((2, 7), &[], 2, b"", 3)),
            ("huge displacement", fragment((2, 7), &[], 2, b"d", 0xFFFF)),
        ];
        for (what, msg) in cases {
            assert!(first().push(&msg).is_err(), "{what}");
        }
        // Totals past what the request allowed, even in a whole response.
        assert!(TransAssembly::new(1, 100)
            .push(&fragment((2, 3), &[7, 8], 0, b"abc", 0))
            .is_err());
        assert!(TransAssembly::new(10, 2)
            .push(&fragment((2, 3), &[7, 8], 0, b"abc", 0))
            .is_err());
        // Offsets and counts past the message.
        let mut m = fragment((2, 3), &[7, 8], 0, b"abc", 0).to_vec();
        m[HEADER_LEN + 1 + 14] = 0xF0; // DataOffset
        assert!(TransAssembly::new(10, 10).push(&Bytes::from(m)).is_err());
        // Every corruption of a fragment, fed after a good first one, ends in a result.
        let msg = fragment((2, 7), &[], 2, b"de", 3);
        for i in 0..msg.len() {
            for v in [0x00, 0x01, 0x7F, 0xFF] {
                let mut m = msg.to_vec();
                m[i] = v;
                let _ = first().push(&Bytes::from(m));
            }
        }
    }
}
