//! Execution environments and their idle pools.
//!
//! Environments live in a slab (ids carry a generation, so a stale id never reaches a new environment). Idle
//! environments wait in a deque per function and kind (provisioned / on-demand), most recently used at the back:
//! routing pops from the back (Lambda reuses the most recently used environment), keep-alive expiry usually takes
//! the oldest from the front. Removal from the middle is lazy: an entry whose environment is no longer idle in the
//! same idle period is skipped when reached.

use std::collections::VecDeque;

use super::{FunctionId, SandboxId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvState {
    /// Being created and initialized (a provisioned environment before it is ready, or a cold start's).
    Initializing,
    Busy,
    Idle,
}

#[derive(Debug, Clone)]
pub struct Env {
    pub function: FunctionId,
    pub provisioned: bool,
    pub state: EnvState,
    pub created_ns: u64,
    /// When the current invocation started (valid while busy).
    pub busy_since_ns: u64,
    /// Total time spent running invocations.
    pub busy_ns: u64,
    /// Counts idle periods: a keep-alive timer or deque entry from an earlier period is stale.
    pub idle_epoch: u32,
    /// Its maximum lifetime passed while busy: destroy when the invocation ends.
    pub retire: bool,
    /// When the current idle period's keep-alive runs out.
    pub keep_alive_until_ns: u64,
    /// Whether a keep-alive timer is pending for this environment. One timer per environment, re-armed when it
    /// fires early, instead of one per idle period: the event queue stays as small as the pool.
    pub keep_alive_armed: bool,
    /// Greedy-dual keep-alive: the cache clock when it last became idle (its priority's base).
    pub clock: u128,
}

/// All environments of a run.
#[derive(Debug, Default)]
pub struct Slab {
    slots: Vec<(u32, Option<Env>)>,
    free: Vec<u32>,
}

impl Slab {
    pub fn insert(&mut self, env: Env) -> SandboxId {
        match self.free.pop() {
            Some(slot) => {
                let entry = &mut self.slots[slot as usize];
                entry.0 = entry.0.wrapping_add(1);
                entry.1 = Some(env);
                SandboxId((u64::from(entry.0) << 32) | u64::from(slot))
            }
            None => {
                let slot = self.slots.len() as u32;
                self.slots.push((0, Some(env)));
                SandboxId(u64::from(slot))
            }
        }
    }

    fn slot(id: SandboxId) -> (usize, u32) {
        ((id.0 & 0xffff_ffff) as usize, (id.0 >> 32) as u32)
    }

    pub fn get(&self, id: SandboxId) -> Option<&Env> {
        let (slot, generation) = Self::slot(id);
        match self.slots.get(slot) {
            Some((g, Some(env))) if *g == generation => Some(env),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, id: SandboxId) -> Option<&mut Env> {
        let (slot, generation) = Self::slot(id);
        match self.slots.get_mut(slot) {
            Some((g, Some(env))) if *g == generation => Some(env),
            _ => None,
        }
    }

    pub fn remove(&mut self, id: SandboxId) -> Option<Env> {
        let (slot, generation) = Self::slot(id);
        match self.slots.get_mut(slot) {
            Some((g, env @ Some(_))) if *g == generation => {
                self.free.push(slot as u32);
                env.take()
            }
            _ => None,
        }
    }

    /// Live environments in id order, mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (SandboxId, &mut Env)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(slot, (g, env))| {
                env.as_mut()
                    .map(|e| (SandboxId((u64::from(*g) << 32) | slot as u64), e))
            })
    }

    /// Live environments in id order (deterministic).
    pub fn iter(&self) -> impl Iterator<Item = (SandboxId, &Env)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(slot, (g, env))| {
                env.as_ref()
                    .map(|e| (SandboxId((u64::from(*g) << 32) | slot as u64), e))
            })
    }
}

/// Idle environments of one kind for one function, most recently used at the back.
#[derive(Debug, Default)]
pub struct IdleDeque {
    entries: VecDeque<(SandboxId, u32)>,
    /// How many entries are still valid.
    pub live: u32,
}

impl IdleDeque {
    pub fn push(&mut self, id: SandboxId, epoch: u32) {
        self.entries.push_back((id, epoch));
        self.live += 1;
    }

    fn valid(slab: &Slab, (id, epoch): (SandboxId, u32)) -> bool {
        matches!(slab.get(id), Some(e) if e.state == EnvState::Idle && e.idle_epoch == epoch)
    }

    /// The most recently used idle environment.
    pub fn pop_mru(&mut self, slab: &Slab) -> Option<SandboxId> {
        while let Some(entry) = self.entries.pop_back() {
            if Self::valid(slab, entry) {
                self.live = self.live.saturating_sub(1);
                return Some(entry.0);
            }
        }
        None
    }

    /// Marks one entry as gone (its environment was reclaimed while idle) and drops stale entries at the front.
    pub fn forget_one(&mut self, slab: &Slab) {
        self.live = self.live.saturating_sub(1);
        while let Some(&front) = self.entries.front() {
            if Self::valid(slab, front) {
                break;
            }
            self.entries.pop_front();
        }
    }
}
