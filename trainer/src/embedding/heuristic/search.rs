//! One try of the heuristic: the initial pass that places every variable, then rounds of
//! tear-up and re-route until no qubit is shared, then rounds that shorten chains.

use std::cmp::Reverse;

use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::radix_heap::RadixHeap;
use super::route::MAX_HISTORY;
use super::{HeuristicParams, Target};

pub(super) struct Search<'a> {
    pub(super) target: &'a Target,
    pub(super) source: &'a [Vec<u32>],
    pub(super) chains: Vec<Vec<u32>>,
    pub(super) usage: Vec<u16>,
    pub(super) movable: Vec<bool>,
    /// Negotiated-congestion history: how many rounds each qubit ended shared. Scales its
    /// weight while overlaps remain, so contested spots get dearer for every chain, including
    /// chains that sit next to them without overlapping.
    pub(super) history: Vec<u16>,
    pub(super) use_history: bool,
    /// Tails are flipped back to neighbours shorter than this (0: no limit).
    pub(super) flip_target: usize,
    // Per placement: qubit weights and qubits the new chain may not use.
    pub(super) weight: Vec<u64>,
    pub(super) blocked: Vec<bool>,
    // Scratch, reused across placements.
    pub(super) dist: Vec<Vec<u64>>,
    pub(super) parent: Vec<Vec<u32>>,
    pub(super) total: Vec<u64>,
    pub(super) heap: RadixHeap,
    pub(super) stamp: Vec<u32>,
    pub(super) epoch: u32,
}

impl<'a> Search<'a> {
    pub(super) fn new(
        target: &'a Target,
        source: &'a [Vec<u32>],
        chains: Vec<Vec<u32>>,
    ) -> Search<'a> {
        let nq = target.len();
        let mut usage = vec![0u16; nq];
        for chain in &chains {
            for &p in chain {
                usage[p as usize] += 1;
            }
        }
        let movable = chains.iter().map(Vec::is_empty).collect();
        Search {
            target,
            source,
            chains,
            usage,
            movable,
            history: vec![0; nq],
            use_history: true,
            flip_target: 0,
            weight: vec![1; nq],
            blocked: vec![false; nq],
            dist: Vec::new(),
            parent: Vec::new(),
            total: vec![0; nq],
            heap: RadixHeap::new(),
            stamp: vec![0; nq],
            epoch: 0,
        }
    }

    /// Shared qubits (counted once per extra chain), plus one per unplaced variable.
    fn overlaps(&self) -> usize {
        let shared: usize = self.usage.iter().map(|&u| (u as usize).saturating_sub(1)).sum();
        shared + self.chains.iter().filter(|c| c.is_empty()).count()
    }

    /// (worst fill, qubits at worst fill, total overlap): lower is better.
    fn fill_stats(&self) -> (u16, usize, usize) {
        let worst = self.usage.iter().copied().max().unwrap_or(0);
        let at_worst = self.usage.iter().filter(|&&u| u == worst).count();
        (worst, at_worst, self.overlaps())
    }

    fn score(&self) -> (usize, usize) {
        let max = self.chains.iter().map(Vec::len).max().unwrap_or(0);
        (max, self.chains.iter().map(Vec::len).sum())
    }

    fn movable_order(&self, rng: &mut Xoshiro256PlusPlus) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.chains.len()).filter(|&x| self.movable[x]).collect();
        order.shuffle(rng);
        order
    }

    pub(super) fn run(
        &mut self,
        params: &HeuristicParams,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Option<Vec<Vec<u32>>> {
        self.initialise(rng);
        let mut rounds = 0;
        let mut stale = 0;
        let mut best_fill = self.fill_stats();
        let mut best_overlaps = self.overlaps();
        while self.overlaps() > 0 {
            if rounds >= params.max_rounds {
                return None;
            }
            if stale >= params.patience {
                if !self.release_overlapping() {
                    return None;
                }
                stale = 0;
            }
            for x in self.movable_order(rng) {
                self.push_down(x, rng);
            }
            rounds += 1;
            for (h, &u) in self.history.iter_mut().zip(&self.usage) {
                if u > 1 {
                    *h = (*h + 1).min(MAX_HISTORY);
                }
            }
            let fill = self.fill_stats();
            if fill < best_fill || fill.2 < best_overlaps {
                best_fill = best_fill.min(fill);
                best_overlaps = best_overlaps.min(fill.2);
                stale = 0;
            } else {
                stale += 1;
            }
        }
        let mut best = (self.score(), self.chains.clone());
        self.use_history = false;
        self.flip_target = best.0.0;
        stale = 0;
        while stale < params.patience && rounds < params.max_rounds {
            for x in self.movable_order(rng) {
                self.push_down(x, rng);
            }
            rounds += 1;
            let score = self.score();
            if self.overlaps() == 0 && score < best.0 {
                best = (score, self.chains.clone());
                self.flip_target = score.0;
                stale = 0;
            } else {
                stale += 1;
            }
        }
        Some(best.1)
    }

    /// Places every unplaced variable, those with the most placed neighbours first.
    fn initialise(&mut self, rng: &mut Xoshiro256PlusPlus) {
        let n = self.chains.len();
        let mut placed_neighbours: Vec<usize> = (0..n)
            .map(|x| {
                self.source[x].iter().filter(|&&y| !self.chains[y as usize].is_empty()).count()
            })
            .collect();
        let mut pending: Vec<usize> = (0..n).filter(|&x| self.chains[x].is_empty()).collect();
        pending.shuffle(rng);
        while !pending.is_empty() {
            let (at, _) = pending
                .iter()
                .enumerate()
                .max_by_key(|&(i, &x)| (placed_neighbours[x], Reverse(i)))
                .expect("pending is not empty");
            let x = pending.swap_remove(at);
            self.place_anyhow(x, rng);
            for &y in &self.source[x] {
                placed_neighbours[y as usize] += 1;
            }
        }
    }

    /// Fixed chains sharing a qubit with another chain become movable. Returns whether any did.
    fn release_overlapping(&mut self) -> bool {
        let mut released = false;
        for x in 0..self.chains.len() {
            if !self.movable[x] && self.chains[x].iter().any(|&p| self.usage[p as usize] > 1) {
                self.movable[x] = true;
                released = true;
            }
        }
        released
    }

    /// Places `x` without a bound, on a shared root if nothing else is left.
    fn place_anyhow(&mut self, x: usize, rng: &mut Xoshiro256PlusPlus) {
        if !self.place(x, None, false, rng) {
            self.place(x, None, true, rng);
        }
    }

    /// Re-routes `x` without raising the worst fill its chain had; freely if that fails.
    fn push_down(&mut self, x: usize, rng: &mut Xoshiro256PlusPlus) {
        let worst = self.chains[x].iter().map(|&p| self.usage[p as usize]).max().unwrap_or(1);
        if !self.place(x, Some(worst), false, rng) {
            self.place_anyhow(x, rng);
        }
    }
}
