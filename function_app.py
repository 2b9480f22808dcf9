"""Composition root: create the Durable Functions app and register every blueprint. No logic here."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
