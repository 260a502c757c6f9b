//! `Claims`: a read-only mapping over the core's shared claims. A cache hit hands out the same
//! `Arc` the cache holds; values are converted to Python objects only when they are read, so
//! returning claims costs one small object, whatever the token carries.

use std::borrow::Cow;

use pyo3::basic::CompareOp;
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

use crate::convert::{object_to_dict, to_py};
use crate::errors::to_pyerr;

#[pyclass(frozen, mapping, module = "jwtgate._native", name = "Claims")]
pub(crate) struct Claims {
    validated: jwtgate::Validated,
}

impl Claims {
    pub(crate) fn new(validated: jwtgate::Validated) -> Claims {
        Claims { validated }
    }

    fn map(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.validated.claims().as_map()
    }

    fn key<'a>(key: &'a Bound<'_, PyAny>) -> Option<Cow<'a, str>> {
        key.cast::<PyString>().ok()?.to_cow().ok()
    }

    /// The claim `name` as a Python object, `None` when absent. `sub` and `jti` come without
    /// building the parsed object (which would be a second parse of a fresh token's payload,
    /// and memory kept with a cached one).
    fn value<'py>(&self, py: Python<'py>, name: &str) -> Option<PyResult<Bound<'py, PyAny>>> {
        if let Some(text) = self.validated.claims().kept_str(name) {
            return Some(Ok(PyString::new(py, text).into_any()));
        }
        self.map().get(name).map(|value| to_py(py, value))
    }
}

/// `collections.abc.KeysView` and friends: what `Mapping.keys()` etc. return.
fn abc_view<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
    mapping: &Bound<'py, Claims>,
) -> PyResult<Bound<'py, PyAny>> {
    cell.import(py, "collections.abc", name)?.call1((mapping,))
}

static KEYS_VIEW: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static VALUES_VIEW: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ITEMS_VIEW: PyOnceLock<Py<PyType>> = PyOnceLock::new();

#[pymethods]
impl Claims {
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match Claims::key(key).and_then(|k| self.value(py, &k)) {
            Some(value) => value,
            None => Err(PyKeyError::new_err(key.clone().unbind())),
        }
    }

    fn __len__(&self) -> usize {
        self.map().len()
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        Claims::key(key).is_some_and(|k| self.map().contains_key(k.as_ref()))
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyList::new(py, self.map().keys())?
            .try_iter()
            .map(Bound::into_any)
    }

    #[pyo3(signature = (key, default=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match Claims::key(key).and_then(|k| self.value(py, &k)) {
            Some(value) => value,
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    fn keys<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        abc_view(slf.py(), &KEYS_VIEW, "KeysView", slf)
    }

    fn values<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        abc_view(slf.py(), &VALUES_VIEW, "ValuesView", slf)
    }

    fn items<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        abc_view(slf.py(), &ITEMS_VIEW, "ItemsView", slf)
    }

    /// The claims as a new `dict` (nested objects and arrays are new objects too).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        object_to_dict(py, self.map())
    }

    /// The payload JSON exactly as the token carried it.
    #[getter]
    fn json(&self) -> &str {
        self.validated.claims().json()
    }

    /// The token's protected header (`alg`, `kid`, `typ`, ...).
    #[getter]
    fn header<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let header: serde_json::Value =
            serde_json::from_str(self.validated.claims().header_json()).unwrap_or_default();
        to_py(py, &header)
    }

    /// Granted scopes: `scope` (space-separated) and `scp` (array or string).
    #[getter]
    fn scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.validated.claims().scopes())
    }

    /// Where the answer came from: `"cache"`, `"local"` (checked for this call) or
    /// `"introspection"` (the provider was asked).
    #[getter]
    fn source(&self) -> &'static str {
        self.validated.source().as_str()
    }

    /// `exp` as Unix seconds, or `None`.
    #[getter]
    fn expires_at(&self) -> Option<f64> {
        self.validated.expires_at()
    }

    /// Raises `InsufficientScopeError` unless every scope in `scopes` was granted. A `str` is
    /// read as a space-separated list, like the `scope` claim.
    fn require_scopes(&self, py: Python<'_>, scopes: &Bound<'_, PyAny>) -> PyResult<()> {
        let required: Vec<String> = match scopes.cast::<PyString>() {
            Ok(text) => text
                .to_cow()?
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Err(_) => scopes.extract()?,
        };
        self.validated
            .claims()
            .require_scopes(&required)
            .map_err(|e| to_pyerr(py, e))
    }

    fn __richcmp__<'py>(
        slf: &Bound<'py, Self>,
        other: &Bound<'py, PyAny>,
        op: CompareOp,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let equal = match op {
            CompareOp::Eq | CompareOp::Ne => {
                if let Ok(other) = other.cast::<Claims>() {
                    Some(slf.get().map() == other.get().map())
                } else if other.is_instance_of::<PyDict>() {
                    Some(slf.get().to_dict(py)?.eq(other)?)
                } else {
                    None
                }
            }
            _ => None,
        };
        Ok(match equal {
            Some(eq) => (if matches!(op, CompareOp::Eq) { eq } else { !eq })
                .into_pyobject(py)?
                .to_owned()
                .into_any(),
            None => py.NotImplemented().into_bound(py),
        })
    }

    /// Pydantic (and so FastAPI) serialises claims as their dict: `return claims` from a
    /// route, or a `Claims` field in a model, works. Pydantic is imported only when it asks.
    #[classmethod]
    fn __get_pydantic_core_schema__<'py>(
        cls: &Bound<'py, PyType>,
        source: &Bound<'py, PyAny>,
        handler: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // The schema is the same whatever annotation and handler pydantic passes.
        let _ = (source, handler);
        let py = cls.py();
        let schema = py.import("pydantic_core")?.getattr("core_schema")?;
        let kwargs = PyDict::new(py);
        // In JSON (and in OpenAPI) claims are an object. Claims are only ever made by a
        // validator: validating JSON input yields a plain dict, never a `Claims`.
        kwargs.set_item(
            "json_schema",
            schema.call_method1(
                "dict_schema",
                (
                    schema.call_method0("str_schema")?,
                    schema.call_method0("any_schema")?,
                ),
            )?,
        )?;
        kwargs.set_item(
            "python_schema",
            schema.call_method1("is_instance_schema", (cls,))?,
        )?;
        kwargs.set_item(
            "serialization",
            schema.call_method1(
                "plain_serializer_function_ser_schema",
                (cls.getattr("to_dict")?,),
            )?,
        )?;
        schema.call_method("json_or_python_schema", (), Some(&kwargs))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Claims({})", self.to_dict(py)?.repr()?))
    }
}
