//! The Kerberos V5 messages a client sends and reads (RFC 4120 section 5), in DER through
//! the `der` crate: its derive writes the SEQUENCEs with their EXPLICIT context tags, and
//! [`App`] adds the APPLICATION tag each message (and the ticket) carries.
//!
//! What the types keep as the KDC sent it: a [`Ticket`] keeps its exact DER (a client
//! forwards tickets and never re-encodes them), a [`KerberosString`] its bytes (an Active
//! Directory salt may hold any UTF-8), and [`EncKdcRepPart`] reads as either application
//! tag 25 or 26 (RFC 4120 5.4.2: some KDCs send EncTGSRepPart in an AS-REP).
//!
//! Decoding untrusted bytes never panics: `der` bounds every length by the input, and
//! each failure is a [`der::Error`].

use der::asn1::{BitString, GeneralizedTime, OctetString};
use der::{
    Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag,
    TagNumber, Writer,
};

/// Message types (RFC 4120 7.5.7).
pub mod msg_type {
    /// KRB_AS_REQ.
    pub const AS_REQ: i32 = 10;
    /// KRB_AS_REP.
    pub const AS_REP: i32 = 11;
    /// KRB_TGS_REQ.
    pub const TGS_REQ: i32 = 12;
    /// KRB_TGS_REP.
    pub const TGS_REP: i32 = 13;
    /// KRB_AP_REQ.
    pub const AP_REQ: i32 = 14;
    /// KRB_AP_REP.
    pub const AP_REP: i32 = 15;
    /// KRB_ERROR.
    pub const ERROR: i32 = 30;
}

/// Pre-authentication data types (RFC 4120 7.5.2, MS-KILE 2.2.3).
pub mod pa_type {
    /// PA-TGS-REQ: the AP-REQ of a TGS-REQ.
    pub const TGS_REQ: i32 = 1;
    /// PA-ENC-TIMESTAMP.
    pub const ENC_TIMESTAMP: i32 = 2;
    /// PA-ETYPE-INFO2: the salts and string-to-key parameters of the client's keys.
    pub const ETYPE_INFO2: i32 = 19;
    /// PA-PAC-REQUEST (MS-KILE 2.2.3).
    pub const PAC_REQUEST: i32 = 128;
}

/// Principal name types (RFC 4120 6.2).
pub mod name_type {
    /// NT-PRINCIPAL: a user.
    pub const PRINCIPAL: i32 = 1;
    /// NT-SRV-INST: a service and instance (`krbtgt/REALM`, `cifs/host`).
    pub const SRV_INST: i32 = 2;
}

/// A value under an APPLICATION tag (RFC 4120 uses them EXPLICIT, on constructed
/// values): `[APPLICATION N] T`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App<T, const N: u16>(pub T);

impl<T, const N: u16> FixedTag for App<T, N> {
    const TAG: Tag = Tag::Application {
        constructed: true,
        number: TagNumber(N as u32),
    };
}

impl<'a, T: Decode<'a>, const N: u16> DecodeValue<'a> for App<T, N>
where
    der::Error: From<T::Error>,
{
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        reader.read_nested(header.length(), |r| Ok(App(T::decode(r)?)))
    }
}

impl<T: Encode, const N: u16> EncodeValue for App<T, N> {
    fn value_len(&self) -> der::Result<Length> {
        self.0.encoded_len()
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.0.encode(writer)
    }
}

/// KerberosString: a GeneralString whose content is kept as bytes (RFC 4120 5.2.1 asks
/// for IA5 characters, but realms and salts from Active Directory may hold UTF-8).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct KerberosString(pub Vec<u8>);

impl KerberosString {
    /// The string as text, with bytes that are not UTF-8 replaced.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl From<&str> for KerberosString {
    fn from(s: &str) -> Self {
        KerberosString(s.as_bytes().to_vec())
    }
}

impl std::fmt::Debug for KerberosString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

impl FixedTag for KerberosString {
    const TAG: Tag = Tag::GeneralString;
}

impl<'a> DecodeValue<'a> for KerberosString {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        Ok(KerberosString(reader.read_vec(header.length())?))
    }
}

impl EncodeValue for KerberosString {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.0)
    }
}

/// KerberosFlags (RFC 4120 5.2.8): a BIT STRING of at least 32 bits, bit 0 the most
/// significant bit of the first octet, here the most significant bit of the `u32`.
/// Bits past the 32nd are ignored when read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KerberosFlags(pub u32);

impl FixedTag for KerberosFlags {
    const TAG: Tag = Tag::BitString;
}

