//! The CPU model: how much virtual time a handler's work takes.
//!
//! Lambda gives a function CPU in proportion to its memory size: one full vCPU at 1,769 MB. A WebAssembly handler is
//! single-threaded, so more than one vCPU does not make it faster. lambda-sim counts the WebAssembly *fuel* a call
//! consumes (about one unit per instruction, the same on every run for the same input) and converts it to
//! nanoseconds with integer arithmetic, so virtual time is exactly reproducible on any machine.

/// Memory size (MB) at which Lambda allocates one full vCPU.
pub const FULL_VCPU_MEMORY_MB: u64 = 1769;

/// Default cost of one unit of fuel at one full vCPU, in picoseconds (0.1 ns). Measured with `lambda-sim calibrate`
/// on the reference machine (2-vCPU x86_64 cloud VM, wasmtime 48 Cranelift): 0.156 ns for the built-in loop, 0.052 ns
/// for `thumbnail`, 0.032 ns for `cpu`'s hash loop — the cost depends on the instruction mix, so the default sits
/// between them. Rerun `calibrate --function` with your own handler to fit it.
pub const DEFAULT_PS_PER_FUEL: u64 = 100;

/// Virtual CPU time a host call costs at one full vCPU (a WASI or `lambda` import: a system call or a runtime API
/// call on Lambda), on top of the fuel of the guest's own instructions, which a host call does not consume: 1 µs,
/// a system call's order of magnitude inside a microVM. Without it a loop of host calls would cost no time at all.
pub const HOST_CALL_NS: u64 = 1_000;
/// And per KiB of data a host call moves between guest and host (event, response, log output): 1 µs, about 1 ns
/// per byte.
pub const HOST_CALL_NS_PER_KIB: u64 = 1_000;

/// Converts fuel to virtual CPU nanoseconds for one function configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuModel {
    /// Picoseconds per unit of fuel at a full vCPU.
    pub ps_per_fuel: u64,
    /// The function's memory size in MB; below 1,769 MB the CPU share is proportionally smaller.
    pub memory_mb: u64,
    /// Divisor of `fuel × ps_per_fuel × 1769` and its reciprocal u64::MAX / divisor: the per-invocation conversion
    /// multiplies instead of dividing (a hardware division costs as much as a third of a warm call).
    divisor: u64,
    reciprocal: u64,
}

impl CpuModel {
    pub fn new(ps_per_fuel: u64, memory_mb: u64) -> Self {
        let memory_mb = memory_mb.max(1);
        let divisor = 1000 * memory_mb.min(FULL_VCPU_MEMORY_MB);
        CpuModel {
            ps_per_fuel: ps_per_fuel.max(1),
            memory_mb,
            divisor,
            reciprocal: u64::MAX / divisor,
        }
    }

    /// The fuel a host call that moved `bytes` between guest and host costs ([`HOST_CALL_NS`],
    /// [`HOST_CALL_NS_PER_KIB`]): fuel at one full vCPU, so that, like the guest's own, it takes longer at smaller
    /// memory sizes.
    #[inline]
    pub fn host_call_fuel(&self, bytes: u64) -> u64 {
        let ns = HOST_CALL_NS + bytes.saturating_mul(HOST_CALL_NS_PER_KIB) / 1024;
        ns.saturating_mul(1000) / self.ps_per_fuel
    }

    /// The share of one vCPU this memory size gets, min(1, memory / 1769), in the range (0, 1].
    #[inline]
    pub fn cpu_share(&self) -> f64 {
        self.effective_memory() as f64 / FULL_VCPU_MEMORY_MB as f64
    }

    #[inline]
    fn effective_memory(&self) -> u64 {
        self.memory_mb.min(FULL_VCPU_MEMORY_MB)
    }

    /// Virtual nanoseconds that `fuel` units take at this memory size (rounded down).
    #[inline]
    pub fn fuel_to_ns(&self, fuel: u64) -> u64 {
        // Fast path in 64 bits (the per-invocation path); 128 bits only for budgets of hours.
        if let Some(num) = fuel
            .checked_mul(self.ps_per_fuel)
            .and_then(|x| x.checked_mul(FULL_VCPU_MEMORY_MB))
        {
            // floor(num / divisor): the estimate is low by at most 2; correct it exactly.
            let mut q = ((u128::from(num) * u128::from(self.reciprocal)) >> 64) as u64;
            while u128::from(q + 1) * u128::from(self.divisor) <= u128::from(num) {
                q += 1;
            }
            return q;
        }
        let num = fuel as u128 * self.ps_per_fuel as u128 * FULL_VCPU_MEMORY_MB as u128;
        let den = 1000u128 * self.effective_memory() as u128;
        u64::try_from(num / den).unwrap_or(u64::MAX)
    }

    /// The most fuel that fits in `ns` virtual nanoseconds (rounded up, so that running out of fuel means the
    /// budget was really exceeded).
    #[inline]
    pub fn ns_to_fuel(&self, ns: u64) -> u64 {
        let num = ns as u128 * 1000 * self.effective_memory() as u128;
        let den = self.ps_per_fuel as u128 * FULL_VCPU_MEMORY_MB as u128;
        u64::try_from(num.div_ceil(den)).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_vcpu_at_1769_mb_and_above() {
        let a = CpuModel::new(500, 1769);
        let b = CpuModel::new(500, 10240);
        assert_eq!(a.fuel_to_ns(1_000_000), 500_000);
        assert_eq!(b.fuel_to_ns(1_000_000), 500_000);
        assert_eq!(a.cpu_share(), 1.0);
    }

    #[test]
    fn small_memory_stretches_cpu_time() {
        let m = CpuModel::new(500, 128);
        // 128 MB gets 128/1769 of a vCPU: the same work takes 1769/128 times as long.
        assert_eq!(m.fuel_to_ns(128_000), 128_000 * 500 * 1769 / 128 / 1000);
    }

    #[test]
    fn fast_conversion_is_exact_division() {
        for (ps, mb) in [(100, 1769), (100, 128), (377, 512), (1, 10240), (999, 129)] {
            let m = CpuModel::new(ps, mb);
            for fuel in [
                0u64,
                1,
                9,
                10,
                11,
                12_345,
                999_999_937,
                1 << 40,
                u64::MAX / 2_000_000,
            ] {
                let exact = fuel as u128 * ps as u128 * 1769 / (1000 * mb.min(1769)) as u128;
                assert_eq!(
                    m.fuel_to_ns(fuel) as u128,
                    exact,
                    "ps {ps} mb {mb} fuel {fuel}"
                );
            }
        }
    }

    #[test]
    fn ns_to_fuel_round_trips_within_one_unit() {
        let m = CpuModel::new(377, 512);
        for ns in [0u64, 1, 999, 3_000_000_000, 900_000_000_000] {
            let fuel = m.ns_to_fuel(ns);
            assert!(m.fuel_to_ns(fuel) >= ns);
            if fuel > 0 {
                assert!(m.fuel_to_ns(fuel - 1) < ns);
            }
        }
    }
}
