//! Embedding the fully connected logical prior into the annealer's working graph.
