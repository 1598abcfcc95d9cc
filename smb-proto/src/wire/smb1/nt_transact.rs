//! SMB_COM_NT_TRANSACT (MS-CIFS 2.2.4.62, MS-SMB 2.2.4.8): the transaction with 32-bit
//! counts and offsets, and the subcommands this client sends (MS-CIFS 2.2.7):
//! NT_TRANSACT_QUERY_SECURITY_DESC, NT_TRANSACT_SET_SECURITY_DESC and NT_TRANSACT_IOCTL.
//!
//! As for [`TransRequest`](super::trans::TransRequest), a request goes whole in one
//! message (no NT_TRANSACT_SECONDARY), its parameters and data 4-byte aligned from the
//! header's start (Pad1, Pad2). A response may come in several messages with the same
//! MID; the connection reassembles them under the bounds of a
//! [`TransAssembly`](super::trans::TransAssembly) made with
//! [`TransAssembly::nt`](super::trans::TransAssembly::nt), and an operation decodes the
//! one message it gets with [`NtTransResponse::decode`].

use bytes::Bytes;

use super::trans::{align4, Block, TransFragment, TransResponse};
use super::{Parsed, HEADER_LEN};
use crate::wire::codec::{DecodeError, Reader};

/// NT_TRANSACT subcommand codes, the Function field (MS-CIFS 2.2.2.2).
pub mod function {
    /// NT_TRANSACT_IOCTL (MS-CIFS 2.2.7.2).
    pub const IOCTL: u16 = 0x0002;
    /// NT_TRANSACT_SET_SECURITY_DESC (MS-CIFS 2.2.7.3).
    pub const SET_SECURITY_DESC: u16 = 0x0003;
    /// NT_TRANSACT_NOTIFY_CHANGE (MS-CIFS 2.2.7.4).
    pub const NOTIFY_CHANGE: u16 = 0x0004;
    /// NT_TRANSACT_QUERY_SECURITY_DESC (MS-CIFS 2.2.7.6).
    pub const QUERY_SECURITY_DESC: u16 = 0x0006;
}

/// The words of a request before its setup words: WordCount is 19 + SetupCount.
const REQUEST_WORDS: usize = 19;
/// The words of a response before its setup words: WordCount is 18 + SetupCount.
const RESPONSE_WORDS: u8 = 18;

/// An NT_TRANSACT request carried whole in one message (TotalParameterCount =
/// ParameterCount, TotalDataCount = DataCount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtTransRequest {
    /// Function: the subcommand ([`function`]).
    pub function: u16,
    /// Setup words.
    pub setup: Vec<u16>,
    /// NT_Trans_Parameters.
    pub params: Bytes,
    /// NT_Trans_Data.
    pub data: Bytes,
    /// MaxParameterCount: the most parameter bytes the response may carry.
    pub max_params: u32,
    /// MaxDataCount: the most data bytes the response may carry.
    pub max_data: u32,
    /// MaxSetupCount.
    pub max_setup: u8,
}

impl NtTransRequest {
    /// NT_TRANSACT_QUERY_SECURITY_DESC (MS-CIFS 2.2.7.6.1): the parts `security_info`
    /// names (MS-SMB2's AdditionalInformation bits: OWNER 1, GROUP 2, DACL 4, SACL 8) of
    /// open `fid`'s descriptor, in at most `max_data` bytes. The answer's parameters
    /// are LengthNeeded ([`length_needed`]), its data the self-relative descriptor.
    pub fn query_security_desc(fid: u16, security_info: u32, max_data: u32) -> Self {
        let mut p = Vec::with_capacity(8);
        p.extend_from_slice(&fid.to_le_bytes());
        p.extend_from_slice(&0u16.to_le_bytes()); // Reserved
        p.extend_from_slice(&security_info.to_le_bytes());
        NtTransRequest {
            function: function::QUERY_SECURITY_DESC,
            setup: Vec::new(),
            params: p.into(),
            data: Bytes::new(),
            max_params: 4,
            max_data,
            max_setup: 0,
        }
    }

