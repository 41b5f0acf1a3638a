//! A small concurrent map whose entries expire, used by the authorization caches, the rate
//! limiter and the M2M client cache. Entries are also dropped explicitly when the change bus says
//! what they describe changed; the expiry only bounds staleness if an announcement is missed.
//!
//! Expiry is continuous and its cost bounded per write. All entries of a cache share one TTL, so
//! the order of insertion is the order of expiry: each insertion is also queued, and every insert
//! first drops up to [`SWEEP`] expired entries from the front of that queue. A cache that is
//! written to holds roughly the entries of its last TTL, not its capacity; at capacity an insert
//! evicts the oldest entries one at a time — every expired one before any live one. No write ever
//! scans the map (a full map used to be scanned and then cleared under the write lock: a ~350 ms
//! stall at 200,000 entries, after which every live entry had to be verified again).

use std::{
    borrow::Borrow,
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::RwLock,
    time::{Duration, Instant},
};

/// Expired queue records an insert looks at, at most: more than the one it adds, so a backlog of
/// expired entries drains while the cost of any one insert stays constant.
const SWEEP: usize = 8;

pub struct TtlCache<K, V> {
    inner: RwLock<Inner<K, V>>,
    ttl: Duration,
    capacity: usize,
}

struct Inner<K, V> {
    map: HashMap<K, (Instant, V)>,
    /// One record per insertion, oldest first. An entry overwritten or removed since leaves its
    /// record behind, recognised by a time that no longer matches the entry's; every entry in
    /// `map` has exactly one matching record.
    order: VecDeque<(Instant, K)>,
}

impl<K, V> Default for Inner<K, V> {
    fn default() -> Self {
        Inner { map: HashMap::new(), order: VecDeque::new() }
    }
}