impl<'a> DecodeValue<'a> for KerberosFlags {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bits = BitString::decode_value(reader, header)?;
        let mut four = [0u8; 4];
        for (d, s) in four.iter_mut().zip(bits.raw_bytes()) {
            *d = *s;
        }
        Ok(KerberosFlags(u32::from_be_bytes(four)))
    }
}

impl EncodeValue for KerberosFlags {
    fn value_len(&self) -> der::Result<Length> {
        Ok(Length::new(5))
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write_byte(0)?;
        writer.write(&self.0.to_be_bytes())
    }
}

/// KerberosTime: a GeneralizedTime in UTC to the second (RFC 4120 5.2.3).
pub type KerberosTime = GeneralizedTime;

/// PrincipalName (RFC 4120 5.2.2).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PrincipalName {
    /// name-type, see [`name_type`].
    #[asn1(context_specific = "0")]
    pub name_type: i32,
    /// name-string: the components (`["krbtgt", "REALM"]`, `["alice"]`).
    #[asn1(context_specific = "1")]
    pub name_string: Vec<KerberosString>,
}

impl PrincipalName {
    /// A principal of `name_type` from its components.
    pub fn new(name_type: i32, components: &[&str]) -> Self {
        PrincipalName {
            name_type,
            name_string: components
                .iter()
                .map(|c| KerberosString::from(*c))
                .collect(),
        }
    }
}

/// EncryptedData (RFC 4120 5.2.9).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EncryptedData {
    /// etype: the encryption type.
    #[asn1(context_specific = "0")]
    pub etype: i32,
    /// kvno: the key's version, when the key is a long-term one.
    #[asn1(context_specific = "1", optional = "true")]
    pub kvno: Option<u32>,
    /// cipher: the ciphertext.
    #[asn1(context_specific = "2")]
    pub cipher: OctetString,
}

/// EncryptionKey (RFC 4120 5.2.9).
#[derive(Clone, PartialEq, Eq, Sequence)]
pub struct EncryptionKey {
    /// keytype: the encryption type it is a key for.
    #[asn1(context_specific = "0")]
    pub keytype: i32,
    /// keyvalue.
    #[asn1(context_specific = "1")]
    pub keyvalue: OctetString,
}

impl std::fmt::Debug for EncryptionKey {
    /// The key's type and length, never its bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("keytype", &self.keytype)
            .field("len", &self.keyvalue.as_bytes().len())
            .finish()
    }
}

/// Checksum (RFC 4120 5.2.9).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct Checksum {
    /// cksumtype.
    #[asn1(context_specific = "0")]
    pub cksumtype: i32,
    /// checksum.
    #[asn1(context_specific = "1")]
    pub checksum: OctetString,
}

/// PA-DATA (RFC 4120 5.2.7): its tags start at 1.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PaData {
    /// padata-type, see [`pa_type`].
    #[asn1(context_specific = "1")]
    pub padata_type: i32,
    /// padata-value: usually the DER of a structure the type names.
    #[asn1(context_specific = "2")]
    pub padata_value: OctetString,
}

/// HostAddress (RFC 4120 5.2.5).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct HostAddress {
    /// addr-type.
    #[asn1(context_specific = "0")]
    pub addr_type: i32,
    /// address.
    #[asn1(context_specific = "1")]
    pub address: OctetString,
}

/// One AuthorizationData element (RFC 4120 5.2.6).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct AuthorizationDataEntry {
    /// ad-type.
    #[asn1(context_specific = "0")]
    pub ad_type: i32,
    /// ad-data.
    #[asn1(context_specific = "1")]
    pub ad_data: OctetString,
}

/// The body of a ticket (RFC 4120 5.3).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct TicketBody {
    /// tkt-vno: 5.
    #[asn1(context_specific = "0")]
    pub tkt_vno: i32,
    /// realm: the service's realm.
    #[asn1(context_specific = "1")]
    pub realm: KerberosString,
    /// sname: the service.
    #[asn1(context_specific = "2")]
    pub sname: PrincipalName,
    /// enc-part: encrypted in the service's key.
    #[asn1(context_specific = "3")]
    pub enc_part: EncryptedData,
}

/// Ticket (RFC 4120 5.3): `[APPLICATION 1]`, kept with the exact bytes it came in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// What it says.
    pub body: TicketBody,
    /// Its DER, tag and all, as received: what goes into an AP-REQ.
    pub der: Vec<u8>,
}

impl FixedTag for Ticket {
    const TAG: Tag = <App<TicketBody, 1>>::TAG;
}

