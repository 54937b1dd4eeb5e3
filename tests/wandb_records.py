"""Read an offline W&B run (`run-*.wandb`) back into config, history keys and summary.

The file is a LevelDB-style log (a 7-byte ":W&B" header, 32 KiB blocks, records
split into FULL/FIRST/MIDDLE/LAST chunks with 7-byte headers) of wandb's own
protobuf `Record`s; this is what `wandb sync` uploads, so tests read it directly.
"""

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK, CHUNK_HEADER = 32768, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def iter_records(path: Path):
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", "not a W&B transaction log"
    position, pending = 7, b""
    while position + CHUNK_HEADER <= len(data):
        left_in_block = BLOCK - position % BLOCK
        if left_in_block < CHUNK_HEADER:
            position += left_in_block  # zero padding at the end of a block
            continue
        _, length, kind = struct.unpack("<IHB", data[position: position + CHUNK_HEADER])
        payload = data[position + CHUNK_HEADER: position + CHUNK_HEADER + length]
        position += CHUNK_HEADER + length
        if kind == 0 and length == 0:
            continue
        pending = payload if kind in (FULL, FIRST) else pending + payload
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


def read_run(path: Path) -> dict:
    """{"run": RunRecord, "config": {key: value}, "history_keys": set, "summary": {key: value},
    "artifacts": [(name, type, [file names])]}"""
    out = {"run": None, "config": {}, "history_keys": set(), "summary": {}, "artifacts": []}
    for record in iter_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["run"] = record.run
            for item in record.run.config.update:
                out["config"][item.key] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                out["config"][item.key] = json.loads(item.value_json)
        elif kind == "history":
            out["history_keys"].update(item.key or "/".join(item.nested_key) for item in record.history.item)
        elif kind == "artifact":
            files = [entry.path for entry in record.artifact.manifest.contents]
            out["artifacts"].append((record.artifact.name, record.artifact.type, files))
        elif kind == "summary":
            for item in record.summary.update:
                out["summary"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return out
