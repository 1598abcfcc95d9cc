//! OPLOCK_BREAK: oplock and lease break notifications (MS-SMB2 2.2.23), acknowledgments
//! (2.2.24) and responses (2.2.25). The oplock forms have StructureSize 24; the lease
//! notification 44 and the lease acknowledgment/response 36, which is how a received
//! message tells which it is.

use bytes::Bytes;

use super::codec::{DecodeError, Reader};
use super::create::FileId;
use super::header::HEADER_LEN;

/// Lease states, MS-SMB2 2.2.13.2.8.
pub mod lease_state {
    /// SMB2_LEASE_NONE.
    pub const NONE: u32 = 0x00;
    /// SMB2_LEASE_READ_CACHING.
    pub const READ_CACHING: u32 = 0x01;
    /// SMB2_LEASE_HANDLE_CACHING.
    pub const HANDLE_CACHING: u32 = 0x02;
    /// SMB2_LEASE_WRITE_CACHING.
    pub const WRITE_CACHING: u32 = 0x04;
}

/// Lease Break Notification Flags, MS-SMB2 2.2.23.2.
pub mod lease_break_flags {
    /// SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED: the client must acknowledge.
    pub const ACK_REQUIRED: u32 = 0x01;
}

const OPLOCK_STRUCTURE_SIZE: u16 = 24;
const LEASE_NOTIFICATION_STRUCTURE_SIZE: u16 = 44;
const LEASE_ACK_STRUCTURE_SIZE: u16 = 36;

/// The oplock break layout shared by the notification (2.2.23.1), the acknowledgment
/// (2.2.24.1) and the response (2.2.25.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OplockBreak {
    /// OplockLevel: the new level, see [`super::create::oplock_level`].
    pub oplock_level: u8,
    /// The open whose oplock breaks.
    pub file_id: FileId,
}

impl OplockBreak {
    /// Appends the body after an already-written header (sent as the acknowledgment).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&OPLOCK_STRUCTURE_SIZE.to_le_bytes());
        out.push(self.oplock_level);
        out.push(0);
        out.extend_from_slice(&0u32.to_le_bytes());
        self.file_id.encode(out);
    }

    /// Decodes the body after its StructureSize.
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let oplock_level = r.u8("oplock level")?;
        r.skip(5, "reserved")?;
        Ok(OplockBreak {
            oplock_level,
            file_id: FileId::decode(r)?,
        })
    }
}

/// Lease Break Notification, MS-SMB2 2.2.23.2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseBreakNotification {
    /// NewEpoch (lease v2).
    pub new_epoch: u16,
    /// Flags, see [`lease_break_flags`].
    pub flags: u32,
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// CurrentLeaseState, see [`lease_state`].
    pub current_lease_state: u32,
    /// NewLeaseState, see [`lease_state`].
    pub new_lease_state: u32,
    /// BreakReason: reserved.
    pub break_reason: u32,
    /// AccessMaskHint: reserved.
    pub access_mask_hint: u32,
    /// ShareMaskHint: reserved.
    pub share_mask_hint: u32,
}

impl LeaseBreakNotification {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LeaseBreakNotification {
            new_epoch: r.u16("new epoch")?,
            flags: r.u32("flags")?,
            lease_key: r.array("lease key")?,
            current_lease_state: r.u32("current lease state")?,
            new_lease_state: r.u32("new lease state")?,
            break_reason: r.u32("break reason")?,
            access_mask_hint: r.u32("access mask hint")?,
            share_mask_hint: r.u32("share mask hint")?,
        })
    }

    /// Appends the body after an already-written header (for a scripted server).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&LEASE_NOTIFICATION_STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&self.new_epoch.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.lease_key);
        for v in [
            self.current_lease_state,
            self.new_lease_state,
            self.break_reason,
            self.access_mask_hint,
            self.share_mask_hint,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// The lease break layout shared by the acknowledgment (2.2.24.2) and the response
/// (2.2.25.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseBreakAck {
    /// Flags: reserved, 0.
    pub flags: u32,
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// LeaseState: the state the client keeps, see [`lease_state`].
    pub lease_state: u32,
    /// LeaseDuration: reserved, 0.
    pub lease_duration: u64,
}

impl LeaseBreakAck {
    /// Appends the body after an already-written header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&LEASE_ACK_STRUCTURE_SIZE.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.lease_key);
        out.extend_from_slice(&self.lease_state.to_le_bytes());
        out.extend_from_slice(&self.lease_duration.to_le_bytes());
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.skip(2, "reserved")?;
        Ok(LeaseBreakAck {
            flags: r.u32("flags")?,
            lease_key: r.array("lease key")?,
            lease_state: r.u32("lease state")?,
            lease_duration: r.u64("lease duration")?,
        })
    }
}

