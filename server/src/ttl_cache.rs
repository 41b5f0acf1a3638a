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
}
