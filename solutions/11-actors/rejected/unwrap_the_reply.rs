//! Rejected: unwraps every reply send, so a caller that stops waiting (a timed-out request) panics the actor and stops the ledger for everyone
//! Fails: a_caller_that_stops_waiting_does_not_break_the_ledger
//! Account balances, kept by an actor: one task owns the balances and serves requests that
//! arrive over a channel, one at a time, so no lock is needed. Callers talk to it through a
//! cheap, cloneable `Ledger` handle.

use std::collections::HashMap;
use std::fmt;

use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// No account has this name.
    UnknownAccount(String),
    /// The account holds less than the amount asked for; nothing was withdrawn.
    InsufficientFunds { balance: u64, requested: u64 },
    /// The ledger actor has stopped: nobody is left to serve the request.
    ActorGone,
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerError::UnknownAccount(account) => write!(f, "no account named {account:?}"),
            LedgerError::InsufficientFunds { balance, requested } => {
                write!(
                    f,
                    "insufficient funds: {requested} requested, {balance} available"
                )
            }
            LedgerError::ActorGone => write!(f, "the ledger has stopped"),
        }
    }
}

impl std::error::Error for LedgerError {}

/// Where the actor sends the answer to one request: the new balance, or why it could not.
type Reply = oneshot::Sender<Result<u64, LedgerError>>;

enum Command {
    Deposit {
        account: String,
        amount: u64,
        reply: Reply,
    },
    Withdraw {
        account: String,
        amount: u64,
        reply: Reply,
    },
    Balance {
        account: String,
        reply: Reply,
    },
    Shutdown,
}

/// A handle to the ledger actor. Clones talk to the same actor.
#[derive(Debug, Clone)]
pub struct Ledger {
    commands: mpsc::Sender<Command>,
}

impl Ledger {
    /// Starts the ledger actor on the current Tokio runtime.
    pub fn spawn() -> Ledger {
        let (commands, inbox) = mpsc::channel(32);
        tokio::spawn(run(inbox));
        Ledger { commands }
    }

    /// Adds `amount` to `account`, opening the account if it is new. Returns the new balance.
    pub async fn deposit(&self, account: &str, amount: u64) -> Result<u64, LedgerError> {
        let account = account.to_owned();
        self.request(|reply| Command::Deposit {
            account,
            amount,
            reply,
        })
        .await
    }

    /// Takes `amount` out of `account` and returns the new balance. Fails with `InsufficientFunds`
    /// (and leaves the balance as it was) if the account holds less than `amount`.
    pub async fn withdraw(&self, account: &str, amount: u64) -> Result<u64, LedgerError> {
        let account = account.to_owned();
        self.request(|reply| Command::Withdraw {
            account,
            amount,
            reply,
        })
        .await
    }

    /// The balance of `account`.
    pub async fn balance(&self, account: &str) -> Result<u64, LedgerError> {
        let account = account.to_owned();
        self.request(|reply| Command::Balance { account, reply })
            .await
    }

    /// Asks the actor to stop. Handles stay valid: once the actor has stopped, every request made
    /// through them fails with `ActorGone`.
    pub async fn shutdown(&self) {
        // Already stopped is fine too.
        let _ = self.commands.send(Command::Shutdown).await;
    }

    /// Sends one request to the actor and waits for its answer.
    async fn request(&self, command: impl FnOnce(Reply) -> Command) -> Result<u64, LedgerError> {
        let (reply, answer) = oneshot::channel();
        // Both halves fail only once the actor is gone.
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| LedgerError::ActorGone)?;
        answer.await.unwrap_or(Err(LedgerError::ActorGone))
    }
}

/// The actor: owns the balances and serves one command at a time.
async fn run(mut inbox: mpsc::Receiver<Command>) {
    let mut balances: HashMap<String, u64> = HashMap::new();

    while let Some(command) = inbox.recv().await {
        match command {
            Command::Deposit {
                account,
                amount,
                reply,
            } => {
                let balance = balances.entry(account).or_insert(0);
                *balance += amount;
                reply
                    .send(Ok(*balance))
                    .expect("the caller is waiting for its answer");
            }
            Command::Withdraw {
                account,
                amount,
                reply,
            } => {
                let Some(balance) = balances.get_mut(&account) else {
                    reply
                        .send(Err(LedgerError::UnknownAccount(account)))
                        .expect("the caller is waiting for its answer");
                    continue;
                };
                if *balance < amount {
                    // Not enough money: refuse the withdrawal and move on to the next request.
                    reply
                        .send(Err(LedgerError::InsufficientFunds {
                            balance: *balance,
                            requested: amount,
                        }))
                        .expect("the caller is waiting for its answer");
                    continue;
                }
                *balance -= amount;
                reply
                    .send(Ok(*balance))
                    .expect("the caller is waiting for its answer");
            }
            Command::Balance { account, reply } => {
                let balance = balances
                    .get(&account)
                    .copied()
                    .ok_or(LedgerError::UnknownAccount(account));
                reply
                    .send(balance)
                    .expect("the caller is waiting for its answer");
            }
            Command::Shutdown => break,
        }
    }
}
