//! Work the screens hand off so that the UI thread never blocks: a PIN check (Argon2),
//! an account change, today's list (SQL). Each job runs on one worker thread, in the
//! order submitted (so audit rows keep their order); its result comes back to the UI
//! thread, where the job's continuation (which may hold `Rc` state) runs when
//! [`UiJobs::drain`] is called: by a `slint::Timer` that runs only while a job is
//! pending, or by [`UiJobs::settle`] where a caller must wait (tests, shutdown).

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often the kiosk's timer looks for finished jobs while any is pending.
pub const JOB_POLL: Duration = Duration::from_millis(20);

/// The longest [`UiJobs::settle`] waits for pending jobs.
pub const JOB_SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

type Work = Box<dyn FnOnce() -> Box<dyn Any + Send> + Send>;
type Then = Box<dyn FnOnce(Box<dyn Any + Send>)>;

struct Inner {
    work: mpsc::Sender<(u64, Work)>,
    done: mpsc::Receiver<(u64, Box<dyn Any + Send>)>,
    pending: RefCell<HashMap<u64, Then>>,
    next: std::cell::Cell<u64>,
    timer: slint::Timer,
}

/// The screens' job runner (one per window; cheap to clone).
#[derive(Clone)]
pub struct UiJobs {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for UiJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiJobs")
            .field("pending", &self.pending())
            .finish()
    }
}

impl Default for UiJobs {
    fn default() -> Self {
        Self::new()
    }
}

impl UiJobs {
    /// Starts the worker thread (`ui-jobs`).
    pub fn new() -> UiJobs {
        let (work_tx, work_rx) = mpsc::channel::<(u64, Work)>();
        let (done_tx, done_rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("ui-jobs".into())
            .spawn(move || {
                while let Ok((id, work)) = work_rx.recv() {
                    let out = work();
                    if done_tx.send((id, out)).is_err() {
                        break;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("the screens' job thread could not start: {e}");
        }
        UiJobs {
            inner: Rc::new(Inner {
                work: work_tx,
                done: done_rx,
                pending: RefCell::default(),
                next: std::cell::Cell::new(0),
                timer: slint::Timer::default(),
            }),
        }
    }

    /// Runs `work` on the worker thread, then `then` with its result on this thread
    /// at the next [`UiJobs::drain`]. Never blocks.
    pub fn spawn<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
        then: impl FnOnce(T) + 'static,
    ) {
        let id = self.inner.next.get();
        self.inner.next.set(id + 1);
        let then: Then = Box::new(move |out| {
            if let Ok(v) = out.downcast::<T>() {
                then(*v);
            }
        });
        self.inner.pending.borrow_mut().insert(id, then);
        let work: Work = Box::new(move || Box::new(work()) as Box<dyn Any + Send>);
        if self.inner.work.send((id, work)).is_err() {
            self.inner.pending.borrow_mut().remove(&id);
            tracing::error!("the screens' job thread has stopped: a job was dropped");
            return;
        }
        if !self.inner.timer.running() {
            let weak = Rc::downgrade(&self.inner);
            self.inner
                .timer
                .start(slint::TimerMode::Repeated, JOB_POLL, move || {
                    if let Some(inner) = weak.upgrade() {
                        let jobs = UiJobs { inner };
                        jobs.drain();
                        if jobs.pending() == 0 {
                            jobs.inner.timer.stop();
                        }
                    }
                });
        }
    }

    /// How many jobs have not yet come back.
    pub fn pending(&self) -> usize {
        self.inner.pending.borrow().len()
    }

    /// Runs the continuations of every job that has finished; returns how many ran.
    pub fn drain(&self) -> usize {
        let mut ran = 0;
        while let Ok((id, out)) = self.inner.done.try_recv() {
            ran += self.finish(id, out);
        }
        ran
    }

    fn finish(&self, id: u64, out: Box<dyn Any + Send>) -> usize {
        // The continuation runs with no borrow held: it may spawn another job.
        let then = self.inner.pending.borrow_mut().remove(&id);
        match then {
            Some(then) => {
                then(out);
                1
            }
            None => 0,
        }
    }

    /// Waits (at most [`JOB_SETTLE_TIMEOUT`]) until every pending job, including those
    /// their continuations start, has come back and run. For tests and shutdown, not
    /// for a touch handler.
    pub fn settle(&self) {
        let deadline = Instant::now() + JOB_SETTLE_TIMEOUT;
        while self.pending() > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!(pending = self.pending(), "jobs still pending after settle");
                return;
            }
            match self.inner.done.recv_timeout(left) {
                Ok((id, out)) => {
                    self.finish(id, out);
                }
                Err(_) => return,
            }
        }
    }
}
