"""The build step pyproject.toml cannot express: the gettext catalogs compiled into the package.

`locales/` at the top stays the source of the translations; each build compiles its `.po` files into
`bot/locales/` of the built package, so a wheel (`pip install .`, `pip install git+…`) carries catalogs
that match its sources. An editable install reads `locales/` itself (bot/i18n.py).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"


class BuildWithCatalogs(build_py):
    """build_py, then every locales/<lang>/LC_MESSAGES/messages.po compiled beside the modules."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            self._outputs = self._compile_catalogs()

    def _compile_catalogs(self) -> list[str]:
        outputs = []
        for po in sorted(SOURCE.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            lang = po.parent.parent.name
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=lang, domain=DOMAIN)
            mo = Path(self.build_lib) / "bot" / "locales" / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
            mo.parent.mkdir(parents=True, exist_ok=True)
            with mo.open("wb") as fh:
                write_mo(fh, catalog, use_fuzzy=False)
            outputs.append(str(mo))
        if not outputs:
            raise SystemExit(f"no catalogs under {SOURCE}: the package would answer in no language")
        return outputs

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), *getattr(self, "_outputs", [])]


setup(cmdclass={"build_py": BuildWithCatalogs})
