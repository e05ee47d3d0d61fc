"""Turning fast-litellm on from a LiteLLM proxy's ``config.yaml``.

Proxy users start ``litellm --config config.yaml`` and never write an
``import`` themselves, so this module gives the proxy something to import.
Name it as a callback in the config::

    litellm_settings:
      callbacks: ["fast_litellm.proxy.accelerator"]

How the proxy gets here: while loading the config,
``litellm.proxy.proxy_server.ProxyConfig.load_config`` hands the
``callbacks`` list to
``litellm.proxy.common_utils.callback_utils.initialize_callbacks_on_proxy``.
A string that is not one of litellm's built-in names goes to
``litellm.proxy.types_utils.utils.get_instance_fn``, which splits it at the
last dot, runs ``importlib.import_module("fast_litellm.proxy")`` and returns
``getattr(module, "accelerator")``.  The proxy keeps that object only if it
is a ``CustomLogger`` instance or a function (a class is refused), then adds
it to ``litellm.callbacks``, where litellm offers it every request's
events.  ``accelerator`` is therefore a ``CustomLogger`` that overrides
nothing, so each of those calls is one of CustomLogger's own no-op methods.

The work happens when this module is imported: it imports ``fast_litellm``,
which patches litellm (already imported by the proxy) at once.  The kill
switch still wins: with ``FAST_LITELLM_ENABLED=false`` the import patches
nothing, registers no metrics, the callback stays registered and does
nothing, and the proxy serves requests with litellm's own functions.

If ``prometheus_client`` is installed, the import also registers
fast-litellm's collector with the global registry (see
``fast_litellm.register_prometheus_collector``), so a proxy that serves
``/metrics`` (``callbacks: ["prometheus", ...]``) reports the
``fast_litellm_*`` series next to its own.  A failure there is logged on the
``fast_litellm`` logger and never stops the proxy.

Without editing the config, the proxy's worker start-up hooks do the same
from the environment::

    LITELLM_WORKER_STARTUP_HOOKS=fast_litellm.proxy:enable litellm --config config.yaml
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import fast_litellm
from litellm.integrations.custom_logger import CustomLogger

__all__ = ["FastLiteLLMAccelerator", "accelerator", "enable"]

logger = logging.getLogger("fast_litellm")


class FastLiteLLMAccelerator(CustomLogger):
    """The callback object the proxy loads; it does nothing per request.

    Loading it is what matters: importing ``fast_litellm.proxy`` has already
    patched litellm by the time the proxy holds this instance.  Every hook is
    CustomLogger's own no-op.
    """

    def __repr__(self) -> str:
        """A short name for the proxy's callback listings and logs.

        Returns:
            The class name and how many patch sites are installed right now.
        """
        status = fast_litellm.get_patch_status()
        patched = sum(1 for entry in status.values() if entry["patched"])
        return f"<FastLiteLLMAccelerator: {patched}/{len(status)} litellm sites patched>"


def enable() -> dict[str, dict[str, Any]]:
    """Entry point for ``LITELLM_WORKER_STARTUP_HOOKS=fast_litellm.proxy:enable``.

    The proxy imports this module and calls this function in each worker's
    start-up; importing the module has done the patching already, so this
    only reports.  It never overrides the kill switch.

    Returns:
        ``fast_litellm.get_patch_status()``: per patch site, whether it is patched and why.
    """
    return fast_litellm.get_patch_status()


def _register_metrics() -> None:
    """Add the ``fast_litellm_*`` metrics to prometheus_client's global registry, if installed.

    Idempotent.  Nothing is registered under the kill switch (the plugin stays inert).  Any
    failure is logged and swallowed: metrics must never stop the proxy.
    """
    try:
        if importlib.util.find_spec("prometheus_client") is None or not fast_litellm.health_check()["enabled"]:
            return
        fast_litellm.register_prometheus_collector()
    except Exception:  # noqa: BLE001 - metrics must never stop the proxy
        logger.warning("fast_litellm.proxy: could not register the Prometheus collector", exc_info=True)


def _log_status() -> None:
    """Say once, at import, how many litellm sites are patched (never raises)."""
    try:
        status = fast_litellm.get_patch_status()
        patched = [site for site, entry in status.items() if entry["patched"]]
        if patched:
            logger.info("fast_litellm.proxy: native paths installed at %s", ", ".join(patched))
        else:
            reasons = sorted({str(entry.get("reason")) for entry in status.values()})
            logger.info("fast_litellm.proxy: litellm left unpatched (%s)", "; ".join(reasons))
    except Exception:
        logger.warning("fast_litellm.proxy: could not read the patch status", exc_info=True)


accelerator = FastLiteLLMAccelerator()

_register_metrics()
_log_status()
