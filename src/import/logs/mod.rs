//! `lambda-sim import logs` (being written).
