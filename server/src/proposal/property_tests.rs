//! Random interleavings of user edits, accepts (of one hunk or several at
//! once, reported back the ways editors do) and rejects, checking that a hunk
//! is never applied to text other than its base text and that every accept
//! settles, with the expected text where the hunk says.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use proptest::prelude::*;
use ropey::Rope;
use url::Url;

use super::{AcceptEdit, HunkState, ProposalStore, diff_hunks};
use crate::document::{
    ContentChange, Document, Position, PositionEncoding, Range, byte_range_to_range,
};
use crate::ids::{HunkId, RunId};

fn piece() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("x"),
        Just(" "),
        Just("😀"),
        Just("中"),
        Just("\n"),
        Just("\r\n"),
    ]
}

fn text_strategy(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 0..max).prop_map(|pieces| pieces.concat())
}

/// How the simulated editor reports an accept back in `didChange`.
#[derive(Debug, Clone, Copy)]
enum Report {
    /// The exact replacements, one content change each, as VS Code does.
    Exact,
    /// One change over the whole lines from the first edit to the last, as
    /// Neovim does.
    WholeLines,
    /// The whole text, as editors with full synchronization do.
    WholeText,
    /// One `didChange` per edit.
    OneChangeEach,
}

#[derive(Debug, Clone)]
enum Step {
    UserEdit {
        start: f64,
        length: f64,
        text: String,
    },
    Accept {
        picks: Vec<usize>,
        report: Report,
        answer_first: bool,
        refused: bool,
        /// The user types this (start, length, text) before the editor gets
        /// to the edit, which it then refuses as its version is past.
        typed_meanwhile: Option<(f64, f64, String)>,
    },
    Reject {
        pick: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (0.0..1.0f64, 0.0..0.2f64, text_strategy(4))
            .prop_map(|(start, length, text)| Step::UserEdit { start, length, text }),
        3 => (
            proptest::collection::vec(any::<usize>(), 1..4),
            prop_oneof![Just(Report::Exact), Just(Report::WholeLines), Just(Report::WholeText), Just(Report::OneChangeEach)],
            any::<bool>(),
            proptest::bool::weighted(0.15),
            proptest::option::weighted(0.2, (0.0..1.0f64, 0.0..0.2f64, text_strategy(3))),
        )
            .prop_map(|(picks, report, answer_first, refused, typed_meanwhile)| Step::Accept { picks, report, answer_first, refused, typed_meanwhile }),
        1 => any::<usize>().prop_map(|pick| Step::Reject { pick }),
    ]
}

/// A proposal: a region of the document and the agent's replacement for it.
#[derive(Debug, Clone)]
struct Proposal {
    start: f64,
    length: f64,
    replacement: String,
}

fn proposal() -> impl Strategy<Value = Proposal> {
    (0.0..1.0f64, 0.0..1.0f64, text_strategy(12)).prop_map(|(start, length, replacement)| {
        Proposal {
            start,
            length,
            replacement,
        }
    })
}

/// The nearest char boundary at or below `offset` that is not inside `\r\n`.
fn boundary_at_or_before(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset)
        || (offset > 0
            && text.as_bytes()[offset - 1] == b'\r'
            && text.as_bytes().get(offset) == Some(&b'\n'))
    {
        offset -= 1;
    }
    offset
}

fn pick_range(text: &str, start: f64, length: f64) -> std::ops::Range<usize> {
    let start = boundary_at_or_before(text, (start * text.len() as f64) as usize);
    let end = boundary_at_or_before(
        text,
        (start + (length * text.len() as f64) as usize).min(text.len()),
    );
    start..end
}

fn uri() -> Url {
    Url::parse("file:///p.txt").unwrap()
}

/// Sends one `didChange` through the document (so edits are minimal) and the store.
fn did_change(document: &mut Document, store: &mut ProposalStore, changes: &[ContentChange]) {
    let before = document.text.clone();
    let edits = document
        .apply_changes(document.version + 1, changes, PositionEncoding::Utf16)
        .unwrap();
    store.apply_edits(&uri(), &edits, &before, &document.text);
}

/// The user replaces a part of the text (picked by `start` and `length`) by
/// `text`, in the document, the store and the model `expected`.
fn user_types(
    document: &mut Document,
    store: &mut ProposalStore,
    expected: &mut String,
    start: f64,
    length: f64,
    text: &str,
) {
    let range = pick_range(expected, start, length);
    let change = ContentChange {
        range: Some(byte_range_to_range(
            &document.text,
            range.clone(),
            PositionEncoding::Utf16,
        )),
        text: text.to_owned(),
    };
    expected.replace_range(range, text);
    did_change(document, store, &[change]);
}

