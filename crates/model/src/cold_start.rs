//! The modelled parts of a cold start that no guest code runs: a snapshot's restore. (Placement and code download
//! are drawn by the platform from each function's rules.)

use crate::limits::NS_PER_MS;

/// Fixed part of a restore: resuming the environment from its snapshot, whatever its size.
pub const RESTORE_BASE_NS: u64 = 20 * NS_PER_MS;
/// Size-dependent part of a restore, per MiB of the snapshot's linear memory (loading its pages).
pub const RESTORE_NS_PER_MIB: u64 = NS_PER_MS / 2;

/// The modelled Restore Duration of a snapshot whose linear memory is `memory_bytes`:
/// [`RESTORE_BASE_NS`] + [`RESTORE_NS_PER_MIB`] per started MiB.
pub fn restore_ns(memory_bytes: u64) -> u64 {
    RESTORE_BASE_NS + memory_bytes.div_ceil(1 << 20) * RESTORE_NS_PER_MIB
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_cost_is_a_fixed_part_plus_a_part_per_mib() {
        assert_eq!(restore_ns(0), 20 * NS_PER_MS);
        assert_eq!(restore_ns(1), 20 * NS_PER_MS + NS_PER_MS / 2);
        assert_eq!(restore_ns(64 << 20), 52 * NS_PER_MS);
    }
}
