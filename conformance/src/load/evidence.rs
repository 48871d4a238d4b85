//! What the invariants are checked over, kept together: the folded journal, the
//! vends, the machines' final states and the invoices handed to customers. One run
//! checks its own; a shard also writes it as `load-evidence.jsonl` (the journal as the
//! facts it folded, not as a summary), and `load merge` reads every shard's, folds the
//! facts of all of them again in journal order and checks the invariants over the whole.
//!
//! # Implementation rationale
//! Shards share one mock, so each reads the same journal, from when it started to when
//! it ended. Merging summaries per invoice would have to guess which shard saw an
//! invoice's whole life; merging the facts by sequence number is exact: an entry two
//! shards read is one entry, and the merged ledger is the journal folded once.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::facts::Fact;
use super::invariants::{self, FinalInvoice, JournalStats, Observed, Vend, Violation};
use super::ledger::{Gap, Ledger};
use super::schedule::Run;
use super::shard::Shard;
use mock_glase::mock::InvoiceOutcome;

/// The evidence file in a shard's `--out` directory.
pub const FILE: &str = "load-evidence.jsonl";
/// Its format; `load merge` refuses another.
const VERSION: u32 = 1;

#[derive(Debug)]
pub struct Evidence {
    pub shard: Shard,
    pub ledger: Ledger,
    /// The journal's counters when the follower finished.
    pub journal: JournalStats,
    pub vends: Vec<Vend>,
    /// (token, driver state) of every machine used, at the end.
    pub machines: Vec<(String, String)>,
    pub machine_invoices: HashSet<String>,
    pub shop_invoices: HashSet<String>,
}

/// One line of the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
enum Line {
    Head {
        version: u32,
        shard: Shard,
        journal: JournalStats,
        /// Where the follower started (entries after it were read).
        after: u64,
        last_seq: u64,
        entries: u64,
        gaps: Vec<(u64, u64)>,
    },
    Fact(Fact),
    Vend(Vend),
    Machine {
        token: String,
        state: String,
    },
    Handed {
        invoice: String,
        /// `machine` (a scan was answered with it) or `shop` (a checkout was).
        at: String,
    },
}

/// A file that is not a shard's evidence, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("{path}: cannot read it ({source}): a shard writes it into its --out directory with --shard")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} line {line}: {why}")]
    Line { path: PathBuf, line: usize, why: String },
}

impl Evidence {
    /// Everything a finished run saw.
    pub fn of_run(
        run: &Run,
        ledger: Ledger,
        journal: JournalStats,
        machines: Vec<(String, String)>,
        shard: Shard,
    ) -> Self {
        let vends = run.world.vends.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (machine_invoices, shop_invoices) = run.world.handed.sets();
        Self { shard, ledger, journal, vends, machines, machine_invoices, shop_invoices }
    }

    /// What the journal said, before any vend, machine or handed-out invoice is added.
    fn of_journal(shard: Shard, ledger: Ledger, journal: JournalStats) -> Self {
        Self {
            shard,
            ledger,
            journal,
            vends: Vec::new(),
            machines: Vec::new(),
            machine_invoices: HashSet::new(),
            shop_invoices: HashSet::new(),
        }
    }

    /// The invoices this run handed to its customers or dispensed for.
    pub fn own_invoices(&self) -> HashSet<String> {
        let vended = self.vends.iter().filter_map(|v| v.invoice.clone());
        self.machine_invoices.iter().chain(&self.shop_invoices).cloned().chain(vended).collect()
    }

