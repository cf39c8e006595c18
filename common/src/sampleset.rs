//! Sample sets as SAPI returns them: rows bit-packed MSB-first over the active variables.
//!
//! Bit 1 is spin +1, bit 0 is spin −1; bit 7 of a row's first byte is the first active
//! variable; each row is padded to a whole byte.

use std::collections::HashMap;

use thiserror::Error;

/// How the rows of an answer are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerMode {
    /// One row per read, in read order.
    Raw,
    /// Unique rows, ascending energy, with occurrence counts.
    Histogram,
}

/// Bytes one packed row takes for `num_active` variables.
pub fn bytes_per_row(num_active: usize) -> usize {
    num_active.div_ceil(8)
}

/// Packs ±1 spins (row-major `[rows, num_active]`) MSB-first, each row padded to a byte.
pub fn pack_rows(spins: &[i8], num_active: usize) -> Vec<u8> {
    let width = bytes_per_row(num_active);
    if num_active == 0 {
        return Vec::new();
    }
    let rows = spins.len() / num_active;
    let mut packed = vec![0u8; rows * width];
    for (row, out) in spins.chunks_exact(num_active).zip(packed.chunks_exact_mut(width)) {
        pack_row_into(row, out);
    }
    packed
}

fn pack_row_into(row: &[i8], out: &mut [u8]) {
    for (byte, spins) in out.iter_mut().zip(row.chunks(8)) {
        *byte = spins
            .iter()
            .enumerate()
            .fold(0u8, |acc, (bit, &s)| if s > 0 { acc | (0x80 >> bit) } else { acc });
    }
}

/// Unpacks one packed row into ±1 spins.
pub fn unpack_row(packed: &[u8], num_active: usize, out: &mut Vec<i8>) {
    out.clear();
    out.extend(
        (0..num_active).map(|i| if packed[i / 8] & (0x80 >> (i % 8)) != 0 { 1 } else { -1 }),
    );
}

/// An answer: packed rows, their energies and (histogram mode) their counts.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleSet {
    pub active_variables: Vec<u32>,
    /// `rows × bytes_per_row(active_variables.len())` bytes.
    pub solutions: Vec<u8>,
    pub energies: Vec<f64>,
    /// One per row in histogram mode; `None` in raw mode.
    pub num_occurrences: Option<Vec<u32>>,
}

/// Why a received answer is malformed.
#[derive(Debug, Error, PartialEq)]
pub enum SampleSetError {
    #[error("solutions hold {got} bytes, expected {expected} for {rows} rows")]
    SolutionsLength { got: usize, expected: usize, rows: usize },
    #[error("num_occurrences has {got} entries, expected {expected}")]
    OccurrencesLength { got: usize, expected: usize },
}

impl SampleSet {
    /// A raw-mode set from ±1 spins `[reads, active.len()]` and their energies.
    pub fn raw(active_variables: Vec<u32>, spins: &[i8], energies: Vec<f64>) -> Self {
        let solutions = pack_rows(spins, active_variables.len());
        SampleSet { active_variables, solutions, energies, num_occurrences: None }
    }

    /// Aggregates identical rows: unique rows in ascending energy (ties by first appearance),
    /// each with its count.
    pub fn histogram(active_variables: Vec<u32>, spins: &[i8], energies: &[f64]) -> Self {
        let n = active_variables.len();
        let width = bytes_per_row(n);
        let packed = pack_rows(spins, n);
        let rows = energies.len();
        let mut first_seen: HashMap<&[u8], usize> = HashMap::new();
        let mut uniques: Vec<(usize, u32)> = Vec::new(); // (row index, count)
        for row in 0..rows {
            let key = &packed[row * width..(row + 1) * width];
            match first_seen.get(key) {
                Some(&u) => uniques[u].1 += 1,
                None => {
                    first_seen.insert(key, uniques.len());
                    uniques.push((row, 1));
                }
            }
        }
        uniques.sort_by(|a, b| energies[a.0].total_cmp(&energies[b.0]).then(a.0.cmp(&b.0)));
        let mut solutions = Vec::with_capacity(uniques.len() * width);
        for &(row, _) in &uniques {
            solutions.extend_from_slice(&packed[row * width..(row + 1) * width]);
        }
        SampleSet {
            active_variables,
            solutions,
            energies: uniques.iter().map(|&(row, _)| energies[row]).collect(),
            num_occurrences: Some(uniques.iter().map(|&(_, count)| count).collect()),
        }
    }

    pub fn num_rows(&self) -> usize {
        self.energies.len()
    }

    pub fn bytes_per_row(&self) -> usize {
        bytes_per_row(self.active_variables.len())
    }

    /// Total reads the set stands for (Σ num_occurrences, or rows in raw mode).
    pub fn num_reads(&self) -> u64 {
        match &self.num_occurrences {
            Some(counts) => counts.iter().map(|&c| u64::from(c)).sum(),
            None => self.num_rows() as u64,
        }
    }

