//! Change notification: a directory watched until the caller stops (MS-SMB2 3.2.4.18;
//! on SMB1 NT_TRANSACT_NOTIFY_CHANGE, MS-CIFS 2.2.7.4).

use bytes::Bytes;

use crate::connection::{Fail, OpContext, Operation, Progress, RequestOptions, Response};
use crate::error::Error;
use crate::ntstatus::NtStatus;
use crate::wire::create::{access_mask, create_options, disposition, FileId};
use crate::wire::notify::{
    action, completion_filter, flags, ChangeNotifyRequest, ChangeNotifyResponse,
    FileNotifyInformation,
};
use crate::wire::request::RequestBody;
use crate::wire::smb1::nt_transact::{NtTransRequest, NtTransResponse};
use crate::wire::smb1::simple::EchoRequest;
use crate::wire::smb1::Smb1Request;

use super::file::{check, close, invalid};
use super::{path, OpenOptions, TreeId};

/// One change in a watched directory, names relative to it (`\`-separated below it
/// when the watch is recursive).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A file or directory appeared (created, or moved in).
    Added(String),
    /// A file or directory went away (deleted, or moved out).
    Removed(String),
    /// Data, size, times or attributes changed (as the filter asked).
    Modified(String),
    /// Renamed inside the watched directory.
    Renamed {
        /// The name before.
        from: String,
        /// The name after.
        to: String,
    },
    /// An action without a variant of its own (a stream's, say; MS-FSCC 2.4.42's
    /// FILE_ACTION_* value), or half of a rename whose other half never came.
    Other {
        /// The FILE_ACTION_* value.
        action: u32,
        /// The name it names.
        name: String,
    },
    /// More changed than the server could tell (STATUS_NOTIFY_ENUM_DIR, or an empty
    /// answer): list the directory again to learn its state.
    ListAgain,
}

/// What [`Watch`] reports by default: names of files and directories, attributes,
/// size, last write and creation time.
pub const DEFAULT_FILTER: u32 = completion_filter::FILE_NAME
    | completion_filter::DIR_NAME
    | completion_filter::ATTRIBUTES
    | completion_filter::SIZE
    | completion_filter::LAST_WRITE
    | completion_filter::CREATION;

/// The most one CHANGE_NOTIFY answer may hold (within the negotiated transact size).
const MAX_OUTPUT: u32 = 64 * 1024;

const OPEN: usize = 0;
const NOTIFY: usize = 1;
/// SMB1: the ECHO sent after the first NOTIFY_CHANGE.
const ARMED: usize = 2;

/// Watches a directory: CREATE, then one CHANGE_NOTIFY after another, each re-armed
/// once the driver has taken the last answer's changes. Runs until cancelled (the
/// directory is then closed) or until the server ends the watch: it returns `Ok(())`
/// when the server closes the watch itself (STATUS_NOTIFY_CLEANUP).
///
/// Each answer is an [`Event::Changes`](crate::Event::Changes), never empty; the next
/// CHANGE_NOTIFY goes out after [`Connection::supply`](crate::Connection::supply) (empty
/// data), so a slow consumer holds the server back rather than growing a queue; the
/// server keeps what changes meanwhile, or answers [`Change::ListAgain`] when that
/// overflows. One event has no changes and wants no `supply`: the first, as soon as
/// the server holds the first request (its interim answer). Samba registers the watch
/// with its notify daemon a moment after that answer (milliseconds, more under load),
/// and a change in between is not reported: the interim says the watch is on its way,
/// not that it is in place. The requests have no deadline: a quiet directory is
/// watched for as long as the caller wants.
///
/// On SMB1 the open is NT_CREATE_ANDX and each request an NT_TRANSACT_NOTIFY_CHANGE.
/// SMB1 has no interim answers: an ECHO sent after the first request stands in for
/// one (the server takes a connection's requests in order, so when the ECHO is answered
/// the NOTIFY_CHANGE is held).
#[derive(Debug)]
pub struct Watch {
    share: String,
    path: String,
    filter: u32,
    recursive: bool,
    file_id: FileId,
    tree: TreeId,
    /// The first request is held by the server: the watch has been reported armed.
    armed: bool,
    /// Changes went out as an event; the next request waits for `supply`.
    awaiting_pull: bool,
    /// A rename's old name whose new name has not come yet.
    renamed_from: Option<String>,
}