impl<'a> DecodeValue<'a> for Ticket {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let inner = reader.read_vec(header.length())?;
        let body = TicketBody::from_der(&inner)?;
        // The bytes as received: header again, then the content.
        let mut der = Vec::with_capacity(inner.len() + 8);
        header.encode_to_vec(&mut der)?;
        der.extend_from_slice(&inner);
        Ok(Ticket { body, der })
    }
}

impl EncodeValue for Ticket {
    fn value_len(&self) -> der::Result<Length> {
        self.body.encoded_len()
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        // The content as received, not re-encoded.
        let mut r = der::SliceReader::new(&self.der)?;
        let header = Header::decode(&mut r)?;
        writer.write(r.read_slice(header.length())?)
    }
}

/// TransitedEncoding (RFC 4120 5.3).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct TransitedEncoding {
    /// tr-type.
    #[asn1(context_specific = "0")]
    pub tr_type: i32,
    /// contents.
    #[asn1(context_specific = "1")]
    pub contents: OctetString,
}

/// EncTicketPart (RFC 4120 5.3), the body of `[APPLICATION 3]`: what a ticket's enc-part
/// holds, readable only with the service's key (a server, or a dissector given its
/// keytab).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EncTicketPartBody {
    /// flags.
    #[asn1(context_specific = "0")]
    pub flags: KerberosFlags,
    /// key: the session key the client also got.
    #[asn1(context_specific = "1")]
    pub key: EncryptionKey,
    /// crealm.
    #[asn1(context_specific = "2")]
    pub crealm: KerberosString,
    /// cname.
    #[asn1(context_specific = "3")]
    pub cname: PrincipalName,
    /// transited.
    #[asn1(context_specific = "4")]
    pub transited: TransitedEncoding,
    /// authtime.
    #[asn1(context_specific = "5")]
    pub authtime: KerberosTime,
    /// starttime.
    #[asn1(context_specific = "6", optional = "true")]
    pub starttime: Option<KerberosTime>,
    /// endtime.
    #[asn1(context_specific = "7")]
    pub endtime: KerberosTime,
    /// renew-till.
    #[asn1(context_specific = "8", optional = "true")]
    pub renew_till: Option<KerberosTime>,
    /// caddr.
    #[asn1(context_specific = "9", optional = "true")]
    pub caddr: Option<Vec<HostAddress>>,
    /// authorization-data (the PAC, in Active Directory).
    #[asn1(context_specific = "10", optional = "true")]
    pub authorization_data: Option<Vec<AuthorizationDataEntry>>,
}

/// EncTicketPart: `[APPLICATION 3]`.
pub type EncTicketPart = App<EncTicketPartBody, 3>;

/// KDC-REQ-BODY (RFC 4120 5.4.1).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct KdcReqBody {
    /// kdc-options.
    #[asn1(context_specific = "0")]
    pub kdc_options: KerberosFlags,
    /// cname: the client (AS-REQ only).
    #[asn1(context_specific = "1", optional = "true")]
    pub cname: Option<PrincipalName>,
    /// realm: the server's realm (the client's, in an AS-REQ).
    #[asn1(context_specific = "2")]
    pub realm: KerberosString,
    /// sname: the service asked for.
    #[asn1(context_specific = "3", optional = "true")]
    pub sname: Option<PrincipalName>,
    /// from.
    #[asn1(context_specific = "4", optional = "true")]
    pub from: Option<KerberosTime>,
    /// till: the end time asked for.
    #[asn1(context_specific = "5", optional = "true")]
    pub till: Option<KerberosTime>,
    /// rtime: the renewal end asked for.
    #[asn1(context_specific = "6", optional = "true")]
    pub rtime: Option<KerberosTime>,
    /// nonce: echoed in the reply's encrypted part.
    #[asn1(context_specific = "7")]
    pub nonce: u32,
    /// etype: the encryption types the client takes, in order of preference.
    #[asn1(context_specific = "8")]
    pub etype: Vec<i32>,
    /// addresses.
    #[asn1(context_specific = "9", optional = "true")]
    pub addresses: Option<Vec<HostAddress>>,
    /// enc-authorization-data.
    #[asn1(context_specific = "10", optional = "true")]
    pub enc_authorization_data: Option<EncryptedData>,
    /// additional-tickets.
    #[asn1(context_specific = "11", optional = "true")]
    pub additional_tickets: Option<Vec<Ticket>>,
}

/// KDC-REQ (RFC 4120 5.4.1), the body of an AS-REQ or a TGS-REQ.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct KdcReq {
    /// pvno: 5.
    #[asn1(context_specific = "1")]
    pub pvno: i32,
    /// msg-type: [`msg_type::AS_REQ`] or [`msg_type::TGS_REQ`].
    #[asn1(context_specific = "2")]
    pub msg_type: i32,
    /// padata.
    #[asn1(context_specific = "3", optional = "true")]
    pub padata: Option<Vec<PaData>>,
    /// req-body.
    #[asn1(context_specific = "4")]
    pub req_body: KdcReqBody,
}

