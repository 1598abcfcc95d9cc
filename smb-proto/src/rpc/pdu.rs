//! Connection-oriented DCE/RPC PDUs, C706 chapter 12 (12.6.3 common header, 12.6.4 the
//! PDUs) as MS-RPCE 2.2.2 extends them: bind, bind_ack, bind_nak, request, response and
//! fault, without authentication, and the [`Reassembly`] of a reply read from a pipe.
//!
//! Integers are little-endian: this client sends `packed_drep` 0x10 (little-endian,
//! ASCII, IEEE) and refuses a PDU in any other representation rather than decode it.

use super::RpcError;
use crate::wire::codec::{DecodeError, Reader};

/// PDU types (`PTYPE`), C706 12.6.3.1.
pub mod ptype {
    /// request.
    pub const REQUEST: u8 = 0;
    /// response.
    pub const RESPONSE: u8 = 2;
    /// fault.
    pub const FAULT: u8 = 3;
    /// bind.
    pub const BIND: u8 = 11;
    /// bind_ack.
    pub const BIND_ACK: u8 = 12;
    /// bind_nak.
    pub const BIND_NAK: u8 = 13;

    /// The type's name in C706, for messages.
    pub fn name(ptype: u8) -> &'static str {
        match ptype {
            REQUEST => "request",
            1 => "ping",
            RESPONSE => "response",
            FAULT => "fault",
            11 => "bind",
            12 => "bind_ack",
            13 => "bind_nak",
            14 => "alter_context",
            15 => "alter_context_resp",
            16 => "auth3",
            17 => "shutdown",
            18 => "co_cancel",
            19 => "orphaned",
            _ => "unknown",
        }
    }
}

/// `pfc_flags`, C706 12.6.3.1 (PFC_SUPPORT_HEADER_SIGN: MS-RPCE 2.2.2.3).
pub mod pfc {
    /// PFC_FIRST_FRAG: the first fragment of a PDU.
    pub const FIRST_FRAG: u8 = 0x01;
    /// PFC_LAST_FRAG: the last fragment of a PDU.
    pub const LAST_FRAG: u8 = 0x02;
    /// PFC_PENDING_CANCEL (request) / PFC_SUPPORT_HEADER_SIGN (bind).
    pub const PENDING_CANCEL: u8 = 0x04;
    /// PFC_CONC_MPX.
    pub const CONC_MPX: u8 = 0x10;
    /// PFC_DID_NOT_EXECUTE (fault): the call did not run.
    pub const DID_NOT_EXECUTE: u8 = 0x20;
    /// PFC_MAYBE.
    pub const MAYBE: u8 = 0x40;
    /// PFC_OBJECT_UUID: a request carries an object UUID after its opnum.
    pub const OBJECT_UUID: u8 = 0x80;
}

/// `packed_drep` this client sends and accepts: little-endian integers, ASCII
/// characters, IEEE floating point (C706 14.1).
pub const DATA_REPRESENTATION: [u8; 4] = [0x10, 0, 0, 0];

/// The common header's length (C706 12.6.3.1).
pub const HEADER_LEN: usize = 16;

/// The fragment size this client offers in its bind (`max_xmit_frag` and
/// `max_recv_frag`), what Windows and smbclient offer: the server sends no fragment
/// larger than this.
pub const MAX_FRAG: u16 = 4280;

/// A request's and a response's header: the common header, then alloc_hint, p_cont_id
/// and opnum (request) or cancel_count and a reserved byte (response).
const CALL_HEADER_LEN: usize = HEADER_LEN + 8;

/// A UUID in its NDR wire form: the first three fields little-endian, the last eight
/// bytes as written.
pub const fn uuid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
    let a = d1.to_le_bytes();
    let b = d2.to_le_bytes();
    let c = d3.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5],
        d4[6], d4[7],
    ]
}

/// An interface or transfer syntax: UUID and version (`p_syntax_id_t`, C706 12.6.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyntaxId {
    /// The UUID, in wire order (see [`uuid`]).
    pub uuid: [u8; 16],
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl SyntaxId {
    /// SRVSVC v3.0, 4b324fc8-1670-01d3-1278-5a47bf6ee188 (MS-SRVS 1.9).
    pub const SRVSVC: SyntaxId = SyntaxId {
        uuid: uuid(
            0x4b32_4fc8,
            0x1670,
            0x01d3,
            [0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88],
        ),
        major: 3,
        minor: 0,
    };

    /// The NDR transfer syntax v2, 8a885d04-1ceb-11c9-9fe8-08002b104860 (C706 appendix I).
    pub const NDR: SyntaxId = SyntaxId {
        uuid: uuid(
            0x8a88_5d04,
            0x1ceb,
            0x11c9,
            [0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60],
        ),
        major: 2,
        minor: 0,
    };

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.uuid);
        out.extend_from_slice(&self.major.to_le_bytes());
        out.extend_from_slice(&self.minor.to_le_bytes());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SyntaxId {
            uuid: r.array("syntax uuid")?,
            major: r.u16("syntax major version")?,
            minor: r.u16("syntax minor version")?,
        })
    }
}

