//! Where the room is stuck: per kata, how many learners are failing it and with what.
//!
//! Kept up to date report by report (take the old row out, put the new one in), so a summary
//! costs a pass over the katas, not over every learner.

use room_protocol::{KataState, Status, Summary};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default, Clone)]
struct KataTally {
    failing: u32,
    /// How many of those learners see each failure message.
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
                if add {
                    *kata.failures.entry(failure.clone()).or_default() += 1;
                } else if let Some(count) = kata.failures.get_mut(failure) {
                    *count -= 1;
                    if *count == 0 {
                        kata.failures.remove(failure);
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
        // The most common failure; ties go to the alphabetically first, so the answer is stable.
        let common = kata
            .failures
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)));
        Summary {
            stuck_kata: Some(self.names[i].clone()),
            failing: kata.failing,
            common_failure: common.map(|(f, _)| f.clone()),
            common_failure_count: common.map_or(0, |(_, n)| *n),
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

        // Bob and Cy move on: 02-b and 03-c tie at one learner each, the earlier kata wins.
        tally.remove(&bob);
        tally.remove(&cy);
        tally.add(&row(&[("03-c", Status::Failing, Some("z"))]));
        let summary = tally.summary();
        assert_eq!(summary.stuck_kata.as_deref(), Some("02-b"));
        assert_eq!(summary.common_failure.as_deref(), Some("x"));
    }
}
