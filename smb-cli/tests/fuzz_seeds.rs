//! Writes the fuzz targets' seed corpora (fuzz/corpus/TARGET/) from the recorded
//! captures: `cargo test -p smb-cli --test fuzz_seeds -- --ignored`. Each seed is a
//! message (or a part of one) as a target reads it: most targets take a first byte that
//! picks the decoder, so the selectors here follow the targets' tables (see each file in
//! fuzz/fuzz_targets/). Seeds are small: long messages are cut, and a few per kind kept.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use smb_cli::dissect::pcap;
use smb_proto::connection::framing::split_frame;
use smb_proto::wire::query_info::{info_type, QueryInfoRequest};
use smb_proto::wire::{compound_messages, Command, HEADER_LEN};

/// The captures the seeds come from, and the server port they use.
const CAPTURES: &[&str] = &[
    "smb311_default.pcapng",
    "smb311_sign_cmac.pcapng",
    "smb311_enc_aes128gcm.pcapng",
    "smb210_sign.pcapng",
    "smb311_share_list.pcapng",
    "smb311_guest.pcapng",
];
const SERVER_PORT: u16 = 4455;
/// At most this many seeds per target and selector, each at most this long.
const PER_KIND: usize = 6;
const MAX_SEED: usize = 4096;

struct Seeds {
    root: PathBuf,
    counts: HashMap<(String, u8), usize>,
}

impl Seeds {
    /// Writes `selector ++ bytes` (or just `bytes` without a selector) into the corpus
    /// of `target`, named by its hash so that reruns do not duplicate it.
    fn put(&mut self, target: &str, selector: Option<u8>, bytes: &[u8]) {
        let n = self
            .counts
            .entry((target.to_string(), selector.unwrap_or(0xff)))
            .or_default();
        if *n >= PER_KIND {
            return;
        }
        *n += 1;
        let mut seed: Vec<u8> = selector.into_iter().collect();
        seed.extend_from_slice(&bytes[..bytes.len().min(MAX_SEED)]);
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{:016x}", h.finish())), &seed).unwrap();
    }
}

/// The TCP payload of each direction of each connection, in capture order.
fn streams(capture: &Path) -> BTreeMap<(u16, u16), Vec<u8>> {
    let file = std::fs::File::open(capture).unwrap();
    let mut out: BTreeMap<(u16, u16), Vec<u8>> = BTreeMap::new();
    pcap::read_packets(file, |_, link, data| {
        if let Some(s) = pcap::tcp_segment(link, data) {
            out.entry((s.src.port(), s.dst.port()))
                .or_default()
                .extend_from_slice(s.payload);
        }
    })
    .unwrap();
    out
}

/// The `wire` target's selector for a command's request or response body.
fn wire_selector(command: u16, response: bool) -> u8 {
    1 + 2 * command as u8 + u8::from(response)
}

/// The `fscc` target's selector for a QUERY_INFO class.
fn fscc_selector(info: u8, class: u8) -> Option<u8> {
    Some(match (info, class) {
        (info_type::FILE, 4) => 1,
        (info_type::FILE, 5) => 2,
        (info_type::FILE, 9) => 3,
        (info_type::FILE, 18) => 4,
        (info_type::FILE, 22) => 5,
        (info_type::FILESYSTEM, 3) => 7,
        (info_type::FILESYSTEM, 7) => 8,
        (info_type::FILESYSTEM, 1) => 9,
        (info_type::FILESYSTEM, 5) => 10,
        _ => return None,
    })
}

#[test]
#[ignore = "writes the fuzz seed corpora; run by hand"]
fn write_fuzz_seeds() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = repo.join("smb-proto/tests/data");
    let mut seeds = Seeds {
        root: repo.join("fuzz/corpus"),
        counts: HashMap::new(),
    };
    for name in CAPTURES {
        let path = data.join("captures").join(name);
        // The dissector reads whole captures: the small ones whole, the first part of
        // the others.
        let bytes = std::fs::read(&path).unwrap();
        let cut = &bytes[..bytes.len().min(24 * 1024)];
        let mut h = DefaultHasher::new();
        cut.hash(&mut h);
        let dir = seeds.root.join("dissector");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{:016x}", h.finish())), cut).unwrap();

        // QUERY_INFO requests by MessageId, to know what each response holds.
        let mut queries: HashMap<u64, (u8, u8)> = HashMap::new();
        let mut directions: Vec<_> = streams(&path).into_iter().collect();
        // Requests first, so that each response finds its request.
        directions.sort_by_key(|((src, _), _)| *src == SERVER_PORT);
        for ((src, _), stream) in directions {
            let response = src == SERVER_PORT;
            let mut buf = BytesMut::from(&stream[..]);
            while let Ok(Some((_, frame))) = split_frame(&mut buf, 1 << 24) {
                let frame = frame.freeze();
                if frame.starts_with(b"\xfdSMB") {
                    if frame.len() <= MAX_SEED {
                        seeds.put("transform", Some(0), &frame);
                    }
                    continue;
                }
                seeds.put("wire", Some(0), &frame);
                for (header, msg) in compound_messages(frame).flatten() {
                    message(
                        &mut seeds,
                        &mut queries,
                        header.command,
                        header.message_id,
                        response,
                        &msg,
                    );
                }
            }
        }
    }
}

