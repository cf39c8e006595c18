//! Data sets: IDX and USPS files, downsampling, splits.
