"""Pascal VOC XML, as LabelImg (and CVAT, and the VOC devkit) write it.

One ``<annotation>`` file per image: ``<filename>``, ``<size>``, and ``<object>`` elements with
``<name>``, ``<pose>``, ``<truncated>``, ``<difficult>`` and ``<bndbox>`` in pixels. Boxes are
normalized by dividing by the image size, as the OD API's ``create_pascal_tf_record.py`` does
(LabelImg's 1-based corners are taken as they are). ``difficult``, ``truncated``, ``occluded``
and ``pose`` are kept in the OD API keys made for them. A folder, or a VOC devkit folder
(``Annotations/`` and ``JPEGImages/``), is read recursively.
"""

from __future__ import annotations

import math
import os
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path

from tfod_doctor.converters.model import (
    BoxFlags,
    Losses,
    Problem,
    ProblemKind,
    Skipped,
    SourceBox,
    SourceData,
    SourceItem,
    Where,
)
from tfod_doctor.converters.options import ConvertOptions, declared_classes
from tfod_doctor.converters.paths import IMAGE_EXTENSIONS, files_below
from tfod_doctor.errors import UserError
from tfod_doctor.records.inputs import read_input_bytes

FORMAT = "voc"
_OBJECT_TAGS = frozenset({"name", "pose", "truncated", "difficult", "occluded", "bndbox",
                          "attributes"})
_FLAGS = {"difficult": "difficult", "truncated": "truncated", "occluded": "occluded"}


@dataclass
class Node:
    """An XML element with the line and column where it starts."""

    tag: str
    line: int
    column: int
    text: str = ""
    children: list[Node] = field(default_factory=list)

    def find(self, tag: str) -> Node | None:
        """The first child with this tag."""
        return next((child for child in self.children if child.tag == tag), None)

    def value(self, tag: str) -> str | None:
        """The stripped text of the first child with this tag (``None``: no such child)."""
        child = self.find(tag)
        return None if child is None else child.text.strip()