/// The common header of every connection-oriented PDU, C706 12.6.3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PduHeader {
    /// `PTYPE`, see [`ptype`].
    pub ptype: u8,
    /// `pfc_flags`, see [`pfc`].
    pub flags: u8,
    /// `frag_length`: this fragment's length, header included.
    pub frag_length: u16,
    /// `auth_length`: the verifier's length; 0 here, as no authentication is bound.
    pub auth_length: u16,
    /// `call_id`: pairs a reply with its call.
    pub call_id: u32,
}

impl PduHeader {
    /// Decodes and checks the header at the start of `buf`: version 5.0, little-endian
    /// representation, a `frag_length` that covers at least the header.
    ///
    /// # Errors
    ///
    /// [`RpcError::Decode`] if `buf` is shorter than a header; the version, data
    /// representation and fragment length errors otherwise.
    pub fn decode(buf: &[u8]) -> Result<Self, RpcError> {
        let mut r = Reader::new(buf);
        let major = r.u8("rpc_vers")?;
        let minor = r.u8("rpc_vers_minor")?;
        if (major, minor) != (5, 0) {
            return Err(RpcError::Version { major, minor });
        }
        let ptype = r.u8("PTYPE")?;
        let flags = r.u8("pfc_flags")?;
        let drep: [u8; 4] = r.array("packed_drep")?;
        // Only the integer and character formats matter: NDR floats never occur here.
        if drep[0] != DATA_REPRESENTATION[0] {
            return Err(RpcError::DataRepresentation(drep));
        }
        let frag_length = r.u16("frag_length")?;
        let auth_length = r.u16("auth_length")?;
        let call_id = r.u32("call_id")?;
        if usize::from(frag_length) < HEADER_LEN {
            return Err(RpcError::FragLength(frag_length));
        }
        Ok(PduHeader {
            ptype,
            flags,
            frag_length,
            auth_length,
            call_id,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[5, 0, self.ptype, self.flags]);
        out.extend_from_slice(&DATA_REPRESENTATION);
        out.extend_from_slice(&self.frag_length.to_le_bytes());
        out.extend_from_slice(&self.auth_length.to_le_bytes());
        out.extend_from_slice(&self.call_id.to_le_bytes());
    }
}

/// Writes a whole PDU of `ptype` whose body `body` writes: the header's frag_length is
/// filled in once the body's length is known.
fn whole_pdu(ptype: u8, flags: u8, call_id: u32, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    PduHeader {
        ptype,
        flags,
        frag_length: 0,
        auth_length: 0,
        call_id,
    }
    .encode(&mut out);
    body(&mut out);
    // A PDU longer than a fragment can say saturates here; a caller sending one checks
    // its length against the peer's max_recv_frag first (ListShares refuses it).
    let len = u16::try_from(out.len()).unwrap_or(u16::MAX);
    out[8..10].copy_from_slice(&len.to_le_bytes());
    out
}

/// The body of a PDU whose header was decoded, after checking it is one whole fragment
/// of `expected` type.
fn body_of<'a>(buf: &'a [u8], expected: u8) -> Result<(PduHeader, Reader<'a>), RpcError> {
    let h = PduHeader::decode(buf)?;
    if h.ptype != expected {
        return Err(RpcError::UnexpectedType {
            got: h.ptype,
            expected,
        });
    }
    let frag = crate::wire::codec::slice(buf, 0, h.frag_length.into(), "fragment")?;
    Ok((h, Reader::at(frag, HEADER_LEN, "PDU body")?))
}

/// The bind PDU with one presentation context, C706 12.6.4.3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// `call_id`.
    pub call_id: u32,
    /// `max_xmit_frag`: the largest fragment the client sends.
    pub max_xmit_frag: u16,
    /// `max_recv_frag`: the largest fragment the client accepts.
    pub max_recv_frag: u16,
    /// `assoc_group_id`: 0 for a new association group.
    pub assoc_group_id: u32,
    /// `p_cont_id` of the one context.
    pub context_id: u16,
    /// The interface: `abstract_syntax`.
    pub abstract_syntax: SyntaxId,
    /// The one transfer syntax offered.
    pub transfer_syntax: SyntaxId,
}

impl Bind {
    /// A bind to `interface` over NDR, offering [`MAX_FRAG`] both ways.
    pub fn new(call_id: u32, interface: SyntaxId) -> Self {
        Bind {
            call_id,
            max_xmit_frag: MAX_FRAG,
            max_recv_frag: MAX_FRAG,
            assoc_group_id: 0,
            context_id: 0,
            abstract_syntax: interface,
            transfer_syntax: SyntaxId::NDR,
        }
    }