impl Watch {
    /// Watches directory `path` on `share` (the share root for `""`) with
    /// [`DEFAULT_FILTER`], not its subdirectories.
    pub fn new(share: &str, path: &str) -> Self {
        Watch {
            share: share.to_string(),
            path: path.to_string(),
            filter: DEFAULT_FILTER,
            recursive: false,
            file_id: FileId::ANY,
            tree: TreeId(0),
            armed: false,
            awaiting_pull: false,
            renamed_from: None,
        }
    }

    /// What to report: [`completion_filter`] bits.
    pub fn filter(mut self, filter: u32) -> Self {
        self.filter = filter;
        self
    }

    /// Whether changes anywhere below the directory count (SMB2_WATCH_TREE).
    pub fn recursive(mut self, recursive: bool) -> Self {
        self.recursive = recursive;
        self
    }

    fn arm(&self, cx: &mut OpContext<'_>) {
        let options = RequestOptions {
            deadline: false,
            ..Default::default()
        };
        if cx.is_smb1() {
            let max = cx.negotiated().max_transact_size.min(MAX_OUTPUT);
            let fid = self.file_id.smb1_fid();
            let req = NtTransRequest::notify_change(fid, self.filter, self.recursive, max);
            let body = RequestBody::Smb1(Box::new(Smb1Request::NtTrans(req)));
            cx.send_with(NOTIFY, body, options);
            return;
        }
        let req = ChangeNotifyRequest {
            flags: if self.recursive { flags::WATCH_TREE } else { 0 },
            output_buffer_length: cx.negotiated().max_transact_size.min(MAX_OUTPUT),
            file_id: self.file_id,
            completion_filter: self.filter,
        };
        cx.send_with(NOTIFY, RequestBody::ChangeNotify(req), options);
    }

    /// The changes an answer lists, renames paired (also across answers).
    fn changes(&mut self, entries: Vec<FileNotifyInformation>) -> Vec<Change> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            if let Some(from) = self.renamed_from.take() {
                if e.action == action::RENAMED_NEW_NAME {
                    out.push(Change::Renamed {
                        from,
                        to: e.file_name,
                    });
                    continue;
                }
                out.push(Change::Other {
                    action: action::RENAMED_OLD_NAME,
                    name: from,
                });
            }
            out.push(match e.action {
                action::ADDED => Change::Added(e.file_name),
                action::REMOVED => Change::Removed(e.file_name),
                action::MODIFIED => Change::Modified(e.file_name),
                action::RENAMED_OLD_NAME => {
                    self.renamed_from = Some(e.file_name);
                    continue;
                }
                action => Change::Other {
                    action,
                    name: e.file_name,
                },
            });
        }
        out
    }
}

impl Operation for Watch {
    type Output = ();

    fn label(&self) -> (&'static str, &str) {
        ("watch", &self.path)
    }

    fn share(&self) -> Option<&str> {
        Some(&self.share)
    }

    fn check(&self) -> Result<(), Error> {
        path::check_path("watch", &self.path)
    }

    fn cleanup(&mut self) -> Vec<(TreeId, RequestBody)> {
        if self.file_id == FileId::ANY {
            return Vec::new();
        }
        vec![(self.tree, close(self.file_id))]
    }

    fn start(&mut self, cx: &mut OpContext<'_>) -> Result<Progress<()>, Fail> {
        self.tree = cx.tree();
        let o = OpenOptions {
            access: access_mask::FILE_LIST_DIRECTORY
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            disposition: disposition::OPEN,
            create_options: create_options::DIRECTORY_FILE,
            attributes: 0,
        };
        let body = super::io::open(cx, &self.path, &o);
        cx.send(OPEN, body);
        Ok(Progress::Pending)
    }

