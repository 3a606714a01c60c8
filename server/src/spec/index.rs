//! The workspace index: every spec document and every code trace, plus the queries an
//! editor needs (definitions, references, coverage, governing requirements, symbols,
//! completion). Built in parallel from a root, then kept current file by file.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::{Glob, GlobSetBuilder};
use rayon::prelude::*;

use crate::spec::discovery::{classify, is_candidate_spec_path};
use crate::spec::front_matter::declares_native_spec;
use crate::spec::model::{Format, Requirement, SpecDocument, SpecLinkKind, TaskStatus};
use crate::spec::parse::parse_spec_bytes;
use crate::spec::references::RefExpr;
use crate::spec::trace::{CodeTrace, TraceRole, TraceSource, scan_code};

/// Source files larger than this are not scanned for trace tags.
pub const MAX_SOURCE_FILE_BYTES: usize = 1024 * 1024;

/// Extensions of files scanned for trace tags.
pub const SOURCE_EXTENSIONS: &[&str] = &[
    "rs", "py", "pyi", "ts", "tsx", "js", "jsx", "mjs", "cjs", "go", "java", "kt", "kts", "scala",
    "c", "h", "cc", "cpp", "hpp", "cs", "rb", "php", "swift", "m", "mm", "lua", "sh", "bash",
    "zig", "ex", "exs", "erl", "hs", "ml", "dart", "sql", "vue", "svelte",
];

/// Folders never walked, whatever `.gitignore` says.
const SKIPPED_FOLDERS: &[&str] = &[
    ".git",
    "target",
    "node_modules",
    ".venv",
    "__pycache__",
    "dist",
    "build",
];

/// A parsed spec file with its text, shared with snapshots.
#[derive(Debug)]
pub struct IndexedSpec {
    pub document: SpecDocument,
    pub text: Arc<str>,
}

/// A source file that holds at least one trace candidate.
#[derive(Debug)]
pub struct IndexedCode {
    pub traces: Vec<CodeTrace>,
    pub text: Arc<str>,
}

/// Which part of a requirement a key names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemPart {
    Requirement,
    Criterion(usize),
    Scenario(usize),
}

/// Where a requirement, criterion or scenario key is defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemLocation {
    pub path: PathBuf,
    pub requirement: usize,
    pub part: ItemPart,
    /// The key of the owning requirement (equal to the item key for requirements).
    pub requirement_key: String,
}

/// A requirement found by key, with the document it lives in.
#[derive(Clone, Copy, Debug)]
pub struct RequirementRef<'a> {
    pub document: &'a SpecDocument,
    pub requirement: &'a Requirement,
}

/// How something links to a requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkKind {
    Task {
        id: Option<String>,
        status: TaskStatus,
    },
    DesignProperty {
        id: String,
    },
    Code {
        role: TraceRole,
        source: TraceSource,
        pin: Option<String>,
    },
    SpecSideLink {
        kind: SpecLinkKind,
        target: String,
    },
}

/// One incoming link to a requirement (or one of its criteria or scenarios).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequirementLink {
    pub kind: LinkKind,
    pub path: PathBuf,
    /// The reference text's range (task ref, code tag ref, spec link).
    pub range: Range<usize>,
    /// The item key the reference resolved to.
    pub target: String,
}

/// How well a requirement is covered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub tasks: usize,
    pub implementations: usize,
    pub tests: usize,
    /// Links pinned to an older fingerprint.
    pub suspect: usize,
    pub mentions: usize,
}

/// A requirement governing a code location, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Governing {
    pub requirement_key: String,
    pub role: TraceRole,
    pub source: GoverningSource,
    pub suspect: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoverningSource {
    Trace(TraceSource),
    TracesGlob,
    SpecSideLink,
}

/// An ID under the cursor, for go-to-definition, references and rename.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdAtOffset {
    pub key: String,
    pub range: Range<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecSymbolKind {
    Requirement,
    Criterion,
    Scenario,
    Task,
    Property,
}

/// A document outline entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecSymbol {
    pub name: String,
    pub detail: Option<String>,
    pub kind: SpecSymbolKind,
    pub range: Range<usize>,
    pub selection_range: Range<usize>,
    pub children: Vec<SpecSymbol>,
}

/// A workspace-wide symbol search hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceSymbol {
    pub name: String,
    pub key: String,
    pub path: PathBuf,
    pub range: Range<usize>,
}

/// A completion candidate for an ID being typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdCompletion {
    pub label: String,
    pub key: String,
    pub detail: Option<String>,
}

