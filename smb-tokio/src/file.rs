//! A remote file as tokio `AsyncRead` + `AsyncWrite` + `AsyncSeek`.

use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use smb_proto::ops::{self, BoxedOp};
use smb_proto::{FileInfo, Handle};
use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

use crate::{Client, Error, Running};

/// Most bytes one `poll_write` takes: the write goes out in the background (the call
/// returns at once) and the next call waits for it, so this bounds the bytes in flight.
const WRITE_BEHIND: usize = 8 * 1024 * 1024;

/// The one operation a [`File`] has in flight.
enum Busy {
    Read {
        offset: u64,
    },
    Write {
        len: u64,
    },
    Flush,
    /// The size for a seek relative to the end.
    Size {
        delta: i64,
    },
    Close,
}

/// An open remote file. Writes return as soon as they are handed to the connection; their
/// errors show up on the next call, and at the latest on [`File::close`] or `shutdown`,
/// which close the handle. Dropped unclosed, the handle is closed in the background after
/// the last write.
pub struct File {
    client: Client,
    handle: Handle,
    path: String,
    info: FileInfo,
    pos: u64,
    /// Bytes read beyond what the caller took, starting at the offset given; empty at
    /// `pos` means end of file.
    ahead: Option<(u64, Bytes)>,
    busy: Option<(Busy, Running)>,
    /// Written since the last flush.
    dirty: bool,
    closed: bool,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("pos", &self.pos)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl File {
    pub(crate) fn new(client: Client, handle: Handle, path: &str, info: FileInfo) -> Self {
        File {
            client,
            handle,
            path: path.to_string(),
            info,
            pos: 0,
            ahead: None,
            busy: None,
            dirty: false,
            closed: false,
        }
    }

    /// Metadata as of the open (the size grows with this handle's writes).
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// Waits for pending writes and closes the handle.
    pub async fn close(mut self) -> crate::Result<()> {
        std::future::poll_fn(|cx| Pin::new(&mut self).poll_shutdown(cx)).await?;
        Ok(())
    }

    fn start(&mut self, busy: Busy, op: BoxedOp) -> io::Result<()> {
        if self.closed {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "file is closed",
            ));
        }
        let running = self.client.begin(op, Some(&self.path))?;
        self.busy = Some((busy, running));
        Ok(())
    }

    /// Finishes the operation in flight, if any, and applies its result.
    fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some((_, running)) = &mut self.busy else {
            return Poll::Ready(Ok(()));
        };
        let result = ready!(running.poll_done(cx));
        let Some((busy, _)) = self.busy.take() else {
            return Poll::Ready(Ok(()));
        };
        let out = match (busy, result) {
            (Busy::Close, r) => {
                self.closed = true;
                r.map(drop)
            }
            (_, Err(e)) => Err(e),
            (Busy::Read { offset }, Ok(out)) => out
                .downcast::<Bytes>()
                .map(|data| {
                    self.ahead = Some((offset, data));
                })
                .map_err(Error::from),
            (Busy::Write { len }, Ok(out)) => out
                .downcast::<u64>()
                .and_then(|n| {
                    if n == len {
                        Ok(())
                    } else {
                        Err(smb_proto::Error::Invalid(format!(
                            "the server wrote {n} of {len} bytes"
                        )))
                    }
                })
                .map_err(Error::from),
            (Busy::Flush, Ok(_)) => {
                self.dirty = false;
                Ok(())
            }
            (Busy::Size { delta }, Ok(out)) => out
                .downcast::<FileInfo>()
                .map_err(Error::from)
                .and_then(|info| match info.size.checked_add_signed(delta) {
                    Some(pos) => {
                        self.pos = pos;
                        Ok(())
                    }
                    None => Err(before_start().into()),
                }),
        };
        Poll::Ready(out.map_err(io::Error::from))
    }
}

fn before_start() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "seek before start of file")
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if let Some((offset, data)) = this.ahead.take() {
                if offset == this.pos {
                    let n = data.len().min(buf.remaining());
                    buf.put_slice(&data[..n]);
                    this.pos += n as u64;
                    if n < data.len() {
                        this.ahead = Some((this.pos, data.slice(n..)));
                    }
                    return Poll::Ready(Ok(()));
                }
            }
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if this.busy.is_some() {
                ready!(this.poll_settle(cx))?;
                continue;
            }
            let len = u32::try_from(buf.remaining()).unwrap_or(u32::MAX);
            let op = BoxedOp::new(ops::Read::new(this.handle, this.pos, len));
            this.start(Busy::Read { offset: this.pos }, op)?;
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_settle(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = buf.len().min(WRITE_BEHIND);
        let data = Bytes::copy_from_slice(&buf[..n]);
        let op = BoxedOp::new(ops::Write::new(this.handle, this.pos, data));
        this.start(Busy::Write { len: n as u64 }, op)?;
        this.pos += n as u64;
        this.info.size = this.info.size.max(this.pos);
        this.ahead = None;
        this.dirty = true;
        Poll::Ready(Ok(n))
    }

    /// Waits for the last write and, if anything was written since the last flush, sends
    /// SMB2 FLUSH so the server commits it to stable storage.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.poll_settle(cx))?;
            if !this.dirty || this.closed {
                return Poll::Ready(Ok(()));
            }
            this.start(Busy::Flush, BoxedOp::new(ops::Flush(this.handle)))?;
        }
    }

    /// Waits for the last write and closes the handle.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.poll_settle(cx))?;
            if this.closed {
                return Poll::Ready(Ok(()));
            }
            this.start(Busy::Close, BoxedOp::new(ops::Close(this.handle)))?;
        }
    }
}

impl AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        if this.busy.is_some() {
            return Err(io::Error::other(
                "another file operation is pending, call poll_complete before start_seek",
            ));
        }
        match position {
            SeekFrom::Start(p) => this.pos = p,
            SeekFrom::Current(d) => {
                this.pos = this.pos.checked_add_signed(d).ok_or_else(before_start)?
            }
            // The size can change under us (other handles, other clients): ask the server
            // about this open, which stays right even if the file was renamed.
            SeekFrom::End(delta) => this.start(
                Busy::Size { delta },
                BoxedOp::new(ops::QueryInfo(this.handle)),
            )?,
        }
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        ready!(this.poll_settle(cx))?;
        Poll::Ready(Ok(this.pos))
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // A write the caller was told succeeded must still happen; anything else in flight
        // is cancelled by dropping it.
        match self.busy.take() {
            Some((Busy::Close, running)) => return running.detach(),
            Some((Busy::Write { .. }, running)) => running.detach(),
            _ => {}
        }
        let close = BoxedOp::new(ops::Close(self.handle));
        if let Ok(close) = self.client.begin(close, Some(&self.path)) {
            close.detach();
        }
    }
}