/// A break the server sends unsolicited (MessageId 0xFFFFFFFFFFFFFFFF), 2.2.23.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakNotification {
    /// Oplock Break Notification (2.2.23.1).
    Oplock(OplockBreak),
    /// Lease Break Notification (2.2.23.2).
    Lease(LeaseBreakNotification),
}

impl BreakNotification {
    /// Decodes a notification by its StructureSize; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "break notification")?;
        match r.u16("break notification structure size")? {
            OPLOCK_STRUCTURE_SIZE => Ok(BreakNotification::Oplock(OplockBreak::read(&mut r)?)),
            LEASE_NOTIFICATION_STRUCTURE_SIZE => Ok(BreakNotification::Lease(
                LeaseBreakNotification::read(&mut r)?,
            )),
            v => Err(DecodeError::invalid("break notification structure size", v)),
        }
    }
}

/// The server's answer to an acknowledgment, 2.2.25.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakResponse {
    /// Oplock Break Response (2.2.25.1).
    Oplock(OplockBreak),
    /// Lease Break Response (2.2.25.2).
    Lease(LeaseBreakAck),
}

impl BreakResponse {
    /// Decodes a response by its StructureSize; `msg` starts at the header.
    pub fn decode(msg: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::at(msg, HEADER_LEN, "break response")?;
        match r.u16("break response structure size")? {
            OPLOCK_STRUCTURE_SIZE => Ok(BreakResponse::Oplock(OplockBreak::read(&mut r)?)),
            LEASE_ACK_STRUCTURE_SIZE => Ok(BreakResponse::Lease(LeaseBreakAck::read(&mut r)?)),
            v => Err(DecodeError::invalid("break response structure size", v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::request::test_util::{assert_robust, hex, with_header};

    /// An Oplock Break Notification to level II, laid out by hand per 2.2.23.1.
    const OPLOCK_BREAK: &str = "1800 01 00 00000000 2e371b7400000000 743af70300000000";
    /// A Lease Break Notification RWH -> R with ACK_REQUIRED, by hand per 2.2.23.2.
    const LEASE_BREAK: &str = "2c00 0200 01000000 000102030405060708090a0b0c0d0e0f \
                               07000000 01000000 00000000 00000000 00000000";

    fn msg(body: &str) -> Bytes {
        let mut m = vec![0; HEADER_LEN];
        m.extend_from_slice(&hex(body));
        m.into()
    }

    #[test]
    fn notifications_decode_by_structure_size() {
        let file_id = FileId {
            persistent: 0x741b_372e,
            volatile: 0x03f7_3a74,
        };
        let oplock = BreakNotification::decode(&msg(OPLOCK_BREAK)).unwrap();
        assert_eq!(
            oplock,
            BreakNotification::Oplock(OplockBreak {
                oplock_level: 0x01,
                file_id
            })
        );
        let BreakNotification::Lease(lease) = BreakNotification::decode(&msg(LEASE_BREAK)).unwrap()
        else {
            panic!("not a lease break");
        };
        assert_eq!(lease.new_epoch, 2);
        assert_eq!(lease.flags, lease_break_flags::ACK_REQUIRED);
        assert_eq!(lease.lease_key, hex("000102030405060708090a0b0c0d0e0f")[..]);
        assert_eq!(
            lease.current_lease_state,
            lease_state::READ_CACHING | lease_state::HANDLE_CACHING | lease_state::WRITE_CACHING
        );
        assert_eq!(lease.new_lease_state, lease_state::READ_CACHING);
        assert_eq!(with_header(|o| lease.encode(o)), msg(LEASE_BREAK));
        // The acknowledgment echoes the oplock layout.
        let BreakNotification::Oplock(b) = oplock else {
            unreachable!()
        };
        assert_eq!(with_header(|o| b.encode(o)), msg(OPLOCK_BREAK));
    }

    #[test]
    fn lease_ack_and_response_share_the_36_byte_layout() {
        let ack = LeaseBreakAck {
            flags: 0,
            lease_key: [7; 16],
            lease_state: lease_state::READ_CACHING,
            lease_duration: 0,
        };
        let m = with_header(|o| ack.encode(o));
        assert_eq!(m.len(), HEADER_LEN + 36);
        assert_eq!(BreakResponse::decode(&m), Ok(BreakResponse::Lease(ack)));
        assert!(BreakNotification::decode(&m).is_err());
        let oplock = BreakResponse::decode(&msg(OPLOCK_BREAK)).unwrap();
        assert!(matches!(oplock, BreakResponse::Oplock(b) if b.oplock_level == 1));
    }

    #[test]
    fn decoders_survive_malformed_input() {
        assert_robust(&msg(LEASE_BREAK), BreakNotification::decode);
        assert_robust(&msg(OPLOCK_BREAK), BreakResponse::decode);
    }
}
