//! Where the room is stuck: per kata, how many learners are failing it and with what.
//!
//! Failures are counted by their grouping text (`failures::group_text`), so learners with the
//! same bug count together whatever their thread ids. Kept up to date report by report (take the old row out, put the new one in), so a summary
//! costs a pass over the katas, not over every learner.

use crate::failures::group_text;
use room_protocol::{KataState, Status, Summary};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default, Clone)]
struct KataTally {
    failing: u32,
    /// How many of those learners see each failure, by grouping text.
    failures: HashMap<String, u32>,
}

/// Failing learners per kata, in course order.
#[derive(Debug)]
pub struct Tally {
    /// Kata names in course order; ties go to the earlier one.
    names: Vec<String>,
    index: HashMap<String, usize>,
    katas: Vec<KataTally>,
}

impl Tally {
    pub fn new(names: Vec<String>) -> Tally {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Tally {
            katas: vec![KataTally::default(); names.len()],
            names,
            index,
        }
    }

    pub fn add(&mut self, row: &BTreeMap<String, KataState>) {
        self.count(row, true);
    }

    pub fn remove(&mut self, row: &BTreeMap<String, KataState>) {
        self.count(row, false);
    }

    fn count(&mut self, row: &BTreeMap<String, KataState>, add: bool) {
        for (name, state) in row {
            let Some(&i) = self.index.get(name) else {
                continue;
            };
            if state.status != Status::Failing {
                continue;
            }
            let kata = &mut self.katas[i];
            if add {
                kata.failing += 1;
            } else {
                kata.failing = kata.failing.saturating_sub(1);
            }
            if let Some(failure) = &state.failure {
                let group = group_text(failure);
                if add {
                    *kata.failures.entry(group).or_default() += 1;
                } else if let Some(count) = kata.failures.get_mut(&group) {
                    *count -= 1;
                    if *count == 0 {
                        kata.failures.remove(&group);
                    }
                }
            }
        }
    }

    pub fn summary(&self) -> Summary {
        // `max_by_key` keeps the last maximum; walking backwards makes that the earliest kata.
        let stuck = self
            .katas
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, k)| k.failing > 0)
            .max_by_key(|(_, k)| k.failing);
        let Some((i, kata)) = stuck else {
            return Summary::default();
        };
        // The failure more learners see than any other. Learners write this text, so a tie
        // shows none: any tie-break (alphabetical, first come) is one a prankster can win.
        let mut common: Option<(&String, u32)> = None;
        let mut tied = false;
        for (failure, &count) in &kata.failures {
            match common {
                Some((_, best)) if count < best => {}
                Some((_, best)) if count == best => tied = true,
                _ => {
                    common = Some((failure, count));
                    tied = false;
                }
            }
        }
        let common = common.filter(|_| !tied);
        Summary {
            stuck_kata: Some(self.names[i].clone()),
            failing: kata.failing,
            common_failure: common.map(|(f, _)| f.clone()),
            common_failure_count: common.map_or(0, |(_, n)| n),
            failure_kinds: u32::try_from(kata.failures.len()).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(entries: &[(&str, Status, Option<&str>)]) -> BTreeMap<String, KataState> {
        entries
            .iter()
            .map(|(name, status, failure)| {
                (
                    name.to_string(),
                    KataState {
                        status: *status,
                        attempts: 1,
                        hints: 0,
                        failure: failure.map(str::to_string),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn the_most_failed_kata_and_its_most_common_failure() {
        let mut tally = Tally::new(vec!["01-a".into(), "02-b".into(), "03-c".into()]);
        assert_eq!(tally.summary(), Summary::default());
        let ada = row(&[
            ("01-a", Status::Passed, None),
            ("02-b", Status::Failing, Some("x")),
        ]);
        let bob = row(&[
            ("02-b", Status::Failing, Some("y")),
            ("03-c", Status::Failing, None),
        ]);
        let cy = row(&[("02-b", Status::Failing, Some("y"))]);
        tally.add(&ada);
        tally.add(&bob);
        tally.add(&cy);
        let summary = tally.summary();
        assert_eq!(summary.stuck_kata.as_deref(), Some("02-b"));
        assert_eq!(summary.failing, 3);
        assert_eq!(summary.common_failure.as_deref(), Some("y"));
        assert_eq!(summary.common_failure_count, 2);

        assert_eq!(summary.failure_kinds, 2);

        // Bob and Cy move on: 02-b and 03-c tie at one learner each, the earlier kata wins.
        tally.remove(&bob);
        tally.remove(&cy);
        tally.add(&row(&[("03-c", Status::Failing, Some("z"))]));
        let summary = tally.summary();
        assert_eq!(summary.stuck_kata.as_deref(), Some("02-b"));
        assert_eq!(summary.common_failure.as_deref(), Some("x"));
    }

    #[test]
    fn a_tie_shows_no_failure_and_thread_ids_do_not_split_a_group() {
        let mut tally = Tally::new(vec!["01-a".into()]);
        let panic = |id: u32| {
            format!("t: thread 't' ({id}) panicked at src/lib.rs:65:5:\nassertion failed: done")
        };
        tally.add(&row(&[("01-a", Status::Failing, Some(&panic(101)))]));
        tally.add(&row(&[("01-a", Status::Failing, Some(&panic(202)))]));
        let summary = tally.summary();
        assert_eq!(
            summary.common_failure.as_deref(),
            Some("t: assertion failed: done")
        );
        assert_eq!(summary.common_failure_count, 2);
        // Two pranksters tie with the real failure: nobody's text is shown.
        tally.add(&row(&[("01-a", Status::Failing, Some("aaa: look at me"))]));
        tally.add(&row(&[("01-a", Status::Failing, Some("aaa: look at me"))]));
        let summary = tally.summary();
        assert_eq!(summary.failing, 4);
        assert_eq!(summary.common_failure, None);
        assert_eq!(summary.failure_kinds, 2);
    }
}
