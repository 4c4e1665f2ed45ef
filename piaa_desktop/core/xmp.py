"""XMP sidecars: ratings, pick/reject and colour labels that darktable, digiKam and Lightroom read.

What we write (and read back), in the conventions those tools use:

* **Rating**: ``xmp:Rating`` 0-5 (Adobe XMP basic schema).
* **Pick / reject**: digiKam's ``digiKam:PickLabel`` (0 none, 1 rejected, 2 pending, 3 accepted), its
  own field, so a rejected photo keeps its stars. ``xmp:Rating="-1"`` (the Lightroom/Bridge and
  darktable way to say "rejected": it has no room for stars) is written only for a reject *without*
  stars; one with stars keeps ``xmp:Rating`` = its stars (stars are never lost to a reject). Read
  back, -1 means rejected with no stars. Lightroom keeps its pick flag in its catalog only (nothing
  in XMP) and darktable has no pick flag.
* **Colour label**: ``xmp:Label`` with Lightroom's names (Red, Yellow, Green, Blue, Purple), which
  darktable and digiKam both read; plus ``darktable:colorlabels`` (an ``rdf:Seq`` of 0 red, 1 yellow,
  2 green, 3 blue, 4 purple) and ``digiKam:ColorLabel`` (1 red, 3 yellow, 4 green, 5 blue, 6 magenta)
  so each tool's own key agrees.

* **Keywords**: hierarchical paths such as ``Places|France|Paris`` in ``lr:hierarchicalSubject`` (an
  ``rdf:Bag`` of ``|``-separated paths, Lightroom's convention, read by darktable and digiKam), and
  the leaf keywords (``Paris``) in ``dc:subject`` (an ``rdf:Bag``) for every other tool. Reading merges
  both: a ``dc:subject`` entry that is not part of a hierarchical path becomes a top-level keyword.

Sidecar names: ``photo.jpg.xmp`` (naming ``'ext'``, darktable/digiKam default) or ``photo.xmp``
(naming ``'replace'``, Lightroom/Bridge/Capture One). Reading looks for both.

Safety:

* An existing sidecar is edited in place: every element, attribute, namespace and comment we do not own
  is preserved (darktable's history stack, Lightroom's crs: develop settings, keywords...). A sidecar we
  cannot parse is **never** overwritten: :class:`XmpError` is raised instead.
* Writes are atomic (temporary file + fsync + rename), so a crash leaves the old or the new sidecar.
* Parsing refuses DOCTYPE/ENTITY declarations (no entity expansion, no external entities: the
  "billion laughs" and XXE attacks need a DTD), and files over :data:`MAX_SIDECAR_BYTES`.

Catalog colour labels are the lowercase names of :data:`COLOR_LABELS`.
"""
from __future__ import annotations

import contextlib
import math
import os
import re
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Optional

from piaa_desktop.core.fsutil import atomic_write, file_mode, open_regular

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_DT = "http://darktable.sf.net/"
NS_DK = "http://www.digikam.org/ns/1.0/"
NS_CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
NS_PIAA = "http://ns.piaa-desktop.org/develop/1.0/"  # the app's own geometry fields (exact, lossless)
# The XML namespace (xml:lang, xml:space, xml:base): bound to the prefix ``xml`` by definition. It is
# never declared, and no other prefix may be bound to it (a sidecar that does so is not well-formed).
NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_XMLNS = "http://www.w3.org/2000/xmlns/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_LR = "http://ns.adobe.com/lightroom/1.0/"

KNOWN_PREFIXES = {
    NS_X: "x",
    NS_RDF: "rdf",
    NS_XMP: "xmp",
    NS_DT: "darktable",
    NS_DK: "digiKam",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/camera-raw-settings/1.0/": "crs",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/lightroom/1.0/": "lr",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    NS_PIAA: "piaa",
}

RDF_DESC = f"{{{NS_RDF}}}Description"
RDF_RDF = f"{{{NS_RDF}}}RDF"
RDF_ABOUT = f"{{{NS_RDF}}}about"
RDF_SEQ = f"{{{NS_RDF}}}Seq"
RDF_BAG = f"{{{NS_RDF}}}Bag"
DC_SUBJECT = f"{{{NS_DC}}}subject"
LR_HIER = f"{{{NS_LR}}}hierarchicalSubject"
RDF_LI = f"{{{NS_RDF}}}li"
XMP_RATING = f"{{{NS_XMP}}}Rating"
XMP_LABEL = f"{{{NS_XMP}}}Label"
DT_COLORLABELS = f"{{{NS_DT}}}colorlabels"
DK_PICK = f"{{{NS_DK}}}PickLabel"
DK_COLOR = f"{{{NS_DK}}}ColorLabel"

