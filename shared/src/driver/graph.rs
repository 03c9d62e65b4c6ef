//! A state machine's graph as data: each state's transitions (`Next`, `Catch`, each Choice rule
//! and `Default`) and its terminal states. The driver moves only along these edges; the ASL
//! test derives the same edges from the ASL files.

use crate::{Error, Result};
use serde_json::Value;
use std::fmt;

/// A Choice rule's test, as the ASL writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    /// `IsNull`.
    IsNull(bool),
    /// `BooleanEquals`.
    BooleanEquals(bool),
    /// `StringEquals`.
    StringEquals(&'static str),
    /// `NumericGreaterThanEquals`.
    NumericGreaterThanEquals(i64),
}

/// What takes a state to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// The state's `Next` (a step that answered).
    Next,
    /// Its `Catch` (a step that failed, after its retries).
    Catch,
    /// A Choice rule: `variable` (a `$.`-path into the workflow's data) passes `test`.
    Choice {
        /// The path.
        variable: &'static str,
        /// The test.
        test: Test,
    },
    /// A Choice state's `Default`.
    Default,
}

/// One transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// From this state.
    pub from: &'static str,
    /// On this.
    pub on: On,
    /// To this state.
    pub to: &'static str,
}

/// A terminal state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// `Succeed`.
    Succeed,
    /// `Fail`, with its `Error`.
    Fail(&'static str),
}

/// A state machine's graph.
#[derive(Debug, Clone, Copy)]
pub struct Graph {
    /// `StartAt`.
    pub start_at: &'static str,
    /// Every transition, Choice rules in their order.
    pub edges: &'static [Edge],
    /// The terminal states.
    pub terminals: &'static [(&'static str, Terminal)],
}

/// `from` goes to `to` on `on`.
pub const fn edge(from: &'static str, on: On, to: &'static str) -> Edge {
    Edge { from, on, to }
}

/// The Choice state `from` goes to `to` when `variable` passes `test`.
pub const fn choice(
    from: &'static str,
    variable: &'static str,
    test: Test,
    to: &'static str,
) -> Edge {
    Edge {
        from,
        on: On::Choice { variable, test },
        to,
    }
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IsNull(value) => write!(f, "IsNull {value}"),
            Self::BooleanEquals(value) => write!(f, "BooleanEquals {value}"),
            Self::StringEquals(value) => write!(f, "StringEquals {value:?}"),
            Self::NumericGreaterThanEquals(value) => write!(f, "NumericGreaterThanEquals {value}"),
        }
    }
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.on {
            On::Next => write!(f, "{} --Next--> {}", self.from, self.to),
            On::Catch => write!(f, "{} --Catch--> {}", self.from, self.to),
            On::Default => write!(f, "{} --Default--> {}", self.from, self.to),
            On::Choice { variable, test } => {
                write!(f, "{} --{variable} {test}--> {}", self.from, self.to)
            }
        }
    }
}

impl Test {
    /// Whether `value` (absent: null) passes.
    fn passes(self, value: Option<&Value>) -> bool {
        let value = value.unwrap_or(&Value::Null);
        match self {
            Self::IsNull(expected) => value.is_null() == expected,
            Self::BooleanEquals(expected) => value.as_bool() == Some(expected),
            Self::StringEquals(expected) => value.as_str() == Some(expected),
            Self::NumericGreaterThanEquals(bound) => {
                value.as_i64().is_some_and(|number| number >= bound)
            }
        }
    }
}

/// The value at `path` (`$.a.b`) in `data`.
fn at<'v>(data: &'v Value, path: &str) -> Option<&'v Value> {
    path.strip_prefix("$.")?
        .split('.')
        .try_fold(data, |value, field| value.get(field))
}

impl Graph {
    fn edge(&self, from: &str, wanted: fn(&On) -> bool) -> Result<&'static str> {
        self.edges
            .iter()
            .find(|edge| edge.from == from && wanted(&edge.on))
            .map(|edge| edge.to)
            .ok_or_else(|| Error::Internal {
                problem: format!("the workflow's graph has no such transition from {from}"),
            })
    }

    /// Where `from` goes when its step answered.
    pub fn next(&self, from: &str) -> Result<&'static str> {
        self.edge(from, |on| matches!(on, On::Next))
    }

    /// Where `from` goes when its step failed.
    pub fn caught(&self, from: &str) -> Result<&'static str> {
        self.edge(from, |on| matches!(on, On::Catch))
    }

    /// Where the Choice state `from` goes for `data`: the first rule that passes, else its
    /// `Default`.
    pub fn choose(&self, from: &str, data: &Value) -> Result<&'static str> {
        let chosen = self.edges.iter().find(|edge| {
            edge.from == from
                && matches!(edge.on, On::Choice { variable, test } if test.passes(at(data, variable)))
        });
        match chosen {
            Some(edge) => Ok(edge.to),
            None => self.edge(from, |on| matches!(on, On::Default)),
        }
    }

    /// True when `state` is a Choice state.
    pub fn is_choice(&self, state: &str) -> bool {
        self.edges
            .iter()
            .any(|edge| edge.from == state && matches!(edge.on, On::Default))
    }

    /// How the workflow ends in `state`, when it is a terminal state.
    pub fn end(&self, state: &'static str) -> Option<super::End> {
        self.terminals.iter().find(|(name, _)| *name == state).map(
            |(_, terminal)| match *terminal {
                Terminal::Succeed => super::End::Succeeded(state),
                Terminal::Fail(error) => super::End::Failed { state, error },
            },
        )
    }
}
