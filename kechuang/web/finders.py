"""The browser libraries npm installs, served by kechuang: only the files its pages load.

npm puts whole distributions under node_modules/ (ECharts' is 51 MB: every build, its
source maps, its extensions). This finder names the few files the pages use, so that
`collectstatic` copies those and not the rest, and a page cannot load one it was not
meant to. Add a file here when a template starts to load it.
"""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

#: URL prefix under /static/ → (directory under node_modules, the files served from it).
VENDOR = {
    "vendor/echarts": ("echarts/dist", ("echarts.min.js",)),
    "vendor/htmx": ("htmx.org/dist", ("htmx.min.js",)),
}


class VendorFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        root = Path(settings.NODE_MODULES)
        self.storages = {}
        for prefix, (directory, _files) in VENDOR.items():
            storage = FileSystemStorage(location=root / directory)
            storage.prefix = prefix
            self.storages[prefix] = storage

    def check(self, **kwargs):
        missing = [f"{prefix}/{name}" for prefix, (_directory, files) in VENDOR.items() for name in files
                   if not self.storages[prefix].exists(name)]
        if missing:
            return [Error(f"the browser libraries are not installed: {', '.join(missing)} missing under "
                          f"{settings.NODE_MODULES}", hint="run `npm ci` (make assets)", id="kechuang.E001")]
        return []

    def find(self, path, find_all=False, **kwargs):
        found = []
        for prefix, (_directory, files) in VENDOR.items():
            name = path.removeprefix(prefix + "/")
            if name != path and name in files and self.storages[prefix].exists(name):
                location = self.storages[prefix].path(name)
                if not find_all:
                    return location
                found.append(location)
        return found if find_all else []

    def list(self, ignore_patterns):
        for prefix, (_directory, files) in VENDOR.items():
            for name in files:
                if self.storages[prefix].exists(name):
                    yield name, self.storages[prefix]