/// The `didChange` notifications an editor sends after applying `edits`
/// (in document order, not overlapping) to `text`.
fn reported_changes(text: &Rope, edits: &[AcceptEdit], report: Report) -> Vec<Vec<ContentChange>> {
    let exact = |edit: &AcceptEdit| ContentChange {
        range: Some(byte_range_to_range(
            text,
            edit.range.clone(),
            PositionEncoding::Utf16,
        )),
        text: edit.new_text.clone(),
    };
    let mut after = text.to_string();
    for edit in edits.iter().rev() {
        after.replace_range(edit.range.clone(), &edit.new_text);
    }
    match report {
        Report::Exact => vec![edits.iter().rev().map(exact).collect()],
        Report::OneChangeEach => edits.iter().rev().map(|edit| vec![exact(edit)]).collect(),
        Report::WholeText => vec![vec![ContentChange {
            range: None,
            text: after,
        }]],
        Report::WholeLines => {
            let first_line = text.byte_to_line(edits[0].range.start);
            let last_line = text.byte_to_line(edits[edits.len() - 1].range.end);
            let lines_start = text.line_to_byte(first_line);
            let lines_end = text.line_to_byte((last_line + 1).min(text.len_lines()));
            let growth: isize = edits
                .iter()
                .map(|edit| edit.new_text.len() as isize - edit.range.len() as isize)
                .sum();
            let replaced = after[lines_start..lines_end.saturating_add_signed(growth)].to_string();
            let end = if last_line + 1 < text.len_lines() {
                Position {
                    line: (last_line + 1) as u32,
                    character: 0,
                }
            } else {
                byte_range_to_range(text, lines_end..lines_end, PositionEncoding::Utf16).end
            };
            vec![vec![ContentChange {
                range: Some(Range {
                    start: Position {
                        line: first_line as u32,
                        character: 0,
                    },
                    end,
                }),
                text: replaced,
            }]]
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn hunks_are_only_ever_applied_to_their_base_text(
        initial in text_strategy(30),
        proposals in proptest::collection::vec(proposal(), 1..3),
        steps in proptest::collection::vec(step(), 1..25),
    ) {
        let mut document = Document::new(uri(), 1, "plaintext".into(), &initial);
        let mut store = ProposalStore::new();
        for (run, proposal) in proposals.iter().enumerate() {
            let region = pick_range(&initial, proposal.start, proposal.length);
            let diffs = diff_hunks(&initial[region.clone()], &proposal.replacement);
            store.add(RunId(run as u64), &uri(), region.start, diffs, &document.text);
        }
        // The model: the same user edits and accepted replacements on a String.
        let mut expected = initial.clone();
        let mut accepted_with_intact_base = Vec::new();

        for step in steps {
            match step {
                Step::UserEdit { start, length, text } => {
                    user_types(&mut document, &mut store, &mut expected, start, length, &text);
                }
                Step::Accept { picks, report, answer_first, refused, typed_meanwhile } => {
                    let open: Vec<_> = store
                        .open_hunks(&uri())
                        .into_iter()
                        .filter(|hunk| hunk.state == HunkState::Open)
                        .map(|hunk| hunk.id)
                        .collect();
                    if open.is_empty() {
                        continue;
                    }
                    let chosen: Vec<HunkId> = picks.iter().map(|pick| open[pick % open.len()]).collect();
                    let accepted = store.begin_accept(&chosen, &document.text).unwrap();
                    let (ids, edits): (Vec<HunkId>, Vec<AcceptEdit>) = accepted.into_iter().unzip();
                    for (id, edit) in ids.iter().zip(&edits) {
                        // Independently of the store: the model still holds the base text there.
                        prop_assert_eq!(&expected[edit.range.clone()], store.get(*id).unwrap().base_text.as_str());
                    }
                    if let Some((start, length, text)) = typed_meanwhile {
                        user_types(&mut document, &mut store, &mut expected, start, length, &text);
                        prop_assert_eq!(store.settle_accept(&ids, false, true, &document.text), ids.clone());
                        // Open again only where the base text still is; never accepted.
                        for hunk in ids.iter().filter_map(|id| store.get(*id)) {
                            match hunk.state {
                                HunkState::Open => prop_assert_eq!(&expected[hunk.range.clone()], hunk.base_text.as_str()),
                                state => prop_assert_eq!(state, HunkState::Conflicted),
                            }
                        }
                        continue;
                    }
                    if refused {
                        prop_assert_eq!(store.settle_accept(&ids, false, true, &document.text), ids.clone());
                        for id in &ids {
                            prop_assert_eq!(store.get(*id).unwrap().state, HunkState::Open);
                        }
                        continue;
                    }
                    for edit in edits.iter().rev() {
                        expected.replace_range(edit.range.clone(), &edit.new_text);
                    }
                    let changes = reported_changes(&document.text, &edits, report);
                    let mut landed = Vec::new();
                    if answer_first {
                        prop_assert!(store.settle_accept(&ids, true, false, &document.text).is_empty());
                    }
                    for change in changes {
                        did_change(&mut document, &mut store, &change);
                        // Each hunk lands where the text now has its new text.
                        for hunk in ids.iter().filter_map(|id| store.get(*id)) {
                            if hunk.state == HunkState::Accepted && !landed.contains(&hunk.id) {
                                prop_assert_eq!(document.slice(hunk.range.clone()), hunk.new_text.clone());
                                landed.push(hunk.id);
                            }
                        }
                    }
                    if !answer_first {
                        prop_assert!(store.settle_accept(&ids, true, true, &document.text).is_empty());
                    }
                    for id in &ids {
                        let hunk = store.get(*id).unwrap();
                        prop_assert_eq!(hunk.state, HunkState::Accepted);
                        prop_assert!(!accepted_with_intact_base.contains(id));
                        accepted_with_intact_base.push(*id);
                    }
                }
                Step::Reject { pick } => {
                    let pending = store.open_hunks(&uri());
                    if pending.is_empty() {
                        continue;
                    }
                    let id = pending[pick % pending.len()].id;
                    store.reject(id).unwrap();
                    prop_assert_eq!(store.get(id).unwrap().state, HunkState::Rejected);
                }
            }

            prop_assert_eq!(document.text.to_string(), expected.clone());
            for hunk in store.open_hunks(&uri()) {
                prop_assert_ne!(hunk.state, HunkState::Applying);
                if hunk.state == HunkState::Open {
                    prop_assert_eq!(&expected[hunk.range.clone()], hunk.base_text.as_str());
                }
            }
            for run in 0..proposals.len() {
                for hunk in store.hunks_of_run(RunId(run as u64)) {
                    if hunk.state == HunkState::Accepted {
                        prop_assert!(accepted_with_intact_base.contains(&hunk.id));
                    }
                }
            }
        }
    }
}
