//! The virtual-time [`Driver`]: a deterministic single-threaded executor whose clock is the event queue.
//!
//! A lifecycle task is polled at once when it is started, and again only when an event it asked for comes out of
//! the queue: a `sleep_until(t)` queues a resume event at `t` (after everything already queued for `t`), and a
//! waiting service call is woken by an event at its answer time. Nothing else can wake a task: guest code in
//! virtual time never waits on the host (its waits are virtual), so a task that is pending with no event queued for
//! it would be stuck, and the run says so. Everything is in one thread, ordered by (time, sequence number): the same
//! scenario and seed give the same run.
//!
//! The simulator's own traffic takes a shorter way through the same lifecycle when its handler cannot suspend
//! (virtual time, no services): the request is routed and started on the loop's stack (`lifecycle::request::route`
//! and `start` complete at once), and its end is an `End` event that calls `lifecycle::request::end` — no task, no
//! allocation, in the order a task's resume would have had.

use std::cell::{Cell, RefCell, RefMut};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use super::queue::EventQueue;
use crate::lifecycle::request::Ending;
use crate::lifecycle::{Core, Driver, Run, RunError, RunTimer, ServicesCore, Task};
use crate::sandbox::ClockMode;
use crate::traffic::{TrafficGenerator, UserId};

pub(super) type TaskFuture = Pin<Box<dyn Future<Output = ()>>>;

/// A traffic request waiting for its end without a task, and its closed-loop user.
type Waiting = (Ending, Option<UserId>);

pub(super) enum Event {
    /// Resume a task at the end of its sleep (the event's sequence number is the sleep's token).
    Resume {
        task: usize,
    },
    /// A traffic request that ran without a task of its own ends (its ending is in `Shared::endings`).
    End {
        slot: usize,
    },
    /// Wake a waiting service call's task (at its answer time).
    Wake(Waker),
    Timer(RunTimer),
}

/// Everything the run's tasks share.
pub(super) struct Shared {
    pub run: Arc<Run>,
    pub now: Cell<u64>,
    pub core: RefCell<Core>,
    pub services: Option<RefCell<ServicesCore>>,
    pub events: RefCell<EventQueue<Event>>,
    pub traffic: RefCell<TrafficGenerator>,
    tasks: RefCell<Vec<Option<TaskFuture>>>,
    /// Requests whose handler ran at once, waiting for their end, and the free slots.
    endings: RefCell<Vec<Option<Waiting>>>,
    free_endings: RefCell<Vec<usize>>,
    free: RefCell<Vec<usize>>,
    /// Tasks started and not finished.
    live: Cell<usize>,
    /// The task being polled (`usize::MAX`: none).
    current: Cell<usize>,
    /// The sequence number of the resume event being handled.
    resumed: Cell<u64>,
    /// Tasks woken by a `Wake` event, to poll.
    woken: Arc<Mutex<Vec<usize>>>,
    /// lambda-sim's own failure: the run stops with it.
    pub failure: RefCell<Option<RunError>>,
}

/// A cheap handle on the shared state.
#[derive(Clone)]
pub(crate) struct SimDriver(pub(super) Rc<Shared>);

impl SimDriver {
    pub(super) fn new(
        run: Arc<Run>,
        core: Core,
        services: Option<ServicesCore>,
        traffic: TrafficGenerator,
    ) -> Self {
        SimDriver(Rc::new(Shared {
            run,
            now: Cell::new(0),
            core: RefCell::new(core),
            services: services.map(RefCell::new),
            events: RefCell::new(EventQueue::default()),
            traffic: RefCell::new(traffic),
            tasks: RefCell::new(Vec::new()),
            endings: RefCell::new(Vec::new()),
            free_endings: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            live: Cell::new(0),
            current: Cell::new(usize::MAX),
            resumed: Cell::new(0),
            woken: Arc::new(Mutex::new(Vec::new())),
            failure: RefCell::new(None),
        }))
    }

    /// Tasks started and not yet finished.
    pub(super) fn live_tasks(&self) -> usize {
        self.0.live.get()
    }

    /// Starts a task and polls it at once, so that it runs in the order it was started.
    pub(super) fn start(&self, task: TaskFuture) {
        let id = match self.0.free.borrow_mut().pop() {
            Some(id) => {
                self.0.tasks.borrow_mut()[id] = Some(task);
                id
            }
            None => {
                let mut tasks = self.0.tasks.borrow_mut();
                tasks.push(Some(task));
                tasks.len() - 1
            }
        };
        self.0.live.set(self.0.live.get() + 1);
        self.poll(id);
    }

