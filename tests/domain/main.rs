//! Integration tests: the pure clinical core, scenarios, configuration, wording and the console's view-model.
//!
//! One test binary per layer, so the suite links Slint and sqlx a handful of times;
//! each module below was once its own target.

#[path = "../support/mod.rs"]
mod support;

mod config;
mod console;
mod coverage;
mod exam_type;
mod guards;
mod i18n;
mod layers;
mod overdue;
mod pinyin;
mod props;
mod report;
mod rules;
mod scenarios;
mod signoff;
mod terminology;
mod verdict;
