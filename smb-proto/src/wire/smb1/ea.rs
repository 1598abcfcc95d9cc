//! Extended attributes and streams over TRANSACTION2 (MS-CIFS 2.2.1.2.2, 2.2.8.3,
//! 2.2.8.4): the SMB_FEA_LIST that SMB_INFO_QUERY_ALL_EAS returns and SMB_INFO_SET_EAS
//! takes, and the information levels of both and of SMB_QUERY_FILE_STREAM_INFO (whose
//! data is MS-FSCC FileStreamInformation, as SMB2's).
//!
//! An SMB_FEA_LIST is SizeOfListInBytes (4 bytes, counting itself), then SMB_FEA
//! entries packed without padding: ExtendedAttributeFlag (1), AttributeNameLengthInBytes
//! (1, without the NUL), AttributeValueLengthInBytes (2), AttributeName and its NUL,
//! AttributeValue.

use crate::wire::codec::{DecodeError, Reader};
use crate::wire::fscc::FileFullEaInformation;

/// TRANSACTION2 information levels for EAs and streams.
pub mod level {
    /// SMB_INFO_SET_EAS (MS-CIFS 2.2.8.4.2): SET_PATH_INFORMATION data is an SMB_FEA_LIST.
    pub const SET_EAS: u16 = 0x0002;
    /// SMB_INFO_QUERY_ALL_EAS (MS-CIFS 2.2.8.3.4): QUERY_PATH_INFORMATION answers with
    /// every EA as an SMB_FEA_LIST.
    pub const QUERY_ALL_EAS: u16 = 0x0004;
    /// SMB_QUERY_FILE_STREAM_INFO (MS-CIFS 2.2.8.3.10): the data is MS-FSCC
    /// FileStreamInformation.
    pub const QUERY_FILE_STREAM_INFO: u16 = 0x0109;
}

/// SizeOfListInBytes.
const SIZE_LEN: usize = 4;

/// Decodes an SMB_FEA_LIST (MS-CIFS 2.2.1.2.2.1) into the same entries SMB2's
/// FileFullEaInformation gives: the list's own size bounds the walk (bytes after it
/// are ignored, as MS-CIFS allows a larger buffer); a list of only its size is no EA.
///
/// # Errors
///
/// A size shorter than itself or past the data, or an entry past the list's end or
/// whose name lacks its NUL.
pub fn decode_fea_list(data: &[u8]) -> Result<Vec<FileFullEaInformation>, DecodeError> {
    let mut r = Reader::new(data);
    let size = r.u32("fea list size")? as usize;
    if size < SIZE_LEN || size > data.len() {
        return Err(DecodeError::invalid("fea list size", size as u64));
    }
    let mut r = Reader::new(data.get(SIZE_LEN..size).unwrap_or_default());
    let mut eas = Vec::new();
    while r.remaining() > 0 {
        let flags = r.u8("ea flag")?;
        let name_len = usize::from(r.u8("ea name length")?);
        let value_len = usize::from(r.u16("ea value length")?);
        let name = r.bytes(name_len, "ea name")?;
        let nul = r.u8("ea name terminator")?;
        if nul != 0 {
            return Err(DecodeError::invalid("ea name terminator", nul));
        }
        eas.push(FileFullEaInformation {
            flags,
            name: String::from_utf8_lossy(name).into_owned(),
            value: r.bytes(value_len, "ea value")?.to_vec(),
        });
    }
    Ok(eas)
}

/// Encodes `eas` as an SMB_FEA_LIST for SMB_INFO_SET_EAS; an empty value removes the
/// EA.
///
/// # Errors
///
/// The first entry [`FileFullEaInformation::problem`] finds fault with (a name that is
/// empty, not printable ASCII or over 255 bytes, a value over 65,535 bytes), and its
/// problem; or a list over 4 GiB.
pub fn encode_fea_list(eas: &[FileFullEaInformation]) -> Result<Vec<u8>, (usize, &'static str)> {
    if let Some(bad) = eas.iter().position(|e| e.problem().is_some()) {
        let why = eas.get(bad).and_then(|e| e.problem()).unwrap_or_default();
        return Err((bad, why));
    }
    let mut out = vec![0; SIZE_LEN];
    for e in eas {
        out.push(e.flags);
        out.push(e.name.len() as u8);
        out.extend_from_slice(&(e.value.len() as u16).to_le_bytes());
        out.extend_from_slice(e.name.as_bytes());
        out.push(0);
        out.extend_from_slice(&e.value);
    }
    let size = u32::try_from(out.len()).map_err(|_| (0, "the EA list is over 4 GiB"))?;
    out[..SIZE_LEN].copy_from_slice(&size.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ea(name: &str, value: &[u8]) -> FileFullEaInformation {
        FileFullEaInformation {
            flags: 0,
            name: name.into(),
            value: value.to_vec(),
        }
    }

    #[test]
    fn fea_lists_at_ms_cifs_offsets() {
        // MS-CIFS 2.2.1.2.2: two entries packed with no padding, the size counting itself.
        let list = encode_fea_list(&[ea("ab", b"xyz"), ea("c", b"")]).unwrap();
        #[rustfmt::skip]
        let expected = [
            20, 0, 0, 0,                       // SizeOfListInBytes
            0, 2, 3, 0, b'a', b'b', 0, b'x', b'y', b'z', // flag, lengths, "ab\0", "xyz"
            0, 1, 0, 0, b'c', 0,               // "c", empty value: remove it
        ];
        assert_eq!(list, expected);
        let back = decode_fea_list(&list).unwrap();
        assert_eq!(back, [ea("ab", b"xyz"), ea("c", b"")]);
        // FILE_NEED_EA survives; bytes after the list's size are not read.
        let mut flagged = vec![10, 0, 0, 0, 0x80, 1, 0, 0, b'q', 0, 0xEE];
        assert_eq!(decode_fea_list(&flagged).unwrap()[0].flags, 0x80);
        flagged[0] = 4;
        assert!(decode_fea_list(&flagged).unwrap().is_empty());
        assert!(decode_fea_list(&[4, 0, 0, 0]).unwrap().is_empty());
    }

    #[test]
    fn hostile_fea_lists_are_refused() {
        for bad in [
            &[][..],
            &[3, 0, 0, 0],                          // shorter than itself
            &[9, 0, 0, 0, 0],                       // past the data
            &[10, 0, 0, 0, 0, 2, 0, 0, b'a', b'b'], // no NUL inside the list
            &[10, 0, 0, 0, 0, 1, 0, 0, b'a', 1],    // a NUL that is not one
            &[11, 0, 0, 0, 0, 1, 5, 0, b'a', 0, 1], // value past the list
            &[7, 0, 0, 0, 0, 1, 0],                 // an entry cut short
        ] {
            assert!(decode_fea_list(bad).is_err(), "{bad:?}");
        }
        // Every truncation and byte flip of a good list ends in a result.
        let list = encode_fea_list(&[ea("ab", b"xyz"), ea("c", b"1")]).unwrap();
        for n in 0..list.len() {
            let _ = decode_fea_list(&list[..n]);
            for v in [0, 0x7F, 0xFF] {
                let mut m = list.clone();
                m[n] = v;
                let _ = decode_fea_list(&m);
            }
        }
        assert!(encode_fea_list(&[ea("", b"1")]).is_err());
        assert!(
            encode_fea_list(&[ea("ok", b"1"), ea("caf\u{e9}", b"1")])
                .unwrap_err()
                .0
                == 1
        );
    }
}
