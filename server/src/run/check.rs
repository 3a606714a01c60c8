//! An agent's check command (`cargo check`, `npm test`), run where the proposed
//! edit is applied: its failure, with the end of its output, is the feedback the
//! agent gets to fix its answer, or the warning the proposal carries.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::agent::process::{
    ProcessError, ProcessLaunch, describe_failure, run_process, with_tail,
};
use crate::run::confine::Confinement;

/// What a check said about an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    Passed,
    /// The check failed (or outlived its timeout); the reason ends with the
    /// tail of its output, for the agent to act on.
    Failed(String),
    /// The check could not run at all (missing program): asking the agent
    /// again would not help.
    CannotRun(String),
}

/// The run was cancelled while its check ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckCancelled;

/// Runs `argv` in `working_dir` within `timeout`, confined as `confinement` says.
pub async fn run_check(
    argv: &[String],
    working_dir: &Path,
    confinement: &Confinement,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<CheckOutcome, CheckCancelled> {
    let shown = argv.join(" ");
    let launch = ProcessLaunch {
        argv,
        working_dir,
        env: &[],
        timeout,
        group_file: None,
        confinement,
    };
    let outcome = match run_process(&launch, &|_| {}, cancel).await {
        Ok(exit) if exit.status.success() => CheckOutcome::Passed,
        Ok(exit) => CheckOutcome::Failed(with_tail(
            format!("the check `{shown}` {}", describe_failure(exit.status)),
            &exit.output,
        )),
        Err(ProcessError::Cancelled) => return Err(CheckCancelled),
        Err(ProcessError::TimedOut { output }) => CheckOutcome::Failed(with_tail(
            format!(
                "the check `{shown}` did not finish within {} s and was killed",
                timeout.as_secs()
            ),
            &output,
        )),
        Err(ProcessError::Spawn(error) | ProcessError::Wait(error)) => {
            CheckOutcome::CannotRun(format!("the check `{shown}` could not run: {error}"))
        }
    };
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn check(script: &str, timeout: Duration) -> CheckOutcome {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("code.txt"), "BROKEN here\n").expect("writable");
        let argv = ["sh".to_owned(), "-c".to_owned(), script.to_owned()];
        run_check(
            &argv,
            dir.path(),
            &Confinement::Unconfined,
            timeout,
            &CancellationToken::new(),
        )
        .await
        .expect("not cancelled")
    }

    #[tokio::test]
    async fn a_passing_check_passes_and_a_failing_one_quotes_its_output() {
        assert_eq!(
            check("true", Duration::from_secs(10)).await,
            CheckOutcome::Passed
        );
        let outcome = check("grep -n BROKEN code.txt; exit 2", Duration::from_secs(10)).await;
        let CheckOutcome::Failed(reason) = outcome else {
            panic!("expected a failure, got {outcome:?}");
        };
        assert!(
            reason.starts_with(
                "the check `sh -c grep -n BROKEN code.txt; exit 2` exited with status 2"
            ),
            "{reason}"
        );
        assert!(reason.ends_with("1:BROKEN here"), "{reason}");
    }

    #[tokio::test]
    async fn a_hanging_check_fails_and_a_missing_one_cannot_run() {
        let outcome = check("echo started; sleep 30", Duration::from_millis(300)).await;
        let CheckOutcome::Failed(reason) = outcome else {
            panic!("expected a failure, got {outcome:?}");
        };
        assert!(reason.contains("did not finish within"), "{reason}");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let argv = ["director-no-such-check".to_owned()];
        let outcome = run_check(
            &argv,
            dir.path(),
            &Confinement::Unconfined,
            Duration::from_secs(5),
            &CancellationToken::new(),
        )
        .await;
        let Ok(CheckOutcome::CannotRun(reason)) = outcome else {
            panic!("expected a check that cannot run, got {outcome:?}");
        };
        assert!(reason.starts_with("the check `director-no-such-check` could not run"));
    }

    #[tokio::test]
    async fn a_cancel_stops_the_check() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let cancel = CancellationToken::new();
        cancel.cancel();
        let argv = ["sleep".to_owned(), "30".to_owned()];
        let outcome = run_check(
            &argv,
            dir.path(),
            &Confinement::Unconfined,
            Duration::from_secs(60),
            &cancel,
        )
        .await;
        assert_eq!(outcome, Err(CheckCancelled));
    }
}
