//! A monotone priority queue for Dijkstra.

/// A monotone priority queue for Dijkstra over u64 keys (radix heap): entries live in the
/// bucket of the highest bit in which their key differs from the last key popped, so each entry
/// moves down at most 64 times.
pub(super) struct RadixHeap {
    last: u64,
    len: usize,
    buckets: Vec<Vec<(u64, u32)>>,
}

impl RadixHeap {
    pub(super) fn new() -> RadixHeap {
        RadixHeap { last: 0, len: 0, buckets: (0..65).map(|_| Vec::new()).collect() }
    }

    fn bucket(&self, key: u64) -> usize {
        (64 - (key ^ self.last).leading_zeros()) as usize
    }

    pub(super) fn clear(&mut self) {
        self.buckets.iter_mut().for_each(Vec::clear);
        self.last = 0;
        self.len = 0;
    }

    /// Keys must not be below the last key popped.
    pub(super) fn push(&mut self, key: u64, value: u32) {
        debug_assert!(key >= self.last);
        let b = self.bucket(key);
        self.buckets[b].push((key, value));
        self.len += 1;
    }

    pub(super) fn pop(&mut self) -> Option<(u64, u32)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            let i = (1..65).find(|&i| !self.buckets[i].is_empty()).expect("len > 0");
            let moving = std::mem::take(&mut self.buckets[i]);
            self.last = moving.iter().map(|&(k, _)| k).min().expect("bucket is not empty");
            for &(k, v) in &moving {
                let b = self.bucket(k);
                self.buckets[b].push((k, v));
            }
            // Keep the allocation of the emptied bucket.
            let mut moving = moving;
            moving.clear();
            if self.buckets[i].is_empty() {
                self.buckets[i] = moving;
            }
        }
        self.len -= 1;
        self.buckets[0].pop()
    }
}
