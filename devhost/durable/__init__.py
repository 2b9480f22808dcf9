"""Local Durable Functions runtime: engine (``engine``), history protocol (``history``), stores (``store``),
HTTP API (``api``) and activity workers (``workers``); ``engine``'s docstring maps the modules."""
