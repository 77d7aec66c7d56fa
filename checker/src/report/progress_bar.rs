//! A progress bar for long runs (grading a class): cargo's progress while building, then tests
//! done out of tests listed. Drawn on stderr, and only on a terminal.

use crate::events::{Event, Reporter};
use indicatif::{ProgressBar, ProgressStyle};

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new() -> Bar {
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Bar { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// A new student: the bar says who, and starts over.
    pub fn student(&mut self, number: usize, of: usize, name: &str) {
        self.bar.set_prefix(format!(
            "[{number}/{of}] {}",
            crate::sanitize::visible(name)
        ));
        self.bar.set_style(ProgressStyle::default_spinner());
        self.bar.set_position(0);
    }
}

impl Reporter for Bar {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::BuildProgress(line) if !line.is_empty() => {
                self.bar.set_message(line.to_string())
            }
            Event::RunStarted { tests } => {
                self.bar.set_length(*tests as u64);
                self.bar.set_position(0);
                let style =
                    ProgressStyle::with_template("{prefix} {bar:40} {pos}/{len} tests {elapsed}")
                        .expect("a valid template");
                self.bar.set_style(style);
            }
            Event::TestFinished(_) => self.bar.inc(1),
            _ => {}
        }
    }
}