    /// The whole PDU.
    pub fn encode(&self) -> Vec<u8> {
        whole_pdu(
            ptype::BIND,
            pfc::FIRST_FRAG | pfc::LAST_FRAG,
            self.call_id,
            |out| {
                out.extend_from_slice(&self.max_xmit_frag.to_le_bytes());
                out.extend_from_slice(&self.max_recv_frag.to_le_bytes());
                out.extend_from_slice(&self.assoc_group_id.to_le_bytes());
                // p_context_elem: n_context_elem, reserved, reserved2.
                out.extend_from_slice(&[1, 0, 0, 0]);
                out.extend_from_slice(&self.context_id.to_le_bytes());
                out.extend_from_slice(&[1, 0]); // n_transfer_syn, reserved
                self.abstract_syntax.encode(out);
                self.transfer_syntax.encode(out);
            },
        )
    }

    /// Decodes a bind with at least one context and transfer syntax, keeping the first
    /// of each (for a scripted server).
    ///
    /// # Errors
    ///
    /// The PDU is truncated, of another type, or offers no context.
    pub fn decode(buf: &[u8]) -> Result<Self, RpcError> {
        let (h, mut r) = body_of(buf, ptype::BIND)?;
        let max_xmit_frag = r.u16("max_xmit_frag")?;
        let max_recv_frag = r.u16("max_recv_frag")?;
        let assoc_group_id = r.u32("assoc_group_id")?;
        let n_context = r.u8("n_context_elem")?;
        r.skip(3, "reserved")?;
        if n_context == 0 {
            return Err(DecodeError::invalid("n_context_elem", n_context).into());
        }
        let context_id = r.u16("p_cont_id")?;
        let n_transfer = r.u8("n_transfer_syn")?;
        r.skip(1, "reserved")?;
        if n_transfer == 0 {
            return Err(DecodeError::invalid("n_transfer_syn", n_transfer).into());
        }
        Ok(Bind {
            call_id: h.call_id,
            max_xmit_frag,
            max_recv_frag,
            assoc_group_id,
            context_id,
            abstract_syntax: SyntaxId::decode(&mut r)?,
            transfer_syntax: SyntaxId::decode(&mut r)?,
        })
    }
}

/// `p_cont_def_result_t` values, C706 12.6.3.1 (negotiate_ack: MS-RPCE 3.3.1.5.3, bind
/// time feature negotiation).
pub mod result {
    /// acceptance.
    pub const ACCEPTANCE: u16 = 0;
    /// user_rejection.
    pub const USER_REJECTION: u16 = 1;
    /// provider_rejection.
    pub const PROVIDER_REJECTION: u16 = 2;
    /// negotiate_ack: the answer to a bind time feature negotiation context.
    pub const NEGOTIATE_ACK: u16 = 3;
}

/// One presentation context's result in a bind_ack (`p_result_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextResult {
    /// `result`, see [`result`].
    pub result: u16,
    /// `reason` (`p_provider_reason_t`) when rejected.
    pub reason: u16,
    /// The transfer syntax the server chose.
    pub transfer_syntax: SyntaxId,
}

/// The bind_ack PDU, C706 12.6.4.4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAck {
    /// `call_id`.
    pub call_id: u32,
    /// `max_xmit_frag`: the largest fragment the server sends.
    pub max_xmit_frag: u16,
    /// `max_recv_frag`: the largest fragment the server accepts.
    pub max_recv_frag: u16,
    /// `assoc_group_id`.
    pub assoc_group_id: u32,
    /// `sec_addr`: the server's port spec (`\PIPE\srvsvc`), without its NUL.
    pub secondary_address: Vec<u8>,
    /// `p_result_list`, one per context of the bind.
    pub results: Vec<ContextResult>,
}

/// One `p_result_t` on the wire: result, reason, transfer syntax.
const RESULT_LEN: usize = 24;

impl BindAck {
    /// Decodes a bind_ack that is one whole fragment.
    ///
    /// # Errors
    ///
    /// The PDU is truncated or of another type.
    pub fn decode(buf: &[u8]) -> Result<Self, RpcError> {
        let (h, mut r) = body_of(buf, ptype::BIND_ACK)?;
        let max_xmit_frag = r.u16("max_xmit_frag")?;
        let max_recv_frag = r.u16("max_recv_frag")?;
        let assoc_group_id = r.u32("assoc_group_id")?;
        let sec_len = r.u16("sec_addr length")?;
        let mut secondary_address = r.bytes(sec_len.into(), "sec_addr")?.to_vec();
        if secondary_address.last() == Some(&0) {
            secondary_address.pop();
        }
        // p_result_list starts 4-byte aligned from the PDU's start.
        r.skip(r.pos().next_multiple_of(4) - r.pos(), "sec_addr padding")?;
        let n_results = r.u8("n_results")?;
        r.skip(3, "reserved")?;
        let n = usize::from(n_results);
        if n * RESULT_LEN > r.remaining() {
            return Err(DecodeError::Truncated {
                what: "p_result_list",
                offset: r.pos(),
                need: n * RESULT_LEN,
                have: r.remaining(),
            }
            .into());
        }
        let mut results = Vec::with_capacity(n);
        for _ in 0..n {
            results.push(ContextResult {
                result: r.u16("result")?,
                reason: r.u16("reason")?,
                transfer_syntax: SyntaxId::decode(&mut r)?,
            });
        }
        Ok(BindAck {
            call_id: h.call_id,
            max_xmit_frag,
            max_recv_frag,
            assoc_group_id,
            secondary_address,
            results,
        })
    }