    fn poll(&self, id: usize) {
        // Taken out while polled: the task may start others, which are polled inside this poll.
        let Some(mut task) = self.0.tasks.borrow_mut().get_mut(id).and_then(Option::take) else {
            return;
        };
        let outer = self.0.current.replace(id);
        let done = task
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_ready();
        self.0.current.set(outer);
        if done {
            self.0.free.borrow_mut().push(id);
            self.0.live.set(self.0.live.get() - 1);
        } else {
            self.0.tasks.borrow_mut()[id] = Some(task);
        }
    }

    /// Handles one event at time `now` (sequence number `seq`).
    pub(super) fn handle(&self, now: u64, seq: u64, event: Event) {
        self.0.now.set(now);
        match event {
            Event::Resume { task } => {
                self.0.resumed.set(seq);
                self.poll(task);
            }
            Event::Wake(waker) => {
                waker.wake();
                let woken = std::mem::take(&mut *lock(&self.0.woken));
                for task in woken {
                    self.poll(task);
                }
            }
            Event::End { slot } => {
                let taken = self
                    .0
                    .endings
                    .borrow_mut()
                    .get_mut(slot)
                    .and_then(Option::take);
                self.0.free_endings.borrow_mut().push(slot);
                if let Some((ending, user)) = taken {
                    crate::lifecycle::request::end(self, ending);
                    if let Some(user) = user {
                        self.0.traffic.borrow_mut().on_response(user, now);
                    }
                }
            }
            Event::Timer(timer) => crate::lifecycle::core::timer_fired(self, timer),
        }
    }

    /// A traffic request whose handler has run (it could not suspend) ends at its end time without a task: the
    /// end is an event like a task's resume, queued now.
    pub(super) fn end_at(&self, ending: Ending, user: Option<UserId>) {
        let at = ending.end_ns().max(self.now());
        let entry = Some((ending, user));
        let slot = match self.0.free_endings.borrow_mut().pop() {
            Some(slot) => {
                self.0.endings.borrow_mut()[slot] = entry;
                slot
            }
            None => {
                let mut endings = self.0.endings.borrow_mut();
                endings.push(entry);
                endings.len() - 1
            }
        };
        self.0.events.borrow_mut().push(at, Event::End { slot });
    }

    /// Requests waiting for their end without a task.
    pub(super) fn pending_endings(&self) -> usize {
        self.0.endings.borrow().len() - self.0.free_endings.borrow().len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wakes a task of this executor: it is polled when the `Wake` event that woke it is handled.
struct TaskWaker {
    task: usize,
    woken: Arc<Mutex<Vec<usize>>>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        lock(&self.woken).push(self.task);
    }
}

/// The end of a `sleep_until`: ready when the loop handles the resume event queued for it.
pub(crate) struct SimSleep {
    driver: SimDriver,
    token: u64,
}

impl Future for SimSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.driver.0.resumed.get() == self.token {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Driver for SimDriver {
    type Sleep = SimSleep;
    type CoreGuard<'a> = RefMut<'a, Core>;
    type ServicesGuard<'a> = RefMut<'a, ServicesCore>;

    fn now(&self) -> u64 {
        self.0.now.get()
    }

    fn sleep_until(&self, at_ns: u64) -> SimSleep {
        // Queued now, not when first polled: the order of resumes at equal times is the order of the sleeps.
        let task = self.0.current.get();
        let token = self
            .0
            .events
            .borrow_mut()
            .push(at_ns.max(self.now()), Event::Resume { task });
        SimSleep {
            driver: self.clone(),
            token,
        }
    }

    fn guest_starts_at(&self, at_ns: u64) -> impl Future<Output = u64> {
        std::future::ready(at_ns)
    }

    fn clock(&self) -> ClockMode {
        ClockMode::Virtual
    }

    fn run(&self) -> &Arc<Run> {
        &self.0.run
    }

    fn core(&self) -> RefMut<'_, Core> {
        self.0.core.borrow_mut()
    }

    fn services(&self) -> Option<RefMut<'_, ServicesCore>> {
        self.0.services.as_ref().map(RefCell::borrow_mut)
    }

    fn spawn(&self, task: Task) {
        self.start(Box::pin(crate::lifecycle::run_task(self.clone(), task)));
    }

    fn set_timer(&self, at_ns: u64, timer: RunTimer) {
        self.0.events.borrow_mut().push(at_ns, Event::Timer(timer));
    }

    fn wake_at(&self, at_ns: u64, waker: Waker) {
        self.0.events.borrow_mut().push(at_ns, Event::Wake(waker));
    }

    fn waker(&self, _: &Context<'_>) -> Waker {
        Waker::from(Arc::new(TaskWaker {
            task: self.0.current.get(),
            woken: self.0.woken.clone(),
        }))
    }

    fn system_error(&self, error: RunError) {
        self.0.failure.borrow_mut().get_or_insert(error);
    }
}