    /// NT_TRANSACT_SET_SECURITY_DESC (MS-CIFS 2.2.7.3.1): sets the parts
    /// `security_info` names of open `fid`'s descriptor from `descriptor`
    /// (self-relative). The answer carries nothing.
    pub fn set_security_desc(fid: u16, security_info: u32, descriptor: Bytes) -> Self {
        let mut p = Vec::with_capacity(8);
        p.extend_from_slice(&fid.to_le_bytes());
        p.extend_from_slice(&0u16.to_le_bytes()); // Reserved
        p.extend_from_slice(&security_info.to_le_bytes());
        NtTransRequest {
            function: function::SET_SECURITY_DESC,
            setup: Vec::new(),
            params: p.into(),
            data: descriptor,
            max_params: 0,
            max_data: 0,
            max_setup: 0,
        }
    }

    /// NT_TRANSACT_IOCTL (MS-CIFS 2.2.7.2.1): control code `function_code` on open
    /// `fid` (an FSCTL when `is_fsctl`), with `input`, its output at most `max_data`
    /// bytes (the answer's data).
    pub fn ioctl(
        fid: u16,
        function_code: u32,
        is_fsctl: bool,
        input: Bytes,
        max_data: u32,
    ) -> Self {
        let [c0, c1, c2, c3] = function_code.to_le_bytes();
        let [f0, f1] = fid.to_le_bytes();
        NtTransRequest {
            function: function::IOCTL,
            // FunctionCode (4), FID (2), IsFsctl (1), IsFlags (1): four setup words.
            setup: vec![
                u16::from_le_bytes([c0, c1]),
                u16::from_le_bytes([c2, c3]),
                u16::from_le_bytes([f0, f1]),
                u16::from_le_bytes([u8::from(is_fsctl), 0]),
            ],
            params: Bytes::new(),
            data: input,
            max_params: 0,
            max_data,
            max_setup: 1,
        }
    }

    /// NT_TRANSACT_NOTIFY_CHANGE (MS-CIFS 2.2.7.4.1): waits for a change that
    /// `completion_filter` names in directory `fid` (and below it when `watch_tree`). The
    /// answer's parameters are FILE_NOTIFY_INFORMATION entries (MS-FSCC 2.4.42), at most
    /// `max_params` bytes of them.
    pub fn notify_change(
        fid: u16,
        completion_filter: u32,
        watch_tree: bool,
        max_params: u32,
    ) -> Self {
        let [c0, c1, c2, c3] = completion_filter.to_le_bytes();
        let [f0, f1] = fid.to_le_bytes();
        NtTransRequest {
            function: function::NOTIFY_CHANGE,
            // CompletionFilter (4), FID (2), WatchTree (1), Reserved (1).
            setup: vec![
                u16::from_le_bytes([c0, c1]),
                u16::from_le_bytes([c2, c3]),
                u16::from_le_bytes([f0, f1]),
                u16::from_le_bytes([u8::from(watch_tree), 0]),
            ],
            params: Bytes::new(),
            data: Bytes::new(),
            max_params,
            max_data: 0,
            max_setup: 0,
        }
    }

    /// Appends the blocks after an already-written header: the words, then Pad1,
    /// Parameters, Pad2, Data. A request too long for one message is the caller's to
    /// refuse (see [`Smb1Request::encoded_len`](super::Smb1Request::encoded_len));
    /// ByteCount says at most 0xFFFF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let setup = &self.setup[..self.setup.len().min(255 - REQUEST_WORDS)];
        let words_len = 2 * (REQUEST_WORDS + setup.len());
        let bytes_at = HEADER_LEN + 1 + words_len + 2;
        let param_off = align4(bytes_at);
        let data_off = align4(param_off + self.params.len());
        let params = self.params.len() as u32;
        let data = self.data.len() as u32;
        out.push((words_len / 2) as u8);
        out.push(self.max_setup);
        out.extend_from_slice(&0u16.to_le_bytes()); // Reserved1
        for w in [
            params,
            data,
            self.max_params,
            self.max_data,
            params,
            param_off as u32,
            data,
            data_off as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.push(setup.len() as u8);
        out.extend_from_slice(&self.function.to_le_bytes());
        for s in setup {
            out.extend_from_slice(&s.to_le_bytes());
        }
        let byte_count = data_off + self.data.len() - bytes_at;
        out.extend_from_slice(&(byte_count.min(0xFFFF) as u16).to_le_bytes());
        out.resize(out.len() + param_off - bytes_at, 0);
        out.extend_from_slice(&self.params);
        out.resize(out.len() + data_off - param_off - self.params.len(), 0);
        out.extend_from_slice(&self.data);
    }
}

