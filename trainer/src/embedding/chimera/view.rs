//! The Chimera grid seen through one of its eight symmetries, with the health of every line
//! and corner coupler precomputed, and the lines a corner cell can use for a given `(T, R)`.

use qahm_common::topology::{Chimera, ChimeraCoord, WorkingGraph};

#[derive(Clone, Copy, Debug)]
pub(super) struct Orientation {
    pub(super) transpose: bool,
    pub(super) flip_rows: bool,
    pub(super) flip_cols: bool,
}

/// The grid seen through one symmetry, with line and coupler health precomputed.
pub(super) struct View {
    chimera: Chimera,
    orientation: Orientation,
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) t: usize,
    /// `v_ok[(x * t + k) * rows + y]`: qubit `V(y, x, k)` active and, for `y > 0`, the coupler
    /// to `V(y - 1, x, k)` active.
    pub(super) v_ok: Vec<bool>,
    pub(super) v_qubit_ok: Vec<bool>,
    /// `h_ok[(y * t + k) * cols + x]`: qubit `H(y, x, k)` active and, for `x > 0`, the coupler to
    /// `H(y, x - 1, k)` active.
    pub(super) h_ok: Vec<bool>,
    pub(super) h_qubit_ok: Vec<bool>,
    /// `cell_ok[((y * cols + x) * t + kv) * t + kh]`: intra-cell coupler `V(kv)`–`H(kh)` active.
    cell_ok: Vec<bool>,
}

impl View {
    pub(super) fn new(graph: &WorkingGraph, chimera: Chimera, orientation: Orientation) -> View {
        let (rows, cols) = if orientation.transpose {
            (chimera.cols as usize, chimera.rows as usize)
        } else {
            (chimera.rows as usize, chimera.cols as usize)
        };
        let t = chimera.shore as usize;
        let mut view = View {
            chimera,
            orientation,
            rows,
            cols,
            t,
            v_ok: vec![false; cols * t * rows],
            v_qubit_ok: vec![false; cols * t * rows],
            h_ok: vec![false; rows * t * cols],
            h_qubit_ok: vec![false; rows * t * cols],
            cell_ok: vec![false; rows * cols * t * t],
        };
        for y in 0..rows {
            for x in 0..cols {
                for k in 0..t {
                    let v = view.qubit(y, x, 0, k);
                    let h = view.qubit(y, x, 1, k);
                    let vi = (x * t + k) * rows + y;
                    let hi = (y * t + k) * cols + x;
                    view.v_qubit_ok[vi] = graph.is_active(v);
                    view.h_qubit_ok[hi] = graph.is_active(h);
                    view.v_ok[vi] = graph.is_active(v)
                        && (y == 0 || graph.has_coupler(v, view.qubit(y - 1, x, 0, k)));
                    view.h_ok[hi] = graph.is_active(h)
                        && (x == 0 || graph.has_coupler(h, view.qubit(y, x - 1, 1, k)));
                    for kh in 0..t {
                        view.cell_ok[((y * cols + x) * t + k) * t + kh] =
                            graph.has_coupler(v, view.qubit(y, x, 1, kh));
                    }
                }
            }
        }
        view
    }

    /// Physical label of view coordinates (row `y`, column `x`, shore `s`, index `k`).
    pub(super) fn qubit(&self, y: usize, x: usize, s: usize, k: usize) -> u32 {
        let o = self.orientation;
        let (mut row, mut col, shore) = if o.transpose { (x, y, 1 - s) } else { (y, x, s) };
        if o.flip_rows {
            row = self.chimera.rows as usize - 1 - row;
        }
        if o.flip_cols {
            col = self.chimera.cols as usize - 1 - col;
        }
        self.chimera.linear(ChimeraCoord {
            row: row as u32,
            col: col as u32,
            shore: shore as u32,
            k: k as u32,
        })
    }

    pub(super) fn junction(&self, y: usize, x: usize, kv: usize, kh: usize) -> bool {
        self.cell_ok[((y * self.cols + x) * self.t + kv) * self.t + kh]
    }

    /// For each vertical line `(x, k)`: the deepest corner row it can serve when lines start at
    /// row `top` (`None` if not even row `top` is usable).
    pub(super) fn v_reach(&self, top: usize) -> Vec<Option<usize>> {
        line_reach(&self.v_qubit_ok, &self.v_ok, self.rows, top, Step::Forward)
    }

    /// For each horizontal line `(y, k)`: the leftmost corner column it can serve when lines
    /// end at column `right`.
    pub(super) fn h_reach(&self, right: usize) -> Vec<Option<usize>> {
        line_reach(&self.h_qubit_ok, &self.h_ok, self.cols, right, Step::Back)
    }
}

/// Which way [`line_reach`] walks along a line.
#[derive(Clone, Copy)]
enum Step {
    Forward,
    Back,
}

/// For each line of `qubit_ok` and `link_ok`, stored `len` positions after another: how far it
/// stays usable from position `start` walking the way `step` says (`None` if the qubit at
/// `start` is inactive). `link_ok[i]` says qubit `i` is active and coupled to qubit `i - 1`.
fn line_reach(
    qubit_ok: &[bool],
    link_ok: &[bool],
    len: usize,
    start: usize,
    step: Step,
) -> Vec<Option<usize>> {
    qubit_ok
        .chunks(len)
        .zip(link_ok.chunks(len))
        .map(|(qubit_ok, link_ok)| {
            if !qubit_ok[start] {
                return None;
            }
            let mut at = start;
            match step {
                Step::Forward => {
                    while at + 1 < len && link_ok[at + 1] {
                        at += 1;
                    }
                }
                Step::Back => {
                    while at > 0 && link_ok[at] {
                        at -= 1;
                    }
                }
            }
            Some(at)
        })
        .collect()
}

/// Lines a corner cell can use for a given `(T, R)`.
pub(super) struct Reach {
    pub(super) top: usize,
    pub(super) right: usize,
    pub(super) v: Vec<Option<usize>>,
    pub(super) h: Vec<Option<usize>>,
}

impl Reach {
    pub(super) fn v_lines(&self, view: &View, y: usize, x: usize) -> Vec<usize> {
        (0..view.t).filter(|&k| self.v[x * view.t + k].is_some_and(|d| d >= y)).collect()
    }

    pub(super) fn h_lines(&self, view: &View, y: usize, x: usize) -> Vec<usize> {
        (0..view.t).filter(|&k| self.h[y * view.t + k].is_some_and(|l| l <= x)).collect()
    }

    pub(super) fn chain_len(&self, y: usize, x: usize) -> usize {
        (y - self.top + 1) + (self.right - x + 1)
    }
}