    /// The whole PDU (for a scripted server).
    pub fn encode(&self) -> Vec<u8> {
        whole_pdu(
            ptype::BIND_ACK,
            pfc::FIRST_FRAG | pfc::LAST_FRAG,
            self.call_id,
            |out| {
                out.extend_from_slice(&self.max_xmit_frag.to_le_bytes());
                out.extend_from_slice(&self.max_recv_frag.to_le_bytes());
                out.extend_from_slice(&self.assoc_group_id.to_le_bytes());
                let sec_len = self.secondary_address.len() + 1;
                out.extend_from_slice(&(sec_len as u16).to_le_bytes());
                out.extend_from_slice(&self.secondary_address);
                out.push(0);
                out.resize(out.len().next_multiple_of(4), 0);
                out.extend_from_slice(&[self.results.len() as u8, 0, 0, 0]);
                for c in &self.results {
                    out.extend_from_slice(&c.result.to_le_bytes());
                    out.extend_from_slice(&c.reason.to_le_bytes());
                    c.transfer_syntax.encode(out);
                }
            },
        )
    }

    /// Checks that the server accepted the bind's one context over NDR.
    ///
    /// # Errors
    ///
    /// [`RpcError::BindRejected`] with the result and reason (a missing result counts
    /// as a provider rejection for no stated reason; another transfer syntax than NDR
    /// as "transfer syntax not supported").
    pub fn accepted(&self) -> Result<(), RpcError> {
        let Some(first) = self.results.first() else {
            return Err(RpcError::BindRejected {
                result: result::PROVIDER_REJECTION,
                reason: 0,
            });
        };
        if first.result != result::ACCEPTANCE {
            return Err(RpcError::BindRejected {
                result: first.result,
                reason: first.reason,
            });
        }
        if first.transfer_syntax != SyntaxId::NDR {
            return Err(RpcError::BindRejected {
                result: result::PROVIDER_REJECTION,
                reason: 2,
            });
        }
        Ok(())
    }
}

/// The bind_nak PDU's reason, C706 12.6.4.5 (as MS-RPCE 2.2.2.9 extends it: the
/// optional versions and signature after the reason are not needed).
fn bind_nak_reason(frag: &[u8]) -> Result<u16, RpcError> {
    let (_, mut r) = body_of(frag, ptype::BIND_NAK)?;
    Ok(r.u16("provider_reject_reason")?)
}

/// The request PDU, C706 12.6.4.9, as one fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `call_id`.
    pub call_id: u32,
    /// `p_cont_id`: the bound context.
    pub context_id: u16,
    /// `opnum`: the operation in the interface.
    pub opnum: u16,
    /// The NDR-encoded `[in]` parameters.
    pub stub: Vec<u8>,
}

impl Request {
    /// The whole PDU, one fragment.
    pub fn encode(&self) -> Vec<u8> {
        whole_pdu(
            ptype::REQUEST,
            pfc::FIRST_FRAG | pfc::LAST_FRAG,
            self.call_id,
            |out| {
                // alloc_hint: the whole stub's size, so the server can allocate once.
                out.extend_from_slice(&(self.stub.len() as u32).to_le_bytes());
                out.extend_from_slice(&self.context_id.to_le_bytes());
                out.extend_from_slice(&self.opnum.to_le_bytes());
                out.extend_from_slice(&self.stub);
            },
        )
    }

    /// Decodes a one-fragment request without an object UUID (for a scripted server).
    ///
    /// # Errors
    ///
    /// The PDU is truncated, of another type, fragmented or names an object.
    pub fn decode(buf: &[u8]) -> Result<Self, RpcError> {
        let (h, mut r) = body_of(buf, ptype::REQUEST)?;
        if h.flags & (pfc::FIRST_FRAG | pfc::LAST_FRAG) != pfc::FIRST_FRAG | pfc::LAST_FRAG
            || h.flags & pfc::OBJECT_UUID != 0
        {
            return Err(RpcError::FragmentOrder(h.flags));
        }
        r.skip(4, "alloc_hint")?;
        let context_id = r.u16("p_cont_id")?;
        let opnum = r.u16("opnum")?;
        let stub = r.bytes(r.remaining(), "stub")?.to_vec();
        Ok(Request {
            call_id: h.call_id,
            context_id,
            opnum,
            stub,
        })
    }
}

