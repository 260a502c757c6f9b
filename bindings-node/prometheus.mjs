// ESM entry of jwtgate/prometheus (the same module instance as the CommonJS one).
import prometheus from './prometheus.js'

export const { JwtGateCollector } = prometheus
export default prometheus
