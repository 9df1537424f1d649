"""Composition roots: configuration, the command line, and the processes.

The repository's root folders (kernel/, command/, query/, projections/,
federation/, schema/, app/) are mapped onto sub-packages of the one `tessera`
namespace by pyproject.toml, so nothing squats generic top-level names.
"""

__version__ = "0.1.0"
