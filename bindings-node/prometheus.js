'use strict'
// jwtgate/prometheus: a validator's metrics in a prom-client registry.
//
//   const client = require('prom-client')
//   const { JwtGateCollector } = require('jwtgate/prometheus')
//   new JwtGateCollector(validator).register(client.register)
//
// Every family of the engine's Prometheus text (counters, gauges and the latency histograms,
// README "Operating it") becomes one prom-client metric object whose `get()` reads the engine at
// scrape time, so names, labels, types and buckets are the same as in every other face. The
// objects are prom-client's metric interface (`name`, `help`, `type`, `get()`), which
// `registry.metrics()` and `registry.getMetricsAsJSON()` read; prom-client itself is only a
// (optional) peer dependency: this module never loads it.
//
// A family the engine starts to report later (an issuer's key-set age, after its first fetch)
// is registered by the scrape that first sees it and reported from the next one. Register after
// `await validator.ready()` to have every family from the first scrape.

const { Validator } = require('./index.js')

// One reading of the engine serves every family of a scrape.
const SNAPSHOT_MS = 50

class JwtGateCollector {
  /**
   * @param {Validator} validator
   * @param {{ labels?: Record<string, string> }} [options] constant labels added to every
   *   sample (e.g. `{ api: 'orders' }` when a process has several validators)
   */
  constructor(validator, options = {}) {
    if (!(validator instanceof Validator)) throw new TypeError('JwtGateCollector takes a jwtgate Validator')
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const { labels = {} } = options
    for (const [k, v] of Object.entries(labels)) {
      if (typeof v !== 'string') throw new TypeError(`label ${k} must be a string`)
    }
    this.validator = validator
    this.labels = { ...labels }
    this.registries = []
    this.snapshot = null
    this.snapshotAt = 0
  }

  /** The engine's families now (one reading per SNAPSHOT_MS). */
  families() {
    const now = Date.now()
    if (this.snapshot === null || now - this.snapshotAt > SNAPSHOT_MS) {
      this.snapshot = new Map(this.validator.metricFamilies().map((f) => [f.name, f]))
      this.snapshotAt = now
    }
    return this.snapshot
  }

  /**
   * Registers one metric object per family in `registry` (prom-client's `Registry`, e.g.
   * `client.register`). Returns `this`.
   */
  register(registry) {
    if (registry === null || typeof registry !== 'object' || typeof registry.registerMetric !== 'function') {
      throw new TypeError('register() takes a prom-client Registry')
    }
    this.registries.push(registry)
    this.snapshot = null
    for (const name of this.families().keys()) this.#ensure(registry, name)
    return this
  }

  #ensure(registry, name) {
    if (registry.getSingleMetric(name) !== undefined) return
    registry.registerMetric(new FamilyMetric(this, name))
  }

  // Called by each family's get(): registers families that appeared since.
  adopt() {
    for (const registry of this.registries) {
      for (const name of this.families().keys()) this.#ensure(registry, name)
    }
  }
}

class FamilyMetric {
  constructor(collector, name) {
    const family = collector.families().get(name)
    this.collector = collector
    this.name = name
    this.help = family.help
    this.type = family.type
    this.aggregator = 'sum'
  }

  get() {
    const collector = this.collector
    const family = collector.families().get(this.name)
    collector.adopt()
    const values = []
    for (const s of family ? family.samples : []) {
      const labels = { ...collector.labels }
      for (const [k, v] of s.labels) labels[k] = v
      values.push({ value: s.value, labels, metricName: s.name })
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  reset() {}
}

module.exports = { JwtGateCollector }