COLOR_LABELS = ("red", "yellow", "green", "blue", "purple")
LIGHTROOM_NAMES = {c: c.capitalize() for c in COLOR_LABELS}
DARKTABLE_INDEX = {c: i for i, c in enumerate(COLOR_LABELS)}
DIGIKAM_INDEX = {"red": 1, "yellow": 3, "green": 4, "blue": 5, "purple": 6}
_DIGIKAM_TO_NAME = {v: k for k, v in DIGIKAM_INDEX.items()}
_LABEL_ALIASES = {"magenta": "purple", "violet": "purple"}

DK_PICK_NONE, DK_PICK_REJECTED, DK_PICK_PENDING, DK_PICK_ACCEPTED = 0, 1, 2, 3

MAX_SIDECAR_BYTES = 32 * 1024 * 1024
NAMINGS = ("ext", "replace")
UNCHANGED: Any = object()  # sentinel: leave this field as it is in the sidecar

TOOLKIT = "PIAA Desktop"


class XmpError(ValueError):
    """A sidecar that cannot be read safely (corrupt, unsafe, too large); it is left untouched."""


# ---------------------------------------------------------------------------------------------- paths
def sidecar_path(photo_path: os.PathLike | str, naming: str = "ext") -> Path:
    """``photo.jpg.xmp`` (naming 'ext') or ``photo.xmp`` (naming 'replace')."""
    p = Path(photo_path)
    if naming == "ext":
        return p.with_name(p.name + ".xmp")
    if naming == "replace":
        return p.with_suffix(".xmp")
    raise ValueError(f"unknown sidecar naming {naming!r}; choose 'ext' or 'replace'")


def find_sidecar(photo_path: os.PathLike | str, naming: str = "ext") -> Optional[Path]:
    """The existing sidecar of a photo: the preferred naming first, then the other, any case of ``.xmp``."""
    order = [naming] + [n for n in NAMINGS if n != naming]
    for n in order:
        base = sidecar_path(photo_path, n)
        for cand in (base, base.with_name(base.name[:-4] + ".XMP")):
            if cand.is_file():
                return cand
    return None


def normalize_color_label(label: Optional[str]) -> Optional[str]:
    """A catalog colour label ('red', ...) from any spelling ('Red', 'RED', 'magenta'); None if empty."""
    if label is None:
        return None
    s = str(label).strip().lower()
    if not s:
        return None
    return _LABEL_ALIASES.get(s, s)


# ---------------------------------------------------------------------------------------------- parsing
class _Doc:
    """A parsed XMP packet plus what is needed to write it back faithfully."""

    def __init__(self, root: ET.Element, decls: dict, had_xpacket: bool):
        self.root = root
        self.decls = decls  # element -> [(prefix, uri)] declared on it in the source
        self.had_xpacket = had_xpacket


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8")


_XPACKET_RE = re.compile(r"<\?xpacket[^>]*\?>")
_DECL_RE = re.compile(r"<\?xml[^>]*\?>")


class _Builder(ET.TreeBuilder):
    """A tree builder that keeps comments and remembers which element declared which namespaces."""

    def __init__(self) -> None:
        super().__init__(insert_comments=True)
        self.decls: dict = {}
        self._pending: list[tuple[str, str]] = []

    def start_ns(self, prefix: str, uri: str) -> None:
        self._pending.append((prefix or "", uri))

    def start(self, tag, attrs):  # noqa: D102
        el = super().start(tag, attrs)
        if self._pending:
            self.decls[el] = self._pending
            self._pending = []
        return el


def parse_packet(data: bytes | str) -> _Doc:
    """Parse an XMP packet (sidecar content or the XMP embedded in a JPEG) safely."""
    if isinstance(data, bytes):
        if len(data) > MAX_SIDECAR_BYTES:
            raise XmpError(f"XMP larger than {MAX_SIDECAR_BYTES // (1024 * 1024)} MB")
        try:
            text = _decode(data)
        except UnicodeDecodeError as exc:
            raise XmpError(f"XMP is not valid UTF-8/UTF-16 text: {exc}") from exc
    else:
        text = data
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise XmpError("XMP with a DOCTYPE or ENTITY declaration refused (unsafe)")
    had_xpacket = bool(_XPACKET_RE.search(text))
    # The XML declaration (if any) names an encoding; the text is already decoded.
    body = _DECL_RE.sub("", text, count=1).strip("\ufeff")
    builder = _Builder()
    try:
        parser = ET.XMLParser(target=builder)
        parser.feed(body)
        root = parser.close()
    except ET.ParseError as exc:
        raise XmpError(f"XMP is not well-formed XML: {exc}") from exc
    decls = builder.decls
    if root is None:
        raise XmpError("XMP is empty")
    if root.tag not in (f"{{{NS_X}}}xmpmeta", f"{{{NS_X}}}xapmeta", RDF_RDF):
        raise XmpError(f"not an XMP packet (root element {root.tag})")
    if root.tag != RDF_RDF and root.find(RDF_RDF) is None:
        raise XmpError("XMP has no rdf:RDF element")
    return _Doc(root, decls, had_xpacket)


