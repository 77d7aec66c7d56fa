//! A child process and everything it starts, held as one unit that is stopped together: a
//! process group on Unix, a job object on Windows. Dropping a `Group` kills all of it, so no way
//! out of the checker (an error, Ctrl-C, SIGTERM, SIGHUP) leaves a test's processes running.

use std::io;
use std::process::ExitStatus;
use tokio::process::{ChildStderr, ChildStdout, Command};

#[cfg(unix)]
pub use unix::Group;
#[cfg(windows)]
pub use windows::Group;

#[cfg(unix)]
mod unix {
    use super::*;
    use rustix::process::{kill_process_group, Pid, Signal};
    use tokio::process::Child;

    pub struct Group {
        child: Child,
        /// The group's id: the leader's pid, which the group keeps after the leader has gone.
        id: Option<Pid>,
    }

    impl Group {
        /// Starts `cmd` as the leader of a new process group.
        pub fn spawn(mut cmd: Command) -> io::Result<Group> {
            cmd.process_group(0).kill_on_drop(true);
            let child = cmd.spawn()?;
            let id = child.id().and_then(|pid| Pid::from_raw(pid as i32));
            if let Some(id) = id {
                super::super::reaper::started(id.as_raw_nonzero().get());
            }
            Ok(Group { child, id })
        }

        pub fn stdout(&mut self) -> Option<ChildStdout> {
            self.child.stdout.take()
        }

        pub fn stderr(&mut self) -> Option<ChildStderr> {
            self.child.stderr.take()
        }

        /// Waits for the leader to exit; the rest of the group may live on until `kill`.
        pub async fn wait(&mut self) -> io::Result<ExitStatus> {
            self.child.wait().await
        }

        /// Asks the whole group to stop (SIGTERM).
        pub fn terminate(&mut self) {
            self.signal(Signal::TERM);
        }

        /// Stops the whole group at once (SIGKILL).
        pub fn kill(&mut self) {
            self.signal(Signal::KILL);
        }

        /// Stops the whole group for good, once its leader has been waited for: the id is then
        /// forgotten, since once the group is empty the system may give it to a new process.
        pub fn end(&mut self) {
            self.kill();
            if let Some(id) = self.id.take() {
                super::super::reaper::ended(id.as_raw_nonzero().get());
            }
        }

        fn signal(&self, signal: Signal) {
            if let Some(id) = self.id {
                // The group may be gone already; that is the outcome we want.
                let _ = kill_process_group(id, signal);
            }
        }
    }

    impl Drop for Group {
        fn drop(&mut self) {
            self.end();
        }
    }
}

#[cfg(windows)]
mod windows {
    use super::*;
    use process_wrap::tokio::{ChildWrapper, CommandWrap, JobObject, KillOnDrop};

    pub struct Group {
        /// The child inside a job object; every process it starts joins the job, and closing the
        /// job (on drop) ends them all.
        child: Box<dyn ChildWrapper>,
    }

    impl Group {
        pub fn spawn(cmd: Command) -> io::Result<Group> {
            let child = CommandWrap::from(cmd)
                .wrap(JobObject)
                .wrap(KillOnDrop)
                .spawn()?;
            Ok(Group { child })
        }

        pub fn stdout(&mut self) -> Option<ChildStdout> {
            self.child.stdout().take()
        }

        pub fn stderr(&mut self) -> Option<ChildStderr> {
            self.child.stderr().take()
        }

        pub async fn wait(&mut self) -> io::Result<ExitStatus> {
            self.child.wait().await
        }

        /// Windows has no gentle stop for a console program: terminating the job is the way.
        pub fn terminate(&mut self) {
            self.kill();
        }

        pub fn kill(&mut self) {
            let _ = self.child.start_kill();
        }

        /// The job object ends the processes; nothing to forget here.
        pub fn end(&mut self) {
            self.kill();
        }
    }
}
