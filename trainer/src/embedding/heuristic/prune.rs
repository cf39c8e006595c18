//! The final pass: pruning leaf qubits no required pair needs.

use super::Target;

/// Removes, chain by chain, leaf qubits (at most one neighbour in their own chain) whose
/// couplers to other chains are not the last ones joining a required pair. Chains stay
/// connected and every required pair stays joined. `chains` are over target positions and
/// disjoint.
pub(super) fn prune_leaves(target: &Target, source: &[Vec<u32>], chains: &mut [Vec<u32>]) {
    const FREE: u32 = u32::MAX;
    let mut owner = vec![FREE; target.len()];
    for (i, chain) in chains.iter().enumerate() {
        for &p in chain {
            owner[p as usize] = i as u32;
        }
    }
    let n = chains.len();
    let mut links = vec![0u32; n];
    for i in 0..n {
        // links[j]: couplers between chain i and chain j.
        links.fill(0);
        for &p in &chains[i] {
            for &q in target.neighbours(p) {
                let o = owner[q as usize];
                if o != FREE && o as usize != i {
                    links[o as usize] += 1;
                }
            }
        }
        let required: Vec<bool> = {
            let mut r = vec![false; n];
            for &j in &source[i] {
                r[j as usize] = true;
            }
            r
        };
        loop {
            let mut removed = false;
            let mut k = 0;
            while k < chains[i].len() && chains[i].len() > 1 {
                let p = chains[i][k];
                let around = target.neighbours(p);
                let inside = around.iter().filter(|&&q| owner[q as usize] == i as u32).count();
                // Needed if it holds all the couplers left to some required chain.
                let needed = inside > 1
                    || around.iter().any(|&q| {
                        let o = owner[q as usize];
                        o != FREE
                            && o as usize != i
                            && required[o as usize]
                            && links[o as usize] as usize
                                == around.iter().filter(|&&r| owner[r as usize] == o).count()
                    });
                if needed {
                    k += 1;
                    continue;
                }
                for &q in target.neighbours(p) {
                    let o = owner[q as usize];
                    if o != FREE && o as usize != i {
                        links[o as usize] -= 1;
                    }
                }
                owner[p as usize] = FREE;
                chains[i].swap_remove(k);
                removed = true;
            }
            if !removed {
                break;
            }
        }
    }
}
