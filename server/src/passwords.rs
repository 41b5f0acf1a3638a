//! Password hashing with argon2id (OWASP parameters: m = 19 MiB, t = 2, p = 1) on a bounded
//! blocking pool.
//!
//! Hashing is ~20 ms of CPU. It never runs on the async workers: `concurrency` dedicated hashing
//! threads run at a lower scheduling priority (nice +10), so when a sign-in storm saturates the
//! CPU the kernel still runs the async workers first and `/authorize` latency holds; a bounded
//! number of hashes wait, and past that callers get 503 so a sign-in flood degrades sign-ins
//! only, never the rest of the API. Unknown accounts are checked against a dummy hash so timing
//! does not tell which accounts exist.
//!
//! Each hashing thread keeps one argon2 working memory and reuses it for every hash, so hashing
//! holds at most `concurrency` × 19 MiB, allocated once. Letting argon2 allocate 19 MiB per hash
//! left the allocator holding a growing share of them (its threshold for returning large blocks
//! adapts upwards): `cargo xtask soak` measured 146 MB after 100 sign-ups before, 67 MB with
//! the reused memory (debug server build, one hashing thread; xtask/README.md, Memory).

use std::sync::{Arc, Mutex, mpsc};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
use tokio::sync::Semaphore;

use crate::error::Code;
use crate::error::Error;
use crate::secrets;

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

type Job = Box<dyn FnOnce(&mut Scratch) + Send>;

/// A hashing thread's argon2 working memory, allocated by its first hash and reused by the next.
#[derive(Default)]
struct Scratch(Vec<Block>);

impl Scratch {
    /// Runs `f` on memory for `params`: the reused blocks for today's cost or less, a one-off
    /// allocation for a stored hash of a higher cost (none is written today).
    fn with_blocks<T>(&mut self, params: &Params, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let needed = params.block_count();
        let reused = Params::default().block_count();
        if needed > reused {
            return f(&mut vec![Block::new(); needed]);
        }
        if self.0.len() < reused {
            self.0 = vec![Block::new(); reused];
        }
        f(&mut self.0[..needed])
    }
}

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
                let mut scratch = Scratch::default();
                loop {
                    // The lock is held only while waiting for the next job.
                    let job = rx.lock().map(|rx| rx.recv());
                    match job {
                        Ok(Ok(job)) => job(&mut scratch),
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

fn hash_now(password: &[u8], scratch: &mut Scratch) -> Result<String, Error> {
    let params = Params::default();
    let salt = Salt::new(&secrets::random_bytes::<{ Salt::RECOMMENDED_LENGTH }>()).map_err(Error::internal)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    scratch
        .with_blocks(&params, |blocks| argon2.hash_password_into_with_memory(password, &salt, &mut out, blocks))
        .map_err(Error::internal)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(Error::internal)?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(Error::internal)?),
    };
    Ok(hash.to_string())
}

/// Whether `password` hashes to `stored`'s output under `stored`'s own algorithm and costs.
fn matches(stored: &PasswordHash, password: &[u8], scratch: &mut Scratch) -> bool {
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else { return false };
    let Ok(version) = stored.version.map(Version::try_from).transpose() else { return false };
    let Ok(params) = Params::try_from(stored) else { return false };
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params.clone());
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else { return false };
    let hashed =
        scratch.with_blocks(&params, |blocks| argon2.hash_password_into_with_memory(password, salt, out, blocks));
    // `Output` compares in constant time.
    hashed.is_ok() && Output::new(out).is_ok_and(|computed| computed == *expected)
}

fn verify_now(stored: &str, password: &[u8], scratch: &mut Scratch) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified { ok: false, needs_rehash: false };
    };
    let ok = matches(&parsed, password, scratch);
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
        // Hashed once in memory of its own, freed at once: an idle server holds no working memory.
        let dummy = hash_now(b"heimdall-dummy-password-for-unknown-accounts", &mut Scratch::default());
        Passwords {
            waiting: Arc::new(Semaphore::new(concurrency.max(1) + queue.max(1))),
            jobs: spawn_hashers(concurrency.max(1)),
            dummy: dummy.expect("argon2 works").into(),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce(&mut Scratch) -> T + Send + 'static) -> Result<T, Error> {
        // The permit travels with the job, so a job whose caller went away still counts until it
        // has left the queue: the queue stays bounded whatever clients do.
        let permit = self.waiting.clone().try_acquire_owned().map_err(|_| {
            Error::new(Code::Overloaded, "too many password checks in progress; retry shortly").with_retry_after(1)
        })?;
        let span = tracing::Span::current();
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |scratch: &mut Scratch| {
                let _permit = permit;
                // Nobody waits for the answer any more (the request was dropped): skip the work.
                if !tx.is_closed() {
                    let _ = tx.send(span.in_scope(|| work(scratch)));
                }
            }))
            .map_err(|_| Error::internal("the hashing threads have stopped"))?;
        rx.await.map_err(Error::internal)
    }

    /// A new hash of `password`.
    pub async fn hash(&self, password: &str) -> Result<String, Error> {
        let password = password.as_bytes().to_vec();
        self.run(move |scratch| hash_now(&password, scratch)).await?
    }

    /// Checks `password` against `stored`; with no stored hash, spends the same time on a dummy
    /// and reports a mismatch.
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> Result<Verified, Error> {
        let known = stored.is_some();
        let stored: Arc<str> = stored.map(Arc::from).unwrap_or_else(|| self.dummy.clone());
        let password = password.as_bytes().to_vec();
        let verified = self.run(move |scratch| verify_now(&stored, &password, scratch)).await?;
        Ok(if known { verified } else { Verified { ok: false, needs_rehash: false } })
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

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
        assert_eq!(verify_now(&h, b"pw", &mut Scratch::default()), Verified { ok: true, needs_rehash: true });
    }

    #[test]
    fn hashes_read_and_write_the_same_strings_as_the_argon2_crate() {
        let mut scratch = Scratch::default();
        let ours = hash_now(b"correct horse", &mut scratch).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong", &parsed).is_err());
        // Costs below, at and above today's, in the same (already used) memory.
        for params in [Params::new(8192, 1, 1, None), Ok(Params::default()), Params::new(20480, 1, 1, Some(16))] {
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.unwrap());
            let h = theirs.hash_password(b"pw").unwrap().to_string();
            assert!(verify_now(&h, b"pw", &mut scratch).ok, "{h}");
            assert!(!verify_now(&h, b"pW", &mut scratch).ok, "{h}");
        }
        assert!(!verify_now("$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtaGFzaA", b"pw", &mut scratch).ok);
    }

    #[test]
    fn a_hashing_thread_allocates_its_working_memory_once() {
        let mut scratch = Scratch::default();
        let first = hash_now(b"pw", &mut scratch).unwrap();
        let memory = scratch.0.as_ptr();
        assert_eq!(scratch.0.len(), Params::default().block_count());
        assert!(verify_now(&first, b"pw", &mut scratch).ok);
        hash_now(b"another", &mut scratch).unwrap();
        assert_eq!(scratch.0.as_ptr(), memory);
    }
}
