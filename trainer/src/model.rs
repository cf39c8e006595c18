//! Recognition and generator networks and their wake-sleep gradients.
