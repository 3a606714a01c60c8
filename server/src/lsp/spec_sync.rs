//! The session's spec index and lint policy, and how they are kept current: built
//! off the request loop at `initialized`, updated from open buffers on every change
//! and from disk through `workspace/didChangeWatchedFiles`. Lint diagnostics are
//! republished shortly after the last change, so typing is not slowed by linting.
//!
//! Until the first build is in, the index holds only the open buffers, and what it
//! would say is wrong (references dangle, requirements have no criteria): requests
//! that read it wait for the build ([`SpecState::built_index`]), and no lint
//! finding (nor a fix for one) is given before it. *Start task* lenses and actions
//! need only the tasks file itself, which the index reads as soon as it opens.
//!
//! Lock order: the index lock may be taken while the workspace lock is wanted, never
//! the other way round; no lock is held across an `.await`.

use super::backend::Backend;
use crate::document::Document;
use crate::spec::index::{ScannedFile, SpecIndex, is_indexed_path};
use crate::spec::lint::config::{LintConfig, LintPolicy, read_workspace_lint_config};
use crate::workspace::lock;
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use tokio::sync::watch;
use tower_lsp_server::ls_types::*;
use url::Url;

/// How long lint diagnostics wait for typing to pause.
const LINT_DEBOUNCE: Duration = Duration::from_millis(150);

const WATCHER_REGISTRATION_ID: &str = "director-spec-files";

/// The spec index and what goes with it, shared by every handler.
pub struct SpecState {
    index: RwLock<SpecIndex>,
    policy: RwLock<Arc<LintPolicy>>,
    /// Open documents the index reads, republished when the index changes.
    open: Mutex<HashSet<Url>>,
    /// Open documents changed since the index last read them.
    stale: Mutex<HashSet<Url>>,
    /// Bumped by every change; a pending publish runs only if no change followed it.
    generation: AtomicU64,
    /// Whether the index holds the whole workspace (false while the first build runs).
    built: watch::Sender<bool>,
}

impl SpecState {
    /// An empty index with the default lint policy, until `initialize` names a root.
    pub fn new() -> SpecState {
        SpecState {
            index: RwLock::new(SpecIndex::default()),
            policy: RwLock::new(Arc::new(LintPolicy::new(&LintConfig::default()).0)),
            open: Mutex::new(HashSet::new()),
            stale: Mutex::new(HashSet::new()),
            generation: AtomicU64::new(0),
            built: watch::Sender::new(true),
        }
    }

    pub fn index(&self) -> RwLockReadGuard<'_, SpecIndex> {
        self.index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The index once the first build is in; at once after that.
    pub async fn built_index(&self) -> RwLockReadGuard<'_, SpecIndex> {
        let mut built = self.built.subscribe();
        if !*built.borrow_and_update() {
            tracing::info!("waiting for the initial spec index");
            // The sender lives as long as `self`, so this cannot fail.
            let _ = built.wait_for(|built| *built).await;
        }
        self.index()
    }

    /// Whether the first build is in (see [`SpecState::built_index`]).
    pub fn is_built(&self) -> bool {
        *self.built.borrow()
    }

    fn index_mut(&self) -> RwLockWriteGuard<'_, SpecIndex> {
        self.index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn policy(&self) -> Arc<LintPolicy> {
        self.policy
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// An empty index for `root`, read by nobody but the open buffers until the
    /// built one replaces it.
    pub fn start(&self, root: &Path) {
        self.built.send_replace(false);
        *self.index_mut() = SpecIndex::new(root);
        self.reload_policy(root);
    }

    /// Reads the `[lint]` table again; a malformed table keeps the last policy.
    pub fn reload_policy(&self, root: &Path) -> Vec<String> {
        let config: LintConfig = match read_workspace_lint_config(root) {
            Ok(config) => config,
            Err(message) => return vec![message],
        };
        let (policy, problems) = LintPolicy::new(&config);
        *self
            .policy
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(policy);
        problems
    }
}

impl Backend {
    /// Builds the index in the background, then replays the open buffers over it
    /// (they are newer than the disk) and publishes their diagnostics.
    pub fn build_spec_index(&self) {
        let Ok(session) = self.session() else { return };
        let Some(root) = session.root.clone() else {
            return;
        };
        let backend = self.clone();
        tokio::spawn(async move {
            let built = tokio::task::spawn_blocking(move || SpecIndex::build(&root)).await;
            let (Ok(built), Ok(session)) = (built, backend.session()) else {
                tracing::error!("building the spec index failed; specs are read as files open");
                backend.spec.built.send_replace(true);
                return;
            };
            {
                let mut index = backend.spec.index_mut();
                *index = built;
                let open: Vec<Url> = lock(&backend.spec.open).iter().cloned().collect();
                let workspace = lock(&session.engine.workspace);
                for url in open {
                    if let (Ok(path), Some(document)) =
                        (url.to_file_path(), workspace.documents.get(&url))
                    {
                        index.update_file(&path, &document.text.to_string());
                    }
                }
                backend.spec.built.send_replace(true);
            }
            backend.publish_spec_diagnostics().await;
        });
    }

    /// Asks the client to report spec and source files changed on disk, when it can.
    pub async fn register_file_watcher(&self, dynamic_registration: bool) {
        if !dynamic_registration {
            return;
        }
        let sources = crate::spec::index::SOURCE_EXTENSIONS.join(",");
        let watchers = ["**/*.md".to_owned(), format!("**/*.{{{sources}}}")]
            .into_iter()
            .chain(std::iter::once("**/director.toml".to_owned()))
            .map(|glob| FileSystemWatcher {
                glob_pattern: GlobPattern::String(glob),
                kind: None,
            })
            .collect();
        let options = DidChangeWatchedFilesRegistrationOptions { watchers };
        let registration = Registration {
            id: WATCHER_REGISTRATION_ID.to_owned(),
            method: "workspace/didChangeWatchedFiles".to_owned(),
            register_options: serde_json::to_value(options).ok(),
        };
        if let Err(error) = self.client.register_capability(vec![registration]).await {
            tracing::warn!("the client refused to watch spec files: {error}");
        }
    }

