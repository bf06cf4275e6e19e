use sqlx::{Postgres, Sqlite, Transaction};

use crate::{Backend, Store, StoreError, now_millis};

/// Writes that commit together or not at all.
///
/// Dropping it without [`StoreTransaction::commit`] rolls back, and so does a process that
/// dies before committing: the database never holds part of a transaction. Its methods are
/// in [`crate::registry`] and [`crate::queue`]; each [`Store`] write method is one of them in
/// a transaction of its own.
#[derive(Debug)]
pub struct StoreTransaction {
    pub(crate) inner: TransactionInner,
    /// The time every row written in this transaction carries.
    pub(crate) now: i64,
    pub(crate) max_attempts: u32,
}

#[derive(Debug)]
pub(crate) enum TransactionInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection (`&mut` of the backend's
/// connection type); the body is compiled once per backend.
macro_rules! with_transaction {
    ($tx:expr, $conn:ident => $body:expr) => {
        match &mut $tx.inner {
            $crate::transaction::TransactionInner::Sqlite(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
            $crate::transaction::TransactionInner::Postgres(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
        }
    };
}
pub(crate) use with_transaction;

impl StoreTransaction {
    pub(crate) async fn begin(store: &Store) -> Result<Self, StoreError> {
        let inner = match &store.backend {
            Backend::Sqlite(pool) => TransactionInner::Sqlite(
                pool.begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(StoreError::db("begin a transaction"))?,
            ),
            Backend::Postgres(pool) => TransactionInner::Postgres(
                pool.begin()
                    .await
                    .map_err(StoreError::db("begin a transaction"))?,
            ),
        };
        Ok(Self {
            inner,
            now: now_millis(),
            max_attempts: store.max_attempts,
        })
    }

    /// Makes every write of this transaction durable and visible.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TransactionInner::Sqlite(transaction) => transaction.commit().await,
            TransactionInner::Postgres(transaction) => transaction.commit().await,
        }
        .map_err(StoreError::db("commit a transaction"))
    }

    /// Discards every write of this transaction (dropping it does the same).
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TransactionInner::Sqlite(transaction) => transaction.rollback().await,
            TransactionInner::Postgres(transaction) => transaction.rollback().await,
        }
        .map_err(StoreError::db("roll back a transaction"))
    }
}
