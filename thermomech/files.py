"""Every file thermomech writes or deletes goes through here: atomic writes and output folders.

``atomic_path`` / ``write_atomically`` replace one file atomically (a reader, or a failed
run, never sees half a file); ``atomic_files`` does the same for a writer that puts
companion files beside its target (meshio's XDMF writes an ``.h5``).

:class:`OutputFolder` is what the commands write through. The rule it keeps: thermomech
never deletes or overwrites a file it did not write. Each folder holds a manifest,
``.thermomech-manifest.json``, of the files thermomech wrote there (relative path, size,
sha256, the command, the time, and the *group* of outputs it belongs to, e.g. ``run`` or
``mesh mesh.vtu``). Files are staged in a hidden folder and put in place one by one at
:meth:`OutputFolder.commit`, so a run that fails half-way leaves the earlier outputs as they
were. A path this run must write that exists and is not thermomech's (not in the manifest,
or edited since: its hash differs) is refused with :class:`OutputConflictError` (a ModelError:
exit 2, nothing written) unless ``force``. A file of the same group that this run does not
write again is removed only if it is unchanged since thermomech wrote it.

This is the only module of the package that deletes files (``tests/test_output_safety.py``
checks the source).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import hashlib
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import ModelError

MANIFEST = ".thermomech-manifest.json"
MANIFEST_FORMAT = "thermomech output manifest 1"
STAGING_PREFIX = ".thermomech-staging-"


class OutputConflictError(ModelError):
    """A path thermomech must write holds a file it did not write (or one edited since)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _make_readable(path: Path) -> None:
    """mkstemp / mkdtemp make 0600 / 0700: give files the usual mode."""
    os.chmod(path, 0o666 & ~_umask())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The temporary file has the suffix of ``path`` (writers that choose the format by suffix
    keep working) and gets the usual file mode (mkstemp makes 0600). On an exception it is
    removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        _make_readable(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_files(path: str | os.PathLike) -> Iterator[Path]:
    """Yield ``path``'s name inside a fresh hidden folder beside it; on success every file
    the writer created there (the target and its companions, e.g. an XDMF's ``.h5``) is
    moved beside ``path``, each atomically. On an exception nothing is moved."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=STAGING_PREFIX))
    try:
        yield staging / path.name
        for staged in _files_under(staging):
            _make_readable(staged)
            os.replace(staged, path.parent / staged.relative_to(staging))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class AppendLog:
    """An append-only file written one record at a time: each :meth:`append` is one
    ``write`` on a file opened with O_APPEND, then ``fsync``, so a killed process loses at
    most the record it was writing (a torn last line: :func:`cut_torn_tail`)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fd: int | None = None

    def append(self, data: bytes) -> None:
        """Persist ``data`` durably at the end of the file before returning."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        written = os.write(self._fd, data)
        while written < len(data):  # regular files write in full; be safe anyway
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def cut_torn_tail(path: str | os.PathLike, complete: int) -> None:
    """Truncate the append log ``path`` to its first ``complete`` bytes (the records before
    a torn last one), durably."""
    with open(path, "r+b") as handle:
        handle.truncate(complete)
        handle.flush()
        os.fsync(handle.fileno())


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    """(size, modification time ns, inode): a file rewritten since has another."""
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's content (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_COMMAND: contextvars.ContextVar[str | None] = contextvars.ContextVar("command", default=None)


@contextlib.contextmanager
def recording_command(command: str) -> Iterator[None]:
    """Within the block, manifests record ``command`` as the command that wrote a file (the
    CLI sets its own arguments; by default it is this process's command line)."""
    token = _COMMAND.set(command)
    try:
        yield
    finally:
        _COMMAND.reset(token)


def command_line() -> str:
    """The command that writes the outputs: the CLI's (see :func:`recording_command`), else
    this process's command line, as a shell would show it."""
    if _COMMAND.get() is not None:
        return _COMMAND.get()
    argv = list(sys.argv)
    if argv and Path(argv[0]).name in ("__main__.py", "thermomech"):
        argv[0] = "thermomech"
    return shlex.join(argv)


class OutputFolder:
    """A folder thermomech writes into, with the manifest of what it wrote there.

    directory : the folder (created at the first commit that writes a file).
    group : the outputs this writer owns (``"run"``, ``"mesh mesh.vtu"``, ...): a commit
        removes the group's files it did not write again, if they are unchanged.
    command : recorded with each file (default: this process's command line).
    force : overwrite paths this run writes even when thermomech did not write them.
    field : the name the error messages give the folder (the option, e.g. ``out``).

    Use as a context manager: leaving the block by an exception discards what was staged;
    leaving it normally commits what is still staged.
    """

    def __init__(self, directory: str | os.PathLike, *, group: str = "run",
                 command: str | None = None, force: bool = False, field: str = "out"):
        self.directory = Path(directory)
        self.group, self.force, self.field = group, force, field
        self.command = command if command is not None else command_line()
        self._staging: Path | None = None
        self._created = False
        self._logs: set[str] = set()
        self._written: set[str] = set()  # by this object, in any commit: never stale
        self._hashes: dict[Path, tuple[tuple, str]] = {}

    # --- staging -------------------------------------------------------------------------

    @contextlib.contextmanager
    def path(self, name: str) -> Iterator[Path]:
        """Yield the staged path of ``name`` (relative to the folder) for a writer; it (and
        any companion file the writer puts beside it) is put in place at :meth:`commit`.
        On an exception the staged ``name`` is dropped (leaving the OutputFolder's block
        by that exception drops everything staged)."""
        staged = self._stage_dir() / self._relative(name)
        staged.parent.mkdir(parents=True, exist_ok=True)
        self._hashes.pop(staged, None)  # written again: hashed again (write_bytes: here)
        try:
            yield staged
        except BaseException:
            staged.unlink(missing_ok=True)
            raise

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Stage ``data`` as ``name``; returns the final path (written at commit). Its
        SHA-256 is taken here, from the bytes in memory, for :meth:`commit`'s manifest
        (which hashed every staged file again at the end: 0.07 s for a 562k-unknown run's
        48 MB, after everything else)."""
        with self.path(name) as staged:
            staged.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            self._hashes[staged] = (_identity(staged.stat()), digest)
        return self.directory / name

    def staged_folder(self, name: str) -> Path:
        """The staged sub-folder ``name`` (created): every file a writer puts in it is
        committed as ``name/<file>``."""
        folder = self._stage_dir() / self._relative(name)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def append_log(self, name: str) -> Path:
        """Register ``name`` as an append-only log thermomech extends in place (a study's
        cases.jsonl): created empty at commit if missing; its content may grow between
        commits without counting as an edit. Returns the final path."""
        target = self.directory / name
        self._logs.add(self._relative(name))
        if not target.exists():
            return self.write_bytes(name, b"")
        self.check([name])
        return target

    # --- checks --------------------------------------------------------------------------

    def check(self, names: Iterable[str]) -> None:
        """Raise :class:`OutputConflictError` if thermomech may not write any of ``names``: an
        existing path it did not write (or one edited since), unless ``force``; a folder
        or a path under a file, always."""
        self._check_folder()
        manifest = self._read_manifest()
        for name in names:
            self._check_one(self._relative(name), manifest)

    def _check_folder(self) -> None:
        """The folder, or the nearest of its parents that exists, must be a folder."""
        for folder in (self.directory, *self.directory.parents):
            if folder.exists():
                if not folder.is_dir():
                    what = "" if folder == self.directory else f" ({folder} is a file)"
                    raise OutputConflictError(self.field, f"{self.directory} is not a "
                                                          f"folder{what}")
                return

    def _check_one(self, name: str, manifest: dict) -> None:
        target = self.directory / name
        for parent in Path(name).parents:
            if (self.directory / parent).is_file():
                raise OutputConflictError(self.field, f"cannot write {target}: "
                                                      f"{self.directory / parent} is a file")
        if name == MANIFEST:
            raise OutputConflictError(self.field, f"{name} is thermomech's manifest")
        if target.is_dir() and not target.is_symlink():
            raise OutputConflictError(self.field, f"cannot write {target}: it is a folder")
        if not (target.exists() or target.is_symlink()) or self.force:
            return
        reason = self._foreign_reason(name, manifest)
        if reason:
            raise OutputConflictError(self.field, f"refusing to overwrite {target}: {reason}; "
                                                  f"move it away, choose another output, or "
                                                  f"pass --force to overwrite it")

    def _foreign_reason(self, name: str, manifest: dict) -> str:
        """Why thermomech may not overwrite the existing ``name`` ('' if it may)."""
        entry = manifest["files"].get(name)
        if entry is None:
            return f"thermomech did not write it (it is not in {MANIFEST})"
        target = self.directory / name
        if target.is_symlink():
            return "it is a symbolic link"
        if entry.get("append") or self._unchanged(target, entry):
            return ""
        return "it was changed since thermomech wrote it"

    def _unchanged(self, target: Path, entry: dict) -> bool:
        return self._sha256(target) in (entry.get("sha256"), entry.get("previous_sha256"))

    def _sha256(self, path: Path) -> str:
        """The file's SHA-256, hashed again only when its size, time or inode changed."""
        key = _identity(path.stat())
        cached = self._hashes.get(path)
        if cached is None or cached[0] != key:
            cached = (key, file_sha256(path))
            self._hashes[path] = cached
        return cached[1]

    # --- commit ----------------------------------------------------------------------------

    def commit(self, *, remove_stale: bool = True) -> list[Path]:
        """Put every staged file in place (each atomically), record it in the manifest and,
        with ``remove_stale``, remove this group's earlier files not written again (only
        those unchanged since). Returns the paths written, in name order."""
        staged = {self._relative(p.relative_to(self._staging).as_posix()): p
                  for p in _files_under(self._staging)} if self._staging else {}
        try:
            if not staged and not self._logs and not remove_stale:
                return []
            manifest = self._read_manifest()
            for name in staged:
                self._check_one(name, manifest)
            written = self._put_in_place(staged, manifest)
            self._written |= set(staged)
            if remove_stale:
                self._remove_stale(manifest, self._written | self._logs)
            self._record_logs(manifest)
            self._write_manifest(manifest)
            return written
        finally:
            self.abort()

    def _put_in_place(self, staged: dict[str, Path], manifest: dict) -> list[Path]:
        """Record the new hashes first (the old one kept as ``previous_sha256``), then
        replace: a kill in between leaves a file whose content the manifest still knows."""
        files, now = manifest["files"], _now()
        for name, path in staged.items():
            target = self.directory / name
            entry = {"size": path.stat().st_size, "sha256": self._sha256(path),
                     "group": self.group, "command": self.command, "time": now}
            if target.is_file() and not self._foreign_reason(name, manifest):
                entry["previous_sha256"] = self._sha256(target)  # thermomech's old content
            if name in self._logs:
                entry["append"] = True
            files[name] = entry
        if staged:
            self._write_manifest(manifest)
        written = []
        for name, path in sorted(staged.items()):
            target = self.directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            _make_readable(path)
            os.replace(path, target)
            files[name].pop("previous_sha256", None)
            written.append(target)
        return written

    def _remove_stale(self, manifest: dict, kept: set[str]) -> None:
        files = manifest["files"]
        for name, entry in sorted(files.items()):
            if entry.get("group") != self.group or name in kept:
                continue
            target = self.directory / name
            if target.is_file() and not target.is_symlink() and not entry.get("append") \
                    and self._unchanged(target, entry):
                target.unlink()
                self._remove_empty_parents(target)
            del files[name]  # removed, gone, or edited since: then it is the user's

    def _remove_empty_parents(self, target: Path) -> None:
        """Remove the folders above ``target`` (inside this folder) that are now empty."""
        for parent in target.parents:
            if parent == self.directory or self.directory not in parent.parents \
                    or any(parent.iterdir()):
                return
            parent.rmdir()

    def _record_logs(self, manifest: dict) -> None:
        for name in self._logs:
            target = self.directory / name
            entry = manifest["files"].get(name)
            if target.is_file() and (entry is None or entry.get("group") != self.group
                                     or not entry.get("append")):
                manifest["files"][name] = {
                    "size": target.stat().st_size, "sha256": file_sha256(target),
                    "group": self.group, "command": self.command, "time": _now(),
                    "append": True}

    def abort(self) -> None:
        """Drop whatever is staged; remove the folder if this object created it and it is
        still empty."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if self._created:
            with contextlib.suppress(OSError):
                self.directory.rmdir()  # only if empty
            self._created = False

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None and self._staging is not None:
            self.commit()
        else:
            self.abort()

    # --- helpers -------------------------------------------------------------------------

    def _stage_dir(self) -> Path:
        if self._staging is None:
            self._check_folder()
            try:
                if not self.directory.exists():
                    self.directory.mkdir(parents=True)
                    self._created = True
                self._staging = Path(tempfile.mkdtemp(dir=self.directory,
                                                      prefix=STAGING_PREFIX))
            except PermissionError as exc:
                raise ModelError(self.field, f"cannot write in {self.directory}: "
                                             f"{exc.strerror}") from None
        return self._staging

    def _relative(self, name: str | os.PathLike) -> str:
        path = Path(name)
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise ValueError(f"output name must be a relative path inside the folder, got "
                             f"{str(name)!r}")
        return path.as_posix()

    def _read_manifest(self) -> dict:
        path = self.directory / MANIFEST
        if not path.exists():
            return {"format": MANIFEST_FORMAT, "files": {}}
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            if manifest.get("format") != MANIFEST_FORMAT or not isinstance(
                    manifest.get("files"), dict):
                raise ValueError("not a thermomech manifest")
        except (OSError, UnicodeDecodeError, ValueError, AttributeError) as exc:
            if self.force:
                return {"format": MANIFEST_FORMAT, "files": {}}
            raise OutputConflictError(self.field, f"cannot read {path} ({exc}): move it away "
                                                  f"or pass --force to start a new one") from None
        return manifest

    def _write_manifest(self, manifest: dict) -> None:
        if not manifest["files"] and not (self.directory / MANIFEST).exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        text = json.dumps(manifest, indent=1, sort_keys=True)
        write_atomically(self.directory / MANIFEST, (text + "\n").encode())


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