    /// Every invariant, over the invoices in `scope` (all the journal's when `None`);
    /// `outcomes` are the mock's own final states where it still keeps them (it may
    /// forget finished invoices to bound its memory).
    pub fn check(&self, outcomes: &[InvoiceOutcome], scope: Option<&HashSet<String>>) -> Vec<Violation> {
        let ledger = match scope {
            Some(ours) => Cow::Owned(self.ledger.only(|r| ours.contains(r))),
            None => Cow::Borrowed(&self.ledger),
        };
        let mut invoices: HashMap<String, FinalInvoice> = ledger
            .invoices
            .iter()
            .filter_map(|(reference, facts)| {
                let status = facts.status?;
                Some((reference.clone(), FinalInvoice { status, paid: facts.payments.last().copied() }))
            })
            .collect();
        for outcome in outcomes.iter().filter(|o| scope.is_none_or(|ours| ours.contains(&o.reference))) {
            invoices.insert(outcome.reference.clone(), FinalInvoice { status: outcome.status, paid: outcome.paid });
        }
        invariants::check(&Observed {
            ledger: &ledger,
            journal: self.journal,
            invoices: &invoices,
            vends: &self.vends,
            machines: &self.machines,
            machine_invoices: &self.machine_invoices,
            shop_invoices: &self.shop_invoices,
        })
    }

