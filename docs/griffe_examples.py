"""A griffe extension: zoo's docstrings end with an `Example:` block of `>>>` lines; render it as code.

Google style names that section `Examples:`; griffe reads the singular as a note whose `>>>` lines would be
parsed as Markdown (a `[0.1, 0.2]` output line becomes a broken link). This renames the heading before parsing.

Example (mkdocs.yml, under the python handler's options):
    extensions:
      - docs/griffe_examples.py:ExampleSections
"""

import re

import griffe

EXAMPLE_HEADING = re.compile(r"^(\s*)Example(?: \([^)\n]*\))?:[ \t]*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rename `Example:` (and `Example (note):`) headings to Google style's `Examples:`."""

    def on_object(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = EXAMPLE_HEADING.sub(r"\1Examples:", obj.docstring.value)
