//! Password hashing with argon2id (OWASP parameters: m = 19 MiB, t = 2, p = 1) on a bounded
//! blocking pool.
//!
//! Hashing is ~20 ms of CPU. It never runs on the async workers: `concurrency` dedicated hashing
//! threads run at a lower scheduling priority (nice +10), so when a sign-in storm saturates the
//! CPU the kernel still runs the async workers first and `/authorize` latency holds; a bounded
//! number of hashes wait, and past that callers get 503 so a sign-in flood degrades sign-ins
//! only, never the rest of the API. Unknown accounts are checked against a dummy hash so timing
//! does not tell which accounts exist.

use std::sync::{Arc, Mutex, mpsc};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash},
};
use tokio::sync::Semaphore;

use crate::error::Code;
use crate::error::Error;

/// Longest password accepted; longer input would only be a way to burn CPU.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The stored hash uses other parameters than today's: store a fresh one.
    pub needs_rehash: bool,
}

pub struct Passwords {
    waiting: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    dummy: Arc<str>,
}

type Job = Box<dyn FnOnce() + Send>;

/// How much less CPU share hashing threads get than the runtime (nice value, 0–19).
const HASHING_NICE: i32 = 10;

/// Starts `threads` hashing threads taking jobs from one queue.
fn spawn_hashers(threads: usize) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..threads {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("heimdall-hash-{i}"))
            .spawn(move || {
                lower_priority();
                loop {
                    // The lock is held only while waiting for the next job.
                    let job = rx.lock().map(|rx| rx.recv());
                    match job {
                        Ok(Ok(job)) => job(),
                        _ => return,
                    }
                }
            })
            .expect("can start a hashing thread");
    }
    tx
}

/// Lowers this thread's priority (Linux: `setpriority` on a thread id affects that thread only).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread's own id.
    unsafe {
        let tid = libc::gettid();
        if libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, HASHING_NICE) != 0 {
            tracing::debug!("could not lower the priority of a hashing thread");
        }
    }
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

fn hash_now(password: &[u8]) -> Result<String, Error> {
    argon2().hash_password(password).map(|h| h.to_string()).map_err(Error::internal)
}

fn verify_now(stored: &str, password: &[u8]) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified { ok: false, needs_rehash: false };
    };
    let ok = argon2().verify_password(password, &parsed).is_ok();
    // Compare costs only: parsed params carry `output_len: Some(32)` where the defaults say
    // `None`, so comparing whole `Params` asked for a rehash (a second argon2 and a write) on
    // every sign-in.
    let default = Params::default();
    let current = Params::try_from(&parsed).ok();
    let same_cost = current.is_some_and(|c| {
        (c.m_cost(), c.t_cost(), c.p_cost()) == (default.m_cost(), default.t_cost(), default.p_cost())
    });
    let needs_rehash = ok && (parsed.algorithm.as_str() != "argon2id" || !same_cost);
    Verified { ok, needs_rehash }
}

impl Passwords {
    /// `concurrency` hashes at a time, up to `queue` more waiting.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        Passwords {
            waiting: Arc::new(Semaphore::new(concurrency.max(1) + queue.max(1))),
            jobs: spawn_hashers(concurrency.max(1)),
            dummy: hash_now(b"heimdall-dummy-password-for-unknown-accounts").expect("argon2 works").into(),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
        // The permit travels with the job, so a job whose caller went away still counts until it
        // has left the queue: the queue stays bounded whatever clients do.
        let permit = self.waiting.clone().try_acquire_owned().map_err(|_| {
            Error::new(Code::Overloaded, "too many password checks in progress; retry shortly").with_retry_after(1)
        })?;
        let span = tracing::Span::current();
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _permit = permit;
                // Nobody waits for the answer any more (the request was dropped): skip the work.
                if !tx.is_closed() {
                    let _ = tx.send(span.in_scope(work));
                }
            }))
            .map_err(|_| Error::internal("the hashing threads have stopped"))?;
        rx.await.map_err(Error::internal)
    }

    /// A new hash of `password`.
    pub async fn hash(&self, password: &str) -> Result<String, Error> {
        let password = password.as_bytes().to_vec();
        self.run(move || hash_now(&password)).await?
    }

    /// Checks `password` against `stored`; with no stored hash, spends the same time on a dummy
    /// and reports a mismatch.
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> Result<Verified, Error> {
        let known = stored.is_some();
        let stored: Arc<str> = stored.map(Arc::from).unwrap_or_else(|| self.dummy.clone());
        let password = password.as_bytes().to_vec();
        let verified = self.run(move || verify_now(&stored, &password)).await?;
        Ok(if known { verified } else { Verified { ok: false, needs_rehash: false } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let p = Passwords::new(1, 4);
        let h = p.hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(p.verify(Some(&h), "correct horse").await.unwrap(), Verified { ok: true, needs_rehash: false });
        assert!(!p.verify(Some(&h), "wrong").await.unwrap().ok);
        assert!(!p.verify(None, "heimdall-dummy-password-for-unknown-accounts").await.unwrap().ok);
    }

    #[test]
    fn old_parameters_ask_for_a_rehash() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap());
        let h = weak.hash_password(b"pw").unwrap().to_string();
        assert_eq!(verify_now(&h, b"pw"), Verified { ok: true, needs_rehash: true });
    }
}
