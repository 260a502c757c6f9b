// ESM entry of jwtgate/express (same instance as the CommonJS module).
import express from './express.js'

export const { jwtAuth, requiredScopes, claimCheck } = express
export default express
