//! Core errors to Python exceptions. The kind → class table lives in one place, the Python
//! module `jwtgate._errors`, built from the core's own table (`ERROR_KINDS`); this side only
//! hands it the error as data (kind, message) and raises what it builds.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

pub(crate) fn to_pyerr(py: Python<'_>, error: jwtgate::Error) -> PyErr {
    let kind = error.kind();
    let built = FROM_NATIVE
        .import(py, "jwtgate._errors", "_from_native")
        .and_then(|factory| {
            // The class, code and status come from the table the module built from the core.
            factory.call1((kind.as_str(), error.message()))
        });
    match built {
        Ok(exception) => PyErr::from_value(exception),
        // Only when the extension is used without its package: still carry the kind.
        Err(_) => PyRuntimeError::new_err(error.to_string()),
    }
}

/// A `str` that is not valid Unicode (lone surrogates) cannot be a compact JWS.
pub(crate) fn malformed_text(py: Python<'_>) -> PyErr {
    to_pyerr(
        py,
        jwtgate::Error::new(
            jwtgate::ErrorKind::Malformed,
            "token is not valid Unicode text",
        ),
    )
}
