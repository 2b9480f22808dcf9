"""Plain, typed Python for the Custom NER service: domain, storage and NER.

Nothing in this package imports ``azure.functions`` or ``azure.durable_functions``; the Functions
adapters live in ``functions/`` and call into here.
"""
