"""Composition root: create the Durable Functions app and register every blueprint. No logic here."""

import azure.durable_functions as df
import azure.functions as func

from functions import (
    activities,
    analyze_text,
    deployments_api,
    exported_models_api,
    fallback_api,
    global_api,
    models_api,
    monitoring,
    operations,
    orchestrators,
    projects_api,
    queues,
    schedules,
    studio_api,
    training_api,
)

monitoring.enable()
app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
for blueprint_module in (
    projects_api,
    training_api,
    models_api,
    global_api,
    deployments_api,
    exported_models_api,
    operations,
    orchestrators,
    activities,
    schedules,
    queues,
    analyze_text,
    studio_api,
):
    app.register_functions(blueprint_module.bp)
# Last: the catch-all answers unknown routes (404) and wrong methods (405) of everything above.
fallback_api.register_last(app)
