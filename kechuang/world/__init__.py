"""The world file (世界文件): the registry described declaratively in YAML or JSON.

`kechuang load FILE…` creates or updates what a file describes; `kechuang dump` writes
the registry (or one region's part of it) back in the same format;
`kechuang world-schema` prints the JSON Schema. Code calls the same functions:

    from kechuang.world.loader import load_world, load_file   # -> Report; WorldError
    from kechuang.world.dumper import dump_world, dump_text   # -> dict / str

The top level is a registry of sections (kechuang.world.sections): another app adds
`projects` or `statistics` by registering a Section in its AppConfig.ready().
See docs/world-file.md.
"""
