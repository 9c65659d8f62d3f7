//! Where each value of a loaded document sits in its source, and how pointers of the validated
//! document map back to the source.

use std::collections::HashMap;

use conn_schema::Location;
use conn_schema::positions::{LineIndex, Positions};

/// Where a value sits in its source: 1-based `(line, column)` of the start of its key and of
/// the value, and of the character after each (`None` or `(0, 0)` when unknown).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spot {
    pub(crate) key: Option<(usize, usize)>,
    pub(crate) value: (usize, usize),
    pub(crate) key_end: Option<(usize, usize)>,
    pub(crate) value_end: (usize, usize),
}

impl Spot {
    /// A value with no key whose end is unknown (a line of a `.env` file, a document's root).
    pub(crate) fn at(value: (usize, usize)) -> Spot {
        Spot {
            key: None,
            value,
            key_end: None,
            value_end: (0, 0),
        }
    }
}

/// Positions of the source document, by the pointer in the source's own coordinates.
pub(crate) enum SourcePositions {
    /// No positions (a URI in an environment variable): findings name the source only.
    Unknown,
    /// A JSON text, indexed the first time a position is asked for: a document validated as
    /// it is (no override) is indexed by the validator itself, and never here.
    Json {
        text: String,
        index: std::sync::OnceLock<(Positions, LineIndex)>,
    },
    Spans(HashMap<String, Spot>),
}

impl SourcePositions {
    pub(crate) fn json(text: &str) -> SourcePositions {
        SourcePositions::Json {
            text: text.to_owned(),
            index: std::sync::OnceLock::new(),
        }
    }

    /// Where the key (`at_key`) or value at `pointer` sits, from its start to the character
    /// after it. A pointer missing from the source gets the first character of its nearest
    /// placed ancestor; `None` when the source has no positions.
    pub(crate) fn locate(&self, pointer: &str, at_key: bool) -> Option<Location> {
        match self {
            SourcePositions::Unknown => None,
            SourcePositions::Json { text, index } => {
                let (positions, lines) =
                    index.get_or_init(|| (Positions::index(text), LineIndex::new(text)));
                let (start, end) = positions.range(pointer, at_key);
                Some(Location::span(
                    lines.line_column(text, start),
                    lines.line_column(text, end),
                ))
            }
            SourcePositions::Spans(spans) => {
                let mut current = pointer;
                loop {
                    if let Some(spot) = spans.get(current) {
                        if current != pointer {
                            return Some(Location::point(spot.value.0, spot.value.1));
                        }
                        // An end that is unknown (`(0, 0)`) makes the span a point.
                        return Some(match (at_key, spot.key) {
                            (true, Some(key)) => {
                                Location::span(key, spot.key_end.unwrap_or((0, 0)))
                            }
                            _ => Location::span(spot.value, spot.value_end),
                        });
                    }
                    current = &current[..current.rfind('/')?];
                }
            }
        }
    }
}

/// How pointers of the validated document map to pointers of the source.
#[derive(Clone, Debug, Default)]
pub(crate) struct PointerMap {
    /// Where the connection sits in its file (`/<conn_id>` in a connections file).
    pub(crate) prefix: String,
    /// The bare extra was wrapped as `{"extra": ...}` so connection-level overrides could apply.
    pub(crate) wrapped: bool,
    /// The source wrote `extra` under this key (Airflow's `extra_dejson`).
    pub(crate) extra_written_as: Option<&'static str>,
}

impl PointerMap {
    pub(crate) fn to_source(&self, pointer: &str) -> String {
        let mut pointer = pointer.to_owned();
        if self.wrapped {
            pointer = match strip_segment(&pointer, "/extra") {
                Some(rest) => rest.to_owned(),
                None => String::new(),
            };
        }
        if let Some(written) = self.extra_written_as
            && let Some(rest) = strip_segment(&pointer, "/extra")
        {
            pointer = format!("/{written}{rest}");
        }
        format!("{}{pointer}", self.prefix)
    }
}

/// `pointer` without the leading `segment` if it starts with that whole segment.
pub(crate) fn strip_segment<'a>(pointer: &'a str, segment: &str) -> Option<&'a str> {
    let rest = pointer.strip_prefix(segment)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_map_rewrites_to_the_source() {
        let map = PointerMap {
            prefix: "/my~1id".to_owned(),
            wrapped: false,
            extra_written_as: Some("extra_dejson"),
        };
        assert_eq!(
            map.to_source("/extra/auth_type"),
            "/my~1id/extra_dejson/auth_type"
        );
        assert_eq!(map.to_source("/extras"), "/my~1id/extras");
        let wrapped = PointerMap {
            wrapped: true,
            ..PointerMap::default()
        };
        assert_eq!(wrapped.to_source("/extra/audience"), "/audience");
        assert_eq!(wrapped.to_source("/host"), "");
    }
}
