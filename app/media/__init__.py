"""The media repository's adapters: blob storage (filesystem, S3), upload staging,
the thumbnailer, URL previews, and the service the HTTP handlers call.

Kept import-light: ``sizes`` is read by the configuration; Pillow loads only with
the thumbnailer.
"""
