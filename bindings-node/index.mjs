// ESM entry: the same module instance as the CommonJS one, so classes (and `instanceof`) are
// shared by `import` and `require` users.
import jwtgate from './index.js'

export const {
  Validator,
  JwtGateError,
  InvalidTokenError,
  MalformedTokenError,
  SignatureError,
  ExpiredTokenError,
  InvalidClaimsError,
  RevokedTokenError,
  InsufficientScopeError,
  ProviderUnavailableError,
  KeysNotLoadedError,
  ConfigError,
  InternalError,
  errorKinds,
  removeLogger,
  version,
} = jwtgate
export default jwtgate
