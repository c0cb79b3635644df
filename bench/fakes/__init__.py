"""Wire-level fakes shared by the tests and the benchmarks (a fake Bot API with a strict
HTML checker, fake venue feeds, soak and fuzz rigs, a settable clock).

They live under ``bench/`` because benchmarks must not import ``tests/``; the tests
import them from here. Fakes only the tests use stay in ``tests/fakes/``.
"""
