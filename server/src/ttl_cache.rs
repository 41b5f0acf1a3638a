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
        let mut map = self.map.write().expect("cache lock");
        if map.len() >= self.capacity {
            // Cheap bound on memory: drop expired entries, and everything if that is not enough.
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= self.capacity {
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
    fn entries_expire_and_capacity_is_bounded() {
        let c = TtlCache::new(Duration::from_millis(20), 2);
        c.insert(1, "a");
        assert_eq!(c.get(&1), Some("a"));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(c.get(&1), None);
        c.insert(2, "b");
        c.insert(3, "c");
        c.insert(4, "d");
        assert_eq!(c.get(&4), Some("d"));
        c.retain(|k, _| *k != 4);
        assert_eq!(c.get(&4), None);
    }
}
