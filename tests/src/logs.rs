//! The `tracing` events of the code under test, captured for assertions.

/// Runs `f` with the `tracing` events up to `level` captured as text (no colours) → its
/// result and the log lines, for tests that check what was logged (and what was not) or
/// in what order requests went out.
pub fn captured_logs<R>(level: tracing::Level, f: impl FnOnce() -> R) -> (R, String) {
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
            log.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let result = tracing::subscriber::with_default(subscriber, || {
        // A callsite another test's thread was registering while this subscriber was
        // being set up keeps the interest it computed without it ("never"): its events
        // would be lost here. Computing every callsite's interest again, now that this
        // subscriber is in place, closes that window (tracing-core's cache is global).
        tracing::callsite::rebuild_interest_cache();
        f()
    });
    let bytes = logs.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (result, String::from_utf8_lossy(&bytes).into_owned())
}
