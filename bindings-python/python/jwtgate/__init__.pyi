from ._errors import ConfigError as ConfigError
from ._errors import ExpiredTokenError as ExpiredTokenError
from ._errors import InsufficientScopeError as InsufficientScopeError
from ._errors import InternalError as InternalError
from ._errors import InvalidClaimsError as InvalidClaimsError
from ._errors import InvalidTokenError as InvalidTokenError
from ._errors import JwtGateError as JwtGateError
from ._errors import KeysNotLoadedError as KeysNotLoadedError
from ._errors import MalformedTokenError as MalformedTokenError
from ._errors import ProviderUnavailableError as ProviderUnavailableError
from ._errors import RevokedTokenError as RevokedTokenError
from ._errors import SignatureError as SignatureError
from ._native import Claims as Claims
from ._native import __version__ as __version__
from ._validator import Validator as Validator

__all__ = [
    "Claims",
    "ConfigError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InternalError",
    "InvalidClaimsError",
    "InvalidTokenError",
    "JwtGateError",
    "KeysNotLoadedError",
    "MalformedTokenError",
    "ProviderUnavailableError",
    "RevokedTokenError",
    "SignatureError",
    "Validator",
    "__version__",
]
