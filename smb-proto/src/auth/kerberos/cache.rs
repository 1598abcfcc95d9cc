//! Tickets kept across the connections a client opens ([`TicketCache`]): the
//! ticket-granting ticket and the service tickets a login got, so that the next login of
//! the same client (a spread transfer's extra connection, a channel, a reconnection, a
//! pool's) asks the KDC only for what it still lacks — a service ticket for another
//! server, or nothing at all ([`super::KerberosLogin::need`] decides). No I/O.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use super::{Credential, Principal};

/// Tickets shared by every clone: a clone of
/// [`KerberosOptions`](crate::client::KerberosOptions) (and so of the connect options
/// extra connections, channels and reconnections are made with) uses the same cache; a
/// new one starts empty. Expired tickets are dropped when new ones come in. `Debug`
/// shows how many tickets it holds, nothing of them.
#[derive(Clone, Default)]
pub struct TicketCache(Arc<Mutex<Vec<Credential>>>);

impl fmt::Debug for TicketCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TicketCache({} tickets)", self.lock().len())
    }
}

impl TicketCache {
    /// An empty cache.
    pub fn new() -> Self {
        TicketCache::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Credential>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The ticket `client` holds for `server` that lasts longest, if any (valid or not:
    /// [`super::KerberosLogin::need`] judges).
    pub fn get(&self, client: &Principal, server: &Principal) -> Option<Credential> {
        self.lock()
            .iter()
            .filter(|t| &t.client == client && &t.server == server)
            .max_by_key(|t| t.endtime)
            .cloned()
    }

    /// Keeps `tickets` (replacing what the cache held for the same client and server),
    /// and drops those that ended before `now`.
    pub fn store(&self, tickets: &[Credential], now: SystemTime) {
        let mut held = self.lock();
        held.retain(|t| {
            t.endtime > now
                && !tickets
                    .iter()
                    .any(|n| n.client == t.client && n.server == t.server)
        });
        held.extend(tickets.iter().cloned());
    }

    /// How many tickets it holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}
