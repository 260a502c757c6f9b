// ESM entry of jwtgate/express (same instance as the CommonJS module).
import express from './express.js'

export const { jwtAuth, requiredScopes, claimCheck, adminRouter } = express
export default express