/// Decodes one message of an NT_TRANSACT response (MS-CIFS 2.2.4.62.2) into the
/// fragment a [`TransAssembly`](super::trans::TransAssembly) takes; `msg` starts at the
/// header. Parameters and data are zero-copy slices, checked against the message.
pub(crate) fn decode_fragment(msg: &Bytes) -> Result<TransFragment, DecodeError> {
    let p = Parsed::new(msg)?;
    if p.word_count < RESPONSE_WORDS {
        return Err(DecodeError::invalid(
            "nt transact response word count",
            p.word_count,
        ));
    }
    let mut r = p.words(&[p.word_count], "nt transact response word count")?;
    r.skip(3, "reserved")?;
    let mut count = |what| r.u32(what).map(|v| v as usize);
    let total_params = count("total parameter count")?;
    let total_data = count("total data count")?;
    let param_count = count("parameter count")?;
    let param_off = count("parameter offset")?;
    let param_displacement = count("parameter displacement")?;
    let data_count = count("data count")?;
    let data_off = count("data offset")?;
    let data_displacement = count("data displacement")?;
    let setup_count = r.u8("setup count")?;
    if p.word_count - RESPONSE_WORDS != setup_count {
        return Err(DecodeError::invalid("setup count", setup_count));
    }
    TransFragment::from_blocks(
        msg,
        &mut r,
        setup_count,
        (total_params, total_data),
        Block(
            param_count,
            param_off,
            param_displacement,
            "nt transact parameters",
        ),
        Block(data_count, data_off, data_displacement, "nt transact data"),
    )
}

/// A whole NT_TRANSACT response: what an operation decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtTransResponse;

impl NtTransResponse {
    /// Decodes a whole response (the server's one message, or the connection's
    /// reassembly of several); `msg` starts at the header. A fragment of a larger
    /// response is an error.
    pub fn decode(msg: &Bytes) -> Result<TransResponse, DecodeError> {
        let f = decode_fragment(msg)?;
        if !f.is_whole() {
            return Err(DecodeError::invalid(
                "nt transact response fragment",
                f.total_params as u64 + f.total_data as u64,
            ));
        }
        Ok(TransResponse {
            setup: f.setup,
            params: f.params,
            data: f.data,
        })
    }
}

/// A message holding the whole reassembled response `whole` after the first 32 bytes of
/// `header`: what [`TransAssembly`](super::trans::TransAssembly) hands on.
pub(crate) fn encode_whole(whole: &TransResponse, header: &[u8]) -> Result<Bytes, DecodeError> {
    let header = header.get(..HEADER_LEN).ok_or(DecodeError::invalid(
        "reassembled header",
        header.len() as u64,
    ))?;
    let setup = &whole.setup[..whole.setup.len().min(255 - usize::from(RESPONSE_WORDS))];
    let words_len = 2 * (usize::from(RESPONSE_WORDS) + setup.len());
    let bytes_at = HEADER_LEN + 1 + words_len + 2;
    let param_off = align4(bytes_at);
    let data_off = align4(param_off + whole.params.len());
    let (Ok(p_off), Ok(d_off), Ok(params), Ok(data)) = (
        u32::try_from(param_off),
        u32::try_from(data_off),
        u32::try_from(whole.params.len()),
        u32::try_from(whole.data.len()),
    ) else {
        return Err(DecodeError::invalid(
            "reassembled nt transact length",
            (whole.params.len() + whole.data.len()) as u64,
        ));
    };
    let mut out = Vec::with_capacity(data_off + whole.data.len());
    out.extend_from_slice(header);
    out.push((words_len / 2) as u8);
    out.extend_from_slice(&[0; 3]);
    for w in [params, data, params, p_off, 0, data, d_off, 0] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.push(setup.len() as u8);
    for s in setup {
        out.extend_from_slice(&s.to_le_bytes());
    }
    let byte_count = data_off + whole.data.len() - bytes_at;
    out.extend_from_slice(&(byte_count.min(0xFFFF) as u16).to_le_bytes());
    out.resize(param_off, 0);
    out.extend_from_slice(&whole.params);
    out.resize(data_off, 0);
    out.extend_from_slice(&whole.data);
    Ok(out.into())
}

