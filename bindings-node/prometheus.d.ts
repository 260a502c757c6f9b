import type { Validator } from './index'

/** The part of prom-client's Registry that JwtGateCollector uses. */
export interface RegistryLike {
  registerMetric(metric: unknown): void
  getSingleMetric(name: string): unknown
}

/** A validator's metrics in a prom-client registry (same names as every jwtgate face). */
export class JwtGateCollector {
  constructor(validator: Validator, options?: { labels?: Record<string, string> })
  /** Registers one metric object per family of the engine's text; returns `this`. */
  register(registry: RegistryLike): this
}