/// Every spec and trace under one root.
#[derive(Debug, Default)]
pub struct SpecIndex {
    root: PathBuf,
    specs: BTreeMap<PathBuf, Arc<IndexedSpec>>,
    code: BTreeMap<PathBuf, Arc<IndexedCode>>,
    items: HashMap<String, ItemLocation>,
    /// Local IDs and aliases to the item keys that carry them.
    by_local_id: HashMap<String, Vec<String>>,
    /// Requirement local IDs to every file defining them (duplicates included).
    definitions: HashMap<String, Vec<PathBuf>>,
    /// `all_links` computed once per index state; cleared by every update.
    links_cache: std::sync::OnceLock<Arc<HashMap<String, Vec<RequirementLink>>>>,
}

/// Incoming links of every requirement, keyed by requirement key.
pub type LinkTable = HashMap<String, Vec<RequirementLink>>;

/// One file read for the index, ready to be put in it; scanning needs no lock
/// on the index, so a large file is read while requests keep being answered.
pub struct ScannedFile(Option<Scanned>);

enum Scanned {
    Spec(PathBuf, Box<IndexedSpec>),
    Code(PathBuf, IndexedCode),
}

impl SpecIndex {
    /// An empty index for `root`, filled by [`SpecIndex::update_file`].
    pub fn new(root: &Path) -> SpecIndex {
        SpecIndex {
            root: root.to_path_buf(),
            ..SpecIndex::default()
        }
    }