    /// The packed bytes of one row.
    pub fn packed_row(&self, row: usize) -> &[u8] {
        let width = self.bytes_per_row();
        &self.solutions[row * width..(row + 1) * width]
    }

    /// One row as ±1 spins over `active_variables`.
    pub fn row(&self, row: usize) -> Vec<i8> {
        let mut spins = Vec::new();
        unpack_row(self.packed_row(row), self.active_variables.len(), &mut spins);
        spins
    }

    /// Checks that the parts agree in size.
    pub fn check(&self) -> Result<(), SampleSetError> {
        let rows = self.num_rows();
        let expected = rows * self.bytes_per_row();
        if self.solutions.len() != expected {
            return Err(SampleSetError::SolutionsLength {
                got: self.solutions.len(),
                expected,
                rows,
            });
        }
        if let Some(counts) = &self.num_occurrences
            && counts.len() != rows
        {
            return Err(SampleSetError::OccurrencesLength { got: counts.len(), expected: rows });
        }
        Ok(())
    }

    /// Appends another part of the same answer (same active variables and mode).
    pub fn extend(&mut self, other: SampleSet) {
        self.solutions.extend_from_slice(&other.solutions);
        self.energies.extend_from_slice(&other.energies);
        match (&mut self.num_occurrences, other.num_occurrences) {
            (Some(mine), Some(theirs)) => mine.extend(theirs),
            (mine @ None, Some(theirs)) if self.energies.len() == theirs.len() => {
                *mine = Some(theirs)
            }
            _ => {}
        }
    }

    /// Row ranges whose packed solutions and energies stay under `max_bytes` each.
    pub fn chunk_rows(&self, max_bytes: usize) -> Vec<std::ops::Range<usize>> {
        let per_row = self.bytes_per_row() + 8 + 4; // solutions + energy + count
        let rows_per_chunk = (max_bytes / per_row.max(1)).max(1);
        let rows = self.num_rows();
        if rows == 0 {
            // One empty chunk, so that even an empty answer has a last chunk carrying timing.
            return std::iter::once(0..0).collect();
        }
        (0..rows).step_by(rows_per_chunk).map(|s| s..(s + rows_per_chunk).min(rows)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_is_msb_first_as_recorded_from_the_real_solver() {
        // SAPI reference, worked example C: row (s0,s1,s4,s5) = (-1,-1,+1,-1) packs to 0x20.
        assert_eq!(pack_rows(&[-1, -1, 1, -1], 4), vec![0x20]);
        assert_eq!(pack_rows(&[-1, 1, -1, -1], 4), vec![0x40]);
        // Nine variables take two bytes, the ninth in bit 7 of the second.
        assert_eq!(pack_rows(&[1, -1, -1, -1, -1, -1, -1, 1, 1], 9), vec![0x81, 0x80]);
    }

    #[test]
    fn pack_and_unpack_round_trip() {
        let spins: Vec<i8> = (0..3 * 13).map(|i| if (i * 7) % 5 < 2 { 1 } else { -1 }).collect();
        let packed = pack_rows(&spins, 13);
        assert_eq!(packed.len(), 3 * 2);
        let mut row = Vec::new();
        for r in 0..3 {
            unpack_row(&packed[r * 2..r * 2 + 2], 13, &mut row);
            assert_eq!(row, &spins[r * 13..(r + 1) * 13]);
        }
    }

    #[test]
    fn histogram_counts_unique_rows_in_ascending_energy() {
        let spins = [1, 1, -1, -1, 1, 1, -1, 1];
        let energies = [0.5, -1.0, 0.5, 2.0];
        let set = SampleSet::histogram(vec![3, 9], &spins, &energies);
        assert_eq!(set.energies, vec![-1.0, 0.5, 2.0]);
        assert_eq!(set.num_occurrences, Some(vec![1, 2, 1]));
        assert_eq!(set.row(0), vec![-1, -1]);
        assert_eq!(set.row(1), vec![1, 1]);
        assert_eq!(set.num_reads(), 4);
        set.check().unwrap();
    }

    #[test]
    fn chunks_cover_all_rows_under_the_limit() {
        let n = 2030;
        let spins = vec![1i8; 1000 * n];
        let set = SampleSet::raw((0..n as u32).collect(), &spins, vec![0.0; 1000]);
        let chunks = set.chunk_rows(64 * 1024);
        assert_eq!(chunks.first().unwrap().start, 0);
        assert_eq!(chunks.last().unwrap().end, 1000);
        assert!(chunks.windows(2).all(|w| w[0].end == w[1].start));
        assert!(chunks.iter().all(|c| c.len() * (set.bytes_per_row() + 12) <= 64 * 1024));
    }
}
