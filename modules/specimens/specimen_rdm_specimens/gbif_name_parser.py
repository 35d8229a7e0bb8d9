"""GBIF's scientific-name parser, loaded from its own folder.

PyPI `gbif-name-parser` installs its binary as the top-level module `nameparser`, the name the
human-name parser `nameparser` (needed by InvenioRDM through commonmeta) already has: installed
side by side, one overwrites the other. `make install` therefore puts gbif-name-parser in
`.venv/vendor/gbif-name-parser` (`pip install --target`), and this module loads it from there
under the name `gbif_nameparser`, leaving `import nameparser` to the human-name parser.
"""

import importlib.util
import os
import sys
from pathlib import Path

PARSER_DIR_VARIABLE = "SPECIMEN_GBIF_NAME_PARSER_DIR"
DEFAULT_PARSER_DIR = Path(sys.prefix) / "vendor" / "gbif-name-parser"
MODULE_NAME = "gbif_nameparser"


def load():
    """The gbif-name-parser module (`parse`, `UnparsableNameError`, `Informal`, ...)."""
    if MODULE_NAME in sys.modules:
        return sys.modules[MODULE_NAME]
    package = Path(os.environ.get(PARSER_DIR_VARIABLE) or DEFAULT_PARSER_DIR) / "nameparser"
    init = package / "__init__.py"
    if not init.exists():
        raise ImportError(
            f"gbif-name-parser is not installed in {package.parent} (run `make install`, or "
            f"set {PARSER_DIR_VARIABLE} to the folder of `pip install --target`)"
        )
    spec = importlib.util.spec_from_file_location(
        MODULE_NAME, init, submodule_search_locations=[str(package)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[MODULE_NAME]
        raise
    return module


nameparser = load()