def _rdf(doc: _Doc) -> ET.Element:
    return doc.root if doc.root.tag == RDF_RDF else doc.root.find(RDF_RDF)


def _descriptions(doc: _Doc) -> list[ET.Element]:
    return _rdf(doc).findall(RDF_DESC)


def _get_prop(doc: _Doc, tag: str) -> Optional[str]:
    """A simple property, written as an attribute or as a child element of any rdf:Description."""
    for d in _descriptions(doc):
        if tag in d.attrib:
            return d.attrib[tag]
        el = d.find(tag)
        if el is not None:
            if el.text and el.text.strip():
                return el.text.strip()
            # <xmp:Label><rdf:Alt|Seq|Bag><rdf:li>..</rdf:li></...></xmp:Label> (rare, but seen)
            li = el.find(f".//{RDF_LI}")
            if li is not None and li.text:
                return li.text.strip()
            return ""
    return None


def _get_seq(doc: _Doc, tag: str) -> Optional[list[str]]:
    for d in _descriptions(doc):
        el = d.find(tag)
        if el is not None:
            return [(li.text or "").strip() for li in el.iter(RDF_LI)]
        if tag in d.attrib:
            return [d.attrib[tag].strip()]
    return None


def _int(v: Optional[str]) -> Optional[int]:
    """An integer field value; None for anything that is not a finite number ('inf', '1e999', 'nan', 'x')."""
    if v is None:
        return None
    try:
        f = float(v.strip())
    except (ValueError, AttributeError, TypeError):
        return None
    if not math.isfinite(f) or abs(f) > 1e9:
        return None
    return int(round(f))


def keywords_from_packet(doc: _Doc) -> Optional[list[str]]:
    """Hierarchical keyword paths from ``lr:hierarchicalSubject`` plus ``dc:subject`` entries not
    already part of one; None when the packet has neither property."""
    hier = _get_seq(doc, LR_HIER)
    flat = _get_seq(doc, DC_SUBJECT)
    if hier is None and flat is None:
        return None
    out: list[str] = []
    seen: set[str] = set()
    parts: set[str] = set()
    for h in hier or []:
        path = "|".join(p.strip() for p in h.split("|") if p.strip())
        if path and path.lower() not in seen:
            seen.add(path.lower())
            out.append(path)
            parts.update(p.lower() for p in path.split("|"))
    for f in flat or []:
        # darktable writes whole paths ("places|Bretagne|lighthouse") into dc:subject too
        f = "|".join(p.strip() for p in f.split("|") if p.strip())
        if f and f.lower() not in parts and f.lower() not in seen:
            seen.add(f.lower())
            out.append(f)
            if "|" in f:
                parts.update(p.lower() for p in f.split("|"))
    return out


def _apply_keyword_delta(doc: _Doc, add, remove) -> None:
    """Add and remove keyword paths (without case), leaving every other keyword of the packet as it is."""
    cur = keywords_from_packet(doc) or []
    gone = {str(k).lower() for k in remove or ()}
    new = [k for k in cur if k.lower() not in gone]
    have = {k.lower() for k in new}
    for k in add or ():
        path = "|".join(p.strip() for p in str(k).split("|") if p.strip())
        if path and path.lower() not in have:
            new.append(path)
            have.add(path.lower())
    if new != cur:
        _set_keywords(doc, new)


