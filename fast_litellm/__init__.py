"""fast-litellm: native C acceleration for LiteLLM with results identical to litellm's own."""
