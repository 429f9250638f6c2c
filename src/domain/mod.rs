//! The clinical core of cmr-kiosk: every rule of the Beijing CMR exam standard
//! that the kiosk enforces, as deterministic state machines.
//!
//! Functional core, no imperative shell here: no I/O, no clock reads, no UI
//! types, no async. Time is an input ([`time::Instant`], milliseconds since the
//! exam's origin). Each state machine follows quinn-proto's shape: events in
//! with `handle(event, now)`, the next deadline out with `poll_timeout()`,
//! deadlines fired with `handle_timeout(now)`, decisions drained with `poll()`.
//!
//! Modules and what each owns:
//! * [`time`]: `Instant` and `Duration`.
//! * [`screening`]: patient record, screening answers, overrides → `Clearance` (2.1.2, 2.3.1).
//! * [`contrast`]: agent catalogue and the `ContrastLedger` (3.1.3.2, 3.1.4.1).
//! * [`stress`]: the `StressProtocol` (adenosine, regadenoson; 3.2.3).
//! * [`lge`]: the `LgeWindow` (3.1.4.1).
//! * [`protocol`]: sequence catalogue, series compliance, required steps, VENC (3.1, 3.2).
//! * [`coverage`]: checks across an exam's series: static orientations, PSIR, LGE in
//!   the cine's planes (3.1.1.1, 3.1.4.2, 3.1.4.3).
//! * [`technique`]: the report's technique facts (5.2.3).
//! * [`output`]: `Output` / `Decision` and the stable codes.
//! * [`breathing`]: the breath-hold phase and the practice result (2.2.3).
//! * [`exam`]: the `Exam` aggregate and its `ExamEvent` log payload; the guards
//!   that refuse a harmful step before it is recorded.
//! * [`guard`]: what lifts a limit for one step (countersign, named confirmation).
//! * [`date`]: calendar dates, for how old a laboratory value is.
//! * [`settings`]: the site's practice values (`[clinical]`), validated.
//! * [`verdict`]: the clearance read for the exam ordered: go, what instead, next steps.

pub mod breathing;
pub mod contrast;
pub mod coverage;
pub mod date;
pub mod exam;
pub mod guard;
pub mod lge;
pub mod output;
pub mod preparation;
pub mod protocol;
pub mod screening;
pub mod settings;
pub mod stress;
pub mod technique;
pub mod time;
pub mod verdict;

pub use breathing::{BreathHoldPhase, BreathHoldPractice};
pub use contrast::{AgentId, Amount, ContrastLedger, InjectionRequest, Purpose};
pub use exam::{Acquisition, Exam, ExamError, ExamEvent, LoggedEvent, Outcome, ProtocolSettings};
pub use guard::{Countersign, StepAuthority};
pub use output::{AlarmCode, AlarmPriority, Decision, Lift, Output, RejectCode, WarningCode};
pub use preparation::{PrepItem, SelfAnswer, SelfReportItem};
pub use protocol::ExamType;
pub use screening::{Clearance, Patient, ScreeningAnswers};
pub use stress::{StressDose, StressDrug, StressProtocol, Vitals};
pub use time::{Duration, Instant};