def values_from_packet(doc: _Doc) -> dict:
    """``{'rating': 0-5|None, 'flag': -1|0|1|None, 'color_label': str|None}``; None means "not set".

    A packet with keywords adds ``'keywords'``: the list of keyword paths (read it with ``.get``).
    """
    out: dict = {"rating": None, "flag": None, "color_label": None}
    kws = keywords_from_packet(doc)
    if kws is not None:
        out["keywords"] = kws
    r = _int(_get_prop(doc, XMP_RATING))
    if r is not None:
        if r < 0:
            out["flag"] = -1
        else:
            out["rating"] = min(5, r)
    pick = _int(_get_prop(doc, DK_PICK))
    if pick is not None and out["flag"] is None:
        out["flag"] = {DK_PICK_REJECTED: -1, DK_PICK_ACCEPTED: 1}.get(pick, 0)
    label = _get_prop(doc, XMP_LABEL)
    name = normalize_color_label(label) if label else None
    if name in COLOR_LABELS:
        out["color_label"] = name
    if out["color_label"] is None:
        seq = _get_seq(doc, DT_COLORLABELS)
        for s in seq or []:
            i = _int(s)
            if i is not None and 0 <= i < len(COLOR_LABELS):
                out["color_label"] = COLOR_LABELS[i]
                break
    if out["color_label"] is None:
        i = _int(_get_prop(doc, DK_COLOR))
        if i in _DIGIKAM_TO_NAME:
            out["color_label"] = _DIGIKAM_TO_NAME[i]
    return out


def read_sidecar(photo_path: os.PathLike | str, naming: str = "ext") -> Optional[dict]:
    """Rating, flag and colour label from a photo's sidecar, or None if it has none.

    Values the sidecar does not set are None. Raises :class:`XmpError` for a sidecar that exists but
    cannot be read safely.
    """
    path = find_sidecar(photo_path, naming)
    if path is None:
        return None
    return read_packet_file(path)


EMBEDDED_SCAN_BYTES = 1024 * 1024  # where a JPEG's XMP segment lives (APP1, before the image data)
_XMP_APP1_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


def embedded_packet(data: bytes) -> Optional[bytes]:
    """The XMP packet of a JPEG's APP1 segment in ``data`` (the file's first bytes), or None."""
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no more metadata segments
            return None
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            return None
        if marker == 0xE1 and data[i + 4 : i + 4 + len(_XMP_APP1_HEADER)] == _XMP_APP1_HEADER:
            return data[i + 4 + len(_XMP_APP1_HEADER) : i + 2 + length]
        i += 2 + length
    return None


def read_embedded_keywords(photo_path: os.PathLike | str) -> Optional[list[str]]:
    """Keywords in a JPEG's own XMP (Lightroom and digiKam write them into exported files); None if none."""
    path = Path(photo_path)
    if path.suffix.lower() not in (".jpg", ".jpeg", ".jpe"):
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read(EMBEDDED_SCAN_BYTES)
    except OSError:
        return None
    packet = embedded_packet(data)
    if not packet:
        return None
    try:
        return keywords_from_packet(parse_packet(packet))
    except XmpError:
        return None