/// AS-REQ: `[APPLICATION 10] KDC-REQ`.
pub type AsReq = App<KdcReq, 10>;
/// TGS-REQ: `[APPLICATION 12] KDC-REQ`.
pub type TgsReq = App<KdcReq, 12>;

/// KDC-REP (RFC 4120 5.4.2), the body of an AS-REP or a TGS-REP.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct KdcRep {
    /// pvno: 5.
    #[asn1(context_specific = "0")]
    pub pvno: i32,
    /// msg-type: [`msg_type::AS_REP`] or [`msg_type::TGS_REP`].
    #[asn1(context_specific = "1")]
    pub msg_type: i32,
    /// padata (PA-ETYPE-INFO2 in an AS-REP).
    #[asn1(context_specific = "2", optional = "true")]
    pub padata: Option<Vec<PaData>>,
    /// crealm: the client's realm.
    #[asn1(context_specific = "3")]
    pub crealm: KerberosString,
    /// cname: the client, as the KDC spells it.
    #[asn1(context_specific = "4")]
    pub cname: PrincipalName,
    /// ticket: the ticket issued.
    #[asn1(context_specific = "5")]
    pub ticket: Ticket,
    /// enc-part: an [`EncKdcRepPart`], in the client's key (AS) or the TGT's session key
    /// (TGS).
    #[asn1(context_specific = "6")]
    pub enc_part: EncryptedData,
}

/// AS-REP: `[APPLICATION 11] KDC-REP`.
pub type AsRep = App<KdcRep, 11>;
/// TGS-REP: `[APPLICATION 13] KDC-REP`.
pub type TgsRep = App<KdcRep, 13>;

/// LastReq's element (RFC 4120 5.4.2).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct LastReqEntry {
    /// lr-type.
    #[asn1(context_specific = "0")]
    pub lr_type: i32,
    /// lr-value.
    #[asn1(context_specific = "1")]
    pub lr_value: KerberosTime,
}

/// EncKDCRepPart (RFC 4120 5.4.2): what the client decrypts from a KDC-REP.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EncKdcRepPart {
    /// key: the ticket's session key.
    #[asn1(context_specific = "0")]
    pub key: EncryptionKey,
    /// last-req.
    #[asn1(context_specific = "1")]
    pub last_req: Vec<LastReqEntry>,
    /// nonce: the request's.
    #[asn1(context_specific = "2")]
    pub nonce: u32,
    /// key-expiration.
    #[asn1(context_specific = "3", optional = "true")]
    pub key_expiration: Option<KerberosTime>,
    /// flags: the ticket's flags.
    #[asn1(context_specific = "4")]
    pub flags: KerberosFlags,
    /// authtime.
    #[asn1(context_specific = "5")]
    pub authtime: KerberosTime,
    /// starttime.
    #[asn1(context_specific = "6", optional = "true")]
    pub starttime: Option<KerberosTime>,
    /// endtime.
    #[asn1(context_specific = "7")]
    pub endtime: KerberosTime,
    /// renew-till.
    #[asn1(context_specific = "8", optional = "true")]
    pub renew_till: Option<KerberosTime>,
    /// srealm: the service's realm.
    #[asn1(context_specific = "9")]
    pub srealm: KerberosString,
    /// sname: the service.
    #[asn1(context_specific = "10")]
    pub sname: PrincipalName,
    /// caddr.
    #[asn1(context_specific = "11", optional = "true")]
    pub caddr: Option<Vec<HostAddress>>,
    /// encrypted-pa-data (RFC 6806).
    #[asn1(context_specific = "12", optional = "true")]
    pub encrypted_pa_data: Option<Vec<PaData>>,
}

impl EncKdcRepPart {
    /// Decodes the plaintext of a KDC-REP's enc-part: EncASRepPart (`[APPLICATION 25]`)
    /// or EncTGSRepPart (`[APPLICATION 26]`), whichever tag it carries (RFC 4120 5.4.2).
    ///
    /// # Errors
    ///
    /// A [`der::Error`] for anything else.
    pub fn decode_either(plain: &[u8]) -> der::Result<Self> {
        let tag = Tag::peek(&der::SliceReader::new(plain)?)?;
        if tag == <App<EncKdcRepPart, 26>>::TAG {
            return Ok(App::<EncKdcRepPart, 26>::from_der(plain)?.0);
        }
        Ok(App::<EncKdcRepPart, 25>::from_der(plain)?.0)
    }
}

