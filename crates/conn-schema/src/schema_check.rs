//! Checking a document against a published schema with the `jsonschema` crate.
//!
//! The typed parser is what users get; this is the independent second opinion that the tests use
//! to prove the published schema and the parser agree, and that benchmarks use to time schema
//! compilation.

use serde_json::Value;

/// A published schema, compiled.
#[derive(Debug)]
pub struct SchemaValidator {
    validator: jsonschema::Validator,
}

/// One violation reported by the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    /// JSON pointer of the offending value.
    pub pointer: String,
    /// The validator's message.
    pub message: String,
}

/// A schema that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("the schema does not compile: {0}")]
pub struct SchemaCompileError(String);

impl SchemaValidator {
    /// Compiles `schema` (draft 2020-12). Remote references are never fetched.
    pub fn new(schema: &Value) -> Result<Self, SchemaCompileError> {
        jsonschema::draft202012::new(schema)
            .map(|validator| SchemaValidator { validator })
            .map_err(|error| SchemaCompileError(error.to_string()))
    }

    /// Every violation of `instance`, empty when it is valid.
    pub fn errors(&self, instance: &Value) -> Vec<SchemaError> {
        self.validator
            .iter_errors(instance)
            .map(|error| SchemaError {
                pointer: error.instance_path().to_string(),
                message: error.to_string(),
            })
            .collect()
    }
}