class XmlError(ValueError):
    """The file is not well-formed XML; line and column say where."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def parse_xml(data: bytes) -> Node:
    """Parse XML into :class:`Node` objects that know their line and column.

    A document type declaration (``<!DOCTYPE``, where entities are declared) is refused: VOC
    files have none, and entities that expand into entities ("billion laughs") or name other
    files are how XML makes a small file take hours or read what it should not.
    """
    parser = xml.parsers.expat.ParserCreate()
    stack: list[tuple[Node, list[str]]] = []
    roots: list[Node] = []

    def start(tag: str, _attributes: dict[str, str]) -> None:
        node = Node(tag, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        (stack[-1][0].children if stack else roots).append(node)
        stack.append((node, []))

    def end(_tag: str) -> None:
        node, parts = stack.pop()
        node.text = "".join(parts)

    def text(data: str) -> None:
        if stack:
            stack[-1][1].append(data)

    def doctype(*_args: object) -> None:
        raise XmlError("a document type declaration (<!DOCTYPE ...>) is not read: VOC "
                       "annotations need none, and its entities can expand without end",
                       parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise XmlError(xml.parsers.expat.ErrorString(exc.code), exc.lineno,
                       exc.offset + 1) from None
    return roots[0]


def _layout(source: Path, options: ConvertOptions) -> tuple[list[Path], Path, Path | None]:
    """The XML files, the folder they are relative to, and the default image folder."""
    if source.is_file():
        return [source], source.parent, options.images
    if not source.is_dir():
        raise UserError(f"{source} does not exist")
    folder, images = source, options.images
    if (source / "Annotations").is_dir():
        folder = source / "Annotations"
        if images is None and (source / "JPEGImages").is_dir():
            images = source / "JPEGImages"
    files = files_below(folder, (".xml",))
    if not files:
        raise UserError(f"{source} holds no .xml annotation files")
    return files, folder, images


def _find_image(xml_path: Path, relative_dir: Path, filename: str, stated_path: str | None,
                images: Path | None) -> Path:
    """Where the image of one annotation file is, trying the places people keep them."""
    candidates = []
    if images is not None:
        candidates += [images / relative_dir / filename, images / filename]
    else:
        candidates.append(xml_path.parent / filename)
    if stated_path:
        candidates.append(Path(stated_path.replace("\\", "/")))
    for candidate in candidates:  # os.path: a name too long for the system is no file either
        if os.path.isfile(candidate):
            return candidate
    stem_folder = candidates[0].parent
    for extension in IMAGE_EXTENSIONS:
        for name in (f"{xml_path.stem}{extension}", f"{xml_path.stem}{extension.upper()}"):
            if os.path.isfile(stem_folder / name):
                return stem_folder / name
    return candidates[0]


def _int_flag(text: str | None) -> bool:
    if not text:
        return False
    try:
        return float(text) != 0
    except ValueError:
        return text.lower() in ("true", "yes")


class _FileReader:
    """Reads the objects of one annotation file."""

    def __init__(self, path: Path, losses: Losses, problems: list[Problem]) -> None:
        self.path = path
        self.file = str(path)
        self.losses = losses
        self.problems = problems

    def bad(self, node: Node, index: int, message: str, image: str) -> None:
        self.problems.append(Problem(ProblemKind.MALFORMED_ANNOTATION, message,
                                     Where(self.file, node.line, node.column, index), image))

    def objects(self, root: Node, image: str) -> list[SourceBox]:
        boxes = []
        objects = [child for child in root.children if child.tag == "object"]
        for index, node in enumerate(objects):
            box = self.box(node, index, image)
            if box is not None:
                boxes.append(box)
        return boxes

    def box(self, node: Node, index: int, image: str) -> SourceBox | None:
        name = node.value("name")
        if not name:
            self.bad(node, index, f"<object> {index} has no <name>", image)
            return None
        bndbox = node.find("bndbox")
        corners = [None if bndbox is None else bndbox.value(k)
                   for k in ("xmin", "ymin", "xmax", "ymax")]
        try:
            values = [float(v) for v in corners]  # type: ignore[arg-type]
        except (TypeError, ValueError):
            values = []
        if len(values) != 4 or not all(math.isfinite(v) for v in values):
            self.bad(node, index, f"<object> {index} {name!r}: <bndbox> needs numbers xmin, "
                     f"ymin, xmax, ymax; it has {corners}", image)
            return None
        flags = BoxFlags(view=node.value("pose") or "")
        for tag, attribute in _FLAGS.items():
            setattr(flags, attribute, _int_flag(node.value(tag)))
        self.count_losses(node, flags)
        xmin, ymin, xmax, ymax = values
        return SourceBox(xmin, ymin, xmax, ymax, name,
                         Where(self.file, node.line, node.column, index), flags=flags,
                         text=f"<object> {index} {name!r} [{xmin:g}, {ymin:g}, {xmax:g}, "
                         f"{ymax:g}]")

    def count_losses(self, node: Node, flags: BoxFlags) -> None:
        for child in node.children:
            if child.tag not in _OBJECT_TAGS:
                self.losses.add(f"<{child.tag}> of VOC objects")
        attributes = node.find("attributes")
        for attribute in attributes.children if attributes is not None else ():
            name, value = attribute.value("name"), attribute.value("value") or ""
            if name in _FLAGS:
                setattr(flags, _FLAGS[name], _int_flag(value))
            elif name == "rotation" and _int_flag(value) is False:
                continue
            else:
                self.losses.add(f"VOC object attribute {name!r}")


def _declared_size(root: Node) -> tuple[int, int] | None:
    size = root.find("size")
    if size is None:
        return None
    try:
        width, height = int(float(size.value("width") or 0)), int(float(size.value("height") or 0))
    except ValueError:
        return None
    return (width, height) if width > 0 and height > 0 else None


def load(source: Path, options: ConvertOptions) -> SourceData:
    """Read a folder of VOC XML files (or one file)."""
    files, folder, images = _layout(source, options)
    data = SourceData(FORMAT, [str(source)], declared_classes(options))
    for path in files:
        relative_dir = path.parent.relative_to(folder)
        try:
            root = parse_xml(read_input_bytes(path))
        except XmlError as exc:
            data.problems.append(Problem(ProblemKind.MALFORMED_FILE, f"not well-formed XML: {exc}",
                                         Where(str(path), exc.line, exc.column), path.name,
                                         Skipped.IMAGE, boxes=0))
            continue
        except OSError as exc:
            data.problems.append(Problem(ProblemKind.MALFORMED_FILE,
                                         f"cannot read: {exc.strerror or exc}", Where(str(path)),
                                         path.name, Skipped.IMAGE, boxes=0))
            continue
        if root.tag != "annotation":
            data.problems.append(Problem(ProblemKind.MALFORMED_FILE,
                                         f"not a Pascal VOC file: the root element is "
                                         f"<{root.tag}>, not <annotation>",
                                         Where(str(path), root.line, root.column), path.name,
                                         Skipped.IMAGE, boxes=0))
            continue
        filename = root.value("filename") or ""
        image_path = _find_image(path, relative_dir, filename or path.stem, root.value("path"),
                                 images)
        ref = (relative_dir / (filename or image_path.name)).as_posix()
        reader = _FileReader(path, data.losses, data.problems)
        data.items.append(SourceItem(
            image_ref=ref, image_path=str(image_path), source_id=ref,
            where=Where(str(path), root.line, root.column), boxes=reader.objects(root, ref),
            declared_size=_declared_size(root),
        ))
    return data
