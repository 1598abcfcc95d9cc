//! What a dissection reports: one record per message (with its verdict), failures and
//! notes, and the summary a run ends with.

use super::*;

/// What the dissector needs besides the capture.
#[derive(Debug, Clone)]
pub struct Options {
    /// The password (or NT hash) to recover session keys with. Only the secret matters:
    /// user and domain come from each AUTHENTICATE message, and a non-empty `user` here
    /// just restricts the key recovery to that user's sessions. Without credentials,
    /// signed and encrypted traffic fails.
    pub credentials: Option<Credentials>,
    /// Server TCP ports that carry SMB.
    pub ports: Vec<u16>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            credentials: None,
            ports: DEFAULT_PORTS.to_vec(),
        }
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server (to the SMB port).
    ToServer,
    /// Server to client.
    ToClient,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::ToServer => "C→S",
            Direction::ToClient => "S→C",
        })
    }
}

/// Where in the capture something was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The frame (packet number from 1) that completed it.
    pub frame: u64,
    /// The TCP connection, numbered from 0 in order of appearance.
    pub stream: usize,
    /// Which way it went.
    pub direction: Direction,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>6} #{} {}", self.frame, self.stream, self.direction)
    }
}

/// What was established about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed, and the signature verifies with the session's (or channel's) key.
    SignedOk,
    /// Carried in a transform message that decrypted and authenticated.
    DecryptedOk,
    /// Neither signed nor encrypted.
    Unsigned,
    /// Did not decode, or its signature did not verify; says why.
    Failed(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::SignedOk => f.write_str("signed-ok"),
            Verdict::DecryptedOk => f.write_str("decrypted-ok"),
            Verdict::Unsigned => f.write_str("unsigned"),
            Verdict::Failed(why) => write!(f, "FAILED: {why}"),
        }
    }
}

/// One SMB2 message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Where it was seen.
    pub place: Place,
    /// Its header.
    pub header: Header,
    /// What it is about, from smb-proto's decoders: the file (CREATE and requests on an
    /// open, and their responses), share path (TREE_CONNECT), user (SESSION_SETUP) or
    /// the negotiated dialect and algorithms (NEGOTIATE response).
    pub name: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// The message as carried (decrypted when it came in a transform message), from its
    /// header to the next compound element.
    pub bytes: Bytes,
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        let status = if h.is_response() {
            let s = NtStatus(h.status);
            s.name()
                .map_or_else(|| format!("{:#010x}", s.0), str::to_string)
        } else {
            "-".to_string()
        };
        write!(
            f,
            "{} {:<15} {:<31} mid={} sid={:#x} ",
            self.place,
            smb_proto::wire::Command::name_of(h.command),
            status,
            h.message_id,
            h.session_id
        )?;
        if h.is_async() {
            write!(f, "async={:#x}", h.async_id)?;
        } else {
            write!(f, "tid={:#x}", h.tree_id)?;
        }
        let name = self.name.as_deref().map_or_else(|| "-".into(), name_token);
        write!(f, " {name} {}", self.verdict)
    }
}

/// One line of the dissection.
#[derive(Debug, Clone)]
pub enum Record {
    /// An SMB2 message.
    Message(Message),
    /// An SMB1 message.
    Smb1(Smb1Message),
    /// Bytes that could not be dissected: lost by the capture, not SMB framing, or an
    /// encrypted message that could not be decrypted. Counts as a failed message.
    Failure {
        /// Where.
        place: Place,
        /// Why.
        reason: String,
    },
    /// Traffic that is not an SMB2 message and needs no verdict: NetBIOS session
    /// requests and responses.
    Note {
        /// Where.
        place: Place,
        /// What.
        text: String,
    },
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Message(m) => m.fmt(f),
            Record::Smb1(m) => m.fmt(f),
            Record::Failure { place, reason } => write!(f, "{place} FAILED: {reason}"),
            Record::Note { place, text } => write!(f, "{place} {text}"),
        }
    }
}

/// Totals over a capture. `messages` is the sum of the four verdict counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// SMB2 and SMB1 messages and failures.
    pub messages: usize,
    /// Messages whose signature verified.
    pub signed_ok: usize,
    /// Messages that came out of a transform message.
    pub decrypted_ok: usize,
    /// Messages neither signed nor encrypted.
    pub unsigned: usize,
    /// Failures.
    pub failed: usize,
    /// Transform messages decrypted (one may carry a compound of several messages).
    pub transforms: usize,
}

impl Summary {
    pub(super) fn count(&mut self, record: &Record) {
        let slot = match record {
            Record::Message(Message { verdict, .. })
            | Record::Smb1(Smb1Message { verdict, .. }) => match verdict {
                Verdict::SignedOk => &mut self.signed_ok,
                Verdict::DecryptedOk => &mut self.decrypted_ok,
                Verdict::Unsigned => &mut self.unsigned,
                Verdict::Failed(_) => &mut self.failed,
            },
            Record::Failure { .. } => &mut self.failed,
            Record::Note { .. } => return,
        };
        *slot += 1;
        self.messages += 1;
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} messages, {} signed-ok, {} decrypted-ok, {} unsigned, {} failed",
            self.messages, self.signed_ok, self.decrypted_ok, self.unsigned, self.failed
        )
    }
}