/// A response's stub cut into fragments of at most `max_frag` bytes each, C706 12.6.4.10
/// (for a scripted server, and to test reassembly). Every fragment but the last carries
/// a multiple of 8 stub bytes, as NDR servers cut them.
pub fn encode_response(call_id: u32, context_id: u16, stub: &[u8], max_frag: u16) -> Vec<Vec<u8>> {
    let room = (usize::from(max_frag).saturating_sub(CALL_HEADER_LEN) & !7).max(8);
    let chunks: Vec<&[u8]> = if stub.is_empty() {
        vec![&[][..]]
    } else {
        stub.chunks(room).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut flags = 0;
            if i == 0 {
                flags |= pfc::FIRST_FRAG;
            }
            if i == last {
                flags |= pfc::LAST_FRAG;
            }
            let consumed: usize = chunks[..i].iter().map(|c| c.len()).sum();
            whole_pdu(ptype::RESPONSE, flags, call_id, |out| {
                // alloc_hint: the stub bytes still to come, this fragment's included.
                out.extend_from_slice(&((stub.len() - consumed) as u32).to_le_bytes());
                out.extend_from_slice(&context_id.to_le_bytes());
                out.extend_from_slice(&[0, 0]); // cancel_count, reserved
                out.extend_from_slice(chunk);
            })
        })
        .collect()
}

/// The fault PDU, C706 12.6.4.7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// `call_id`.
    pub call_id: u32,
    /// `status`: an NCA status or a Win32 error.
    pub status: u32,
}

impl Fault {
    /// Decodes a fault PDU.
    ///
    /// # Errors
    ///
    /// The PDU is truncated or of another type.
    pub fn decode(buf: &[u8]) -> Result<Self, RpcError> {
        let (h, mut r) = body_of(buf, ptype::FAULT)?;
        r.skip(8, "alloc_hint, p_cont_id, cancel_count, reserved")?;
        Ok(Fault {
            call_id: h.call_id,
            status: r.u32("status")?,
        })
    }

    /// The whole PDU (for a scripted server).
    pub fn encode(&self) -> Vec<u8> {
        whole_pdu(
            ptype::FAULT,
            pfc::FIRST_FRAG | pfc::LAST_FRAG | pfc::DID_NOT_EXECUTE,
            self.call_id,
            |out| {
                out.extend_from_slice(&[0; 8]);
                out.extend_from_slice(&self.status.to_le_bytes());
                out.extend_from_slice(&[0; 4]);
            },
        )
    }
}

/// A complete reply to a call on the pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The answer to a bind.
    BindAck(BindAck),
    /// The answer to a request: the stub of every response fragment, joined.
    Response(Vec<u8>),
}

/// Rebuilds one reply from the bytes a pipe returns (an FSCTL_PIPE_TRANSCEIVE output,
/// then READs), cut anywhere: whole fragments are checked as soon as their header is
/// in (version, call id, no verifier, type, fragment order) and a response's stub
/// grows fragment by fragment until one carries PFC_LAST_FRAG (C706 12.6.4.10: the
/// response's stub is the fragments' stubs joined).
///
/// ```
/// use smb_proto::rpc::pdu::{encode_response, Reassembly, Reply};
///
/// let fragments = encode_response(2, 0, &[7; 100], 64);
/// let stream: Vec<u8> = fragments.concat();
/// let mut reply = Reassembly::response(2, 1 << 20);
/// let (head, tail) = stream.split_at(50);
/// assert_eq!(reply.push(head).unwrap(), None); // more to READ
/// assert_eq!(reply.push(tail).unwrap(), Some(Reply::Response(vec![7; 100])));
/// ```
#[derive(Debug)]
pub struct Reassembly {
    call_id: u32,
    expected: u8,
    /// Bytes read but not yet a whole fragment.
    pending: Vec<u8>,
    /// A response's stub so far.
    stub: Vec<u8>,
    /// Whether the first fragment has been seen.
    started: bool,
    /// Bytes taken from the pipe so far, and their bound.
    received: usize,
    limit: usize,
    done: bool,
}

impl Reassembly {
    /// Waits for the bind_ack answering bind `call_id`.
    pub fn bind_ack(call_id: u32) -> Self {
        Self::new(call_id, ptype::BIND_ACK, usize::from(u16::MAX))
    }

    /// Waits for the response to request `call_id`, reading at most `limit` bytes from
    /// the pipe (headers included) before giving up.
    pub fn response(call_id: u32, limit: usize) -> Self {
        Self::new(call_id, ptype::RESPONSE, limit)
    }

    fn new(call_id: u32, expected: u8, limit: usize) -> Self {
        Reassembly {
            call_id,
            expected,
            pending: Vec::new(),
            stub: Vec::new(),
            started: false,
            received: 0,
            limit,
            done: false,
        }
    }

