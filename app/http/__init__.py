"""The HTTP core shared by every API: errors, JSON bodies, CORS, authentication of requests.

Route modules (``tessera.app.client.*``) stay thin: they parse with ``json_body``,
authenticate with ``require_auth``, call one command or query, and answer with
``json_response``; a ``MatrixError`` raised anywhere becomes the spec's error body.
"""
