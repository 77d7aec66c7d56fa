//! Rejected: moves the fraud check before the locks, so nothing is awaited between them, but still takes them in request order: one transfer that has to queue for its first lock is enough to close the cycle.
//! Fails: transfers_queued_behind_a_statement_do_not_deadlock
//! Transfers between the accounts of a small bank.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use tokio::sync::Mutex;

pub type AccountId = u32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankError {
    UnknownAccount(AccountId),
    SameAccount(AccountId),
    InsufficientFunds {
        account: AccountId,
        balance: u64,
        amount: u64,
    },
}

impl fmt::Display for BankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BankError::UnknownAccount(id) => write!(f, "no account {id}"),
            BankError::SameAccount(id) => write!(f, "cannot transfer from account {id} to itself"),
            BankError::InsufficientFunds {
                account,
                balance,
                amount,
            } => write!(
                f,
                "account {account} holds {balance}, not enough to transfer {amount}"
            ),
        }
    }
}

impl std::error::Error for BankError {}

#[derive(Debug)]
struct Account {
    balance: u64,
}

/// Every account sits behind its own lock, so transfers between different accounts run in
/// parallel.
pub struct Bank {
    accounts: HashMap<AccountId, Mutex<Account>>,
}

impl Bank {
    /// Opens the given accounts with their starting balances.
    pub fn new(balances: impl IntoIterator<Item = (AccountId, u64)>) -> Bank {
        let accounts = balances
            .into_iter()
            .map(|(id, balance)| (id, Mutex::new(Account { balance })))
            .collect();
        Bank { accounts }
    }

    fn account(&self, id: AccountId) -> Result<&Mutex<Account>, BankError> {
        self.accounts.get(&id).ok_or(BankError::UnknownAccount(id))
    }

    pub async fn balance(&self, id: AccountId) -> Result<u64, BankError> {
        Ok(self.account(id)?.lock().await.balance)
    }

    /// Moves `amount` from one account to the other, all or nothing.
    pub async fn transfer(
        &self,
        from: AccountId,
        to: AccountId,
        amount: u64,
    ) -> Result<(), BankError> {
        if from == to {
            return Err(BankError::SameAccount(from));
        }
        let source = self.account(from)?;
        let target = self.account(to)?;

        // Ask the fraud service first, so that nothing is awaited between the two locks.
        fraud_check(from, to, amount).await;
        let mut source = source.lock().await;
        let mut target = target.lock().await;
        if source.balance < amount {
            return Err(BankError::InsufficientFunds {
                account: from,
                balance: source.balance,
                amount,
            });
        }

        source.balance -= amount;
        target.balance += amount;
        Ok(())
    }

    /// The month-end statement of one account. The account stays locked while the history is
    /// read, so the balance printed matches the history printed.
    pub async fn statement(&self, id: AccountId) -> Result<String, BankError> {
        let account = self.account(id)?.lock().await;
        let history = load_history(id).await;
        Ok(format!(
            "account {id}: {history}, balance {}",
            account.balance
        ))
    }
}

// Stand-ins for two remote services. Keep them as they are.

/// Asks the fraud service to approve a transfer: a round trip of 20 ms.
async fn fraud_check(_from: AccountId, _to: AccountId, _amount: u64) {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Reads an account's transaction history from the archive: slow, 1 s.
async fn load_history(id: AccountId) -> String {
    tokio::time::sleep(Duration::from_secs(1)).await;
    format!("no transactions archived for account {id} this month")
}
