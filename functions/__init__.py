"""Azure Functions adapters: triggers, bindings and HTTP mapping. Logic lives in ``shared/``."""