/// PA-ENC-TS-ENC (RFC 4120 5.2.7.2): the timestamp encrypted for PA-ENC-TIMESTAMP.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PaEncTsEnc {
    /// patimestamp: the client's time.
    #[asn1(context_specific = "0")]
    pub patimestamp: KerberosTime,
    /// pausec: its microseconds.
    #[asn1(context_specific = "1", optional = "true")]
    pub pausec: Option<i32>,
}

/// ETYPE-INFO2-ENTRY (RFC 4120 5.2.7.5): how to make the client's key of one type.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EtypeInfo2Entry {
    /// etype.
    #[asn1(context_specific = "0")]
    pub etype: i32,
    /// salt: when absent, the default salt (realm and name components).
    #[asn1(context_specific = "1", optional = "true")]
    pub salt: Option<KerberosString>,
    /// s2kparams: for AES, the PBKDF2 iteration count (4 bytes, big-endian).
    #[asn1(context_specific = "2", optional = "true")]
    pub s2kparams: Option<OctetString>,
}

/// PA-PAC-REQUEST (MS-KILE 2.2.3).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PaPacRequest {
    /// include-pac.
    #[asn1(context_specific = "0")]
    pub include_pac: bool,
}

/// KRB-ERROR (RFC 4120 5.9.1), the body of `[APPLICATION 30]`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct KrbErrorBody {
    /// pvno: 5.
    #[asn1(context_specific = "0")]
    pub pvno: i32,
    /// msg-type: [`msg_type::ERROR`].
    #[asn1(context_specific = "1")]
    pub msg_type: i32,
    /// ctime: the client's time, echoed.
    #[asn1(context_specific = "2", optional = "true")]
    pub ctime: Option<KerberosTime>,
    /// cusec.
    #[asn1(context_specific = "3", optional = "true")]
    pub cusec: Option<i32>,
    /// stime: the server's time (what a clock skew is measured against).
    #[asn1(context_specific = "4")]
    pub stime: KerberosTime,
    /// susec.
    #[asn1(context_specific = "5")]
    pub susec: i32,
    /// error-code (RFC 4120 7.5.9).
    #[asn1(context_specific = "6")]
    pub error_code: i32,
    /// crealm.
    #[asn1(context_specific = "7", optional = "true")]
    pub crealm: Option<KerberosString>,
    /// cname.
    #[asn1(context_specific = "8", optional = "true")]
    pub cname: Option<PrincipalName>,
    /// realm: the server's.
    #[asn1(context_specific = "9")]
    pub realm: KerberosString,
    /// sname: the server's.
    #[asn1(context_specific = "10")]
    pub sname: PrincipalName,
    /// e-text: the KDC's explanation.
    #[asn1(context_specific = "11", optional = "true")]
    pub e_text: Option<KerberosString>,
    /// e-data: for PREAUTH_REQUIRED, the DER of a METHOD-DATA (a sequence of
    /// [`PaData`]).
    #[asn1(context_specific = "12", optional = "true")]
    pub e_data: Option<OctetString>,
}

/// KRB-ERROR: `[APPLICATION 30]`.
pub type KrbError = App<KrbErrorBody, 30>;

impl KrbErrorBody {
    /// The PA-DATA of e-data, when it is a METHOD-DATA (as with PREAUTH_REQUIRED).
    pub fn method_data(&self) -> Option<Vec<PaData>> {
        self.e_data
            .as_ref()
            .and_then(|e| Vec::<PaData>::from_der(e.as_bytes()).ok())
    }
}

/// AP-REQ (RFC 4120 5.5.1), the body of `[APPLICATION 14]`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ApReqBody {
    /// pvno: 5.
    #[asn1(context_specific = "0")]
    pub pvno: i32,
    /// msg-type: [`msg_type::AP_REQ`].
    #[asn1(context_specific = "1")]
    pub msg_type: i32,
    /// ap-options (mutual-required is bit 2).
    #[asn1(context_specific = "2")]
    pub ap_options: KerberosFlags,
    /// ticket.
    #[asn1(context_specific = "3")]
    pub ticket: Ticket,
    /// authenticator: an [`AuthenticatorBody`] in the ticket's session key.
    #[asn1(context_specific = "4")]
    pub authenticator: EncryptedData,
}

/// AP-REQ: `[APPLICATION 14]`.
pub type ApReq = App<ApReqBody, 14>;