/// The seeds of one SMB2 message: its body for `wire`, and what it carries for the
/// targets of that content.
fn message(
    seeds: &mut Seeds,
    queries: &mut HashMap<u64, (u8, u8)>,
    command: u16,
    message_id: u64,
    response: bool,
    msg: &Bytes,
) {
    let body = &msg[HEADER_LEN..];
    seeds.put("wire", Some(wire_selector(command, response)), body);
    use smb_proto::wire::{
        ioctl, negotiate, notify, query_directory, query_info, read, session_setup, write,
    };
    let mut security_buffer = None;
    let c = command;
    if c == Command::Negotiate as u16 && response {
        security_buffer = negotiate::NegotiateResponse::decode(msg)
            .ok()
            .map(|r| r.security_buffer);
    } else if c == Command::SessionSetup as u16 {
        security_buffer = if response {
            session_setup::SessionSetupResponse::decode(msg)
                .ok()
                .map(|r| r.security_buffer)
        } else {
            session_setup::SessionSetupRequest::decode(msg)
                .ok()
                .map(|r| r.security_buffer)
        };
    } else if c == Command::QueryInfo as u16 && !response {
        if let Ok(q) = QueryInfoRequest::decode(msg) {
            queries.insert(message_id, (q.info_type, q.file_info_class));
        }
    } else if c == Command::QueryInfo as u16 {
        if let (Ok(r), Some(&(info, class))) = (
            query_info::QueryInfoResponse::decode(msg),
            queries.get(&message_id),
        ) {
            if info == info_type::SECURITY {
                seeds.put("security", Some(0), &r.buffer);
            } else if let Some(s) = fscc_selector(info, class) {
                seeds.put("fscc", Some(s), &r.buffer);
            }
        }
    } else if c == Command::QueryDirectory as u16 && response {
        if let Ok(r) = query_directory::QueryDirectoryResponse::decode(msg) {
            seeds.put("fscc", Some(0), &r.buffer);
        }
    } else if c == Command::ChangeNotify as u16 && response {
        if let Ok(r) = notify::ChangeNotifyResponse::decode(msg) {
            let mut out = Vec::new();
            notify::FileNotifyInformation::encode_list(&r.changes, &mut out);
            seeds.put("fscc", Some(11), &out);
        }
    } else if c == Command::Ioctl as u16 {
        if let Ok(r) = ioctl::IoctlResponse::decode(msg) {
            rpc(seeds, &r.output);
        }
        if let Ok(r) = ioctl::IoctlRequest::decode(msg) {
            rpc(seeds, &r.input);
        }
    } else if c == Command::Read as u16 && response {
        if let Ok(r) = read::ReadResponse::decode(msg) {
            rpc(seeds, &r.data);
        }
    } else if c == Command::Write as u16 && !response {
        if let Ok(r) = write::WriteRequest::decode(msg) {
            rpc(seeds, &r.data);
        }
    }
    if let Some(token) = security_buffer.filter(|t| !t.is_empty()) {
        // SPNEGO tokens as each of its parsers, and the NTLMSSP message inside.
        seeds.put("auth", Some(2), &token);
        seeds.put("auth", Some(3), &token);
        if let Some(at) = token.windows(8).position(|w| w == b"NTLMSSP\0") {
            seeds.put("auth", Some(0), &token[at..]);
            seeds.put("auth", Some(1), &token[at..]);
        }
    }
}

/// DCE/RPC PDUs (version 5): as each PDU decoder, and their stubs as SRVSVC's.
fn rpc(seeds: &mut Seeds, data: &[u8]) {
    if data.len() < 24 || data[0] != 5 {
        return;
    }
    for s in 0..6 {
        seeds.put("rpc", Some(s), data);
    }
    seeds.put("rpc", Some(6), &data[24..]);
    seeds.put("rpc", Some(7), &data[24..]);
}