    /// Takes the next bytes read from the pipe: `None` while the reply is incomplete
    /// (read the pipe again), the reply once its last fragment is in.
    ///
    /// # Errors
    ///
    /// Whatever is wrong with the fragments ([`RpcError`]), a fault or bind_nak from the
    /// server, [`RpcError::TooLarge`] past the limit, [`RpcError::TrailingBytes`] for
    /// bytes after the reply (or pushed after it was returned).
    pub fn push(&mut self, data: &[u8]) -> Result<Option<Reply>, RpcError> {
        if self.done {
            return Err(RpcError::TrailingBytes(data.len()));
        }
        // The bound applies before anything is copied: a server cannot make the client
        // hold more than `limit` bytes, however it cuts them.
        self.received = self.received.saturating_add(data.len());
        if self.received > self.limit {
            return Err(RpcError::TooLarge { limit: self.limit });
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(data);
        let mut at = 0;
        while pending.len() - at >= HEADER_LEN {
            let h = PduHeader::decode(&pending[at..])?;
            self.check(&h)?;
            let end = at + usize::from(h.frag_length);
            if end > pending.len() {
                break;
            }
            let reply = self.fragment(&h, &pending[at..end])?;
            at = end;
            if let Some(reply) = reply {
                self.done = true;
                if at != pending.len() {
                    return Err(RpcError::TrailingBytes(pending.len() - at));
                }
                return Ok(Some(reply));
            }
        }
        pending.drain(..at);
        self.pending = pending;
        Ok(None)
    }

    /// What the header alone says about a fragment.
    fn check(&self, h: &PduHeader) -> Result<(), RpcError> {
        if h.call_id != self.call_id {
            return Err(RpcError::CallId {
                got: h.call_id,
                expected: self.call_id,
            });
        }
        if h.auth_length != 0 {
            return Err(RpcError::Auth(h.auth_length));
        }
        let answers = h.ptype == self.expected
            || h.ptype == ptype::FAULT
            || (self.expected == ptype::BIND_ACK && h.ptype == ptype::BIND_NAK);
        if !answers {
            return Err(RpcError::UnexpectedType {
                got: h.ptype,
                expected: self.expected,
            });
        }
        Ok(())
    }

    /// Handles one whole fragment of a type [`check`](Self::check) let through.
    fn fragment(&mut self, h: &PduHeader, frag: &[u8]) -> Result<Option<Reply>, RpcError> {
        let whole = pfc::FIRST_FRAG | pfc::LAST_FRAG;
        match h.ptype {
            ptype::FAULT => Err(RpcError::Fault {
                status: Fault::decode(frag)?.status,
            }),
            ptype::BIND_NAK => Err(RpcError::BindNak(bind_nak_reason(frag)?)),
            ptype::BIND_ACK if h.flags & whole != whole => Err(RpcError::FragmentOrder(h.flags)),
            ptype::BIND_ACK => Ok(Some(Reply::BindAck(BindAck::decode(frag)?))),
            _ => {
                let first = h.flags & pfc::FIRST_FRAG != 0;
                if first == self.started {
                    return Err(RpcError::FragmentOrder(h.flags));
                }
                self.started = true;
                // alloc_hint, p_cont_id and cancel_count say nothing the client needs: the
                // stub is whatever follows them, and its size the fragments' sum.
                let stub = crate::wire::codec::slice(
                    frag,
                    CALL_HEADER_LEN,
                    frag.len().saturating_sub(CALL_HEADER_LEN),
                    "response header",
                )?;
                self.stub.extend_from_slice(stub);
                if h.flags & pfc::LAST_FRAG != 0 {
                    return Ok(Some(Reply::Response(std::mem::take(&mut self.stub))));
                }
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::hex;

    /// smb311_share_list.pcapng frame 17, the IOCTL input: smbclient's bind to SRVSVC,
    /// call 1 (C706 12.6.4.3).
    const BIND: &str = "05000b03100000004800000001000000b810b810000000000100000000000100\
        c84f324b7016d30112785a47bf6ee18803000000045d888aeb1cc9119fe808002b10486002000000";
    /// smb311_share_list.pcapng frame 21, the IOCTL output: Samba's bind_ack
    /// (C706 12.6.4.4), secondary address `\PIPE\srvsvc`.
    const BIND_ACK: &str = "05000c03100000004400000001000000b810b8105f1d00000d005c706970655c\
        73727673766300000100000000000000045d888aeb1cc9119fe808002b10486002000000";

    #[test]
    fn the_bind_is_smbclients_byte_for_byte() {
        assert_eq!(Bind::new(1, SyntaxId::SRVSVC).encode(), hex(BIND));
        let bind = Bind::decode(&hex(BIND)).unwrap();
        assert_eq!(bind, Bind::new(1, SyntaxId::SRVSVC));
        assert_eq!(bind.abstract_syntax, SyntaxId::SRVSVC);
        assert_eq!(bind.transfer_syntax, SyntaxId::NDR);
    }

    #[test]
    fn sambas_bind_ack_accepts_ndr() {
        let ack = BindAck::decode(&hex(BIND_ACK)).unwrap();
        assert_eq!(ack.call_id, 1);
        assert_eq!((ack.max_xmit_frag, ack.max_recv_frag), (4280, 4280));
        assert_eq!(ack.assoc_group_id, 0x1d5f);
        assert_eq!(ack.secondary_address, b"\\pipe\\srvsvc");
        assert_eq!(
            ack.results,
            [ContextResult {
                result: result::ACCEPTANCE,
                reason: 0,
                transfer_syntax: SyntaxId::NDR,
            }]
        );
        ack.accepted().unwrap();
        assert_eq!(ack.encode(), hex(BIND_ACK));
    }

    #[test]
    fn a_rejected_context_is_a_typed_error() {
        let mut ack = BindAck::decode(&hex(BIND_ACK)).unwrap();
        ack.results[0].result = result::PROVIDER_REJECTION;
        ack.results[0].reason = 1; // abstract syntax not supported
        assert_eq!(
            ack.accepted(),
            Err(RpcError::BindRejected {
                result: 2,
                reason: 1
            })
        );
        ack.results.clear();
        assert!(matches!(ack.accepted(), Err(RpcError::BindRejected { .. })));
        let mut ack = BindAck::decode(&hex(BIND_ACK)).unwrap();
        ack.results[0].transfer_syntax.major = 1;
        assert!(matches!(
            ack.accepted(),
            Err(RpcError::BindRejected { reason: 2, .. })
        ));
    }

    #[test]
    fn headers_refuse_other_versions_representations_and_short_fragments() {
        let mut b = hex(BIND).to_vec();
        b[0] = 4;
        assert_eq!(
            PduHeader::decode(&b),
            Err(RpcError::Version { major: 4, minor: 0 })
        );
        let mut b = hex(BIND).to_vec();
        b[4] = 0x00; // big-endian
        assert!(matches!(
            PduHeader::decode(&b),
            Err(RpcError::DataRepresentation(_))
        ));
        let mut b = hex(BIND).to_vec();
        b[8] = 15;
        assert_eq!(PduHeader::decode(&b), Err(RpcError::FragLength(15)));
    }

    #[test]
    fn every_truncation_of_a_pdu_is_an_error() {
        let bind = hex(BIND);
        for n in 0..bind.len() {
            assert!(Bind::decode(&bind[..n]).is_err(), "bind cut to {n}");
        }
        let ack = hex(BIND_ACK);
        for n in 0..ack.len() {
            assert!(BindAck::decode(&ack[..n]).is_err(), "bind_ack cut to {n}");
            // Cut on the pipe, it is only incomplete.
            let mut r = Reassembly::bind_ack(1);
            assert_eq!(r.push(&ack[..n]), Ok(None), "reassembly of {n} bytes");
        }
        let request = Request {
            call_id: 2,
            context_id: 0,
            opnum: 15,
            stub: vec![1; 40],
        }
        .encode();
        for n in 0..request.len() {
            assert!(
                Request::decode(&request[..n]).is_err(),
                "request cut to {n}"
            );
        }
        let fault = Fault {
            call_id: 2,
            status: 5,
        }
        .encode();
        for n in 0..fault.len() {
            assert!(Fault::decode(&fault[..n]).is_err());
        }
    }

    #[test]
    fn a_bind_ack_with_an_absurd_result_count_is_refused() {
        let mut b = hex(BIND_ACK).to_vec();
        b[40] = 0xFF; // n_results: 255 results in 24 bytes
        assert!(matches!(
            BindAck::decode(&b),
            Err(RpcError::Decode(DecodeError::Truncated { need, .. })) if need == 255 * 24
        ));
    }

    #[test]
    fn a_bind_ack_comes_back_whole_however_the_pipe_cuts_it() {
        let full = hex(BIND_ACK);
        for cut in 0..=full.len() {
            let mut r = Reassembly::bind_ack(1);
            let first = r.push(&full[..cut]).unwrap();
            let reply = match first {
                Some(reply) => reply,
                None => r.push(&full[cut..]).unwrap().expect("complete"),
            };
            assert_eq!(
                reply,
                Reply::BindAck(BindAck::decode(&full).unwrap()),
                "cut at {cut}"
            );
        }
    }

    fn stub(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn a_fragmented_response_is_reassembled_in_any_pieces() {
        let stub = stub(10_000);
        let fragments = encode_response(2, 0, &stub, 1000);
        assert_eq!(fragments.len(), 11);
        assert!(fragments.iter().all(|f| f.len() <= 1000));
        assert_eq!(fragments[0][3], pfc::FIRST_FRAG);
        assert_eq!(fragments[5][3], 0);
        assert_eq!(fragments[10][3], pfc::LAST_FRAG);
        let stream = fragments.concat();
        for piece in [1, 7, 16, 999, 1000, 1001, 4280, stream.len()] {
            let mut r = Reassembly::response(2, 1 << 20);
            let mut replies = Vec::new();
            for chunk in stream.chunks(piece) {
                if let Some(reply) = r.push(chunk).unwrap() {
                    replies.push(reply);
                }
            }
            assert_eq!(
                replies,
                [Reply::Response(stub.clone())],
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn a_one_fragment_response_and_an_empty_stub() {
        let f = encode_response(9, 0, &[], 4280);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0][3], pfc::FIRST_FRAG | pfc::LAST_FRAG);
        let mut r = Reassembly::response(9, 100);
        assert_eq!(r.push(&f[0]).unwrap(), Some(Reply::Response(Vec::new())));
        // Nothing may follow a returned reply.
        assert_eq!(r.push(&[0]), Err(RpcError::TrailingBytes(1)));
    }

    #[test]
    fn fragments_out_of_order_are_refused() {
        let f = encode_response(2, 0, &stub(100), 56);
        assert!(f.len() >= 3);
        // A middle fragment first.
        let mut r = Reassembly::response(2, 1 << 20);
        assert_eq!(r.push(&f[1]), Err(RpcError::FragmentOrder(0)));
        // A second first fragment.
        let mut r = Reassembly::response(2, 1 << 20);
        r.push(&f[0]).unwrap();
        assert_eq!(r.push(&f[0]), Err(RpcError::FragmentOrder(pfc::FIRST_FRAG)));
        // A bind_ack cut into fragments.
        let mut ack = hex(BIND_ACK).to_vec();
        ack[3] = pfc::FIRST_FRAG;
        assert_eq!(
            Reassembly::bind_ack(1).push(&ack),
            Err(RpcError::FragmentOrder(pfc::FIRST_FRAG))
        );
    }

    #[test]
    fn a_foreign_call_id_a_verifier_or_a_stray_type_is_refused_from_the_header() {
        let f = encode_response(3, 0, &stub(40), 4280).concat();
        // Only the header is in: the error comes before the body.
        assert_eq!(
            Reassembly::response(2, 1 << 20).push(&f[..HEADER_LEN]),
            Err(RpcError::CallId {
                got: 3,
                expected: 2
            })
        );
        let mut authed = f.clone();
        authed[10] = 16;
        assert_eq!(
            Reassembly::response(3, 1 << 20).push(&authed),
            Err(RpcError::Auth(16))
        );
        assert_eq!(
            Reassembly::bind_ack(3).push(&f),
            Err(RpcError::UnexpectedType {
                got: ptype::RESPONSE,
                expected: ptype::BIND_ACK
            })
        );
        let mut bind_nak = hex(BIND_ACK)[..HEADER_LEN].to_vec();
        bind_nak[2] = ptype::BIND_NAK;
        bind_nak[8] = 18;
        bind_nak.extend_from_slice(&[4, 0]);
        assert_eq!(
            Reassembly::bind_ack(1).push(&bind_nak),
            Err(RpcError::BindNak(4))
        );
        assert!(matches!(
            Reassembly::response(1, 100).push(&bind_nak),
            Err(RpcError::UnexpectedType { .. })
        ));
    }

    #[test]
    fn a_fault_ends_the_call_with_its_status() {
        let fault = Fault {
            call_id: 2,
            status: 0x1C01_0002,
        };
        assert_eq!(Fault::decode(&fault.encode()).unwrap(), fault);
        let mut r = Reassembly::response(2, 1 << 20);
        assert_eq!(
            r.push(&fault.encode()),
            Err(RpcError::Fault {
                status: 0x1C01_0002
            })
        );
        // After a first fragment, too.
        let f = encode_response(2, 0, &stub(100), 56);
        let mut r = Reassembly::response(2, 1 << 20);
        r.push(&f[0]).unwrap();
        assert!(matches!(
            r.push(&fault.encode()),
            Err(RpcError::Fault { .. })
        ));
    }

    #[test]
    fn the_size_bound_holds_before_anything_is_copied() {
        let stream = encode_response(2, 0, &stub(10_000), 4280).concat();
        let mut r = Reassembly::response(2, 5000);
        assert_eq!(r.push(&stream[..4000]).unwrap(), None);
        assert_eq!(
            r.push(&stream[4000..]),
            Err(RpcError::TooLarge { limit: 5000 })
        );
        // A single absurd chunk is refused whole.
        let mut r = Reassembly::response(2, 100);
        assert_eq!(
            r.push(&vec![0; 1 << 20]),
            Err(RpcError::TooLarge { limit: 100 })
        );
    }

    #[test]
    fn bytes_after_the_last_fragment_are_refused() {
        let mut stream = encode_response(2, 0, &stub(64), 4280).concat();
        stream.extend_from_slice(&[5, 0, 2]);
        assert_eq!(
            Reassembly::response(2, 1 << 20).push(&stream),
            Err(RpcError::TrailingBytes(3))
        );
    }

    #[test]
    fn a_fragment_shorter_than_a_response_header_is_an_error() {
        let mut f = encode_response(2, 0, &[], 4280).remove(0);
        f.truncate(20);
        f[8] = 20;
        assert!(matches!(
            Reassembly::response(2, 100).push(&f),
            Err(RpcError::Decode(_))
        ));
    }

    #[test]
    fn reassembly_survives_arbitrary_bytes() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let valid = encode_response(2, 0, &stub(300), 64).concat();
        for _ in 0..2000 {
            let mut m = valid.clone();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % m.len();
                m[i] = next() as u8;
            }
            let mut r = Reassembly::response(2, 1 << 16);
            for chunk in m.chunks((next() % 64 + 1) as usize) {
                if r.push(chunk).is_err() {
                    break;
                }
            }
            let mut r = Reassembly::bind_ack(2);
            let _ = r.push(&m);
        }
    }
}