/// Authenticator (RFC 4120 5.5.1), the body of `[APPLICATION 2]`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct AuthenticatorBody {
    /// authenticator-vno: 5.
    #[asn1(context_specific = "0")]
    pub authenticator_vno: i32,
    /// crealm.
    #[asn1(context_specific = "1")]
    pub crealm: KerberosString,
    /// cname.
    #[asn1(context_specific = "2")]
    pub cname: PrincipalName,
    /// cksum.
    #[asn1(context_specific = "3", optional = "true")]
    pub cksum: Option<Checksum>,
    /// cusec.
    #[asn1(context_specific = "4")]
    pub cusec: i32,
    /// ctime.
    #[asn1(context_specific = "5")]
    pub ctime: KerberosTime,
    /// subkey.
    #[asn1(context_specific = "6", optional = "true")]
    pub subkey: Option<EncryptionKey>,
    /// seq-number.
    #[asn1(context_specific = "7", optional = "true")]
    pub seq_number: Option<u32>,
    /// authorization-data.
    #[asn1(context_specific = "8", optional = "true")]
    pub authorization_data: Option<Vec<AuthorizationDataEntry>>,
}

/// Authenticator: `[APPLICATION 2]`.
pub type Authenticator = App<AuthenticatorBody, 2>;

/// AP-REP (RFC 4120 5.5.2), the body of `[APPLICATION 15]`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ApRepBody {
    /// pvno: 5.
    #[asn1(context_specific = "0")]
    pub pvno: i32,
    /// msg-type: [`msg_type::AP_REP`].
    #[asn1(context_specific = "1")]
    pub msg_type: i32,
    /// enc-part: an [`EncApRepPartBody`] in the ticket's session key.
    #[asn1(context_specific = "2")]
    pub enc_part: EncryptedData,
}

/// AP-REP: `[APPLICATION 15]`.
pub type ApRep = App<ApRepBody, 15>;

/// EncAPRepPart (RFC 4120 5.5.2), the body of `[APPLICATION 27]`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EncApRepPartBody {
    /// ctime: the authenticator's, echoed (mutual authentication).
    #[asn1(context_specific = "0")]
    pub ctime: KerberosTime,
    /// cusec: the authenticator's.
    #[asn1(context_specific = "1")]
    pub cusec: i32,
    /// subkey: the acceptor's subkey.
    #[asn1(context_specific = "2", optional = "true")]
    pub subkey: Option<EncryptionKey>,
    /// seq-number.
    #[asn1(context_specific = "3", optional = "true")]
    pub seq_number: Option<u32>,
}

/// EncAPRepPart: `[APPLICATION 27]`.
pub type EncApRepPart = App<EncApRepPartBody, 27>;

#[cfg(test)]
mod tests {
    //! Real exchanges: MIT kinit and kvno 1.20 against a Samba 4.17 AD DC (see
    //! `tests/data/kerberos/README.md`).
    use super::*;

    /// One captured message, without its 4-byte TCP record marker (RFC 4120 7.2.2).
    fn captured(framed: &[u8]) -> Vec<u8> {
        let (marker, msg) = framed.split_at(4);
        assert_eq!(
            u32::from_be_bytes(marker.try_into().unwrap()) as usize,
            msg.len()
        );
        msg.to_vec()
    }

    macro_rules! vector {
        ($name:literal) => {
            captured(include_bytes!(concat!(
                "../../../tests/data/kerberos/",
                $name
            )))
        };
    }

    #[test]
    fn mit_as_requests_decode_and_encode_to_the_same_bytes() {
        let first = vector!("04-as-req.bin");
        let req = AsReq::from_der(&first).unwrap().0;
        assert_eq!((req.pvno, req.msg_type), (5, msg_type::AS_REQ));
        let body = &req.req_body;
        assert_eq!(body.realm, KerberosString::from("SMBTEST.TEST"));
        assert_eq!(
            body.cname,
            Some(PrincipalName::new(name_type::PRINCIPAL, &["alice"]))
        );
        assert_eq!(
            body.sname,
            Some(PrincipalName::new(
                name_type::SRV_INST,
                &["krbtgt", "SMBTEST.TEST"]
            ))
        );
        assert!(body.etype.starts_with(&[18, 17]), "{:?}", body.etype);
        assert_eq!(App::<_, 10>(req).to_der().unwrap(), first);

        // The second carries the encrypted timestamp.
        let second = vector!("34-as-req.bin");
        let req = AsReq::from_der(&second).unwrap();
        let padata = req.0.padata.as_deref().unwrap_or_default();
        let ts = padata
            .iter()
            .find(|p| p.padata_type == pa_type::ENC_TIMESTAMP)
            .unwrap();
        let enc = EncryptedData::from_der(ts.padata_value.as_bytes()).unwrap();
        assert_eq!(enc.etype, 18);
        assert_eq!(req.to_der().unwrap(), second);
    }

