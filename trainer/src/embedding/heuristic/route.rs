//! Placing one chain: qubit weights from fill and history, a node-weighted Dijkstra from each
//! placed neighbour's chain, the cheapest roots grown into chains (a Steiner approximation),
//! and path tails flipped back to the neighbours they lead to.

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::search::Search;

/// A chain grown from a root, with the path tails `flip_back` may hand to neighbours.
struct Grown {
    chain: Vec<u32>,
    /// (neighbour slot, path qubits from the chain side to the neighbour side).
    segments: Vec<(usize, Vec<u32>)>,
    /// Qubits other paths hang from.
    anchors: Vec<u32>,
}

const UNREACHED: u64 = u64::MAX;
const SOURCE: u32 = u32::MAX;
/// Qubit weights stay below 2^WEIGHT_BITS, so sums over thousands of qubits and hundreds of
/// neighbours fit in a u64.
const WEIGHT_BITS: u32 = 36;
/// History factors saturate here (weights stay below 2^(WEIGHT_BITS + 7)).
pub(super) const MAX_HISTORY: u16 = 127;
/// Roots tried per placement (the cheapest by summed distance).
const ROOT_CANDIDATES: usize = 6;

impl Search<'_> {
    /// Tears up the chain of `x` and re-routes it through the current weights. With a `bound`,
    /// qubits already used by `bound` or more other chains are off limits; unless
    /// `shared_root`, so are roots on a neighbour's chain. Returns false (and leaves `x`
    /// unplaced) if no chain exists under these limits.
    pub(super) fn place(
        &mut self,
        x: usize,
        bound: Option<u16>,
        shared_root: bool,
        rng: &mut Xoshiro256PlusPlus,
    ) -> bool {
        for &p in &self.chains[x] {
            self.usage[p as usize] -= 1;
        }
        self.chains[x].clear();
        let nq = self.target.len();
        // w = 2^(α·fill) with α shrinking as the worst fill grows, so that every fill level up
        // to the worst stays exponentially apart while sums cannot overflow.
        let mut widest = self.usage.iter().copied().max().unwrap_or(0).max(1);
        if let Some(b) = bound {
            widest = widest.min(b.max(1));
        }
        let alpha = if widest > 1 { WEIGHT_BITS / u32::from(widest) } else { WEIGHT_BITS - 1 };
        for p in 0..nq {
            let u = self.usage[p];
            let history = if self.use_history { u64::from(self.history[p]) } else { 0 };
            self.weight[p] = (1 + history) << (alpha * u32::from(u.min(widest)));
            self.blocked[p] = bound.is_some_and(|b| u >= b);
        }
        let placed: Vec<usize> = self.source[x]
            .iter()
            .map(|&y| y as usize)
            .filter(|&y| !self.chains[y].is_empty())
            .collect();
        let chain = if placed.is_empty() {
            let candidates: Vec<u32> =
                (0..nq as u32).filter(|&p| !self.blocked[p as usize]).collect();
            let least = candidates.iter().map(|&p| self.usage[p as usize]).min();
            let candidates: Vec<u32> =
                candidates.into_iter().filter(|&p| Some(self.usage[p as usize]) == least).collect();
            if candidates.is_empty() {
                return false;
            }
            vec![candidates[rng.random_range(0..candidates.len())]]
        } else {
            while self.dist.len() < placed.len() {
                self.dist.push(vec![UNREACHED; nq]);
                self.parent.push(vec![SOURCE; nq]);
            }
            for (slot, &y) in placed.iter().enumerate() {
                self.dijkstra(slot, y);
            }
            let slots = placed.len();
            // total[g] = Σ_y d_y(g), where d_y(g) counts g's own weight. The root may not lie on
            // a neighbour's chain unless `shared_root` (then it pays its weight there too).
            for p in 0..nq {
                self.total[p] = if self.blocked[p] { UNREACHED } else { 0 };
            }
            for slot in 0..slots {
                let (dist, parent) = (&self.dist[slot], &self.parent[slot]);
                for p in 0..nq {
                    let t = &mut self.total[p];
                    if *t == UNREACHED {
                        continue;
                    }
                    let d = dist[p];
                    if d == UNREACHED || (parent[p] == SOURCE && !shared_root) {
                        *t = UNREACHED;
                    } else if parent[p] == SOURCE {
                        *t += self.weight[p];
                    } else {
                        *t += d;
                    }
                }
            }
            let mut scored: Vec<(u64, u32, u32)> = (0..nq as u32)
                .filter(|&p| self.total[p as usize] != UNREACHED)
                .map(|p| (self.total[p as usize], rng.random::<u32>(), p))
                .collect();
            if scored.is_empty() {
                return false;
            }
            let k = ROOT_CANDIDATES.min(scored.len());
            scored.select_nth_unstable(k - 1);
            scored.truncate(k);
            scored.sort_unstable();
            let mut best: Option<((u64, usize), Grown)> = None;
            for &(_, _, root) in &scored {
                let grown = self.grow(root, slots);
                let key = (self.chain_cost(&grown.chain, slots), grown.chain.len());
                if best.as_ref().is_none_or(|(b, _)| key < *b) {
                    best = Some((key, grown));
                }
            }
            let (_, grown) = best.expect("at least one root was scored");
            for &p in &grown.chain {
                self.usage[p as usize] += 1;
            }
            self.chains[x] = grown.chain.clone();
            self.flip_back(x, &grown, &placed, self.flip_target);
            return true;
        };
        for &p in &chain {
            self.usage[p as usize] += 1;
        }
        self.chains[x] = chain;
        true
    }

    /// Cost of a candidate chain: its qubits' weights plus, per neighbour, the distance from its
    /// best attachment point (a shared qubit thus counts once more for every neighbour it
    /// serves, as the root does in `Σ_y d_y(g)`).
    fn chain_cost(&self, chain: &[u32], slots: usize) -> u64 {
        let own: u64 = chain.iter().map(|&q| self.weight[q as usize]).sum();
        let attach: u64 = (0..slots)
            .map(|slot| {
                chain
                    .iter()
                    .map(|&q| {
                        if self.parent[slot][q as usize] == SOURCE {
                            self.weight[q as usize]
                        } else {
                            self.dist[slot][q as usize]
                        }
                    })
                    .min()
                    .unwrap_or(UNREACHED)
            })
            .fold(0u64, u64::saturating_add);
        own.saturating_add(attach)
    }

    /// Extra weight to connect chain qubit `q` to neighbour `slot`'s chain: 0 if `q` already
    /// touches it (or lies on it).
    fn extra(&self, slot: usize, q: u32) -> u64 {
        if self.parent[slot][q as usize] == SOURCE {
            0
        } else {
            self.dist[slot][q as usize] - self.weight[q as usize]
        }
    }

    /// Grows a chain from `root`: neighbours in order of distance, each joined by the shortest
    /// path from the nearest qubit already in the chain (a Steiner-tree approximation), then
    /// leaves that touch no neighbour alone are pruned. Also returns, per neighbour slot, the
    /// tail of its path that nothing else hangs from (see [`Self::flip_back`]).
    fn grow(&mut self, root: u32, slots: usize) -> Grown {
        self.epoch += 1;
        let epoch = self.epoch;
        self.stamp[root as usize] = epoch;
        let mut chain = vec![root];
        let mut anchors = vec![root];
        let mut segments = Vec::new();
        let mut order: Vec<usize> = (0..slots).collect();
        order.sort_by_key(|&slot| (self.dist[slot][root as usize], slot));
        for slot in order {
            let (extra, q) = chain
                .iter()
                .map(|&q| (self.extra(slot, q), q))
                .min()
                .expect("a chain is never empty");
            if extra == 0 {
                continue;
            }
            anchors.push(q);
            let mut tail = Vec::new();
            let mut p = self.parent[slot][q as usize];
            while self.parent[slot][p as usize] != SOURCE {
                if self.stamp[p as usize] == epoch {
                    // The path runs through the chain again: only what follows is a tail.
                    anchors.push(p);
                    tail.clear();
                } else {
                    self.stamp[p as usize] = epoch;
                    chain.push(p);
                    tail.push(p);
                }
                p = self.parent[slot][p as usize];
            }
            segments.push((slot, tail));
        }
        // Prune leaves whose every neighbour chain is touched elsewhere too.
        let mut touches = vec![0u32; slots];
        for &q in &chain {
            for (slot, count) in touches.iter_mut().enumerate() {
                if self.extra(slot, q) == 0 {
                    *count += 1;
                }
            }
        }
        loop {
            let mut removed = false;
            let mut i = 0;
            while i < chain.len() && chain.len() > 1 {
                let q = chain[i];
                let degree = self
                    .target
                    .neighbours(q)
                    .iter()
                    .filter(|&&v| self.stamp[v as usize] == epoch)
                    .count();
                let needed = (0..slots).any(|slot| touches[slot] == 1 && self.extra(slot, q) == 0);
                if degree <= 1 && !needed {
                    for (slot, count) in touches.iter_mut().enumerate() {
                        if self.extra(slot, q) == 0 {
                            *count -= 1;
                        }
                    }
                    self.stamp[q as usize] = 0;
                    chain.swap_remove(i);
                    removed = true;
                } else {
                    i += 1;
                }
            }
            if !removed {
                break;
            }
        }
        // A tail whose end was pruned no longer reaches its neighbour: drop it.
        let members = &self.stamp;
        segments.retain(|(_, tail)| tail.last().is_some_and(|&p| members[p as usize] == epoch));
        Grown { chain, segments, anchors }
    }

    /// Hands path tails of the new chain of `x` to the neighbours they lead to (minorminer's
    /// "flip back"): walking back from the neighbour's end, each tail qubit moves into that
    /// neighbour's chain until a qubit other paths hang from, a qubit that alone lets `x`
    /// touch another neighbour, or a neighbour already `target` long (0: no limit). Chains stay
    /// connected and adjacent; connection work is shared instead of piling onto `x`.
    fn flip_back(&mut self, x: usize, grown: &Grown, placed: &[usize], target: usize) {
        self.epoch += 1;
        let epoch = self.epoch;
        for &p in &self.chains[x] {
            self.stamp[p as usize] = epoch;
        }
        let slots = placed.len();
        let mut touches = vec![0u32; slots];
        for &q in &self.chains[x] {
            for (slot, count) in touches.iter_mut().enumerate() {
                if self.extra(slot, q) == 0 {
                    *count += 1;
                }
            }
        }
        for (slot, tail) in grown.segments.iter().rev() {
            let y = placed[*slot];
            if !self.movable[y] {
                continue;
            }
            for &p in tail.iter().rev() {
                if self.stamp[p as usize] != epoch
                    || grown.anchors.contains(&p)
                    || (target > 0 && self.chains[y].len() >= target)
                    || (0..slots).any(|z| z != *slot && touches[z] == 1 && self.extra(z, p) == 0)
                {
                    break;
                }
                for (z, count) in touches.iter_mut().enumerate() {
                    if self.extra(z, p) == 0 {
                        *count -= 1;
                    }
                }
                self.stamp[p as usize] = 0;
                let at = self.chains[x].iter().position(|&q| q == p).expect("p is in the chain");
                self.chains[x].swap_remove(at);
                self.chains[y].push(p);
            }
        }
    }

    /// Node-weighted multi-source Dijkstra from the chain of `y` into scratch `slot`:
    /// `dist[g]` = least total weight of the qubits on a path from the chain to `g`, `g`
    /// included and the chain excluded; `parent[g]` = previous qubit, `SOURCE` on the chain.
    /// Blocked qubits are never entered.
    fn dijkstra(&mut self, slot: usize, y: usize) {
        let mut dist = std::mem::take(&mut self.dist[slot]);
        let mut parent = std::mem::take(&mut self.parent[slot]);
        dist.fill(UNREACHED);
        parent.fill(SOURCE);
        self.heap.clear();
        for &p in &self.chains[y] {
            dist[p as usize] = 0;
            self.heap.push(0, p);
        }
        while let Some((d, u)) = self.heap.pop() {
            if d > dist[u as usize] {
                continue;
            }
            for &v in self.target.neighbours(u) {
                if self.blocked[v as usize] {
                    continue;
                }
                let nd = d + self.weight[v as usize];
                if nd < dist[v as usize] {
                    dist[v as usize] = nd;
                    parent[v as usize] = u;
                    self.heap.push(nd, v);
                }
            }
        }
        self.dist[slot] = dist;
        self.parent[slot] = parent;
    }
}