impl<K: Eq + Hash + Clone, V> Inner<K, V> {
    /// Takes the oldest record off the queue and drops its entry if the record is current; true
    /// if an entry went.
    fn pop_oldest(&mut self) -> bool {
        let Some((at, key)) = self.order.pop_front() else { return false };
        if self.map.get(&key).is_some_and(|(entry_at, _)| *entry_at == at) {
            self.map.remove(&key);
            return true;
        }
        false
    }
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TtlCache { inner: RwLock::default(), ttl, capacity: capacity.max(1) }
    }

    pub fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.get_at(key, Instant::now())
    }

    fn get_at<Q: Eq + Hash + ?Sized>(&self, key: &Q, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let inner = self.inner.read().expect("cache lock");
        inner.map.get(key).filter(|(at, _)| now.duration_since(*at) < self.ttl).map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        self.put(key, value, true, None);
    }

    /// Inserts unless a live entry is already there: for values read from a slower source,
    /// which must not overwrite what a concurrent writer stored meanwhile.
    pub fn insert_if_absent(&self, key: K, value: V) {
        self.put(key, value, false, None);
    }

    /// `now` is read under the lock unless given (tests), so the queue stays in time order.
    fn put(&self, key: K, value: V, overwrite: bool, now: Option<Instant>) {
        let mut inner = self.inner.write().expect("cache lock");
        let now = now.unwrap_or_else(Instant::now);
        let live = |at: &Instant| now.duration_since(*at) < self.ttl;
        if !overwrite && inner.map.get(&key).is_some_and(|(at, _)| live(at)) {
            return;
        }
        for _ in 0..SWEEP {
            if inner.order.front().is_none_or(|(at, _)| live(at)) {
                break;
            }
            inner.pop_oldest();
        }
        if !inner.map.contains_key(&key) {
            // The oldest entries go first, so an expired one always goes before a live one.
            while inner.map.len() >= self.capacity && !inner.order.is_empty() {
                inner.pop_oldest();
            }
        }
        // Records left by overwrites and removals are bounded too (they are rare: one per
        // overwrite or explicit removal, and they expire like the rest).
        while inner.order.len() >= 2 * self.capacity {
            inner.pop_oldest();
        }
        inner.order.push_back((now, key.clone()));
        inner.map.insert(key, (now, value));
    }

    pub fn remove<Q: Eq + Hash + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.inner.write().expect("cache lock").map.remove(key);
    }

    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.inner.write().expect("cache lock").map.retain(|k, (_, v)| keep(k, v));
    }

    /// Empties the cache; the entries are dropped after the lock is released.
    pub fn clear(&self) {
        let old = std::mem::take(&mut *self.inner.write().expect("cache lock"));
        drop(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache of `capacity` with a 10 s TTL, written at chosen times.
    struct Clocked {
        cache: TtlCache<u32, u32>,
        t0: Instant,
    }

    impl Clocked {
        fn new(capacity: usize) -> Self {
            Clocked { cache: TtlCache::new(Duration::from_secs(10), capacity), t0: Instant::now() }
        }

        fn insert_at(&self, ms: u64, keys: std::ops::Range<u32>) {
            for k in keys {
                self.cache.put(k, k, true, Some(self.t0 + Duration::from_millis(ms)));
            }
        }

        fn live_at(&self, ms: u64, keys: std::ops::Range<u32>) -> Vec<u32> {
            keys.filter(|k| self.cache.get_at(k, self.t0 + Duration::from_millis(ms)).is_some()).collect()
        }

        fn held(&self) -> (usize, usize) {
            let inner = self.cache.inner.read().unwrap();
            (inner.map.len(), inner.order.len())
        }
    }

    #[test]
    fn expired_entries_are_swept_by_later_inserts_long_before_capacity() {
        let c = Clocked::new(100_000);
        c.insert_at(0, 0..100);
        c.insert_at(11_000, 100..200);
        assert_eq!(c.held(), (100, 100));
        assert_eq!(c.live_at(11_000, 0..200), (100..200).collect::<Vec<_>>());
    }

    #[test]
    fn a_full_map_evicts_its_oldest_entry_and_keeps_the_other_live_ones() {
        let c = Clocked::new(4);
        for k in 0..4 {
            c.insert_at(u64::from(k), k..k + 1);
        }
        c.insert_at(5, 4..5);
        assert_eq!(c.live_at(5, 0..5), [1, 2, 3, 4]);
    }

    #[test]
    fn a_full_map_drops_its_expired_entries_before_any_live_one() {
        let c = Clocked::new(8);
        for k in 0..8 {
            c.insert_at(u64::from(k), k..k + 1);
        }
        // Entries 0 to 3 are 10 s old or more: they go, the four live ones stay.
        c.insert_at(10_003, 8..9);
        assert_eq!(c.live_at(10_003, 0..9), [4, 5, 6, 7, 8]);
        assert_eq!(c.held().0, 5);
    }

    #[test]
    fn one_insert_does_a_bounded_amount_of_work_and_a_backlog_drains() {
        let c = Clocked::new(100_000);
        c.insert_at(0, 0..10_000);
        // All 10,000 expired at once: one insert drops SWEEP of them, not all (no stall)...
        c.insert_at(20_000, 10_000..10_001);
        assert_eq!(c.held().0, 10_000 - SWEEP + 1);
        // ...and later inserts drop the rest.
        c.insert_at(20_000, 10_001..12_000);
        assert_eq!(c.held(), (2_000, 2_000));
    }

    #[test]
    fn entries_never_exceed_capacity_and_the_newest_stay() {
        let c = Clocked::new(100);
        c.insert_at(0, 0..10_000);
        assert_eq!(c.held(), (100, 100));
        assert_eq!(c.live_at(0, 0..10_000), (9_900..10_000).collect::<Vec<_>>());
    }

    #[test]
    fn overwrites_and_removals_leave_a_bounded_number_of_records() {
        let c = Clocked::new(10);
        for ms in 0..1_000 {
            c.insert_at(ms, 1..2);
        }
        assert!(c.held().1 <= 20, "{:?}", c.held());
        assert_eq!(c.held().0, 1);
        for k in 0..1_000 {
            c.insert_at(1_000, k..k + 1);
            c.cache.remove(&k);
        }
        assert!(c.held().1 <= 20, "{:?}", c.held());
    }

    #[test]
    fn entries_removed_by_retain_leave_records_that_eviction_skips() {
        let c = Clocked::new(4);
        c.insert_at(0, 0..4);
        c.cache.retain(|k, _| k % 2 == 0);
        c.insert_at(1, 4..6);
        // Full again (0, 2, 4, 5): the oldest live entry goes, the record of 1 is skipped.
        c.insert_at(2, 6..7);
        assert_eq!(c.live_at(2, 0..7), [2, 4, 5, 6]);
    }

    #[test]
    fn a_cleared_cache_starts_over_empty() {
        let c = Clocked::new(4);
        c.insert_at(0, 0..4);
        c.cache.clear();
        assert_eq!(c.held(), (0, 0));
        c.insert_at(1, 0..2);
        assert_eq!(c.live_at(1, 0..4), [0, 1]);
    }

    #[test]
    fn entries_expire() {
        let c = TtlCache::new(Duration::from_millis(200), 10);
        c.insert(1, "a");
        assert_eq!(c.get(&1), Some("a"));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(c.get(&1), None);
    }

    #[test]
    fn insert_if_absent_keeps_a_live_entry() {
        let c = TtlCache::new(Duration::from_secs(600), 10);
        c.insert_if_absent(1, "first");
        c.insert_if_absent(1, "stale");
        assert_eq!(c.get(&1), Some("first"));
        c.insert(1, "newer");
        assert_eq!(c.get(&1), Some("newer"));
    }

    /// Long enough that fresh entries outlive a loaded test machine's stalls; `expire` waits it out.
    const SHORT: Duration = Duration::from_millis(500);

    fn expire() {
        std::thread::sleep(SHORT + Duration::from_millis(100));
    }

    fn live(c: &TtlCache<u32, u32>, keys: std::ops::Range<u32>) -> Vec<u32> {
        keys.filter(|k| c.get(k).is_some()).collect()
    }

    #[test]
    fn an_expired_entry_is_gone_and_can_be_stored_again() {
        let c = TtlCache::new(SHORT, 10);
        c.insert(1, 1);
        c.insert_if_absent(2, 2);
        expire();
        assert_eq!((c.get(&1), c.get(&2)), (None, None));
        // An expired entry does not count as present for insert_if_absent.
        c.insert_if_absent(1, 10);
        assert_eq!(c.get(&1), Some(10));
    }

    #[test]
    fn a_map_below_capacity_keeps_everything() {
        let c = TtlCache::new(Duration::from_secs(600), 8);
        for k in 0..8 {
            c.insert(k, k);
        }
        assert_eq!(live(&c, 0..8), [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn insert_if_absent_on_a_full_map_with_the_key_live_changes_nothing() {
        let c = TtlCache::new(Duration::from_secs(600), 4);
        for k in 0..4 {
            c.insert(k, k);
        }
        c.insert_if_absent(3, 30);
        assert_eq!(live(&c, 0..4), [0, 1, 2, 3]);
        assert_eq!(c.get(&3), Some(3));
    }

    #[test]
    fn string_keys_are_found_by_str_and_removed_one_by_one_or_all() {
        let c: TtlCache<String, u32> = TtlCache::new(Duration::from_secs(600), 10);
        c.insert("m2m_a".to_owned(), 1);
        c.insert("m2m_b".to_owned(), 2);
        assert_eq!(c.get("m2m_a"), Some(1));
        c.remove("m2m_a");
        assert_eq!((c.get("m2m_a"), c.get("m2m_b")), (None, Some(2)));
        c.remove("never-there");
        c.clear();
        assert_eq!(c.get("m2m_b"), None);
    }

    #[test]
    fn retain_sees_keys_and_values() {
        let c = TtlCache::new(Duration::from_secs(600), 10);
        for k in 0..6 {
            c.insert(k, k * 10);
        }
        c.retain(|k, v| k % 2 == 0 && *v != 40);
        assert_eq!(live(&c, 0..6), [0, 2]);
    }
}