    #[test]
    fn preauth_required_gives_the_salt_and_iterations() {
        let bytes = vector!("06-error-preauth_required.bin");
        let err = KrbError::from_der(&bytes).unwrap().0;
        assert_eq!(err.error_code, 25);
        assert_eq!(err.realm, KerberosString::from("SMBTEST.TEST"));
        let methods = err.method_data().unwrap();
        let info = methods
            .iter()
            .find(|p| p.padata_type == pa_type::ETYPE_INFO2)
            .unwrap();
        let entries = Vec::<EtypeInfo2Entry>::from_der(info.padata_value.as_bytes()).unwrap();
        assert_eq!(
            entries,
            vec![EtypeInfo2Entry {
                etype: 18,
                salt: Some(KerberosString::from("SMBTEST.TESTalice")),
                s2kparams: Some(OctetString::new(vec![0, 0, 0x10, 0]).unwrap()),
            }]
        );
        assert_eq!(App::<_, 30>(err).to_der().unwrap(), bytes);
    }

    #[test]
    fn errors_carry_their_codes() {
        for (framed, code) in [
            (
                &include_bytes!("../../../tests/data/kerberos/16-error-preauth_failed.bin")[..],
                24,
            ),
            (
                &include_bytes!("../../../tests/data/kerberos/56-error-s_principal_unknown.bin")[..],
                7,
            ),
            (
                &include_bytes!("../../../tests/data/kerberos/76-error-c_principal_unknown.bin")[..],
                6,
            ),
        ] {
            let err = KrbError::from_der(&captured(framed)).unwrap().0;
            assert_eq!(err.error_code, code);
        }
    }

    #[test]
    fn the_tgt_goes_into_the_tgs_request_byte_for_byte() {
        let as_rep = vector!("36-as-rep.bin");
        let rep = AsRep::from_der(&as_rep).unwrap().0;
        assert_eq!(
            rep.cname,
            PrincipalName::new(name_type::PRINCIPAL, &["alice"])
        );
        assert_eq!(
            rep.ticket.body.sname,
            PrincipalName::new(name_type::SRV_INST, &["krbtgt", "SMBTEST.TEST"])
        );
        assert_eq!(rep.enc_part.etype, 18);
        assert_eq!(App::<_, 11>(rep.clone()).to_der().unwrap(), as_rep);

        let tgs_req = vector!("44-tgs-req.bin");
        let req = TgsReq::from_der(&tgs_req).unwrap();
        let padata = req.0.padata.as_deref().unwrap_or_default();
        let ap = padata
            .iter()
            .find(|p| p.padata_type == pa_type::TGS_REQ)
            .unwrap();
        let ap = ApReq::from_der(ap.padata_value.as_bytes()).unwrap().0;
        assert_eq!(ap.ticket.der, rep.ticket.der);
        assert_eq!(req.to_der().unwrap(), tgs_req);

        let tgs_rep = vector!("46-tgs-rep.bin");
        let rep = TgsRep::from_der(&tgs_rep).unwrap();
        // kvno asked with NT-PRINCIPAL, and the KDC echoes the name type asked.
        assert_eq!(
            rep.0.ticket.body.sname,
            PrincipalName::new(name_type::PRINCIPAL, &["cifs", "dc.smbtest.test"])
        );
        assert_eq!(rep.to_der().unwrap(), tgs_rep);
    }

    /// With alice's password, her key opens the captured AS-REP and pre-authentication:
    /// the decoders read the plaintexts the real KDC and client produced.
    #[test]
    fn the_captured_as_exchange_decrypts_with_alices_key() {
        use crate::auth::kerberos::crypto::{string_to_key, Enctype};
        let key =
            string_to_key(Enctype::Aes256, "Al1ce-Pass!x", b"SMBTEST.TESTalice", 4096).unwrap();

        let req = AsReq::from_der(&vector!("34-as-req.bin")).unwrap().0;
        let padata = req.padata.as_deref().unwrap_or_default();
        let ts = padata
            .iter()
            .find(|p| p.padata_type == pa_type::ENC_TIMESTAMP)
            .unwrap();
        let enc = EncryptedData::from_der(ts.padata_value.as_bytes()).unwrap();
        let plain = key.decrypt(1, enc.cipher.as_bytes()).unwrap();
        let ts = PaEncTsEnc::from_der(&plain).unwrap();
        assert!(ts.pausec.is_some_and(|us| (0..1_000_000).contains(&us)));

        let rep = AsRep::from_der(&vector!("36-as-rep.bin")).unwrap().0;
        let plain = key.decrypt(3, rep.enc_part.cipher.as_bytes()).unwrap();
        let part = EncKdcRepPart::decode_either(&plain).unwrap();
        assert_eq!(
            part.nonce, req.req_body.nonce,
            "the reply answers this request"
        );
        assert_eq!(part.srealm, KerberosString::from("SMBTEST.TEST"));
        assert_eq!(part.sname, rep.ticket.body.sname);
        assert_eq!(part.key.keytype, 18);
        assert_eq!(part.key.keyvalue.as_bytes().len(), 32);
        assert!(part.endtime > part.authtime);
        // The timestamp alice sent is the KDC's authtime, to the second.
        assert_eq!(part.authtime, ts.patimestamp);
    }