/// LengthNeeded from a QUERY_SECURITY_DESC answer's parameters (MS-CIFS 2.2.7.6.2): the
/// descriptor's size, also sent with STATUS_BUFFER_TOO_SMALL when it did not fit.
pub fn length_needed(params: &[u8]) -> Result<u32, DecodeError> {
    Reader::new(params).u32("length needed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::smb1::test_util::{assert_robust, encoded, reply};
    use crate::wire::smb1::trans::TransAssembly;

    /// The blocks of a response message with `setup`, `params` and `data`, the totals
    /// and displacements given (offsets computed as a server aligns them).
    fn fragment(
        totals: (u32, u32),
        setup: &[u16],
        params: &[u8],
        p_disp: u32,
        data: &[u8],
        d_disp: u32,
    ) -> Bytes {
        let wc = 18 + setup.len();
        let bytes_at = HEADER_LEN + 1 + 2 * wc + 2;
        let p_off = align4(bytes_at);
        let d_off = align4(p_off + params.len());
        let mut b = vec![wc as u8, 0, 0, 0];
        for w in [
            totals.0,
            totals.1,
            params.len() as u32,
            p_off as u32,
            p_disp,
            data.len() as u32,
            d_off as u32,
            d_disp,
        ] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.push(setup.len() as u8);
        for s in setup {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b.extend_from_slice(&((d_off + data.len() - bytes_at) as u16).to_le_bytes());
        b.resize(p_off - HEADER_LEN, 0);
        b.extend_from_slice(params);
        b.resize(d_off - HEADER_LEN, 0);
        b.extend_from_slice(data);
        reply(0xA0, 0, &b)
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn query_security_desc_request_at_ms_cifs_offsets() {
        // MS-CIFS 2.2.4.62.1: WordCount 19; MaxSetupCount(1) Reserved1(2)
        // TotalParameterCount(4) TotalDataCount(4) MaxParameterCount(4) MaxDataCount(4)
        // ParameterCount(4) ParameterOffset(4) DataCount(4) DataOffset(4) SetupCount(1)
        // Function(2); the data block starts at 32 + 1 + 38 + 2 = 73, parameters at 76.
        let out = encoded(|o| NtTransRequest::query_security_desc(0x4001, 7, 0x1_0000).encode(o));
        let expected_words: [u8; 39] = [
            19, // WordCount
            0, 0, 0, // MaxSetupCount, Reserved1
            8, 0, 0, 0, // TotalParameterCount
            0, 0, 0, 0, // TotalDataCount
            4, 0, 0, 0, // MaxParameterCount
            0, 0, 1, 0, // MaxDataCount 0x10000
            8, 0, 0, 0, // ParameterCount
            76, 0, 0, 0, // ParameterOffset
            0, 0, 0, 0, // DataCount
            84, 0, 0, 0, // DataOffset
            0, // SetupCount
            6, 0, // Function: QUERY_SECURITY_DESC
        ];
        assert_eq!(&out[32..71], &expected_words);
        // ByteCount 11: Pad1 (3), then FID, Reserved, SecurityInfoFields.
        assert_eq!(&out[71..], &[11, 0, 0, 0, 0, 0x01, 0x40, 0, 0, 7, 0, 0, 0]);
        assert_eq!(out.len(), 84);
    }

    #[test]
    fn set_security_and_ioctl_requests_carry_their_data_and_setup() {
        let sd = Bytes::from_static(&[1, 0, 4, 0x80, 0xAA, 0xBB]);
        let out = encoded(|o| NtTransRequest::set_security_desc(0x0102, 4, sd.clone()).encode(o));
        assert_eq!(u32_at(&out, 40), 6, "TotalDataCount");
        assert_eq!(
            (u32_at(&out, 60), u32_at(&out, 64)),
            (6, 84),
            "DataCount, DataOffset"
        );
        assert_eq!(&out[69..71], &[3, 0], "Function");
        assert_eq!(&out[76..84], &[2, 1, 0, 0, 4, 0, 0, 0]);
        assert_eq!(&out[84..], &sd[..]);

        // IOCTL: four setup words, FunctionCode 0x00144064 (FSCTL_SRV_ENUMERATE_SNAPSHOTS),
        // FID, IsFsctl 1, IsFlags 0; WordCount 23, data block at 32 + 1 + 46 + 2 = 81.
        let out = encoded(|o| {
            NtTransRequest::ioctl(0x0007, 0x0014_4064, true, Bytes::new(), 16).encode(o)
        });
        assert_eq!(out[32], 23);
        assert_eq!(out[33], 1, "MaxSetupCount");
        assert_eq!(u32_at(&out, 48), 16, "MaxDataCount");
        assert_eq!(out[68], 4, "SetupCount");
        assert_eq!(&out[69..71], &[2, 0], "Function");
        assert_eq!(&out[71..79], &[0x64, 0x40, 0x14, 0x00, 7, 0, 1, 0]);
        assert_eq!(u32_at(&out, 64), 84, "DataOffset, 4-aligned");
        assert_eq!(&out[79..81], &[3, 0], "ByteCount: the pads");
        assert_eq!(out.len(), 84);

        // NOTIFY_CHANGE: CompletionFilter 0x17, FID 9, WatchTree 1; MaxParameterCount
        // is the answer's room.
        let out = encoded(|o| NtTransRequest::notify_change(9, 0x17, true, 4096).encode(o));
        assert_eq!((out[32], out[68]), (23, 4), "WordCount, SetupCount");
        assert_eq!(u32_at(&out, 44), 4096, "MaxParameterCount");
        assert_eq!(u32_at(&out, 48), 0, "MaxDataCount");
        assert_eq!(&out[69..71], &[4, 0], "Function");
        assert_eq!(&out[71..79], &[0x17, 0, 0, 0, 9, 0, 1, 0]);
    }

    #[test]
    fn a_whole_response_decodes_and_fragments_reassemble() {
        let msg = fragment((4, 3), &[], &[0x40, 0, 0, 0], 0, b"abc", 0);
        let r = NtTransResponse::decode(&msg).unwrap();
        assert_eq!(
            (&r.params[..], &r.data[..]),
            (&[0x40, 0, 0, 0][..], &b"abc"[..])
        );
        assert_eq!(length_needed(&r.params).unwrap(), 0x40);
        assert!(length_needed(&[1, 2]).is_err());
        assert_robust(&msg, NtTransResponse::decode);
        // An IOCTL answer's one setup word.
        let ioctl = fragment((0, 2), &[2], &[], 0, b"xy", 0);
        assert_eq!(NtTransResponse::decode(&ioctl).unwrap().setup, [2]);
        // A fragment alone is not a whole response.
        assert!(
            NtTransResponse::decode(&fragment((4, 9), &[], &[1, 2, 3, 4], 0, b"abc", 0)).is_err()
        );
        // SetupCount must agree with WordCount.
        let mut bad = msg.to_vec();
        bad[HEADER_LEN + 36] = 1;
        assert!(NtTransResponse::decode(&Bytes::from(bad)).is_err());

        let mut a = TransAssembly::nt(4, 100);
        assert_eq!(
            a.push(&fragment((4, 7), &[], &[1, 0, 0, 0], 0, b"abc", 0))
                .unwrap(),
            None
        );
        let whole = a
            .push(&fragment((4, 7), &[], &[], 0, b"defg", 3))
            .unwrap()
            .unwrap();
        let r = NtTransResponse::decode(&whole).unwrap();
        assert_eq!(
            (&r.params[..], &r.data[..]),
            (&[1, 0, 0, 0][..], &b"abcdefg"[..])
        );
        // Past what the request allowed, a growing total, a gap: refused.
        assert!(TransAssembly::nt(4, 2).push(&msg).is_err());
        let mut a = TransAssembly::nt(4, 100);
        a.push(&fragment((4, 7), &[], &[1, 0, 0, 0], 0, b"abc", 0))
            .unwrap();
        assert!(a
            .clone()
            .push(&fragment((4, 8), &[], &[], 0, b"d", 3))
            .is_err());
        assert!(a.push(&fragment((4, 7), &[], &[], 0, b"d", 4)).is_err());
        // A transaction answer (16-bit words) is no NT_TRANSACT one.
        assert!(TransAssembly::nt(100, 100)
            .push(&reply(0xA0, 0, &[10, 0, 0]))
            .is_err());
    }

    #[test]
    fn hostile_offsets_and_counts_end_in_errors() {
        let msg = fragment((4, 3), &[], &[0x40, 0, 0, 0], 0, b"abc", 0);
        // DataOffset far past the message; a count near u32::MAX.
        for (at, v) in [(HEADER_LEN + 1 + 27, 0xFFu8), (HEADER_LEN + 1 + 26, 0xFF)] {
            let mut m = msg.to_vec();
            m[at] = v;
            assert!(NtTransResponse::decode(&Bytes::from(m)).is_err(), "{at}");
        }
        // Totals beyond the reassembly bound.
        let huge = fragment((0, 0x0200_0000), &[], &[], 0, b"a", 0);
        assert!(TransAssembly::nt(0, u32::MAX).push(&huge).is_err());
    }
}
