"""jwtgate metrics for ``prometheus_client``.

    from prometheus_client import REGISTRY
    from jwtgate.prometheus import JwtGateCollector

    REGISTRY.register(JwtGateCollector(validator))

The collector reads the engine's metric families at each scrape (``Validator.metric_families``:
the Prometheus text of ``metrics_text()`` as data), so its names, labels, types and histogram
buckets are the same as in every other face (the table in the README's "Operating it").
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Tuple

try:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
    from prometheus_client.registry import Collector
except ImportError:  # pragma: no cover (depends on the environment)
    raise ImportError("jwtgate.prometheus needs prometheus_client: pip install 'jwtgate[prometheus]'")

from ._validator import Validator

__all__ = ["JwtGateCollector"]


def _labels(sample: Dict[str, Any]) -> Dict[str, str]:
    return {name: value for name, value in sample["labels"]}


class JwtGateCollector(Collector):
    """A ``prometheus_client`` collector of one validator's metrics (counters, gauges and the
    latency histograms). Register one per validator; give each its own ``const_labels`` (e.g.
    ``{"api": "orders"}``) when a process has several."""

    def __init__(self, validator: Validator, const_labels: "Dict[str, str] | None" = None) -> None:
        self.validator = validator
        self.const_labels = dict(const_labels or {})

    def collect(self) -> Iterator[Metric]:
        for family in self.validator.metric_families():
            yield from self._family(family)

    def describe(self) -> List[Metric]:
        # Names only (what the registry checks for duplicates at register time).
        return list(self.collect())

    def _family(self, family: Dict[str, Any]) -> Iterator[Metric]:
        kind, name, doc, samples = family["type"], family["name"], family["help"], family["samples"]
        const = self.const_labels
        if kind == "counter":
            # prometheus_client adds `_total` itself.
            base = name[: -len("_total")] if name.endswith("_total") else name
            label_names = _label_names(samples, ())
            counter = CounterMetricFamily(base, doc, labels=[*const, *label_names])
            for s in samples:
                labels = _labels(s)
                counter.add_metric([*const.values(), *(labels.get(n, "") for n in label_names)], s["value"])
            yield counter
        elif kind == "gauge":
            label_names = _label_names(samples, ())
            gauge = GaugeMetricFamily(name, doc, labels=[*const, *label_names])
            for s in samples:
                labels = _labels(s)
                gauge.add_metric([*const.values(), *(labels.get(n, "") for n in label_names)], s["value"])
            yield gauge
        elif kind == "histogram":
            label_names = _label_names(samples, ("le",))
            hist = HistogramMetricFamily(name, doc, labels=[*const, *label_names])
            series: Dict[Tuple[str, ...], Dict[str, Any]] = {}
            for s in samples:
                labels = _labels(s)
                key = tuple(labels.get(n, "") for n in label_names)
                entry = series.setdefault(key, {"buckets": [], "sum": 0.0})
                if s["name"].endswith("_bucket"):
                    entry["buckets"].append((labels["le"], s["value"]))
                elif s["name"].endswith("_sum"):
                    entry["sum"] = s["value"]
            for key, entry in series.items():
                hist.add_metric([*const.values(), *key], entry["buckets"], entry["sum"])
            yield hist


def _label_names(samples: List[Dict[str, Any]], skip: Tuple[str, ...]) -> List[str]:
    names: List[str] = []
    for s in samples:
        for name, _ in s["labels"]:
            if name not in skip and name not in names:
                names.append(name)
    return names