def read_packet_file(path: os.PathLike | str) -> dict:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise XmpError(f"{path.name}: larger than {MAX_SIDECAR_BYTES // (1024 * 1024)} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise XmpError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return values_from_packet(parse_packet(data))
    except XmpError as exc:
        raise XmpError(f"{path.name}: {exc}") from exc


# ---------------------------------------------------------------------------------------------- editing
def _main_description(doc: _Doc) -> ET.Element:
    """The rdf:Description we add properties to: the one already holding xmp: properties, else the first."""
    descs = _descriptions(doc)
    for d in descs:
        if any(k.startswith(f"{{{NS_XMP}}}") for k in d.attrib) or any(
            isinstance(c.tag, str) and c.tag.startswith(f"{{{NS_XMP}}}") for c in d
        ):
            return d
    if descs:
        return descs[0]
    rdf = _rdf(doc)
    d = ET.SubElement(rdf, RDF_DESC, {RDF_ABOUT: ""})
    d.text, d.tail = "\n  ", "\n "
    return d


def _remove_prop(doc: _Doc, tag: str) -> None:
    for d in _descriptions(doc):
        d.attrib.pop(tag, None)
        for el in d.findall(tag):
            _remove_child(d, el)


def _remove_child(parent: ET.Element, el: ET.Element) -> None:
    idx = list(parent).index(el)
    if idx > 0:
        prev = parent[idx - 1]
        # keep the whitespace layout tidy: the removed element's tail replaces the previous tail
        prev.tail = el.tail if el.tail is not None else prev.tail
    elif el.tail is not None and parent.text is not None and parent.text.strip() == "":
        parent.text = el.tail
    parent.remove(el)


def _set_prop(doc: _Doc, tag: str, value: str) -> None:
    """Set a simple property where it already lives (attribute or element), else as an attribute."""
    for d in _descriptions(doc):
        if tag in d.attrib:
            d.attrib[tag] = value
            return
        el = d.find(tag)
        if el is not None:
            for child in list(el):
                el.remove(child)
            el.text = value
            return
    _main_description(doc).set(tag, value)


def _set_seq(doc: _Doc, tag: str, values: list[str], container: str = RDF_SEQ) -> None:
    _remove_prop(doc, tag)
    d = _main_description(doc)
    el = ET.SubElement(d, tag)
    seq = ET.SubElement(el, container)
    for v in values:
        li = ET.SubElement(seq, RDF_LI)
        li.text = v
        li.tail = "\n     "
    if len(seq):
        seq[-1].tail = "\n    "
    seq.text, seq.tail = "\n     ", "\n   "
    el.text = "\n    "
    # indent relative to the siblings
    children = list(d)
    if len(children) > 1:
        prev = children[-2]
        el.tail = prev.tail
        prev.tail = prev.tail if prev.tail and prev.tail.strip() == "" else "\n   "
    else:
        d.text = d.text if d.text and d.text.strip() == "" else "\n   "
        el.tail = "\n  "


def _set_keywords(doc: _Doc, keywords) -> None:
    """``lr:hierarchicalSubject`` = the paths, ``dc:subject`` = their leaves; both removed when empty."""
    paths: list[str] = []
    seen: set[str] = set()
    for k in keywords or ():
        path = "|".join(p.strip() for p in str(k).split("|") if p.strip())
        if path and path.lower() not in seen:
            seen.add(path.lower())
            paths.append(path)
    if not paths:
        _remove_prop(doc, LR_HIER)
        _remove_prop(doc, DC_SUBJECT)
        return
    leaves: list[str] = []
    for path in paths:
        leaf = path.rsplit("|", 1)[-1]
        if leaf.lower() not in {x.lower() for x in leaves}:
            leaves.append(leaf)
    _set_seq(doc, DC_SUBJECT, leaves, container=RDF_BAG)
    _set_seq(doc, LR_HIER, paths, container=RDF_BAG)


def apply_values(
    doc: _Doc,
    rating: Any = UNCHANGED,
    flag: Any = UNCHANGED,
    color_label: Any = UNCHANGED,
    keywords: Any = UNCHANGED,
    keyword_delta: Optional[tuple] = None,
) -> None:
    """Set our fields in a parsed packet; :data:`UNCHANGED` leaves a field as it is.

    ``keywords`` replaces every keyword; ``keyword_delta`` = (added, removed) changes only those, so
    keywords another tool wrote and the catalog never saw stay."""
    current = values_from_packet(doc)
    if keywords is not UNCHANGED:
        _set_keywords(doc, keywords)
    if keyword_delta is not None:
        _apply_keyword_delta(doc, *keyword_delta)
    if rating is not UNCHANGED:
        rating = int(rating or 0)
        if not 0 <= rating <= 5:
            raise ValueError("rating must be between 0 and 5")
    if flag is not UNCHANGED:
        flag = int(flag or 0)
        if flag not in (-1, 0, 1):
            raise ValueError("flag must be -1, 0 or 1")

    eff_flag = current["flag"] if flag is UNCHANGED else flag
    stars = (current["rating"] or 0) if rating is UNCHANGED else rating
    rating_was_reject = (_int(_get_prop(doc, XMP_RATING)) or 0) < 0
    # The reject lives in digiKam:PickLabel (below); xmp:Rating keeps the stars. Only a reject without
    # stars is also xmp:Rating=-1, so that Lightroom/Bridge and darktable see it.
    if eff_flag == -1 and not stars:
        if flag is not UNCHANGED or rating is not UNCHANGED:
            _set_prop(doc, XMP_RATING, "-1")
    elif rating is not UNCHANGED or (rating_was_reject and (flag is not UNCHANGED or eff_flag == -1)):
        _set_prop(doc, XMP_RATING, str(stars))

    if flag is not UNCHANGED:
        existing = _int(_get_prop(doc, DK_PICK))
        if flag == 1:
            _set_prop(doc, DK_PICK, str(DK_PICK_ACCEPTED))
        elif flag == -1:
            _set_prop(doc, DK_PICK, str(DK_PICK_REJECTED))
        elif existing in (DK_PICK_REJECTED, DK_PICK_ACCEPTED):
            _set_prop(doc, DK_PICK, str(DK_PICK_NONE))  # a digiKam "pending" label is left alone

    if color_label is not UNCHANGED:
        name = normalize_color_label(color_label)
        old_label = _get_prop(doc, XMP_LABEL)
        if name is None:
            if old_label is not None and normalize_color_label(old_label) in COLOR_LABELS:
                _remove_prop(doc, XMP_LABEL)  # a custom (non-colour) label is not ours to remove
            _remove_prop(doc, DT_COLORLABELS)
            if _get_prop(doc, DK_COLOR) is not None:
                _set_prop(doc, DK_COLOR, "0")
        elif name in COLOR_LABELS:
            _set_prop(doc, XMP_LABEL, LIGHTROOM_NAMES[name])
            seq = _get_seq(doc, DT_COLORLABELS) or []
            if str(DARKTABLE_INDEX[name]) not in seq:
                _set_seq(doc, DT_COLORLABELS, [str(DARKTABLE_INDEX[name])])
            _set_prop(doc, DK_COLOR, str(DIGIKAM_INDEX[name]))
        else:
            # A free-text label (Lightroom lets users rename label sets): xmp:Label only.
            _set_prop(doc, XMP_LABEL, str(color_label))
            _remove_prop(doc, DT_COLORLABELS)


def new_packet() -> _Doc:
    text = (
        f'<x:xmpmeta xmlns:x="{NS_X}" x:xmptk="{TOOLKIT}">\n'
        f' <rdf:RDF xmlns:rdf="{NS_RDF}">\n'
        f'  <rdf:Description rdf:about=""\n'
        f'    xmlns:xmp="{NS_XMP}">\n'
        f"  </rdf:Description>\n"
        f" </rdf:RDF>\n"
        f"</x:xmpmeta>\n"
    )
    return parse_packet(text)


# ---------------------------------------------------------------------------------------------- writing
# Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/U+FFFF): written,
# they would make the sidecar unreadable for every tool, so they are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc_text(s: str) -> str:
    s = _NOT_XML.sub("", s)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc_attr(s: str) -> str:
    return (
        _esc_text(s).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    )


def serialize(doc: _Doc, xpacket: Optional[bool] = None) -> str:
    """The packet as text, with every namespace declared where it was (new ones where first needed).

    ``xml:lang`` (and any other name in the XML namespace) is written with its reserved ``xml`` prefix
    and never declared. The tree is walked with an explicit stack, so however deeply a sidecar nests
    (another app's, or a hostile one) writing it never exhausts Python's recursion limit.
    """
    out: list[str] = []
    used_prefixes: set[str] = {p for decl in doc.decls.values() for p, _ in decl}
    used_prefixes |= {"xml", "xmlns"}
    counter = [0]

    def new_prefix(uri: str) -> str:
        p = KNOWN_PREFIXES.get(uri)
        if p and p not in used_prefixes:
            used_prefixes.add(p)
            return p
        while True:
            p = f"ns{counter[0]}"
            counter[0] += 1
            if p not in used_prefixes:
                used_prefixes.add(p)
                return p

    def split(tag: str) -> tuple[Optional[str], str]:
        if tag.startswith("{"):
            uri, local = tag[1:].split("}", 1)
            return uri, local
        return None, tag

    def open_tag(el: ET.Element, scope: dict[str, str], depth: int, covered: bool) -> tuple[str, str, dict[str, str]]:
        """The start tag of ``el`` (declaring what it needs), its name and the scope of its children."""
        scope = dict(scope)
        new_decls: list[tuple[str, str]] = []
        for prefix, uri in doc.decls.get(el, []):
            if uri in (NS_XML, NS_XMLNS) or prefix in ("xml", "xmlns"):
                continue  # reserved: implicitly bound, never (re)declared
            if prefix == "":
                # a default namespace: give it a prefix (we always write qualified names)
                if uri not in scope:
                    p = new_prefix(uri)
                    scope[uri] = p
                    new_decls.append((p, uri))
                continue
            for other in [u for u, p in scope.items() if p == prefix and u != uri]:
                del scope[other]  # the prefix now means ``uri`` here: the other namespace needs a new one
            scope[uri] = prefix
            new_decls.append((prefix, uri))

        def declare(uri: str) -> None:
            if uri == NS_XML or uri in scope:
                return
            p = new_prefix(uri)
            scope[uri] = p
            new_decls.append((p, uri))

        if el.tag == RDF_DESC and not covered:
            # declare the namespaces its properties need on the (outermost) rdf:Description itself
            for sub in el.iter():
                if not isinstance(sub.tag, str):
                    continue
                for t in (sub.tag, *sub.attrib):
                    uri, _ = split(t)
                    if uri is not None:
                        declare(uri)

        def q(tag: str) -> str:
            uri, local = split(tag)
            if uri is None:
                return local
            if uri == NS_XML:
                return f"xml:{local}"
            declare(uri)
            return f"{scope[uri]}:{local}"

        name = q(el.tag)
        attrs = [(q(k), v) for k, v in el.attrib.items()]
        indent = "\n" + " " * (depth * 2 + 4)
        sep = indent if len(new_decls) + len(attrs) > 2 else " "
        parts = [f"<{name}"]
        for p, uri in new_decls:
            parts.append(f'{sep}xmlns:{p}="{_esc_attr(uri)}"')
        for k, v in attrs:
            parts.append(f'{sep}{k}="{_esc_attr(v)}"')
        return "".join(parts), name, scope

    # Explicit stack of work: ("el", element, scope, depth, covered) or ("end", text to append).
    tail, doc.root.tail = doc.root.tail, None
    try:
        stack: list[tuple] = [("el", doc.root, {}, 0, False)]
        while stack:
            item = stack.pop()
            if item[0] == "end":
                out.append(item[1])
                continue
            _, el, scope, depth, covered = item
            if el.tag is ET.Comment:
                out.append(f"<!--{el.text or ''}-->")
                out.append(_esc_text(el.tail or ""))
                continue
            if el.tag is ET.ProcessingInstruction:
                out.append(f"<?{el.text or ''}?>")
                out.append(_esc_text(el.tail or ""))
                continue
            head, name, child_scope = open_tag(el, scope, depth, covered)
            covered = covered or el.tag == RDF_DESC
            tail_text = _esc_text(el.tail or "")
            if len(el) == 0 and not el.text:
                out.append(head + "/>")
                out.append(tail_text)
                continue
            out.append(head + ">")
            out.append(_esc_text(el.text or ""))
            stack.append(("end", f"</{name}>" + tail_text))
            for child in reversed(el):
                stack.append(("el", child, child_scope, depth + 1, covered))
    finally:
        doc.root.tail = tail
    body = "".join(out).rstrip() + "\n"
    use_xpacket = doc.had_xpacket if xpacket is None else xpacket
    if use_xpacket:
        return (
            '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            + body
            + '<?xpacket end="w"?>'
        )
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def write_sidecar(
    photo_path: os.PathLike | str,
    rating: Any = UNCHANGED,
    flag: Any = UNCHANGED,
    color_label: Any = UNCHANGED,
    naming: str = "ext",
    keywords: Any = UNCHANGED,
    keyword_delta: Optional[tuple] = None,
    geometry: Any = UNCHANGED,
) -> Path:
    """Create or update the sidecar of ``photo_path``; returns its path.

    Only the fields passed are changed (``flag`` -1 writes ``xmp:Rating=-1``). Everything else in an
    existing sidecar is preserved. A sidecar that cannot be parsed raises :class:`XmpError` and is left
    exactly as it was. The photo itself is never opened.
    """
    path = sidecar_path(photo_path, naming)
    existing = path if path.is_file() else None
    if existing is None:
        alt = path.with_name(path.name[:-4] + ".XMP")
        existing = alt if alt.is_file() else None
    if existing is None and not path.parent.is_dir():
        # an unplugged drive or a moved folder: its path is not made again (on the system disk) for a sidecar
        raise XmpError(f"its folder {path.parent} is not there (a drive unplugged, a folder moved?): no sidecar written")
    if existing is not None:
        # A symlinked sidecar is updated where it points (the link stays a link); a read-only one is
        # the user's "do not touch" and is left as it is.
        if existing.is_symlink():
            existing = Path(os.path.realpath(existing))
        try:
            st = existing.stat()
            if not st.st_mode & stat.S_IWUSR:
                raise XmpError(f"{existing.name} is read-only: left untouched (make it writable to let "
                               "PIAA Desktop update it)")
            with open_regular(existing) as fh:
                data = fh.read(MAX_SIDECAR_BYTES + 1)
        except OSError as exc:
            raise XmpError(f"cannot read {existing}: {exc.strerror or exc}") from exc
        try:
            doc = parse_packet(data)
        except XmpError as exc:
            raise XmpError(f"{existing.name} left untouched: {exc}") from exc
        path = existing
    else:
        doc = new_packet()
    apply_values(doc, rating=rating, flag=flag, color_label=color_label, keywords=keywords,
                 keyword_delta=keyword_delta)
    if geometry is not UNCHANGED:
        apply_geometry(doc, geometry)
    text = serialize(doc)
    try:
        mode = existing.stat().st_mode & 0o777 if existing is not None else file_mode()
    except OSError:
        mode = file_mode()
    with atomic_write(path, "wb") as fh:
        fh.write(text.encode("utf-8"))
        with contextlib.suppress(OSError, AttributeError):
            os.fchmod(fh.fileno(), mode)  # mkstemp makes 0600; a sidecar is as readable as a normal file
    return path




def packet_bytes(
    existing: Optional[bytes] = None,
    rating: Any = UNCHANGED,
    flag: Any = UNCHANGED,
    color_label: Any = UNCHANGED,
    keywords: Any = UNCHANGED,
) -> bytes:
    """An XMP packet (for embedding in a JPEG) built from ``existing`` (preserved) with our fields set."""
    doc = None
    if existing:
        try:
            doc = parse_packet(existing)
        except XmpError:
            doc = None
    if doc is None:
        doc = new_packet()
    apply_values(doc, rating=rating, flag=flag, color_label=color_label, keywords=keywords)
    return serialize(doc, xpacket=True).encode("utf-8")


# ---------------------------------------------------------------------------------------------- geometry
# Crop, straighten, quarter turns and flip (core.develop geometry parameters). Written twice:
# * Lightroom / Camera Raw ``crs:HasCrop``, ``crs:CropLeft/Top/Right/Bottom``, ``crs:CropAngle`` (what
#   Lightroom, darktable's Lightroom import and RawTherapee read), in the frame of the stored pixels, when
#   they can say the crop exactly (see core.develop.crs_crop);
# * the app's own ``piaa:`` fields with the exact parameters (read back first on import).
# Quarter turns and flips are NOT written as ``tiff:Orientation``: readers disagree on whether a sidecar's
# orientation replaces the file's EXIF orientation or adds to it (a photo could turn twice), and the
# original file is never touched; they live in ``piaa:Rotate`` / ``piaa:Flip`` only.
CRS_CROP_FIELDS = ("HasCrop", "CropLeft", "CropTop", "CropRight", "CropBottom", "CropAngle")
PIAA_GEOMETRY_FIELDS = {"crop_left": "CropLeft", "crop_top": "CropTop", "crop_right": "CropRight",
                        "crop_bottom": "CropBottom", "angle": "Angle", "rotate": "Rotate", "flip": "Flip"}


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "True" if v else "False"
    f = float(v)
    return str(int(f)) if f == int(f) and abs(f) < 1e9 else f"{f:.6f}".rstrip("0").rstrip(".")


def apply_geometry(doc: _Doc, geometry: Optional[dict]) -> None:
    """Set (or with ``None`` clear) the geometry fields. ``geometry``: ``{"params": {...app geometry...},
    "crs": {...} or None}`` as built by :func:`piaa_desktop.core.sync.geometry_for_sidecar`."""
    params = (geometry or {}).get("params") or {}
    crs = (geometry or {}).get("crs")
    if params:
        for name, field in PIAA_GEOMETRY_FIELDS.items():
            if name in params:
                _set_prop(doc, f"{{{NS_PIAA}}}{field}", _fmt(params[name]))
    else:
        for field in PIAA_GEOMETRY_FIELDS.values():
            _remove_prop(doc, f"{{{NS_PIAA}}}{field}")
    if crs:
        for k in CRS_CROP_FIELDS:
            _set_prop(doc, f"{{{NS_CRS}}}{k}", _fmt(crs[k]))
    elif _get_prop(doc, f"{{{NS_CRS}}}HasCrop") is not None:
        # no crop any more (or one these fields cannot say): Lightroom must not keep showing the old one
        _set_prop(doc, f"{{{NS_CRS}}}HasCrop", "False")
        for k in CRS_CROP_FIELDS[1:]:
            _remove_prop(doc, f"{{{NS_CRS}}}{k}")


def geometry_from_packet(doc: _Doc) -> dict:
    """``{"piaa": {param: value} (the app's own fields, exact) , "crs": {field: str} (Lightroom's)}``;
    empty dicts when absent."""
    own = {}
    for name, field in PIAA_GEOMETRY_FIELDS.items():
        v = _get_prop(doc, f"{{{NS_PIAA}}}{field}")
        if v is not None:
            try:
                own[name] = float(v)
            except ValueError:
                pass
    crs = {}
    for k in CRS_CROP_FIELDS:
        v = _get_prop(doc, f"{{{NS_CRS}}}{k}")
        if v is not None:
            crs[k] = v
    return {"piaa": own, "crs": crs}


def read_geometry(photo_path: os.PathLike | str, naming: str = "ext") -> Optional[dict]:
    """The geometry fields of a photo's sidecar (see :func:`geometry_from_packet`), None without one."""
    path = find_sidecar(photo_path, naming)
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise XmpError(f"{path.name}: larger than {MAX_SIDECAR_BYTES // (1024 * 1024)} MB")
        return geometry_from_packet(parse_packet(path.read_bytes()))
    except OSError as exc:
        raise XmpError(f"cannot read {path}: {exc.strerror or exc}") from exc