    /// Walks `root` (honouring `.gitignore`, skipping build output, binary and huge
    /// files) and indexes it in parallel. Unreadable files are skipped.
    pub fn build(root: &Path) -> SpecIndex {
        let mut walker = ignore::WalkBuilder::new(root);
        walker
            .hidden(false)
            .require_git(false)
            .filter_entry(|entry| {
                let name = entry.file_name().to_string_lossy();
                !(entry.file_type().is_some_and(|kind| kind.is_dir())
                    && SKIPPED_FOLDERS.contains(&name.as_ref()))
            });
        let paths: Vec<PathBuf> = walker
            .build()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_file()))
            .map(ignore::DirEntry::into_path)
            .filter(|path| is_candidate_spec_path(path) || is_source_path(path))
            .collect();
        let scanned: Vec<Scanned> = paths
            .par_iter()
            .filter_map(|path| {
                let bytes = std::fs::read(path).ok()?;
                scan_file(root, path, &bytes)
            })
            .collect();
        let mut index = SpecIndex {
            root: root.to_path_buf(),
            ..SpecIndex::default()
        };
        for file in scanned {
            match file {
                Scanned::Spec(path, spec) => {
                    index.specs.insert(path, Arc::from(spec));
                }
                Scanned::Code(path, code) => {
                    index.code.insert(path, Arc::new(code));
                }
            }
        }
        index.rebuild_items();
        index
    }

    /// Re-reads one file from its current text (an editor buffer or disk).
    pub fn update_file(&mut self, path: &Path, text: &str) {
        let scanned = ScannedFile::scan(&self.root, path, text);
        self.replace_file(path, scanned);
    }

    /// Puts a file scanned with [`ScannedFile::scan`] in place of its old entry.
    pub fn replace_file(&mut self, path: &Path, scanned: ScannedFile) {
        self.links_cache = std::sync::OnceLock::new();
        let had_spec = self.specs.remove(path).is_some();
        self.code.remove(path);
        let is_spec = match scanned.0 {
            Some(Scanned::Spec(path, spec)) => {
                self.specs.insert(path, Arc::from(spec));
                true
            }
            Some(Scanned::Code(path, code)) => {
                self.code.insert(path, Arc::new(code));
                false
            }
            None => false,
        };
        if had_spec || is_spec {
            self.rebuild_items();
        }
    }

    pub fn remove_file(&mut self, path: &Path) {
        self.links_cache = std::sync::OnceLock::new();
        self.code.remove(path);
        if self.specs.remove(path).is_some() {
            self.rebuild_items();
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn specs(&self) -> impl Iterator<Item = (&Path, &IndexedSpec)> {
        self.specs
            .iter()
            .map(|(path, spec)| (path.as_path(), spec.as_ref()))
    }

    pub fn spec(&self, path: &Path) -> Option<&IndexedSpec> {
        self.specs.get(path).map(Arc::as_ref)
    }

    pub fn code_files(&self) -> impl Iterator<Item = (&Path, &IndexedCode)> {
        self.code
            .iter()
            .map(|(path, code)| (path.as_path(), code.as_ref()))
    }

    pub fn code_file(&self, path: &Path) -> Option<&IndexedCode> {
        self.code.get(path).map(Arc::as_ref)
    }

    /// All requirements, in path then document order.
    pub fn requirements(&self) -> impl Iterator<Item = RequirementRef<'_>> {
        self.specs.values().flat_map(|spec| {
            spec.document
                .requirements
                .iter()
                .map(|requirement| RequirementRef {
                    document: &spec.document,
                    requirement,
                })
        })
    }

    /// The requirement with this exact key.
    pub fn requirement(&self, key: &str) -> Option<RequirementRef<'_>> {
        let location = self.items.get(key)?;
        let document = &self.specs.get(&location.path)?.document;
        let requirement = document.requirements.get(location.requirement)?;
        Some(RequirementRef {
            document,
            requirement,
        })
    }

    pub fn item(&self, key: &str) -> Option<&ItemLocation> {
        self.items.get(key)
    }

    /// Resolves a reference as written (`AUTH-003`, `1.2`, `Requirement 2`,
    /// `auth#AUTH-003`) to an item key. `context_spec` is the spec the reference is
    /// written in; it wins when a short ID exists in several specs, and numbers
    /// (`8.6`, `Requirement 3`), which only mean something within one spec, resolve
    /// inside it alone.
    pub fn resolve(&self, reference: &str, context_spec: Option<&str>) -> Option<&str> {
        if let Some((key, _)) = self.items.get_key_value(reference) {
            return Some(key);
        }
        if let Some(spec_id) = context_spec {
            if let Some((key, _)) = self.items.get_key_value(&format!("{spec_id}#{reference}")) {
                return Some(key);
            }
        }
        let candidates = self.by_local_id.get(reference)?;
        let spec_local = is_spec_local_reference(reference);
        if let [only] = candidates.as_slice() {
            if !(spec_local && context_spec.is_some()) {
                return Some(only);
            }
        }
        let context_spec = context_spec?;
        let prefix = format!("{context_spec}#");
        let mut in_context = candidates.iter().filter(|key| key.starts_with(&prefix));
        match (in_context.next(), in_context.next()) {
            (Some(key), None) => Some(key),
            _ => None,
        }
    }

    /// Every link into every requirement, keyed by requirement key. Computed in one
    /// pass over all tasks, design properties, spec-side links and code traces, then
    /// cached until the next update.
    pub fn all_links(&self) -> Arc<LinkTable> {
        self.links_cache
            .get_or_init(|| Arc::new(self.compute_links()))
            .clone()
    }

    /// Files other than `path` that define a requirement with this local ID.
    pub fn other_definitions(&self, local_id: &str, path: &Path) -> Vec<&Path> {
        self.definitions
            .get(local_id)
            .map(|paths| {
                paths
                    .iter()
                    .filter(|other| *other != path)
                    .map(PathBuf::as_path)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn compute_links(&self) -> LinkTable {
        let mut links: HashMap<String, Vec<RequirementLink>> = HashMap::new();
        let mut add = |target: &str, kind: LinkKind, path: &Path, range: Range<usize>| {
            if let Some(location) = self.items.get(target) {
                links
                    .entry(location.requirement_key.clone())
                    .or_default()
                    .push(RequirementLink {
                        kind,
                        path: path.to_path_buf(),
                        range,
                        target: target.to_string(),
                    });
            }
        };
        for (path, spec) in &self.specs {
            let document = &spec.document;
            let context = Some(document.spec_id.as_str());
            for task in &document.tasks {
                for reference in task.refs.iter().chain(&task.validates) {
                    if let RefExpr::Id { id, range, .. } = reference {
                        if let Some(key) = self.resolve(id, context) {
                            add(
                                key,
                                LinkKind::Task {
                                    id: task.id.clone(),
                                    status: task.status,
                                },
                                path,
                                range.clone(),
                            );
                        }
                    }
                }
            }
            for property in &document.properties {
                for reference in &property.validates {
                    if let RefExpr::Id { id, range, .. } = reference {
                        if let Some(key) = self.resolve(id, context) {
                            add(
                                key,
                                LinkKind::DesignProperty {
                                    id: property.local_id.clone(),
                                },
                                path,
                                range.clone(),
                            );
                        }
                    }
                }
            }
            for link in &document.links {
                if let Some(requirement) = &link.requirement {
                    add(
                        requirement,
                        LinkKind::SpecSideLink {
                            kind: link.kind,
                            target: link.target.clone(),
                        },
                        path,
                        link.range.clone(),
                    );
                }
            }
        }
        for (path, code) in &self.code {
            for trace in &code.traces {
                if let Some(key) = self.resolve(&trace.reference, None) {
                    let pin = trace.pin.as_ref().map(|(pin, _)| pin.clone());
                    add(
                        key,
                        LinkKind::Code {
                            role: trace.role,
                            source: trace.source,
                            pin,
                        },
                        path,
                        trace.reference_range.clone(),
                    );
                }
            }
        }
        links
    }

    /// Links into one requirement (and its criteria and scenarios).
    pub fn links_to(&self, requirement_key: &str) -> Vec<RequirementLink> {
        self.all_links()
            .get(requirement_key)
            .cloned()
            .unwrap_or_default()
    }

    /// Coverage of one requirement from its links.
    pub fn coverage(&self, requirement_key: &str) -> Coverage {
        let fingerprint = self
            .requirement(requirement_key)
            .map(|it| it.requirement.fingerprint.clone());
        coverage_of(&self.links_to(requirement_key), fingerprint.as_deref())
    }

    /// Requirements that govern the code at `offset` in `path`: traces whose scope
    /// contains it, `traces:` globs and spec-side links naming the file.
    pub fn governing(&self, path: &Path, offset: usize) -> Vec<Governing> {
        let mut governing = Vec::new();
        if let Some(code) = self.code.get(path) {
            for trace in &code.traces {
                if !(trace.scope.start <= offset && offset <= trace.scope.end) {
                    continue;
                }
                let Some(location) = self
                    .resolve(&trace.reference, None)
                    .and_then(|key| self.items.get(key))
                else {
                    continue;
                };
                let suspect = trace.pin.as_ref().is_some_and(|(pin, _)| {
                    self.requirement(&location.requirement_key)
                        .is_some_and(|it| it.requirement.fingerprint != *pin)
                });
                governing.push(Governing {
                    requirement_key: location.requirement_key.clone(),
                    role: trace.role,
                    source: GoverningSource::Trace(trace.source),
                    suspect,
                });
            }
        }
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        for spec in self.specs.values() {
            let document = &spec.document;
            if !document.traces.is_empty() && matches_any_glob(&document.traces, relative) {
                governing.extend(document.requirements.iter().map(|requirement| Governing {
                    requirement_key: requirement.key.clone(),
                    role: TraceRole::Impl,
                    source: GoverningSource::TracesGlob,
                    suspect: false,
                }));
            }
            let spec_folder = document.path.parent().unwrap_or(Path::new(""));
            for link in &document.links {
                let Some(requirement) = &link.requirement else {
                    continue;
                };
                if normalize_path(&spec_folder.join(&link.target)) == normalize_path(path) {
                    let role = if link.kind == SpecLinkKind::Test {
                        TraceRole::Test
                    } else {
                        TraceRole::Impl
                    };
                    governing.push(Governing {
                        requirement_key: requirement.clone(),
                        role,
                        source: GoverningSource::SpecSideLink,
                        suspect: false,
                    });
                }
            }
        }
        governing
    }

    /// The requirement, criterion or scenario ID at `offset`, in a spec or code file.
    pub fn id_at(&self, path: &Path, offset: usize) -> Option<IdAtOffset> {
        let contains = |range: &Range<usize>| range.start <= offset && offset <= range.end;
        if let Some(spec) = self.specs.get(path) {
            let document = &spec.document;
            for requirement in &document.requirements {
                if let Some(id_range) = requirement
                    .id_range
                    .as_ref()
                    .filter(|range| contains(range))
                {
                    return Some(IdAtOffset {
                        key: requirement.key.clone(),
                        range: id_range.clone(),
                    });
                }
                if contains(&requirement.heading_range) {
                    return Some(IdAtOffset {
                        key: requirement.key.clone(),
                        range: requirement.heading_range.clone(),
                    });
                }
                for criterion in &requirement.criteria {
                    if contains(&criterion.range) {
                        return Some(IdAtOffset {
                            key: criterion.key.clone(),
                            range: criterion.range.clone(),
                        });
                    }
                }
            }
            let context = Some(document.spec_id.as_str());
            let references = document
                .tasks
                .iter()
                .flat_map(|task| task.refs.iter().chain(&task.validates))
                .chain(
                    document
                        .properties
                        .iter()
                        .flat_map(|property| &property.validates),
                );
            for reference in references {
                if let RefExpr::Id { id, range, .. } = reference {
                    if contains(range) {
                        let key = self.resolve(id, context)?;
                        return Some(IdAtOffset {
                            key: key.to_string(),
                            range: range.clone(),
                        });
                    }
                }
            }
            return None;
        }
        let code = self.code.get(path)?;
        let trace = code
            .traces
            .iter()
            .find(|trace| contains(&trace.reference_range))?;
        let key = self.resolve(&trace.reference, None)?;
        Some(IdAtOffset {
            key: key.to_string(),
            range: trace.reference_range.clone(),
        })
    }

    /// Every place an item key is written: its definition, task references and code
    /// traces (the set a rename rewrites).
    pub fn references(&self, key: &str) -> Vec<(PathBuf, Range<usize>)> {
        let mut references = Vec::new();
        if let Some(location) = self.items.get(key) {
            if let Some(RequirementRef { requirement, .. }) =
                self.requirement(&location.requirement_key)
            {
                let definition = match location.part {
                    ItemPart::Requirement => requirement
                        .id_range
                        .clone()
                        .unwrap_or(requirement.heading_range.clone()),
                    ItemPart::Criterion(index) => requirement.criteria[index].range.clone(),
                    ItemPart::Scenario(index) => requirement.scenarios[index].range.clone(),
                };
                references.push((location.path.clone(), definition));
            }
        }
        let requirement_key = self
            .items
            .get(key)
            .map(|location| location.requirement_key.clone());
        for link in requirement_key
            .map(|it| self.links_to(&it))
            .unwrap_or_default()
        {
            if link.target == key {
                references.push((link.path, link.range));
            }
        }
        references
    }

    /// The outline of one spec file: requirements with their criteria and scenarios,
    /// then tasks with their subtasks.
    pub fn document_symbols(&self, path: &Path) -> Vec<SpecSymbol> {
        let Some(spec) = self.specs.get(path) else {
            return Vec::new();
        };
        let document = &spec.document;
        let mut symbols: Vec<SpecSymbol> = document
            .requirements
            .iter()
            .map(|requirement| {
                let criteria = requirement.criteria.iter().map(|criterion| SpecSymbol {
                    name: criterion.local_id.clone(),
                    detail: Some(criterion.statement.text.clone()),
                    kind: SpecSymbolKind::Criterion,
                    range: criterion.range.clone(),
                    selection_range: criterion.range.clone(),
                    children: Vec::new(),
                });
                let scenarios = requirement.scenarios.iter().map(|scenario| SpecSymbol {
                    name: format!("Scenario: {}", scenario.name),
                    detail: None,
                    kind: SpecSymbolKind::Scenario,
                    range: scenario.range.clone(),
                    selection_range: scenario.range.start..scenario.range.start,
                    children: Vec::new(),
                });
                SpecSymbol {
                    name: requirement.local_id.clone(),
                    detail: requirement.title.clone(),
                    kind: SpecSymbolKind::Requirement,
                    range: requirement.range.clone(),
                    selection_range: requirement
                        .id_range
                        .clone()
                        .unwrap_or(requirement.heading_range.clone()),
                    children: criteria.chain(scenarios).collect(),
                }
            })
            .collect();
        symbols.extend(document.properties.iter().map(|property| SpecSymbol {
            name: property.local_id.clone(),
            detail: Some(property.title.clone()),
            kind: SpecSymbolKind::Property,
            range: property.range.clone(),
            selection_range: property.range.clone(),
            children: Vec::new(),
        }));
        let task_symbol = |index: usize| {
            let task = &document.tasks[index];
            SpecSymbol {
                name: task.id.clone().unwrap_or_else(|| task.title.clone()),
                detail: Some(task.title.clone()),
                kind: SpecSymbolKind::Task,
                range: task.range.clone(),
                selection_range: task.range.clone(),
                children: Vec::new(),
            }
        };
        let mut task_symbols: Vec<Option<SpecSymbol>> = (0..document.tasks.len())
            .map(|index| Some(task_symbol(index)))
            .collect();
        for index in (0..document.tasks.len()).rev() {
            if let Some(parent) = document.tasks[index]
                .parent
                .filter(|parent| *parent < index)
            {
                if let Some(child) = task_symbols[index].take() {
                    if let Some(parent_symbol) = task_symbols[parent].as_mut() {
                        parent_symbol.children.insert(0, child);
                    }
                }
            }
        }
        symbols.extend(task_symbols.into_iter().flatten());
        symbols
    }

    /// Requirements whose key or title contains `query` (case-insensitive).
    pub fn workspace_symbols(&self, query: &str) -> Vec<WorkspaceSymbol> {
        let query = query.to_lowercase();
        self.requirements()
            .filter(|it| {
                it.requirement.key.to_lowercase().contains(&query)
                    || it
                        .requirement
                        .title
                        .as_deref()
                        .is_some_and(|title| title.to_lowercase().contains(&query))
            })
            .map(|it| WorkspaceSymbol {
                name: match &it.requirement.title {
                    Some(title) => format!("{} {title}", it.requirement.local_id),
                    None => it.requirement.local_id.clone(),
                },
                key: it.requirement.key.clone(),
                path: it.document.path.clone(),
                range: it.requirement.heading_range.clone(),
            })
            .collect()
    }

    /// IDs starting with `prefix` (case-insensitive), requirements and criteria.
    pub fn id_completions(&self, prefix: &str) -> Vec<IdCompletion> {
        let prefix = prefix.to_lowercase();
        let mut completions = Vec::new();
        for it in self.requirements() {
            let requirement = it.requirement;
            if it.document.format == Format::OpenSpecDelta {
                continue;
            }
            if requirement.local_id.to_lowercase().starts_with(&prefix)
                || requirement.key.to_lowercase().starts_with(&prefix)
            {
                completions.push(IdCompletion {
                    label: requirement.local_id.clone(),
                    key: requirement.key.clone(),
                    detail: requirement.title.clone(),
                });
            }
            for criterion in &requirement.criteria {
                if criterion.local_id.to_lowercase().starts_with(&prefix) {
                    completions.push(IdCompletion {
                        label: criterion.local_id.clone(),
                        key: criterion.key.clone(),
                        detail: Some(criterion.statement.text.clone()),
                    });
                }
            }
        }
        completions
    }

    fn rebuild_items(&mut self) {
        self.items.clear();
        self.by_local_id.clear();
        self.definitions.clear();
        for (path, spec) in &self.specs {
            let document = &spec.document;
            let is_delta = document.format == Format::OpenSpecDelta;
            for (requirement_index, requirement) in document.requirements.iter().enumerate() {
                let location = |part| ItemLocation {
                    path: path.clone(),
                    requirement: requirement_index,
                    part,
                    requirement_key: requirement.key.clone(),
                };
                self.items
                    .entry(requirement.key.clone())
                    .or_insert_with(|| location(ItemPart::Requirement));
                let mut local_names: Vec<(String, String)> = requirement
                    .aliases
                    .iter()
                    .chain(std::iter::once(&requirement.local_id))
                    .map(|name| (name.clone(), requirement.key.clone()))
                    .collect();
                for (index, criterion) in requirement.criteria.iter().enumerate() {
                    self.items
                        .entry(criterion.key.clone())
                        .or_insert_with(|| location(ItemPart::Criterion(index)));
                    local_names.push((criterion.local_id.clone(), criterion.key.clone()));
                }
                for (index, scenario) in requirement.scenarios.iter().enumerate() {
                    self.items
                        .entry(scenario.key.clone())
                        .or_insert_with(|| location(ItemPart::Scenario(index)));
                }
                if is_delta {
                    continue;
                }
                self.definitions
                    .entry(requirement.local_id.clone())
                    .or_default()
                    .push(path.clone());
                for (name, key) in local_names {
                    let keys = self.by_local_id.entry(name).or_default();
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
        }
    }
}

/// Whether a reference is a number that only a spec of its own gives meaning to:
/// Kiro's `1.2` and `Requirement 3`.
fn is_spec_local_reference(reference: &str) -> bool {
    let number = reference.strip_prefix("Requirement ").unwrap_or(reference);
    !number.is_empty()
        && number
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
}

/// Coverage from a requirement's links; `fingerprint` is its current fingerprint.
pub fn coverage_of(links: &[RequirementLink], fingerprint: Option<&str>) -> Coverage {
    let mut coverage = Coverage::default();
    for link in links {
        match &link.kind {
            LinkKind::Task { .. } => coverage.tasks += 1,
            LinkKind::DesignProperty { .. } => {}
            LinkKind::Code { role, pin, .. } => {
                match role {
                    TraceRole::Impl => coverage.implementations += 1,
                    TraceRole::Test => coverage.tests += 1,
                    TraceRole::Doc => {}
                    TraceRole::Mention => coverage.mentions += 1,
                }
                if pin.as_deref().is_some_and(|pin| Some(pin) != fingerprint) {
                    coverage.suspect += 1;
                }
            }
            LinkKind::SpecSideLink {
                kind: SpecLinkKind::Test,
                ..
            } => coverage.tests += 1,
            LinkKind::SpecSideLink {
                kind: SpecLinkKind::Generate | SpecLinkKind::Impl | SpecLinkKind::Describe,
                ..
            } => {
                coverage.implementations += 1;
            }
            LinkKind::SpecSideLink {
                kind: SpecLinkKind::Use,
                ..
            } => {}
        }
    }
    coverage
}

/// Whether `relative_path` matches one of `globs`; invalid globs match nothing.
pub fn matches_any_glob(globs: &[String], relative_path: &Path) -> bool {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        if let Ok(glob) = Glob::new(glob) {
            builder.add(glob);
        }
    }
    builder.build().is_ok_and(|set| set.is_match(relative_path))
}

/// Whether the index reads this file at all (a spec candidate or a source file), so
/// editors know which buffers and file events to pass on.
pub fn is_indexed_path(path: &Path) -> bool {
    is_candidate_spec_path(path) || is_source_path(path)
}

fn is_source_path(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| SOURCE_EXTENSIONS.contains(&extension))
}

impl ScannedFile {
    /// Reads `text` as the file at `path` of the workspace at `root`.
    pub fn scan(root: &Path, path: &Path, text: &str) -> ScannedFile {
        ScannedFile(scan_file(root, path, text.as_bytes()))
    }
}

fn scan_file(root: &Path, path: &Path, bytes: &[u8]) -> Option<Scanned> {
    let relative = path.strip_prefix(root).unwrap_or(path);
    if is_candidate_spec_path(path) {
        let native = std::str::from_utf8(bytes).is_ok_and(declares_native_spec);
        let classification = classify(relative, native)?;
        let document = parse_spec_bytes(path, &classification, bytes);
        let text: Arc<str> = Arc::from(std::str::from_utf8(bytes).unwrap_or_default());
        return Some(Scanned::Spec(
            path.to_path_buf(),
            Box::new(IndexedSpec { document, text }),
        ));
    }
    if !is_source_path(path)
        || bytes.len() > MAX_SOURCE_FILE_BYTES
        || memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
    {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let traces = scan_code(text, crate::syntax::Language::from_path(path));
    if traces.is_empty() {
        return None;
    }
    Some(Scanned::Code(
        path.to_path_buf(),
        IndexedCode {
            traces,
            text: Arc::from(text),
        },
    ))
}

/// Resolves `.` and `..` without touching the file system.
fn normalize_path(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normalized.pop();
            }
            other => normalized.push(other),
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "---\ndirector-spec: 1\nspec: auth\ntraces: [src/session/**]\n---\n# Auth\n## Purpose\nP.\n## Requirements\n### Requirement: Idle timeout\n**ID**: AUTH-003\nTHE Session service SHALL expire idle sessions after 30 minutes.\n1. IF a token is invalid, THEN THE API SHALL respond 401.\n#### Scenario: Idle\n- WHEN 30 minutes pass\n- THEN the next request gets 401\n";
    const TASKS: &str = "---\ndirector-spec: 1\nspec: auth\n---\n# Tasks\n- [x] 1. Expire sessions\n  - _Requirements: AUTH-003, AUTH-003.1_\n";
    const CODE: &str = "import x\n\n# @spec AUTH-003\ndef expire():\n    pass\n\n# @spec(test) auth#AUTH-003.1@deadbeef\ndef test_401():\n    pass\n\n# mentions AUTH-003 and UNKNOWN-1\n";

    fn index() -> SpecIndex {
        let root = Path::new("/w");
        let mut index = SpecIndex::new(root);
        index.update_file(&root.join("specs/auth.md"), SPEC);
        index.update_file(&root.join("specs/tasks.md"), TASKS);
        index.update_file(&root.join("src/expiry.py"), CODE);
        index
    }

    #[test]
    fn resolves_keys_suffixes_and_criteria() {
        let index = index();
        assert_eq!(index.resolve("AUTH-003", None), Some("auth#AUTH-003"));
        assert_eq!(index.resolve("AUTH-003.1", None), Some("auth#AUTH-003.1"));
        assert_eq!(index.resolve("auth#AUTH-003", None), Some("auth#AUTH-003"));
        assert_eq!(index.resolve("idle-timeout", None), Some("auth#AUTH-003"));
        assert_eq!(index.resolve("AUTH-999", None), None);
        let found = index.requirement("auth#AUTH-003").expect("test fixture");
        assert_eq!(found.requirement.title.as_deref(), Some("Idle timeout"));
    }

    #[test]
    fn links_and_coverage_count_tasks_code_tests_and_suspects() {
        let index = index();
        let coverage = index.coverage("auth#AUTH-003");
        assert_eq!(
            coverage,
            Coverage {
                tasks: 2,
                implementations: 1,
                tests: 1,
                suspect: 1,
                mentions: 1
            }
        );
        let references = index.references("auth#AUTH-003.1");
        let paths: Vec<_> = references
            .iter()
            .map(|(path, _)| path.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            paths,
            ["/w/specs/auth.md", "/w/specs/tasks.md", "/w/src/expiry.py"]
        );
    }

    #[test]
    fn governing_requirements_at_code_locations() {
        let index = index();
        let path = Path::new("/w/src/expiry.py");
        let inside = CODE.find("pass").expect("test fixture");
        let governing = index.governing(path, inside);
        assert_eq!(governing.len(), 1);
        assert_eq!(
            (governing[0].role, governing[0].suspect),
            (TraceRole::Impl, false)
        );
        let test = index.governing(path, CODE.find("def test_401").expect("test fixture"));
        assert!(
            test.iter()
                .any(|it| it.role == TraceRole::Test && it.suspect)
        );
        assert!(
            index
                .governing(path, CODE.find("import").expect("test fixture"))
                .is_empty()
        );
        let by_glob = index.governing(Path::new("/w/src/session/store.py"), 0);
        assert_eq!(by_glob[0].source, GoverningSource::TracesGlob);
    }

    #[test]
    fn ids_at_offsets_symbols_and_completion() {
        let index = index();
        let at_tag = index
            .id_at(
                Path::new("/w/src/expiry.py"),
                CODE.find("AUTH-003").expect("test fixture") + 2,
            )
            .expect("test fixture");
        assert_eq!(at_tag.key, "auth#AUTH-003");
        let in_tasks = index
            .id_at(
                Path::new("/w/specs/tasks.md"),
                TASKS.find("AUTH-003.1").expect("test fixture"),
            )
            .expect("test fixture");
        assert_eq!(in_tasks.key, "auth#AUTH-003.1");
        let definition = index
            .id_at(
                Path::new("/w/specs/auth.md"),
                SPEC.find("AUTH-003").expect("test fixture"),
            )
            .expect("test fixture");
        assert_eq!(&SPEC[definition.range], "AUTH-003");
        let symbols = index.document_symbols(Path::new("/w/specs/auth.md"));
        assert_eq!(symbols[0].name, "AUTH-003");
        assert_eq!(symbols[0].children.len(), 2);
        assert_eq!(index.workspace_symbols("idle")[0].key, "auth#AUTH-003");
        let labels: Vec<_> = index
            .id_completions("auth-")
            .into_iter()
            .map(|it| it.label)
            .collect();
        assert_eq!(labels, ["AUTH-003", "AUTH-003.1"]);
    }

    #[test]
    fn incremental_updates_and_removal() {
        let mut index = index();
        index.update_file(
            Path::new("/w/specs/auth.md"),
            &SPEC.replace("AUTH-003", "AUTH-004"),
        );
        assert_eq!(index.resolve("AUTH-003", None), None);
        assert_eq!(index.coverage("auth#AUTH-004").tasks, 0);
        index.remove_file(Path::new("/w/specs/auth.md"));
        assert_eq!(index.requirements().count(), 0);
        index.update_file(Path::new("/w/src/expiry.py"), "no tags here\n");
        assert!(index.code_file(Path::new("/w/src/expiry.py")).is_none());
    }

    #[test]
    fn builds_from_disk_honouring_gitignore_and_skipping_junk() {
        let root = tempfile::tempdir().expect("test fixture");
        let write = |path: &str, bytes: &[u8]| {
            let full = root.path().join(path);
            std::fs::create_dir_all(full.parent().expect("test fixture")).expect("test fixture");
            std::fs::write(full, bytes).expect("test fixture");
        };
        write(".gitignore", b"ignored/\n");
        write(".kiro/specs/login/requirements.md", b"# R\n## Requirements\n### Requirement 1\n#### Acceptance Criteria\n1. WHEN x, THE S SHALL y\n");
        write(
            ".kiro/specs/login/tasks.md",
            b"- [ ] 1. Do\n  - _Requirements: 1.1, 9.9_\n",
        );
        write("src/a.rs", b"// @spec login#1.1\nfn a() {}\n");
        write("ignored/b.rs", b"// @spec login#1.1\nfn b() {}\n");
        write("target/c.rs", b"// @spec login#1.1\nfn c() {}\n");
        write("node_modules/d.js", b"// @spec login#1.1\n");
        write("src/binary.rs", b"// @spec login#1.1\0\0");
        write("specs/001-x/spec.md", b"\xff\xfe not utf8");
        let index = SpecIndex::build(root.path());
        assert_eq!(index.code_files().count(), 1);
        assert_eq!(
            index.coverage("login#R1"),
            Coverage {
                tasks: 1,
                implementations: 1,
                ..Coverage::default()
            }
        );
        let unreadable = index
            .specs()
            .find(|(path, _)| path.ends_with("specs/001-x/spec.md"))
            .expect("test fixture");
        assert!(!unreadable.1.document.problems.is_empty());
    }

    #[test]
    fn cyclic_and_self_references_do_not_hang() {
        let root = Path::new("/w");
        let mut index = SpecIndex::new(root);
        let tasks = "---\ndirector-spec: 1\nspec: t\n---\n- [ ] 1. A\n  - _Depends: 2_\n  - _Requirements: 1_\n- [ ] 2. B\n  - _Depends: 1_\n- [ ] 1.1 child of itself?\n";
        index.update_file(&root.join("tasks.md"), tasks);
        let symbols = index.document_symbols(&root.join("tasks.md"));
        assert_eq!(symbols.len(), 2);
        assert_eq!(
            index.id_at(
                &root.join("tasks.md"),
                tasks.find("_Requirements: 1").expect("test fixture") + 15
            ),
            None
        );
    }
}
