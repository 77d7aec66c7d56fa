//! Rejected: does the balance check and the fraud check first, then takes both locks in id order and moves the money: no deadlock, but two transfers can pass the check on the same money, and the second one overdraws the account.
//! Fails: transfers_from_one_account_never_spend_more_than_it_holds
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

        // Do the slow checks before taking any lock, so nothing is awaited while one is held;
        // then take both locks in one global order (lower id first) and move the money.
        let balance = source.lock().await.balance;
        if balance < amount {
            return Err(BankError::InsufficientFunds {
                account: from,
                balance,
                amount,
            });
        }
        fraud_check(from, to, amount).await;
        let (mut source, mut target) = if from < to {
            let source = source.lock().await;
            let target = target.lock().await;
            (source, target)
        } else {
            let target = target.lock().await;
            let source = source.lock().await;
            (source, target)
        };

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
