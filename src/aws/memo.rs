//! Reads shared by every control of one run: each is sent once, whoever asks first, and every other
//! asker awaits the same answer.
//!
//! Some reads serve several controls (the IAM credential report feeds four of them). The memo lives in
//! the [`super::Aws`] connection, which exists for exactly one run, so nothing is ever shared between
//! runs. A failed read is remembered too (every asker gets the same error instead of sending the call
//! again). A control that changes what a read returned calls [`Memo::forget`] for it, so the engine's
//! observation after `apply` sees the account, not the memory. The memo never sends a call itself and
//! never holds credentials: only what a caller's future returned.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use futures::future::{BoxFuture, FutureExt, Shared};

use super::AwsError;

type Entry<T> = Shared<BoxFuture<'static, Result<T, AwsError>>>;

/// The memo of one connection.
#[derive(Debug, Default)]
pub struct Memo {
    entries: Mutex<HashMap<String, Box<dyn Any + Send + Sync>>>,
}

impl Memo {
    /// The answer to the read named `key` (`iam:GetCredentialReport`, `iam:ListAccessKeys/alice`):
    /// `read` runs only if no answer (or pending answer) is stored for `key`. `key` must name the call
    /// and all its parameters; `T` must be the same for every caller of one key.
    pub async fn get_or_read<T, F>(&self, key: &str, read: impl FnOnce() -> F) -> Result<T, AwsError>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T, AwsError>> + Send + 'static,
    {
        let entry: Entry<T> = {
            let mut entries = self.entries.lock().expect("memo poisoned");
            match entries.get(key).and_then(|stored| stored.downcast_ref::<Entry<T>>()) {
                Some(entry) => entry.clone(),
                None => {
                    let entry = read().boxed().shared();
                    entries.insert(key.to_string(), Box::new(entry.clone()));
                    entry
                }
            }
        };
        entry.await
    }

    /// Drops the stored answer for `key`: the next asker reads the account again.
    pub fn forget(&self, key: &str) {
        self.entries.lock().expect("memo poisoned").remove(key);
    }

    /// Drops every stored answer (the engine's read-back, when a read may have been stale).
    pub fn forget_all(&self) {
        self.entries.lock().expect("memo poisoned").clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn a_read_runs_once_for_concurrent_askers_until_forgotten() {
        let memo = Memo::default();
        let reads = Arc::new(AtomicUsize::new(0));
        let ask = || {
            let reads = reads.clone();
            memo.get_or_read("op/x", move || async move {
                reads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                Ok::<_, AwsError>(7u32)
            })
        };
        let (a, b) = futures::join!(ask(), ask());
        assert_eq!((a.unwrap(), b.unwrap()), (7, 7));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        memo.forget("op/x");
        assert_eq!(ask().await.unwrap(), 7);
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_read_is_remembered() {
        let memo = Memo::default();
        let fail = || memo.get_or_read("op/y", || async { Err::<u8, _>(AwsError::malformed("iam:Op", "no")) });
        assert!(fail().await.is_err());
        let second = memo.get_or_read("op/y", || async { Ok::<u8, AwsError>(1) }).await;
        assert!(second.is_err(), "the stored error is returned, the call is not sent again");
    }
}
