//! A step being run: the facts and hints it gathers, its status and its time. The leaf that the
//! step runner and the checks share, so neither imports the other.

use serde_json::{Map, Value};

use crate::{Hint, HintCode, Options, Status, Step, StepId};

/// A step being run: its facts and hints, and when it started.
pub(crate) struct Builder<'a> {
    id: StepId,
    options: &'a Options,
    started: std::time::SystemTime,
    pub(crate) facts: Map<String, Value>,
    hints: Vec<(Status, Hint)>,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(id: StepId, options: &'a Options) -> Self {
        Builder {
            id,
            options,
            started: options.clock.now(),
            facts: Map::new(),
            hints: Vec::new(),
        }
    }

    pub(crate) fn fact(&mut self, name: &str, value: impl Into<Value>) {
        self.facts.insert(name.to_owned(), value.into());
    }

    pub(crate) fn warn(&mut self, code: HintCode, message: impl Into<String>) {
        self.hint(Status::Warn, code, message);
    }

    pub(crate) fn fail(&mut self, code: HintCode, message: impl Into<String>) {
        self.hint(Status::Fail, code, message);
    }

    pub(crate) fn hint(&mut self, status: Status, code: HintCode, message: impl Into<String>) {
        self.hints.push((
            status,
            Hint {
                code,
                message: message.into(),
            },
        ));
    }

    pub(crate) fn failed(&self) -> bool {
        self.hints.iter().any(|(status, _)| *status == Status::Fail)
    }

    pub(crate) fn finish(self) -> Step {
        let took = self
            .options
            .clock
            .now()
            .duration_since(self.started)
            .unwrap_or_default();
        Step {
            id: self.id,
            status: self
                .hints
                .iter()
                .map(|(status, _)| *status)
                .max()
                .unwrap_or(Status::Ok),
            reason: None,
            took_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            facts: self.facts,
            hints: self.hints.into_iter().map(|(_, hint)| hint).collect(),
        }
    }
}

pub(crate) fn skipped(id: StepId, reason: &str) -> Step {
    Step {
        id,
        status: Status::Skipped,
        reason: Some(reason.to_owned()),
        took_ms: 0,
        facts: Map::new(),
        hints: Vec::new(),
    }
}
