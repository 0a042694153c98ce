"""Builders of the generated pages of the documentation site.

``docs/hooks/site.py`` (the MkDocs hook named in ``mkdocs.yml``) calls them at build
time; the tests of ``tests/site`` call them directly. Nothing here is part of the
installed package.
"""