    fn on_interim(&mut self, cx: &mut OpContext<'_>, tag: usize) -> Result<Progress<()>, Fail> {
        if tag == NOTIFY && !std::mem::replace(&mut self.armed, true) {
            cx.changes(Vec::new());
        }
        Ok(Progress::Pending)
    }

    fn on_response(
        &mut self,
        cx: &mut OpContext<'_>,
        tag: usize,
        resp: Response,
    ) -> Result<Progress<()>, Fail> {
        if tag == OPEN {
            check(&resp, "watch", &self.path)?;
            self.file_id = super::io::opened(cx, &resp)?.file_id;
            self.arm(cx);
            if cx.is_smb1() {
                let echo = Smb1Request::Echo(EchoRequest::default());
                cx.send(ARMED, RequestBody::Smb1(Box::new(echo)));
            }
            return Ok(Progress::Pending);
        }
        if tag == ARMED {
            check(&resp, "watch", &self.path)?;
            return self.on_interim(cx, NOTIFY);
        }
        let changes = match resp.status() {
            NtStatus::NOTIFY_CLEANUP => {
                // The server ended the watch and closed the handle with it.
                self.file_id = FileId::ANY;
                return Ok(Progress::Done(()));
            }
            NtStatus::NOTIFY_ENUM_DIR => vec![Change::ListAgain],
            _ => {
                check(&resp, "watch", &self.path)?;
                let entries = if cx.is_smb1() {
                    let answer = NtTransResponse::decode(&resp.msg)?;
                    FileNotifyInformation::parse_all(&answer.params)?
                } else {
                    ChangeNotifyResponse::decode(&resp.msg)?.changes
                };
                // Some servers say "too much" with an empty success.
                if entries.is_empty() {
                    vec![Change::ListAgain]
                } else {
                    self.changes(entries)
                }
            }
        };
        if changes.is_empty() {
            // Only a rename's first half: the rest comes with the next answer.
            self.arm(cx);
            return Ok(Progress::Pending);
        }
        self.armed = true;
        self.awaiting_pull = true;
        cx.changes(changes);
        Ok(Progress::Pending)
    }

    fn on_supply(&mut self, cx: &mut OpContext<'_>, _data: Bytes) -> Result<Progress<()>, Fail> {
        if !std::mem::take(&mut self.awaiting_pull) {
            return Err(invalid("no changes to continue from"));
        }
        self.arm(cx);
        Ok(Progress::Pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: u32, name: &str) -> FileNotifyInformation {
        FileNotifyInformation {
            action,
            file_name: name.into(),
        }
    }

    #[test]
    fn renames_pair_up_within_and_across_answers() {
        let mut w = Watch::new("s", "d");
        let got = w.changes(vec![
            entry(action::ADDED, "a"),
            entry(action::RENAMED_OLD_NAME, "a"),
            entry(action::RENAMED_NEW_NAME, "b"),
            entry(action::RENAMED_OLD_NAME, "b"),
        ]);
        assert_eq!(
            got,
            [
                Change::Added("a".into()),
                Change::Renamed {
                    from: "a".into(),
                    to: "b".into()
                }
            ]
        );
        // The second half in the next answer.
        let got = w.changes(vec![
            entry(action::RENAMED_NEW_NAME, "c"),
            entry(action::MODIFIED, "c"),
            entry(action::REMOVED_STREAM, "c:s"),
        ]);
        assert_eq!(
            got,
            [
                Change::Renamed {
                    from: "b".into(),
                    to: "c".into()
                },
                Change::Modified("c".into()),
                Change::Other {
                    action: action::REMOVED_STREAM,
                    name: "c:s".into()
                }
            ]
        );
        // A first half followed by something else stands alone, and nothing is lost.
        w.changes(vec![entry(action::RENAMED_OLD_NAME, "x")]);
        let got = w.changes(vec![entry(action::REMOVED, "y")]);
        assert_eq!(
            got,
            [
                Change::Other {
                    action: action::RENAMED_OLD_NAME,
                    name: "x".into()
                },
                Change::Removed("y".into())
            ]
        );
    }
}
