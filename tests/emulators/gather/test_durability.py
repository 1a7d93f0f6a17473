"""Crash durability (kill -9 after acknowledged writes) and concurrent writers on one id."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from emulators.gather.pytest_plugin import GatherEmulator, GatherProcessFactory


def _post_accounts(url: str, headers: dict[str, str], ids: list[str]) -> list[str]:
    acked: list[str] = []
    with requests.Session() as session:
        session.headers.update(headers)
        for record_id in ids:
            response = session.post(
                f"{url}/models/account/records", json={"id": record_id, "name": f"N {record_id}"}
            )
            if response.status_code in (200, 201):
                acked.append(record_id)
    return acked


def test_acknowledged_writes_survive_kill_9_and_restart(
    gather_emulator_process: GatherProcessFactory,
) -> None:
    first = gather_emulator_process.start()
    ids = [f"acct-{i}" for i in range(200)]
    chunks = [ids[i::4] for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        acked = [
            i
            for part in pool.map(lambda c: _post_accounts(first.url, first.auth_headers, c), chunks)
            for i in part
        ]
    assert sorted(acked) == sorted(ids)
    event = requests.post(
        f"{first.url}/events", json={"type": "x", "account": "acct-0"}, headers=first.auth_headers
    )
    assert event.status_code == 201
    update = requests.post(
        f"{first.url}/models/account/records",
        json={"id": "acct-0", "plan": "pro"},
        headers=first.auth_headers,
    )
    assert update.status_code == 200
    first.kill()
    assert first.process.returncode == -9

    second = gather_emulator_process.start(first.data_dir)
    records = second.records("account")
    assert set(records) == set(ids)
    assert records["acct-0"] == {"name": "N acct-0", "plan": "pro"}
    assert len(second.events()) == 1


def test_writes_acknowledged_before_a_kill_under_load_are_all_kept(
    gather_emulator_process: GatherProcessFactory,
) -> None:
    emulator = gather_emulator_process.start()
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        with requests.Session() as session:
            session.headers.update(emulator.auth_headers)
            n = 0
            while not stop.is_set():
                record_id = f"w{worker}-{n}"
                n += 1
                try:
                    response = session.post(
                        f"{emulator.url}/models/orders/records", json={"id": record_id}, timeout=5
                    )
                except requests.RequestException:
                    return
                if response.status_code == 201:
                    with lock:
                        acked.append(record_id)
                    if len(acked) >= 150:
                        emulator.kill()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stop.set()
    assert not emulator.alive
    assert len(acked) >= 150
    restarted = gather_emulator_process.start(emulator.data_dir)
    stored = set(restarted.records("orders"))
    assert set(acked) <= stored


def test_concurrent_upserts_of_one_id_never_lose_a_trait(gather_emulator: GatherEmulator) -> None:
    workers, writes_each = 12, 15
    url = f"{gather_emulator.url}/models/account/records"

    def writer(worker: int) -> list[int]:
        codes = []
        with requests.Session() as session:
            session.headers.update(gather_emulator.auth_headers)
            for j in range(writes_each):
                body = {"id": "shared", "name": "Shared", f"t{worker}_{j}": j, "last": worker}
                codes.append(session.post(url, json=body).status_code)
        return codes

    with ThreadPoolExecutor(workers) as pool:
        codes = [c for part in pool.map(writer, range(workers)) for c in part]
    assert codes.count(201) == 1
    assert codes.count(200) == workers * writes_each - 1
    traits = gather_emulator.records("account")["shared"]
    expected = {f"t{w}_{j}" for w in range(workers) for j in range(writes_each)}
    assert expected <= set(traits)
    assert gather_emulator.record("account", "shared")["_meta"]["writes"] == workers * writes_each
    stats = gather_emulator.stats()["records"]["account"]
    assert (stats["creates"], stats["updates"]) == (1, workers * writes_each - 1)


def test_concurrent_creates_in_a_subprocess_on_disk(
    gather_emulator_process: GatherProcessFactory,
) -> None:
    emulator = gather_emulator_process.start()
    ids = [f"a{i}" for i in range(160)]
    with ThreadPoolExecutor(8) as pool:
        acked = [
            i
            for part in pool.map(
                lambda c: _post_accounts(emulator.url, emulator.auth_headers, c),
                [ids[i::8] for i in range(8)],
            )
            for i in part
        ]
    assert len(acked) == 160
    assert set(emulator.records("account")) == set(ids)
