"""The local state store of one input partition: stars on disk, a checkpoint, waiting markers.

Kafka Streams' pattern with RocksDB (through ``rocksdict``, the binding Quix Streams uses): each
partition's stars live in a RocksDB database under ``<state dir>/<group>/<partition>`` as compact
binary records (:func:`~varstream.stream.state.encode_star`: arrays, 33 bytes a point), next to

- a **checkpoint**: the changelog epoch (:mod:`.restore`) and the last changelog offset the store
  holds — written in the same atomic batch as the stars, after the input offsets are committed;
- **waiting markers**: the stars that are *waiting* (:mod:`.state`): their last changes were never
  classified, or their latest classification came from the fast path and is still to be settled.

A restart then reads only the changelog's tail past the checkpoint (seconds, whatever the number
of stars), and memory holds only the stars being changed or classified: :meth:`PartitionStore.commit`
writes the changed stars and evicts every star that is not waiting. Without a state directory
(``--state-dir memory``) the same store keeps its records in a dict and every assignment replays
the whole changelog partition.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from varstream.stream.state import StarState, apply_change, decode_star, encode_star

#: Version of the store's layout (star records, markers, checkpoint); a store of another version
#: has no valid checkpoint, so it is rebuilt from the changelog.
STORE_FORMAT = 2

log = logging.getLogger(__name__)

_STAR = b"s"
_WAITING = b"p"
_CHECKPOINT = b"\x00checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    """The changelog a store was built from (its epoch) and the last offset it holds."""

    epoch: str
    offset: int


class Backend(Protocol):
    """Key-value bytes: the local store's persistence."""

    def get(self, key: bytes) -> bytes | None: ...

    def write(self, puts: dict[bytes, bytes | None]) -> None: ...

    def keys(self, prefix: bytes) -> Iterator[bytes]: ...

    def estimate_keys(self) -> int: ...

    def wipe(self) -> None: ...

    def close(self) -> None: ...


