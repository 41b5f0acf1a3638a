//! A small concurrent map whose entries expire, used by the authorization caches and the rate
//! limiter. Entries are also dropped explicitly when the change bus says what they describe
//! changed; the expiry only bounds staleness if an announcement is missed.

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::RwLock,
    time::{Duration, Instant},
};

pub struct TtlCache<K, V> {
    map: RwLock<HashMap<K, (Instant, V)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TtlCache { map: RwLock::new(HashMap::new()), ttl, capacity }
    }

    pub fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let map = self.map.read().expect("cache lock");
        map.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        self.put(key, value, true);
    }

    /// Inserts unless a live entry is already there: for values read from a slower source,
    /// which must not overwrite what a concurrent writer stored meanwhile.
    pub fn insert_if_absent(&self, key: K, value: V) {
        self.put(key, value, false);
    }

    fn put(&self, key: K, value: V, overwrite: bool) {
        let mut map = self.map.write().expect("cache lock");
        if !overwrite && map.get(&key).is_some_and(|(at, _)| at.elapsed() < self.ttl) {
            return;
        }
        if map.len() >= self.capacity {
            // Cheap bound on memory: drop expired entries, and everything unless that freed a
            // quarter of the room — so a full map costs one scan per capacity/4 inserts, never
            // one per insert.
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() > self.capacity / 4 * 3 {
                map.clear();
            }
        }
        map.insert(key, (Instant::now(), value));
    }

    pub fn remove<Q: Eq + Hash + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.map.write().expect("cache lock").remove(key);
    }

    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.map.write().expect("cache lock").retain(|k, (_, v)| keep(k, v));
    }

    pub fn clear(&self) {
        self.map.write().expect("cache lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire() {
        let c = TtlCache::new(Duration::from_millis(200), 10);
        c.insert(1, "a");
        assert_eq!(c.get(&1), Some("a"));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(c.get(&1), None);
    }

    #[test]
    fn a_full_map_is_emptied_rather_than_scanned_on_every_insert() {
        let c = TtlCache::new(Duration::from_secs(600), 4);
        for k in 0..4 {
            c.insert(k, k);
        }
        // Full, nothing expired: the next insert starts over.
        c.insert(4, 4);
        assert_eq!((0..4).filter(|k| c.get(k).is_some()).count(), 0);
        assert_eq!(c.get(&4), Some(4));
        c.retain(|k, _| *k != 4);
        assert_eq!(c.get(&4), None);
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
    fn a_full_map_drops_only_expired_entries_when_that_frees_a_quarter() {
        let c = TtlCache::new(SHORT, 8);
        for k in 0..2 {
            c.insert(k, k);
        }
        expire();
        for k in 2..8 {
            c.insert(k, k);
        }
        // Full: the two expired entries go, leaving 6 = 3/4 of 8, so the live ones stay.
        c.insert(8, 8);
        assert_eq!(live(&c, 0..9), [2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn a_full_map_with_too_few_expired_entries_starts_over() {
        let c = TtlCache::new(SHORT, 8);
        c.insert(0, 0);
        expire();
        for k in 1..8 {
            c.insert(k, k);
        }
        // Dropping one expired entry would leave 7 of 8: not enough room won, so all go.
        c.insert(8, 8);
        assert_eq!(live(&c, 0..9), [8]);
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
