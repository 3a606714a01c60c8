//! A background thread that brings stale syntax trees up to date once typing
//! pauses, so that no keystroke pays for a parse and a burst of keystrokes
//! pays for one.

use std::collections::HashSet;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

use url::Url;

/// How long no document may change before the stale ones are parsed.
pub const TYPING_PAUSE: Duration = Duration::from_millis(100);

/// Documents waiting for a reparse, handed to one thread that parses them
/// after [`TYPING_PAUSE`] without a change. The thread ends when the queue is dropped.
#[derive(Debug)]
pub struct ReparseQueue {
    sender: Sender<Url>,
}

impl ReparseQueue {
    /// Starts the thread; `reparse` brings one document's tree up to date and
    /// must not hold any lock requests need while it parses. Should the thread
    /// not start, trees are only brought up to date when a request needs them.
    pub fn spawn(reparse: impl Fn(&Url) + Send + 'static) -> ReparseQueue {
        let (sender, receiver) = mpsc::channel::<Url>();
        let spawned = std::thread::Builder::new()
            .name("director-reparse".to_owned())
            .spawn(move || {
                while let Ok(first) = receiver.recv() {
                    let mut stale = HashSet::from([first]);
                    let mut open = true;
                    while open {
                        match receiver.recv_timeout(TYPING_PAUSE) {
                            Ok(uri) => {
                                stale.insert(uri);
                            }
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => open = false,
                        }
                    }
                    if !open {
                        return;
                    }
                    for uri in &stale {
                        reparse(uri);
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::warn!("no background reparsing: {error}");
        }
        ReparseQueue { sender }
    }

    /// Asks for `uri` to be reparsed after the current burst of changes.
    pub fn schedule(&self, uri: Url) {
        // The thread only stops when this queue is dropped.
        let _ = self.sender.send(uri);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;

    fn uri(name: &str) -> Url {
        Url::parse(&format!("file:///w/{name}")).unwrap()
    }

    #[test]
    fn a_burst_of_changes_to_one_document_is_reparsed_once() {
        let (reparsed, parses) = mpsc::channel::<Url>();
        let queue = ReparseQueue::spawn(move |uri| {
            let _ = reparsed.send(uri.clone());
        });
        for _ in 0..20 {
            queue.schedule(uri("a.rs"));
        }
        let wait = Duration::from_secs(10);
        assert_eq!(parses.recv_timeout(wait).unwrap(), uri("a.rs"));
        // The thread works in order: once b is reparsed, any second parse of
        // the burst's document would already have arrived.
        queue.schedule(uri("b.rs"));
        assert_eq!(parses.recv_timeout(wait).unwrap(), uri("b.rs"));
        drop(queue);
        assert_eq!(
            parses.recv_timeout(wait),
            Err(RecvTimeoutError::Disconnected),
            "the thread ends with its queue"
        );
    }
}