class MemoryBackend:
    """A dict (tests, and ``--state-dir memory``: nothing survives the process)."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def write(self, puts: dict[bytes, bytes | None]) -> None:
        for k, v in puts.items():
            if v is None:
                self.data.pop(k, None)
            else:
                self.data[k] = v

    def keys(self, prefix: bytes) -> Iterator[bytes]:
        return iter([k for k in self.data if k.startswith(prefix)])

    def estimate_keys(self) -> int:
        return len(self.data)

    def wipe(self) -> None:
        self.data.clear()

    def close(self) -> None:
        pass


#: How long opening a store waits for another process on this machine to let go of it (s): in a
#: rebalance between two consumers sharing a state directory, the partition's new owner may be
#: assigned it while the old owner is still closing its copy.
LOCK_WAIT_S = 30.0


class RocksBackend:
    """One RocksDB database (rocksdict, raw bytes); writes are atomic batches."""

    def __init__(self, path: Path, lock_wait_s: float = LOCK_WAIT_S) -> None:
        from rocksdict import Options

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        self._options = options
        self.db = self._open(lock_wait_s)

    def _open(self, lock_wait_s: float):
        """Open the database, waiting up to ``lock_wait_s`` seconds while another holder has it locked."""
        from rocksdict import Rdict

        deadline = time.monotonic() + lock_wait_s
        waited = False
        while True:
            try:
                db = Rdict(str(self.path), options=self._options)
            except Exception as exc:  # rocksdict raises a plain Exception("IO error: ... lock ...")
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
                if not waited:
                    log.info("store %s is still held by its previous owner; waiting", self.path)
                    waited = True
                time.sleep(0.1)
                continue
            if waited:
                log.info("store %s released by its previous owner", self.path)
            return db

    def get(self, key: bytes) -> bytes | None:
        return self.db.get(key)

    def write(self, puts: dict[bytes, bytes | None]) -> None:
        from rocksdict import WriteBatch

        batch = WriteBatch(raw_mode=True)
        for k, v in puts.items():
            if v is None:
                batch.delete(k)
            else:
                batch.put(k, v)
        self.db.write(batch)

    def keys(self, prefix: bytes) -> Iterator[bytes]:
        for key in self.db.keys(from_key=prefix):
            if not key.startswith(prefix):
                return
            yield key

    def estimate_keys(self) -> int:
        """The number of keys: RocksDB's own estimate for a big store (no scan: a million stars
        answer at once), an exact count for a small one."""
        estimate = int(self.db.property_int_value("rocksdb.estimate-num-keys") or 0)
        return estimate if estimate > 100_000 else sum(1 for _ in self.db.keys())

    def wipe(self) -> None:
        from rocksdict import Rdict

        self.db.close()
        Rdict.destroy(str(self.path), self._options)
        shutil.rmtree(self.path, ignore_errors=True)
        self.db = Rdict(str(self.path), options=self._options)

    def close(self) -> None:
        self.db.close()


def open_backend(state_dir: str | Path | None, group: str, partition: int) -> Backend:
    """The backend of one partition: RocksDB under ``state_dir/group/partition``, or in memory when
    ``state_dir`` is None or ``"memory"``."""
    if state_dir is None or str(state_dir) == "memory":
        return MemoryBackend()
    return RocksBackend(Path(state_dir).expanduser() / group / str(partition))


class PartitionStore:
    """The stars of one input partition (see the module notes)."""

    def __init__(self, partition: int, backend: Backend | None = None) -> None:
        self.partition = partition
        self.backend = backend or MemoryBackend()
        self.cache: dict[str, StarState] = {}
        self.dirty: set[str] = set()
        markers = sum(1 for _ in self.backend.keys(_WAITING))
        estimate = self.backend.estimate_keys() - markers - (self.backend.get(_CHECKPOINT) is not None)
        self._stars_at_open = max(0, estimate)      # then stars are counted as they are created (n_stars)
        self._created = 0

    # ------------------------------------------------------------ stars

    def get(self, object_id: str) -> StarState | None:
        """The star if the store holds it (loaded into memory), else None."""
        star = self.cache.get(object_id)
        if star is None:
            raw = self.backend.get(_STAR + object_id.encode())
            if raw is not None:
                star = self.cache[object_id] = decode_star(raw)
        return star

    def star(self, object_id: str) -> StarState:
        """The star, created empty if the store has never seen it; the caller changes it, so it is
        marked as changed (written at the next :meth:`commit`)."""
        star = self.get(object_id)
        if star is None:
            star = self.cache[object_id] = StarState(object_id, self.partition)
            self._created += 1
        self.dirty.add(object_id)
        return star

    def touch(self, star: StarState) -> None:
        """Mark a star held in memory as changed (e.g. newly classified)."""
        self.cache[star.object_id] = star
        self.dirty.add(star.object_id)

    def apply(self, change: dict) -> None:
        """Replay one changelog record (restore); idempotent."""
        apply_change(self.star(change["object_id"]), change)

    # ------------------------------------------------------------ persistence

    def checkpoint(self) -> Checkpoint | None:
        """The checkpoint, or None for a new store or one of another :data:`STORE_FORMAT`."""
        raw = self.backend.get(_CHECKPOINT)
        if raw is None:
            return None
        data = json.loads(raw)
        if data.get("format") != STORE_FORMAT:
            log.warning("partition %d: local store of format %s, this version writes %d: it will be rebuilt",
                        self.partition, data.get("format"), STORE_FORMAT)
            return None
        return Checkpoint(data["epoch"], int(data["offset"]))

    def commit(self, checkpoint: Checkpoint | None = None) -> int:
        """Write the changed stars, their waiting markers and ``checkpoint`` in one atomic batch,
        then drop from memory every star that is not waiting; returns the stars written."""
        puts: dict[bytes, bytes | None] = {}
        for oid in self.dirty:
            star = self.cache[oid]
            key = oid.encode()
            puts[_STAR + key] = encode_star(star)
            puts[_WAITING + key] = b"" if star.waiting else None
        if checkpoint is not None:
            puts[_CHECKPOINT] = json.dumps({"epoch": checkpoint.epoch, "offset": checkpoint.offset,
                                            "format": STORE_FORMAT}).encode()
        if puts:
            self.backend.write(puts)
        written = len(self.dirty)
        self.dirty.clear()
        self.cache = {k: s for k, s in self.cache.items() if s.waiting}
        return written

    def waiting_stars(self) -> list[StarState]:
        """Every waiting star (it has a marker), loaded into memory."""
        out = []
        for key in self.backend.keys(_WAITING):
            star = self.get(key[len(_WAITING):].decode())
            if star is not None and star.waiting:
                out.append(star)
        return out

    def wipe(self) -> None:
        """Forget everything (the changelog will be replayed from its start)."""
        self.backend.wipe()
        self.cache.clear()
        self.dirty.clear()
        self._stars_at_open = self._created = 0

    @property
    def n_stars(self) -> int:
        """About how many stars the store holds: the backend's key estimate when it was opened (every
        key but the checkpoint and the waiting markers; exact for a new store) plus the stars created
        since."""
        return self._stars_at_open + self._created

    def close(self) -> None:
        self.backend.close()
