"""The control plane: feature flags, rollout, circuit breaker, monitor, gate, report and health.

It decides per call whether native code or litellm's own function answers, and reports on it.
It knows nothing of litellm: nothing here imports litellm or ``fast_litellm.adapters``; the
adapters hand ``health`` their patch sites through ``health.register_sites``.
"""
