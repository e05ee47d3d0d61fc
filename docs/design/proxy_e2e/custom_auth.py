"""Custom auth for the e2e test: no database.

Any bearer key starting with "sk-e2e-rpm" gets rpm_limit=$E2E_KEY_RPM (default 5), so a test
can use a fresh key (fresh 60 s window) per scenario; "sk-e2e-free" is unlimited; others get 401.
"""
import os

from fastapi import HTTPException, Request
from litellm.proxy._types import UserAPIKeyAuth

print(f"[custom_auth] imported pid={os.getpid()} ppid={os.getppid()} "
      f"NUM_WORKERS={os.environ.get('NUM_WORKERS')}", flush=True)

RPM = int(os.environ.get("E2E_KEY_RPM", "5"))
TRACE = os.environ.get("E2E_TRACE") == "1"


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    if api_key.startswith("sk-e2e-rpm"):
        rpm = RPM
    elif api_key == "sk-e2e-free":
        rpm = None
    else:
        raise HTTPException(status_code=401, detail="invalid key")
    if TRACE:
        print(f"[custom_auth] auth pid={os.getpid()} key={api_key}", flush=True)
    return UserAPIKeyAuth(api_key=api_key, rpm_limit=rpm)