    /// Reindexes a buffer at once when it opens, so hover and navigation see it
    /// from the first request.
    pub fn spec_buffer_opened(&self, url: &Url) {
        if !self.track_spec_buffer(url) {
            return;
        }
        self.reindex_open_buffer(url);
        self.schedule_spec_publish();
    }

    /// Reindexes a changed buffer once typing pauses: scanning a large file on
    /// every keystroke would make each change cost the whole file.
    pub fn spec_buffer_changed(&self, url: &Url) {
        if !self.track_spec_buffer(url) {
            return;
        }
        lock(&self.spec.stale).insert(url.clone());
        self.schedule_spec_publish();
    }

    /// Remembers an open buffer the index reads; `false` for files it ignores.
    fn track_spec_buffer(&self, url: &Url) -> bool {
        let indexed = url.to_file_path().is_ok_and(|path| is_indexed_path(&path));
        if indexed {
            lock(&self.spec.open).insert(url.clone());
        }
        indexed
    }

    /// Reads an open buffer into the index; the rope is copied out of the
    /// workspace (cheap: ropes share) so the workspace lock is not held while scanning.
    fn reindex_open_buffer(&self, url: &Url) {
        let Ok(session) = self.session() else { return };
        let Ok(path) = url.to_file_path() else { return };
        let text = lock(&session.engine.workspace)
            .documents
            .get(url)
            .map(|document| document.text.clone());
        let Some(text) = text else { return };
        let root = self.spec.index().root().to_owned();
        let scanned = ScannedFile::scan(&root, &path, &text.to_string());
        self.spec.index_mut().replace_file(&path, scanned);
    }

    /// A closed buffer's unsaved text no longer counts: the file is read from disk.
    pub fn spec_buffer_closed(&self, url: &Url) {
        lock(&self.spec.stale).remove(url);
        if !lock(&self.spec.open).remove(url) {
            return;
        }
        if let Ok(path) = url.to_file_path() {
            self.reindex_from_disk(&path);
            self.schedule_spec_publish();
        }
    }

    /// Files created, changed or deleted outside the editor's buffers.
    pub async fn watched_files_changed(&self, params: DidChangeWatchedFilesParams) {
        let Ok(session) = self.session() else { return };
        let mut changed = false;
        for event in params.changes {
            let Ok(path) = self
                .url(&event.uri)
                .and_then(|url| url.to_file_path().map_err(|()| jsonrpc_invalid()))
            else {
                continue;
            };
            let is_workspace_config = session
                .root
                .as_ref()
                .is_some_and(|root| path == root.join(crate::config::WORKSPACE_CONFIG_FILE_NAME));
            if is_workspace_config {
                if let Some(root) = &session.root {
                    for problem in self.spec.reload_policy(root) {
                        tracing::warn!("{problem}");
                    }
                }
                changed = true;
                continue;
            }
            if !is_indexed_path(&path) {
                continue;
            }
            let is_open =
                Url::from_file_path(&path).is_ok_and(|url| lock(&self.spec.open).contains(&url));
            if is_open {
                continue;
            }
            if event.typ == FileChangeType::DELETED {
                self.spec.index_mut().remove_file(&path);
            } else {
                self.reindex_from_disk(&path);
            }
            changed = true;
        }
        if changed {
            self.publish_spec_diagnostics().await;
        }
    }

    /// Reads a file the editor has not opened into the index again.
    pub(super) fn reindex_from_disk(&self, path: &Path) {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.spec.index_mut().update_file(path, &text),
                Err(_) => self.spec.index_mut().remove_file(path),
            },
            Err(_) => self.spec.index_mut().remove_file(path),
        }
    }

    /// Reindexes the changed buffers and publishes every open indexed document
    /// once typing pauses.
    fn schedule_spec_publish(&self) {
        let generation = self.spec.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let backend = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(LINT_DEBOUNCE).await;
            // Before the first build, the build's own publish comes later.
            if backend.spec.generation.load(Ordering::SeqCst) != generation
                || !backend.spec.is_built()
            {
                return;
            }
            let stale: Vec<Url> = lock(&backend.spec.stale).drain().collect();
            let reindexing = backend.clone();
            let reindexed = tokio::task::spawn_blocking(move || {
                for url in &stale {
                    reindexing.reindex_open_buffer(url);
                }
            })
            .await;
            if reindexed.is_err() {
                tracing::error!("reindexing changed buffers failed");
            }
            backend.publish_spec_diagnostics().await;
        });
    }

    /// Republishes every open indexed document: a change in one file can raise or
    /// clear findings in another (dangling references, coverage).
    pub async fn publish_spec_diagnostics(&self) {
        let open: Vec<Url> = lock(&self.spec.open).iter().cloned().collect();
        for url in open {
            self.publish(&url).await;
        }
    }

    /// The open buffer of `url`, copied out of the workspace (cheap: ropes share).
    pub fn open_document(&self, url: &Url) -> Option<Document> {
        let session = self.session().ok()?;
        lock(&session.engine.workspace).documents.get(url).cloned()
    }
}

fn jsonrpc_invalid() -> tower_lsp_server::jsonrpc::Error {
    tower_lsp_server::jsonrpc::Error::invalid_params("not a file URI")
}
