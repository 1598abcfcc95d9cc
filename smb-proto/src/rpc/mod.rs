//! The minimal DCE/RPC needed to list shares over SRVSVC: connection-oriented PDUs
//! ([`pdu`], C706 chapter 12 with the MS-RPCE extensions), a little NDR, and the one
//! SRVSVC call ([`srvsvc`], MS-SRVS NetrShareEnum). Beside it, the older RAP ([`rap`]),
//! which SMB1 servers and master browsers answer for share, server and workgroup lists.
//!
//! RPC over SMB2 (MS-RPCE 2.1.1.2) runs on a named pipe of the `IPC$` share: the client
//! writes a PDU and reads the answer with one FSCTL_PIPE_TRANSCEIVE, then READs the pipe
//! for whatever did not fit. The answer arrives as a byte stream cut anywhere: a
//! [`Reassembly`] takes the pieces as they come and hands back the whole reply once its
//! last fragment is complete. No authentication is negotiated (the SMB session already
//! authenticated and signs or encrypts the pipe's traffic), so `auth_length` is always 0.
//!
//! Every decoder here takes untrusted bytes: it never panics, checks every count against
//! the bytes actually present before allocating, and fails with an [`RpcError`].

mod ndr;
pub mod pdu;
pub mod rap;
pub mod srvsvc;

pub use pdu::{Reassembly, Reply};

use crate::ntstatus::Errno;
use crate::wire::DecodeError;

/// Why a DCE/RPC exchange failed. The SMB connection is not at fault and goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// A PDU or its NDR stub ended early or held a value the protocol does not allow.
    #[error("malformed DCE/RPC data: {0}")]
    Decode(#[from] DecodeError),
    /// A PDU of another protocol version than 5.0 (C706 12.6.3.1).
    #[error("DCE/RPC version {major}.{minor}, expected 5.0")]
    Version {
        /// `rpc_vers`.
        major: u8,
        /// `rpc_vers_minor`.
        minor: u8,
    },
    /// Data in a representation this client does not decode: only little-endian
    /// integers, ASCII characters and IEEE floats (C706 14.1, `packed_drep`).
    #[error("data representation {0:02x?} is not little-endian ASCII")]
    DataRepresentation([u8; 4]),
    /// A `frag_length` shorter than the PDU's own header.
    #[error("fragment length {0} is shorter than its header")]
    FragLength(u16),
    /// An authenticated PDU: this client binds without RPC authentication, so a server
    /// that adds a verifier is not following the bind.
    #[error("PDU with an authentication verifier (auth_length {0}) on an unauthenticated bind")]
    Auth(u16),
    /// A PDU for another call than the one waiting.
    #[error("PDU for call id {got}, expected {expected}")]
    CallId {
        /// The PDU's `call_id`.
        got: u32,
        /// The call's.
        expected: u32,
    },
    /// A PDU of a type that does not answer the call.
    #[error("{} PDU where a {} was expected", pdu::ptype::name(*.got), pdu::ptype::name(*.expected))]
    UnexpectedType {
        /// The PDU's `PTYPE`.
        got: u8,
        /// The type awaited.
        expected: u8,
    },
    /// Fragments out of order: a first fragment without PFC_FIRST_FRAG, a later one with
    /// it, or a bind_ack that is not one whole fragment.
    #[error("fragment flags {0:#04x} out of order")]
    FragmentOrder(u8),
    /// The reply grew past the bound the caller set.
    #[error("reply larger than {limit} bytes")]
    TooLarge {
        /// The bound, in bytes read from the pipe.
        limit: usize,
    },
    /// Bytes on the pipe after the reply's last fragment.
    #[error("{0} bytes after the reply's last fragment")]
    TrailingBytes(usize),
    /// The pipe answered a read with no bytes before the reply was complete.
    #[error("the pipe returned no data before the reply was complete")]
    EmptyRead,
    /// Our request does not fit the fragment size the server receives.
    #[error("request of {len} bytes does not fit the server's fragment size {max}")]
    RequestTooLarge {
        /// The request PDU's length.
        len: usize,
        /// The server's `max_recv_frag`.
        max: u16,
    },
    /// The bind_ack did not accept the presentation context (C706 12.6.3.1
    /// `p_cont_def_result_t`, `p_provider_reason_t`).
    #[error("bind refused: result {result}, reason {reason}")]
    BindRejected {
        /// 1 user rejection, 2 provider rejection (0 acceptance, 3 negotiate_ack).
        result: u16,
        /// 1 abstract syntax (interface) not supported, 2 transfer syntax not supported,
        /// 3 local limit exceeded.
        reason: u16,
    },
    /// The server answered the bind with a bind_nak (C706 12.6.4.5; reasons MS-RPCE
    /// 2.2.2.5).
    #[error("bind refused with bind_nak, reason {0}")]
    BindNak(u16),
    /// The server answered the call with a fault PDU (C706 12.6.4.7): an NCA status
    /// (`nca_s_op_rng_error` 0x1C010002, …) or a Win32 error (5, access denied).
    #[error("fault status {status:#010x}")]
    Fault {
        /// The fault's `status`.
        status: u32,
    },
    /// The call completed with a failure as its return value (a Win32 error code: 5
    /// access denied, 124 invalid level, 234 more data).
    #[error("the server returned error {0}")]
    ReturnValue(u32),
    /// A RAP answer (on SMB1's `\PIPE\LANMAN`) the server refused or garbled.
    #[error(transparent)]
    Rap(#[from] rap::RapError),
}

/// ERROR_ACCESS_DENIED, as a fault status or a return value.
const ERROR_ACCESS_DENIED: u32 = 5;

impl RpcError {
    /// The errno a POSIX caller would see: EACCES for access denied, EIO for another
    /// fault or failure the server reported, EPROTO for a server that broke the protocol.
    pub fn errno(&self) -> Errno {
        match self {
            RpcError::Fault { status } | RpcError::ReturnValue(status)
                if *status == ERROR_ACCESS_DENIED =>
            {
                Errno::EACCES
            }
            RpcError::Rap(rap::RapError::Status(status))
                if u32::from(*status) == ERROR_ACCESS_DENIED =>
            {
                Errno::EACCES
            }
            RpcError::Rap(e) => e.errno(),
            RpcError::Fault { .. }
            | RpcError::ReturnValue(_)
            | RpcError::BindRejected { .. }
            | RpcError::BindNak(_)
            | RpcError::RequestTooLarge { .. } => Errno::EIO,
            _ => Errno::EPROTO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_is_eacces_and_garbage_is_eproto() {
        assert_eq!(RpcError::Fault { status: 5 }.errno(), Errno::EACCES);
        assert_eq!(RpcError::ReturnValue(5).errno(), Errno::EACCES);
        assert_eq!(
            RpcError::Fault {
                status: 0x1C01_0002
            }
            .errno(),
            Errno::EIO
        );
        assert_eq!(RpcError::TrailingBytes(3).errno(), Errno::EPROTO);
        let shown = RpcError::UnexpectedType {
            got: pdu::ptype::BIND_NAK,
            expected: pdu::ptype::RESPONSE,
        }
        .to_string();
        assert_eq!(shown, "bind_nak PDU where a response was expected");
    }
}
