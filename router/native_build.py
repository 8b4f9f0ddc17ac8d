"""Compile router/domain in place with mypyc (`python -m router.native_build`, run by `make`): see router.native."""

from __future__ import annotations

import os
import sys

from router.native import DOMAIN, STAMP, c_sources, digest, is_current, sources

GROUP = "router.domain.native"  # the build's shared library lives in the package, not at the top of sys.path


def build() -> None:
    """Compile router/domain in place with mypyc and stamp the sources compiled."""
    from mypyc.build import mypycify  # the build needs mypy and a C compiler; running does not
    from setuptools import Extension, setup

    root = DOMAIN.parents[1]
    STAMP.unlink(missing_ok=True)  # a build that fails half way must not leave a stamp saying it is current
    before = digest()
    work = root / "var" / "native-build"
    os.chdir(root)  # mypycify names modules by their path from here
    modules = [str(p.relative_to(root)) for p in sources()]
    # The domain's hand-written C (the rescue model's question, _bayes.c; the automata's passes, _automaton.c; trusted
    # models, _trusted.c): the model's doubles must be the sources', so no fused multiply-add.
    written = [Extension(f"router.domain.{p.stem}", [str(p.relative_to(root))],
                         extra_compile_args=["-O2", "-ffp-contract=off"]) for p in c_sources()]
    setup(
        name="caseroute-router-native",
        ext_modules=[*mypycify(modules, group_name=GROUP, target_dir=str(work / "c"), opt_level="3"), *written],
        script_args=["build_ext", "--inplace", "--build-temp", str(work / "o"), "--build-lib", str(work / "lib")],
    )
    if digest() != before:
        raise SystemExit("router/domain changed during the build; run it again")
    STAMP.write_text(before + "\n")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in ([], ["build"]):
        build()
    elif args == ["status"]:
        print("compiled, current" if is_current() else "sources (no current build)")
    else:
        raise SystemExit("usage: python -m router.native_build [build|status]")


if __name__ == "__main__":
    main()
