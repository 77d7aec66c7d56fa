//! `kata-grade`: the checker with grading in it, for instructors; `cargo kata grade` runs it.

fn main() -> std::process::ExitCode {
    checker::run()
}
