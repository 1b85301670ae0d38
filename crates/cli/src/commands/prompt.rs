//! Yes/no questions on the terminal.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Result, UserError};

/// Asks `question`; only "yes" is a yes. Without a terminal, `without_terminal` says which flag
/// answers it. The answer is read off the runtime's thread: a lock's lease keeps being renewed
/// however long the question waits.
pub async fn yes(question: &str, without_terminal: UserError) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(without_terminal);
    }
    eprint!("\n{question} Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let unreadable =
        |e: &dyn std::fmt::Display| UserError::new(format!("cannot read the answer: {e}"));
    let answer = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map(|_| answer)
    })
    .await
    .map_err(|e| unreadable(&e))?
    .map_err(|e| unreadable(&e))?;
    Ok(answer.trim() == "yes")
}
