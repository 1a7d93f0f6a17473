"""Gather Records API emulator: Gather's documented record and event endpoints, plus our
read-back and admin extensions, stored in SQLite (see ``emulators/README.md``).

Modules: `store` (SQLite), `validation` (bodies), `routes` (Gather's paths), `readback`
(GET extension), `admin` (``/_emulator``), `middleware` (auth, rate limit, DRF errors),
`app` (`make_app`), `cli` (``gather-emulator``), `client` + `pytest_plugin` (fixtures).
"""
