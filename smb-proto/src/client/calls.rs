//! The one-operation calls of every driver's client, as a macro the drivers expand.

/// The calls every driver's client has whose whole work is one operation of the core (a
/// listing, a stat, a rename…), with their documentation: written once here, expanded in
/// the blocking `Connection`'s `impl` (`client_calls!("fn demo(conn: &smb_blocking::Connection)
/// -> smb_blocking::Result<()>", "")`) and the async `Client`'s (`client_calls!("async fn
/// demo(conn: &smb_async::Client) -> smb_async::Result<()>", ".await", async.await)`),
/// so the two never drift apart. `$demo` and `$aw` shape the doc examples; the expanding
/// type provides `call` and `call_again` (the latter asks idempotent work again after a
/// lost connection) and `set_eas`.
#[macro_export]
#[doc(hidden)]
macro_rules! client_calls {
    ($demo:literal, $aw:literal $(, $async:ident . $await:ident)?) => {
        /// Whether requests to `share` are encrypted (connecting to it if needed).
        ///
        /// # Errors
        ///
        /// The tree connect's error (STATUS_BAD_NETWORK_NAME for no such share).
        pub $($async)? fn tree_encrypted(&self, share: &str) -> ::std::result::Result<bool, $crate::client::ClientError> {
            Ok(self.call($crate::ops::ConnectShare::new(share)) $(.$await)??.encrypted)
        }

        /// Entries of directory `path` matching `pattern` (`*` for all), without `.`/`..`
        /// (pysmb's `listPath`).
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("for e in conn.list_path(\"share\", \"reports\", \"*.pdf\")", $aw, "? {")]
        ///     println!("{:>10} {}", e.size, e.name);
        /// }
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing directory, [`ErrorKind::NotADirectory`] for
        /// a file, [`ErrorKind::InvalidArgument`] for a path or pattern the
        /// [path rules](smb_proto::ops::path) refuse.
        pub $($async)? fn list_path(&self, share: &str, path: &str, pattern: &str) -> ::std::result::Result<Vec<$crate::FileInfo>, $crate::client::ClientError> {
            self.call_again(|| $crate::ops::ListDir::new(share, path, pattern)) $(.$await)?
        }

        /// pysmb's `listPath(share, path, search, pattern)`: like [`Self::list_path`],
        /// keeping only the entries the `search` mask accepts ([`search`]: an entry with any
        /// of its attribute bits, and "normal" entries with [`search::INCL_NORMAL`]).
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        /// use smb_proto::ops::search;
        #[doc = concat!("let hidden = conn.list_path_search(\"share\", \"\", search::HIDDEN, \"*\")", $aw, "?;")]
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// As for [`Self::list_path`].
        pub $($async)? fn list_path_search(
            &self,
            share: &str,
            path: &str,
            search: u32,
            pattern: &str,
        ) -> ::std::result::Result<Vec<$crate::FileInfo>, $crate::client::ClientError> {
            self.call_again(|| $crate::ops::ListDir::new(share, path, pattern).search(search)) $(.$await)?
        }

        #[doc = "Every share of the server, `IPC$` and hidden `$` shares included, with its type"]
        /// and comment (pysmb's `listShares`): SRVSVC NetrShareEnum over the `srvsvc` pipe.
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("for s in conn.list_shares()", $aw, "? {")]
        ///     if !s.is_special {
        ///         println!("{:<20} {}", s.name, s.comment);
        ///     }
        /// }
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::PermissionDenied`] when the server refuses the listing to this user;
        /// [`smb_proto::Error::Rpc`] when the RPC exchange fails (a fault, a refused bind, a
        /// malformed answer), the connection going on.
        pub $($async)? fn list_shares(&self) -> ::std::result::Result<Vec<$crate::ShareInfo>, $crate::client::ClientError> {
            self.call_again($crate::ops::ListShares::new) $(.$await)?
        }

        /// The servers of `workgroup` that its master browser knows, with their comments
        /// (libsmbclient's listing of `smb://WORKGROUP`): RAP NetServerEnum2 (MS-RAP
        /// 2.5.5.2). Ask it of the master browser, connected with SMB1 on
        /// ([`ConnectOptions::smb1`](smb_proto::client::ConnectOptions::smb1)): RAP is SMB1's.
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("for s in conn.list_servers(\"WORKGROUP\")", $aw, "? {")]
        ///     println!("{:<16} {}", s.name, s.comment);
        /// }
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::Unsupported`] on an SMB2 connection; [`smb_proto::Error::Rpc`] when
        /// the server refuses (one that is no master browser: ERROR_NO_BROWSER_SERVERS_FOUND)
        /// or garbles the answer.
        pub $($async)? fn list_servers(&self, workgroup: &str) -> ::std::result::Result<Vec<$crate::rpc::rap::RapServer>, $crate::client::ClientError> {
            self.call_again(|| $crate::ops::ListServers::servers(workgroup)) $(.$await)?
        }

        /// The workgroups the master browser of `workgroup` knows, each with its master
        /// browser's name as the comment (libsmbclient's listing of `smb://`); as
        /// [`Self::list_servers`].
        ///
        /// # Errors
        ///
        /// As for [`Self::list_servers`].
        pub $($async)? fn list_workgroups(&self, workgroup: &str) -> ::std::result::Result<Vec<$crate::rpc::rap::RapServer>, $crate::client::ClientError> {
            self.call_again(|| $crate::ops::ListServers::workgroups(workgroup)) $(.$await)?
        }

        /// Attributes of a file or directory (pysmb's `getAttributes`).
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing path; [`ErrorKind::NotADirectory`] for a
        /// file named with a trailing separator.
        pub $($async)? fn get_attributes(&self, share: &str, path: &str) -> ::std::result::Result<$crate::FileInfo, $crate::client::ClientError> {
            self.call_again(|| $crate::ops::Stat::new(share, path)) $(.$await)?
        }

        /// The owner, group and DACL of a file or directory (pysmb's `getSecurity`).
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("let sd = conn.get_security(\"share\", \"reports/q3.pdf\")", $aw, "?;")]
        /// println!("owner {:?}", sd.owner);
        /// for ace in sd.dacl.iter().flat_map(|acl| &acl.aces) {
        ///     println!("{:?} {:#010x} {:?}", ace.ace_type, ace.access_mask, ace.sid);
        /// }
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing path; [`ErrorKind::PermissionDenied`] when
        /// the server refuses READ_CONTROL.
        pub $($async)? fn get_security(&self, share: &str, path: &str) -> ::std::result::Result<$crate::wire::security::SecurityDescriptor, $crate::client::ClientError> {
            self.call_again(|| $crate::ops::GetSecurity::new(share, path)) $(.$await)?
        }

        /// Sets the owner, group, DACL and SACL of a file or directory, the parts `sd`
        /// holds ([`ops::SetSecurity`]); read it back with [`Self::get_security`].
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("let mut sd = conn.get_security(\"share\", \"reports\")", $aw, "?;")]
        /// sd.owner = None; // keep the owner, set the DACL and group
        #[doc = concat!("conn.set_security(\"share\", \"reports\", &sd)", $aw, "?;")]
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing path; [`ErrorKind::PermissionDenied`] when
        /// the server refuses WRITE_DAC or WRITE_OWNER; [`smb_proto::Error::Invalid`] for a
        /// descriptor that holds no part or does not encode.
        pub $($async)? fn set_security(&self, share: &str, path: &str, sd: &$crate::wire::security::SecurityDescriptor) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.call_again(|| $crate::ops::SetSecurity::new(share, path, sd)) $(.$await)?
        }

        /// The data streams of a file or directory: name (empty for the file's own
        /// contents), size and allocation size of each ([`ops::ListStreams`]). Read or
        /// write one by its path, `file.txt:name`, like a file.
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("conn.store_file(\"share\", \"notes.txt:tag\", &mut &b\"draft\"[..])", $aw, "?;")]
        #[doc = concat!("for s in conn.list_streams(\"share\", \"notes.txt\")", $aw, "? {")]
        #[doc = "    println!(\"{:>8} {}\", s.size, if s.is_default() { \"::$DATA\" } else { &s.name });"]
        /// }
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing path.
        pub $($async)? fn list_streams(&self, share: &str, path: &str) -> ::std::result::Result<Vec<$crate::ops::StreamInfo>, $crate::client::ClientError> {
            self.call($crate::ops::ListStreams::new(share, path)) $(.$await)?
        }

        /// The extended attributes of a file or directory, names as the server returns
        /// them ([`ops::GetEas`]); none is an empty list.
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("for ea in conn.get_eas(\"share\", \"notes.txt\")", $aw, "? {")]
        ///     println!("{}={}", ea.name, String::from_utf8_lossy(&ea.value));
        /// }
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing path; STATUS_EAS_NOT_SUPPORTED
        /// ([`Error::status`]) from a share without EA support.
        pub $($async)? fn get_eas(&self, share: &str, path: &str) -> ::std::result::Result<Vec<$crate::wire::fscc::FileFullEaInformation>, $crate::client::ClientError> {
            self.call($crate::ops::GetEas::new(share, path)) $(.$await)?
        }

        /// Sets extended attribute `name` of a file or directory to `value`; an empty
        /// value removes it ([`ops::SetEas`]).
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("conn.set_ea(\"share\", \"notes.txt\", \"reviewed\", b\"yes\")", $aw, "?;")]
        #[doc = concat!("conn.set_ea(\"share\", \"notes.txt\", \"draft\", b\"\")", $aw, "?; // removes it")]
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing path; [`smb_proto::Error::Invalid`] for a name that is
        /// empty, not printable ASCII or over 255 bytes, or a value over 65,535 bytes;
        /// STATUS_EAS_NOT_SUPPORTED from a share without EA support.
        pub $($async)? fn set_ea(&self, share: &str, path: &str, name: &str, value: &[u8]) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.set_eas(share, path, &[(name, value)]) $(.$await)?
        }

        /// The times of the snapshots (previous versions) the server keeps of the share
        /// holding `path`, in the server's order (pysmb's `listSnapshots`); read a file as
        /// it was at one with [`Self::retrieve_file_at`].
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("for at in conn.list_snapshots(\"share\", \"reports\")", $aw, "? {")]
        ///     println!("{}", at.gmt_token());
        /// }
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing path; STATUS_INVALID_DEVICE_REQUEST
        /// ([`Error::status`]) from a share that keeps no snapshots (Samba without
        /// `shadow_copy2`).
        pub $($async)? fn list_snapshots(&self, share: &str, path: &str) -> ::std::result::Result<Vec<$crate::wire::fscc::FileTime>, $crate::client::ClientError> {
            self.call_again(|| $crate::ops::ListSnapshots::new(share, path)) $(.$await)?
        }

        /// The size, free space and facts of the file system holding `path` (`""` for the
        /// share's root), as `df` and libsmbclient's `statvfs` report them: one round trip
        /// ([`ops::StatFs`]).
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("let fs = conn.disk_free(\"share\", \"\")", $aw, "?;")]
        /// println!(
        ///     "{} of {} bytes free on {} ({})",
        ///     fs.available_bytes, fs.total_bytes, fs.volume_label, fs.file_system_name
        /// );
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing path or share; a connection error
        /// ([`ErrorKind::ProtocolViolation`]) when the server's sizes overflow 64 bits of
        /// bytes.
        pub $($async)? fn disk_free(&self, share: &str, path: &str) -> ::std::result::Result<$crate::FsInfo, $crate::client::ClientError> {
            self.call_again(|| $crate::ops::StatFs::new(share, path)) $(.$await)?
        }

        /// Truncates or extends the file at `path` to `len` bytes, as `truncate(1)`; bytes
        /// added read as zeros. One round trip ([`ops::Truncate`]); an open file has
        /// [`File::set_len`].
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("conn.truncate(\"share\", \"logs/app.log\", 0)", $aw, "?;")]
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing file, [`ErrorKind::IsADirectory`] for a
        /// directory, [`ErrorKind::PermissionDenied`] for a read-only file or share,
        /// [`ErrorKind::StorageFull`] when the disk cannot hold the new size.
        pub $($async)? fn truncate(&self, share: &str, path: &str, len: u64) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.call($crate::ops::Truncate::new(share, path, len)) $(.$await)?
        }

        /// Creates a directory (pysmb's `createDirectory`).
        ///
        /// # Errors
        ///
        /// [`ErrorKind::AlreadyExists`] when the name exists, [`ErrorKind::NotFound`] when
        /// the parent does not (see [`Self::create_directories`]).
        pub $($async)? fn create_directory(&self, share: &str, path: &str) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.call($crate::ops::Mkdir::new(share, path)) $(.$await)?
        }

        /// Creates a directory and any missing parents, like `mkdir -p`: existing
        /// directories are fine, a file in the way is an error.
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotADirectory`] when a file is in the way.
        pub $($async)? fn create_directories(&self, share: &str, path: &str) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.call($crate::ops::MkdirAll::new(share, path)) $(.$await)?
        }

        /// Removes an empty directory (pysmb's `deleteDirectory`).
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotEmpty`] when it holds anything.
        pub $($async)? fn delete_directory(&self, share: &str, path: &str) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.call($crate::ops::Rmdir::new(share, path)) $(.$await)?
        }

        /// Deletes the files matching `path_pattern` (wildcards in the last component);
        /// returns how many were deleted (pysmb's `deleteFiles`).
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] when nothing matches; [`ErrorKind::IsADirectory`] for a
        /// path spelled as a directory.
        pub $($async)? fn delete_files(&self, share: &str, path_pattern: &str) -> ::std::result::Result<u64, $crate::client::ClientError> {
            self.call($crate::ops::Delete::new(share, path_pattern)) $(.$await)?
        }

        /// Like [`Self::delete_files`], and also removes the directories that match,
        /// with everything in them (pysmb's `deleteFiles(…, delete_matching_folders=True)`);
        /// returns how many files and directories were removed.
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] when nothing matches; the first removal's error otherwise
        /// (what was removed before it stays removed).
        pub $($async)? fn delete_files_and_folders(&self, share: &str, path_pattern: &str) -> ::std::result::Result<u64, $crate::client::ClientError> {
            self.call($crate::ops::Delete::new(share, path_pattern).with_folders()) $(.$await)?
        }

        /// Sets the attributes of the files and directories matching `path_pattern`
        /// (wildcards in the last component) to `attributes` ([`file_attributes`];
        /// `file_attributes::NORMAL` clears read-only, hidden, system and archive); returns
        /// how many (pysmb's `resetFileAttributes`).
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] when nothing matches.
        pub $($async)? fn reset_file_attributes(
            &self,
            share: &str,
            path_pattern: &str,
            attributes: u32,
        ) -> ::std::result::Result<u64, $crate::client::ClientError> {
            self.call($crate::ops::ResetAttributes::new(share, path_pattern, attributes)) $(.$await)?
        }

        /// Sets a file's or directory's last write time (pysmb's `setLastWriteTime`).
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] for a missing path; [`ErrorKind::InvalidArgument`] for a
        /// time before 1601.
        pub $($async)? fn set_last_write_time(&self, share: &str, path: &str, time: ::std::time::SystemTime) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.call($crate::ops::SetBasicInfo::last_write_time(
                share,
                path,
                $crate::client::filetime(time)?,
            )) $(.$await)?
        }

        /// Renames or moves `old` to `new` within the share (fails if `new` exists).
        ///
        /// # Errors
        ///
        /// [`ErrorKind::AlreadyExists`] when `new` exists, [`ErrorKind::NotFound`] when `old`
        /// does not.
        pub $($async)? fn rename(&self, share: &str, old: &str, new: &str) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.call($crate::ops::Rename::new(share, old, new, false)) $(.$await)?
        }

        /// Renames or moves `old` to `new` within the share, replacing `new` if it exists.
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] when `old` does not exist; [`ErrorKind::PermissionDenied`]
        /// when `new` is a directory or open.
        pub $($async)? fn rename_replacing(&self, share: &str, old: &str, new: &str) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.call($crate::ops::Rename::new(share, old, new, true)) $(.$await)?
        }

        /// Copies `src` to `dest` within the share: server-side
        /// (FSCTL_SRV_COPYCHUNK_WRITE) where the server does it, through this client (READ
        /// then WRITE) where it refuses. With `overwrite` an existing `dest` is replaced,
        /// otherwise it is an error. [`Copied::server_side`] says which way the bytes went.
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("let copied = conn.copy_file(\"share\", \"big.iso\", \"backup/big.iso\", false)", $aw, "?;")]
        /// println!("{} bytes, server-side: {}", copied.bytes, copied.server_side);
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`ErrorKind::NotFound`] when `src` (or `dest`'s directory) does not exist,
        /// [`ErrorKind::AlreadyExists`] when `dest` does and not `overwrite`,
        /// [`ErrorKind::IsADirectory`] for a directory, [`ErrorKind::InvalidArgument`] when
        /// `dest` is `src` itself and `overwrite`.
        pub $($async)? fn copy_file(&self, share: &str, src: &str, dest: &str, overwrite: bool) -> ::std::result::Result<$crate::ops::Copied, $crate::client::ClientError> {
            let destination = if overwrite {
                $crate::ops::CopyDestination::Replace
            } else {
                $crate::ops::CopyDestination::CreateNew
            };
            self.call($crate::ops::CopyFile::new(share, src, dest, destination)) $(.$await)?
        }

        /// Copies `len` bytes from `src_offset` in `src` to `dest_offset` in `dest` (created
        /// if missing, its other bytes kept), as [`Self::copy_file`] does; fewer when
        /// `src` ends first.
        ///
        /// # Errors
        ///
        /// As for [`Self::copy_file`].
        pub $($async)? fn copy_range(
            &self,
            share: &str,
            src: &str,
            dest: &str,
            src_offset: u64,
            dest_offset: u64,
            len: u64,
        ) -> ::std::result::Result<$crate::ops::Copied, $crate::client::ClientError> {
            let op = $crate::ops::CopyFile::new(share, src, dest, $crate::ops::CopyDestination::WriteInto);
            self.call(op.range(src_offset, dest_offset, len)) $(.$await)?
        }

        /// Every file and directory below `dir` on `share`, to any depth up to
        /// [`MAX_TREE_DEPTH`](smb_proto::ops::MAX_TREE_DEPTH), each directory before what
        /// it holds ([`ListTree`](smb_proto::ops::ListTree): a level's directories listed
        /// several at once). Spread over extra connections when the options allow
        /// ([`ConnectOptions::connections`](smb_proto::client::ConnectOptions::connections)):
        /// the upper levels here, the rest shared out
        /// ([`ListTreeTop`](smb_proto::ops::ListTreeTop)).
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("for entry in conn.list_tree(\"share\", \"projects\")", $aw, "? {")]
        ///     println!("{} {}", entry.path, entry.info.size);
        /// }
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// The first listing that failed (a directory that vanished, access denied), or
        /// [`Error::Invalid`](smb_proto::Error::Invalid) for a tree deeper than the limit.
        pub $($async)? fn list_tree(&self, share: &str, dir: &str) -> ::std::result::Result<Vec<$crate::ops::TreeEntry>, $crate::client::ClientError> {
            self.spread_list_tree(share, dir) $(.$await)?
        }

        /// Binds a further connection to `addr` (the server's port included) to this
        /// connection's session as a channel (SMB 3.x multichannel, MS-SMB2 3.2.4.2.3):
        /// large downloads and uploads are then striped over every channel
        /// ([`StripedRead`](smb_proto::client::StripedRead),
        /// [`StripedWrite`](smb_proto::client::StripedWrite)), and go on when one is
        /// lost. [`ConnectOptions::multichannel`](smb_proto::client::ConnectOptions::multichannel)
        /// does this for the addresses the server lists.
        ///
        /// ```no_run
        #[doc = concat!("# ", $demo, " {")]
        #[doc = concat!("conn.add_channel(\"192.0.2.7:445\".parse().unwrap())", $aw, "?;")]
        /// assert_eq!(conn.channels(), 1);
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// [`Error::Invalid`](smb_proto::Error::Invalid) when the session cannot have
        /// channels (not 3.x, multichannel not negotiated, a guest session, a login
        /// without a password, a recording or a replay), a connect error when `addr`
        /// cannot be reached, and the server's refusal of the binding.
        pub $($async)? fn add_channel(&self, addr: ::std::net::SocketAddr) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.bind_channel_at(addr) $(.$await)?
        }

        /// Binds as many channels as
        /// [`ConnectOptions::multichannel`](smb_proto::client::ConnectOptions::multichannel)
        /// allows, one on each further address the server lists for itself
        /// (FSCTL_QUERY_NETWORK_INTERFACE_INFO, [`channels_to_bind`](smb_proto::client::channels_to_bind))
        /// → how many were bound. Connecting does this already when the option is set;
        /// call it again after channels were lost.
        ///
        /// # Errors
        ///
        /// The interface query's failure (a server without multichannel answers
        /// STATUS_INVALID_DEVICE_REQUEST); an address that cannot be bound is skipped
        /// with a warning.
        pub $($async)? fn add_channels(&self) -> ::std::result::Result<usize, $crate::client::ClientError> {
            let (room, here, port) = self.channel_room() $(.$await)?;
            let interfaces = self.call($crate::ops::QueryInterfaces::new()) $(.$await)??;
            let mut bound = 0;
            for addr in $crate::client::channels_to_bind(&interfaces, port, &here, room) {
                match self.bind_channel_at(addr) $(.$await)? {
                    Ok(()) => bound += 1,
                    Err(e) => ::tracing::warn!(%addr, error = %e, "a channel could not be bound"),
                }
            }
            Ok(bound)
        }

        /// One ECHO round trip.
        ///
        /// # Errors
        ///
        /// The connection's error when it ended.
        pub $($async)? fn echo(&self) -> ::std::result::Result<(), $crate::client::ClientError> {
            self.call_again(|| $crate::ops::Echo) $(.$await)?
        }

        /// pysmb's `echo(data)`: one ECHO round trip, then `data` back. An SMB2 ECHO
        /// carries no payload (MS-SMB2 2.2.28), so the server cannot echo the bytes; like
        /// pysmb on SMB2, this returns what it was given once the server answered.
        ///
        /// # Errors
        ///
        /// The connection's error when it ended.
        pub $($async)? fn echo_data(&self, data: &[u8]) -> ::std::result::Result<Vec<u8>, $crate::client::ClientError> {
            self.call_again(|| $crate::ops::Echo) $(.$await)??;
            Ok(data.to_vec())
        }
    };
}