    /// Writes `load-evidence.jsonl` into `dir`; returns its path. Needs a ledger that
    /// kept its facts.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        let ledger = &self.ledger;
        let head = Line::Head {
            version: VERSION,
            shard: self.shard,
            journal: self.journal,
            after: ledger.started_after,
            last_seq: ledger.last_seq,
            entries: ledger.entries,
            gaps: ledger.gaps.iter().map(|g| (g.expected, g.got)).collect(),
        };
        let mut line = |line: &Line| -> std::io::Result<()> {
            serde_json::to_writer(&mut out, line).map_err(std::io::Error::other)?;
            out.write_all(b"\n")
        };
        line(&head)?;
        for fact in ledger.kept.iter().flatten() {
            line(&Line::Fact(fact.clone()))?;
        }
        for vend in &self.vends {
            line(&Line::Vend(vend.clone()))?;
        }
        for (token, state) in &self.machines {
            line(&Line::Machine { token: token.clone(), state: state.clone() })?;
        }
        for (set, at) in [(&self.machine_invoices, "machine"), (&self.shop_invoices, "shop")] {
            let mut sorted: Vec<&String> = set.iter().collect();
            sorted.sort();
            for invoice in sorted {
                line(&Line::Handed { invoice: invoice.clone(), at: at.to_owned() })?;
            }
        }
        out.flush()?;
        Ok(path)
    }

    /// Reads a shard's `load-evidence.jsonl`.
    pub fn read(path: &Path) -> Result<Self, EvidenceError> {
        let io = |source| EvidenceError::Io { path: path.to_owned(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut evidence: Option<Self> = None;
        let mut facts = Vec::new();
        for (number, text) in std::io::BufReader::new(file).lines().enumerate() {
            let text = text.map_err(io)?;
            let wrong = |why: String| EvidenceError::Line { path: path.to_owned(), line: number + 1, why };
            if text.trim().is_empty() {
                continue;
            }
            let line: Line = serde_json::from_str(&text).map_err(|e| wrong(e.to_string()))?;
            let Some(read) = evidence.as_mut() else {
                evidence = Some(head(line).map_err(wrong)?);
                continue;
            };
            match line {
                Line::Head { .. } => return Err(wrong("a second head line".to_owned())),
                Line::Fact(fact) => facts.push(fact),
                Line::Vend(vend) => read.vends.push(vend),
                Line::Machine { token, state } => read.machines.push((token, state)),
                Line::Handed { invoice, at } => match at.as_str() {
                    "machine" => drop(read.machine_invoices.insert(invoice)),
                    "shop" => drop(read.shop_invoices.insert(invoice)),
                    other => return Err(wrong(format!("handed at {other:?}: expected machine or shop"))),
                },
            }
        }
        let mut evidence = evidence.ok_or_else(|| EvidenceError::Line {
            path: path.to_owned(),
            line: 1,
            why: "empty: not a shard's evidence".to_owned(),
        })?;
        for fact in &facts {
            evidence.ledger.apply(fact);
        }
        evidence.ledger.kept = Some(facts);
        Ok(evidence)
    }

    /// The shards' evidence as one: the facts of all of them folded again in journal
    /// order (each entry once), the journal's counters as the last shard to finish saw
    /// them, and every shard's gaps, including the entries a shard never got to.
    pub fn merge(parts: Vec<Self>) -> Self {
        let mut facts: Vec<Fact> = parts.iter().flat_map(|p| p.ledger.kept.iter().flatten().cloned()).collect();
        facts.sort_by_key(|f| f.seq);
        facts.dedup_by(|a, b| a.seq == b.seq);
        let journal = parts.iter().map(|p| p.journal).max_by_key(|j| j.last_seq).unwrap_or_default();
        let mut ledger = Ledger::after(parts.iter().map(|p| p.ledger.started_after).min().unwrap_or(0));
        ledger.last_seq = journal.last_seq;
        for part in &parts {
            ledger.entries = ledger.entries.max(part.ledger.last_seq.saturating_sub(ledger.started_after));
            ledger.gaps.extend(part.ledger.gaps.iter().copied());
            if part.ledger.last_seq < part.journal.last_seq {
                ledger.gaps.push(Gap { expected: part.ledger.last_seq + 1, got: part.journal.last_seq + 1 });
            }
        }
        for fact in &facts {
            ledger.apply(fact);
        }
        let mut merged = Self::of_journal(Shard::WHOLE, ledger, journal);
        for part in parts {
            merged.vends.extend(part.vends);
            merged.machines.extend(part.machines);
            merged.machine_invoices.extend(part.machine_invoices);
            merged.shop_invoices.extend(part.shop_invoices);
        }
        merged
    }
}

/// The evidence a head line starts.
fn head(line: Line) -> Result<Evidence, String> {
    let Line::Head { version, shard, journal, after, last_seq, entries, gaps } = line else {
        return Err("the first line must be the head (is this a load-evidence.jsonl?)".to_owned());
    };
    if version != VERSION {
        return Err(format!("evidence version {version}; this glase-conformance reads version {VERSION}"));
    }
    let mut ledger = Ledger::after(after);
    ledger.last_seq = last_seq;
    ledger.entries = entries;
    ledger.gaps = gaps.into_iter().map(|(expected, got)| Gap { expected, got }).collect();
    Ok(Evidence::of_journal(shard, ledger, journal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::facts::Change;
    use glase_protocol::InvoiceStatus::{self, *};
    use rust_decimal::Decimal;

    fn fact(seq: u64, invoice: &str, change: Change) -> Fact {
        Fact { seq, invoice: invoice.to_owned(), change }
    }

    fn status(seq: u64, invoice: &str, to: InvoiceStatus) -> Fact {
        fact(seq, invoice, Change::Status { to })
    }

    fn issued(seq: u64, invoice: &str) -> Fact {
        fact(seq, invoice, Change::Issued { reservation: true, amount: Decimal::new(2000, 2) })
    }

    /// A shard that followed the journal from `after` to `last` (of `journal_last`) and
    /// kept `facts`.
    fn shard(index: u32, after: u64, last: u64, journal_last: u64, facts: Vec<Fact>) -> Evidence {
        let mut ledger = Ledger::after(after);
        ledger.keep_facts();
        for fact in &facts {
            ledger.apply(fact);
        }
        ledger.last_seq = last;
        ledger.entries = last - after;
        Evidence {
            shard: Shard { index, count: 2 },
            ledger,
            journal: JournalStats { kept: journal_last as usize, dropped: 0, last_seq: journal_last },
            vends: Vec::new(),
            machines: vec![(format!("machine-{index}"), "idle".to_owned())],
            machine_invoices: HashSet::from([format!("shard-{index}")]),
            shop_invoices: HashSet::new(),
        }
    }

    fn dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("glase-evidence-{}-{name}", std::process::id()))
    }

    #[test]
    fn evidence_reads_back_as_it_was_written() {
        let mut written = shard(1, 10, 14, 14, vec![issued(11, "A"), status(12, "A", Reserved)]);
        written.ledger.gaps.push(Gap { expected: 13, got: 14 });
        written.vends.push(Vend {
            machine: "machine-1".to_owned(),
            purchase: "p1".to_owned(),
            invoice: Some("A".to_owned()),
            total: Decimal::new(620, 2),
        });
        written.shop_invoices.insert("S".to_owned());
        let dir = dir("round-trip");
        let path = written.write(&dir).unwrap();
        let read = Evidence::read(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((read.shard, read.journal), (written.shard, written.journal));
        assert_eq!(read.ledger.invoices, written.ledger.invoices);
        assert_eq!(read.ledger.kept, written.ledger.kept);
        assert_eq!(read.ledger.gaps, written.ledger.gaps);
        assert_eq!(
            (read.ledger.started_after, read.ledger.last_seq, read.ledger.entries),
            (written.ledger.started_after, written.ledger.last_seq, written.ledger.entries)
        );
        assert_eq!((&read.vends, &read.machines), (&written.vends, &written.machines));
        assert_eq!((&read.machine_invoices, &read.shop_invoices), (&written.machine_invoices, &written.shop_invoices));
    }

    #[test]
    fn files_that_are_not_evidence_are_refused_with_the_line() {
        let dir = dir("bad");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FILE);
        for (text, says) in [
            ("", "empty"),
            ("{\"type\":\"vend\"}\n", "line 1"),
            (
                "{\"type\":\"head\",\"version\":9,\"shard\":{\"index\":0,\"count\":1},\"journal\":{\"kept\":0,\"dropped\":0,\"last_seq\":0},\"after\":0,\"lastSeq\":0,\"entries\":0,\"gaps\":[]}\n",
                "version 9",
            ),
            ("not json\n", "line 1"),
        ] {
            std::fs::write(&path, text).unwrap();
            let error = Evidence::read(&path).unwrap_err().to_string();
            assert!(error.contains(says), "{text:?}: {error}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Two shards read overlapping stretches of one journal: each entry counts once, an
    /// invoice issued while only one shard was reading and paid while only the other
    /// was is followed whole, and a shard that stopped short of the journal's end leaves
    /// a gap the merged check reports.
    #[test]
    fn merging_folds_each_entry_once_across_shards() {
        let early = shard(0, 0, 6, 6, vec![issued(1, "A"), status(3, "A", Reserved), issued(5, "B")]);
        let late = shard(1, 2, 9, 9, vec![status(3, "A", Reserved), issued(5, "B"), status(8, "A", Canceled)]);
        let merged = Evidence::merge(vec![early, late]);
        let a = &merged.ledger.invoices["A"];
        assert_eq!((a.reserved, a.status), (Some(Decimal::new(2000, 2)), Some(Canceled)));
        assert_eq!(merged.ledger.invoices.len(), 2);
        assert_eq!((merged.ledger.last_seq, merged.journal.last_seq, merged.ledger.entries), (9, 9, 9));
        assert!(merged.ledger.gaps.is_empty());
        assert_eq!(merged.machines.len(), 2);
        assert_eq!(merged.machine_invoices.len(), 2);
        let violations = merged.check(&[], None);
        let ids: Vec<&str> = violations.iter().map(|v| v.invariant).collect();
        // B is ISSUED and was never handed out: the documented exception; A ended.
        assert_eq!(ids, Vec::<&str>::new(), "{violations:?}");

        let short = shard(0, 0, 4, 6, vec![issued(1, "A")]);
        let other = shard(1, 0, 9, 9, vec![issued(1, "A"), status(8, "A", Canceled)]);
        let merged = Evidence::merge(vec![short, other]);
        assert_eq!(merged.ledger.gaps, vec![Gap { expected: 5, got: 7 }]);
        let violations = merged.check(&[], None);
        assert!(violations.iter().any(|v| v.invariant == "JOURNAL-COMPLETE"), "{violations:?}");
    }
}
