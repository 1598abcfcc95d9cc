//! The deferred layer's factory on tokio (the scenarios themselves run on async-std and
//! smol in smb-asyncstd's tests): pysmb's RetrieveFileFactory, made with
//! `smb_tokio::factory` on the current runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use smb_proto::CloseReason;
use smb_tests::fixtures::{data, sha256};
use smb_tests::{SambaServer, Share};
use smb_tokio::{Error, ErrorKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieve_file_factory_on_tokio() {
    let srv = SambaServer::builder().share(Share::new("share")).start();
    let content = data(200_000, 9);
    std::fs::write(srv.share_path("share").join("f.bin"), &content).expect("fixture");
    let (got_tx, mut got_rx) = tokio::sync::mpsc::unbounded_channel();
    let (down_tx, mut down_rx) = tokio::sync::mpsc::unbounded_channel();
    let disconnects = Arc::new(AtomicUsize::new(0));
    let factory = smb_tokio::factory(srv.connect_options())
        .on_auth_ok(move |factory| {
            let (f, got_tx) = (factory.clone(), got_tx.clone());
            factory
                .retrieve_file("share", "f.bin")
                .add_callback(move |bytes| {
                    let _ = got_tx.send(bytes);
                    f.close_connection();
                })
                .detach();
        })
        .on_disconnect({
            let disconnects = disconnects.clone();
            move |e| {
                disconnects.fetch_add(1, Ordering::SeqCst);
                let _ = down_tx.send(matches!(
                    e,
                    Error::Smb(smb_proto::Error::Closed(CloseReason::Local))
                ));
            }
        });
    let e = factory.echo().await.expect_err("echo before login");
    assert_eq!(e.kind(), ErrorKind::NotReady, "{e:?}");
    tokio::time::timeout(Duration::from_secs(120), async {
        factory.connect().await.expect("connect");
        let got = got_rx.recv().await.expect("the retrieve's callback ran");
        assert_eq!(sha256(&got), sha256(&content));
        assert!(
            down_rx.recv().await.expect("on_disconnect fired"),
            "not a local close"
        );
    })
    .await
    .expect("the factory hung");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(disconnects.load(Ordering::SeqCst), 1);
    assert!(!factory.is_ready());
    let e = factory
        .echo()
        .await
        .expect_err("echo after close_connection");
    assert!(matches!(e, Error::NotConnected { op: "echo" }), "{e:?}");
}
