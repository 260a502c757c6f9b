"""The Python consumer check: a FastAPI app protected by jwtgate's BearerAuth, as a user writes it
after `pip install jwtgate fastapi uvicorn`. Config: the canonical JSON in $JWTGATE_CONFIG."""

import os
import pathlib

from fastapi import Depends, FastAPI

import jwtgate
from jwtgate.fastapi import BearerAuth

validator = jwtgate.Validator.from_json(pathlib.Path(os.environ["JWTGATE_CONFIG"]).read_text())
app = FastAPI()


@app.get("/items")
def items(claims: jwtgate.Claims = Depends(BearerAuth(validator))) -> dict:
    return {"sub": claims["sub"], "jwtgate": jwtgate.__version__}
