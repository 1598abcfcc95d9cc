//! A ticket cache shared by the connections a client opens: the second connection
//! with the same options asks the KDC nothing (its service ticket is cached), one with
//! only the TGT cached asks for the service ticket alone. The KDC requests are counted
//! on their way to the Samba AD DC's KDC, through a TCP proxy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use smb_blocking::{Connection, KerberosOptions};
use smb_proto::auth::kerberos::{Principal, TicketCache, TransportPolicy};
use smb_tests::dc::{SambaDc, REALM};
use smb_tests::proxy::{Direction, Proxy};
use smb_tests::Share;

fn round_trip(conn: &Connection, name: &str) {
    conn.store_file("share", name, &mut &b"cached"[..]).unwrap();
    let mut back = Vec::new();
    conn.retrieve_file("share", name, &mut back).unwrap();
    assert_eq!(back, b"cached");
}

#[test]
fn a_second_connection_reuses_the_cached_tickets() {
    let dc = SambaDc::builder().share(Share::new("share")).start();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let proxy = Proxy::start(dc.kdc_addr(), move |dir, _, _| {
        if dir == Direction::ToServer {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let mut kerberos = KerberosOptions::kdc(&format!("127.0.0.1:{}", proxy.port())).required();
    kerberos.kdc.transport = TransportPolicy::TcpOnly;
    let cache = kerberos.cache.clone();
    let mut opts = dc.connect_options().kerberos(kerberos);
    opts.user = dc.principal(dc.user());
    let count = || requests.load(Ordering::SeqCst);

    let first = Connection::connect(&opts).unwrap_or_else(|e| panic!("{e}\n{}", dc.log()));
    assert!(first.is_kerberos());
    // AS (PREAUTH_REQUIRED), AS with the timestamp, TGS.
    assert_eq!(count(), 3);
    assert_eq!(cache.len(), 2);
    // Another connection made with (a clone of) the same options: no KDC at all.
    let second = Connection::connect(&opts.clone()).unwrap();
    assert!(second.is_kerberos());
    assert_eq!(count(), 3);
    round_trip(&second, "second.txt");
    round_trip(&first, "first.txt");
    second.close().unwrap();
    first.close().unwrap();

    // Only the TGT cached: one TGS exchange.
    let client = Principal::parse(&dc.principal(dc.user()), None).unwrap();
    let tgt = cache.get(&client, &Principal::krbtgt(REALM)).unwrap();
    let tgt_only = TicketCache::new();
    tgt_only.store(&[tgt], SystemTime::now());
    let mut third_opts = opts.clone();
    if let Some(k) = third_opts.kerberos.as_mut() {
        k.cache = tgt_only.clone();
    }
    let third = Connection::connect(&third_opts).unwrap();
    assert!(third.is_kerberos());
    assert_eq!(count(), 4);
    assert_eq!(tgt_only.len(), 2);
    round_trip(&third, "third.txt");
    third.close().unwrap();

    // A fresh cache: the whole exchange again.
    let mut fresh = opts.clone();
    if let Some(k) = fresh.kerberos.as_mut() {
        k.cache = TicketCache::new();
    }
    Connection::connect(&fresh).unwrap().close().unwrap();
    assert_eq!(count(), 7);
}