    #[test]
    fn an_ap_rep_and_its_encrypted_part_round_trip() {
        let rep = ApRep::from_der(
            &App::<_, 15>(ApRepBody {
                pvno: 5,
                msg_type: msg_type::AP_REP,
                enc_part: EncryptedData {
                    etype: 18,
                    kvno: None,
                    cipher: OctetString::new(vec![1, 2, 3]).unwrap(),
                },
            })
            .to_der()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(rep.0.enc_part.cipher.as_bytes(), [1, 2, 3]);
        let part = EncApRepPartBody {
            ctime: KerberosTime::from_unix_duration(std::time::Duration::from_secs(1_800_000_000))
                .unwrap(),
            cusec: 4786,
            subkey: Some(EncryptionKey {
                keytype: 18,
                keyvalue: OctetString::new(vec![7; 32]).unwrap(),
            }),
            seq_number: Some(0x7FFF_FFFF),
        };
        let der = App::<_, 27>(part.clone()).to_der().unwrap();
        assert_eq!(der[0], 0x7B, "[APPLICATION 27], constructed");
        assert_eq!(EncApRepPart::from_der(&der).unwrap().0, part);
        // A key's bytes stay out of Debug.
        assert!(!format!("{part:?}").contains("7, 7"));
    }

    #[test]
    fn enc_kdc_rep_part_is_read_under_either_tag() {
        let part = EncKdcRepPart {
            key: EncryptionKey {
                keytype: 17,
                keyvalue: OctetString::new(vec![9; 16]).unwrap(),
            },
            last_req: vec![],
            nonce: 12345,
            key_expiration: None,
            flags: KerberosFlags(0x40E1_0000),
            authtime: KerberosTime::from_unix_duration(std::time::Duration::from_secs(
                1_800_000_000,
            ))
            .unwrap(),
            starttime: None,
            endtime: KerberosTime::from_unix_duration(std::time::Duration::from_secs(
                1_800_036_000,
            ))
            .unwrap(),
            renew_till: None,
            srealm: KerberosString::from("SMBTEST.TEST"),
            sname: PrincipalName::new(name_type::SRV_INST, &["krbtgt", "SMBTEST.TEST"]),
            caddr: None,
            encrypted_pa_data: None,
        };
        let as_rep = App::<_, 25>(part.clone()).to_der().unwrap();
        let tgs_rep = App::<_, 26>(part.clone()).to_der().unwrap();
        assert_eq!(EncKdcRepPart::decode_either(&as_rep).unwrap(), part);
        assert_eq!(EncKdcRepPart::decode_either(&tgs_rep).unwrap(), part);
        let other = App::<_, 27>(part).to_der().unwrap();
        assert!(EncKdcRepPart::decode_either(&other).is_err());
    }

    #[test]
    fn every_truncation_of_every_capture_is_an_error() {
        let all = [
            vector!("04-as-req.bin"),
            vector!("06-error-preauth_required.bin"),
            vector!("36-as-rep.bin"),
            vector!("44-tgs-req.bin"),
            vector!("46-tgs-rep.bin"),
        ];
        for msg in &all {
            for n in 0..msg.len() {
                let cut = &msg[..n];
                assert!(AsReq::from_der(cut).is_err());
                assert!(AsRep::from_der(cut).is_err());
                assert!(TgsReq::from_der(cut).is_err());
                assert!(TgsRep::from_der(cut).is_err());
                assert!(KrbError::from_der(cut).is_err());
            }
            // Each one under its own type only.
            let decodes = [
                AsReq::from_der(msg).is_ok(),
                AsRep::from_der(msg).is_ok(),
                TgsReq::from_der(msg).is_ok(),
                TgsRep::from_der(msg).is_ok(),
                KrbError::from_der(msg).is_ok(),
            ];
            assert_eq!(decodes.iter().filter(|d| **d).count(), 1);
        }
        // A length claiming more than there is.
        let mut huge = vector!("36-as-rep.bin");
        huge[1] = 0x84;
        assert!(AsRep::from_der(&huge).is_err());
    }
}
