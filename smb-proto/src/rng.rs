//! Seedable randomness (in progress).
