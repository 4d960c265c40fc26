"""Turn a loaded output value into something a viewer can show, off the GUI thread.

`prepare` runs on a worker thread: it decides which viewer fits a value and
does the slow part there (a matplotlib figure or an image rendered to PNG
bytes, a long repr cut short), so the GUI thread only builds widgets. It
uses no Qt at all.
"""

from __future__ import annotations

import io
import reprlib
from dataclasses import dataclass
from typing import Any

from plait.widgets.words import plural

TEXT_LIMIT = 200_000
REPR_LIMIT = 20_000

DATAFRAME, ARRAY, IMAGE, TREE, TEXT, REPR = "dataframe", "array", "image", "tree", "text", "repr"


@dataclass
class Preview:
    """What to show for one value: the viewer kind and what it needs."""

    kind: str
    value: Any = None  # the DataFrame, array, container or matplotlib figure itself
    png: bytes | None = None  # images and figures, rendered
    text: str = ""
    type_name: str = ""
    description: str = ""  # shape, dtypes, length: a line above the viewer


def _module_type(value: Any, module: str, *names: str) -> bool:
    cls = type(value)
    return cls.__module__.split(".")[0] == module and cls.__name__ in names


def _looks_like_image(array: Any) -> bool:
    shape = getattr(array, "shape", ())
    if array.dtype.kind not in "uif" or not 2 <= len(shape) <= 3:
        return False
    if len(shape) == 3 and shape[2] not in (3, 4):
        return False
    if min(shape[:2]) < 8:
        return False
    if array.dtype.kind == "f":
        return (
            bool(array.size) and float(array.min()) >= 0.0 and float(array.max()) <= 1.0 and len(shape) == 3
        )
    return array.dtype.kind == "u" and array.dtype.itemsize == 1


def _png_from_array(array: Any) -> bytes | None:
    try:
        from PIL import Image
    except ImportError:
        return None
    import numpy

    data = array
    if data.dtype.kind == "f":
        data = (numpy.clip(data, 0, 1) * 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(numpy.ascontiguousarray(data)).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_from_pil(image: Any) -> bytes:
    buffer = io.BytesIO()
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        image = image.convert("RGBA")
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _png_from_figure(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)  # an unpickled figure may have no canvas that can draw
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def render_figure(figure: Any, width: int, height: int, dpi: float = 100.0) -> bytes:
    """A matplotlib figure drawn afresh at `width` x `height` pixels: text stays sharp and sized."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    old = figure.get_size_inches()
    try:
        figure.set_size_inches(max(width, 80) / dpi, max(height, 60) / dpi)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()
    finally:
        figure.set_size_inches(old)


def _shape_text(shape: tuple) -> str:
    return " × ".join(str(n) for n in shape)


def prepare(value: Any) -> Preview:
    """The preview of a value; never raises for an odd value (it falls back to its repr)."""
    type_name = type(value).__name__
    try:
        return _prepare(value, type_name)
    except Exception as exc:  # noqa: BLE001 - show the value some way rather than fail
        return Preview(
            REPR,
            text=_safe_repr(value),
            type_name=type_name,
            description=f"{type_name} (could not show it richly: {exc})",
        )


def _prepare(value: Any, type_name: str) -> Preview:
    if _module_type(value, "pandas", "Series"):
        value = value.to_frame()
        type_name = "Series"
    if _module_type(value, "pandas", "DataFrame"):
        rows, columns = value.shape
        dtypes = ", ".join(f"{c}: {t}" for c, t in list(value.dtypes.astype(str).items())[:30])
        more = ", …" if columns > 30 else ""
        return Preview(
            DATAFRAME,
            value=value,
            type_name=type_name,
            description=f"{plural(rows, 'row')} × {plural(columns, 'column')} — {dtypes}{more}",
        )
    if _module_type(value, "numpy", "ndarray"):
        description = f"array {_shape_text(value.shape)} of {value.dtype}"
        if _looks_like_image(value):
            png = _png_from_array(value)
            if png is not None:
                return Preview(IMAGE, png=png, type_name=type_name, description=description)
        if value.ndim in (1, 2):
            return Preview(ARRAY, value=value, type_name=type_name, description=description)
        import numpy

        text = numpy.array2string(value, threshold=2000)
        return Preview(TEXT, text=text[:TEXT_LIMIT], type_name=type_name, description=description)
    if _module_type(value, "PIL", *_PIL_NAMES) or (
        type(value).__module__.startswith("PIL.") and hasattr(value, "save") and hasattr(value, "mode")
    ):
        return Preview(
            IMAGE,
            png=_png_from_pil(value),
            type_name=type_name,
            description=f"image {value.size[0]} × {value.size[1]}, {value.mode}",
        )
    figure = _figure_of(value)
    if figure is not None:
        width, height = figure.get_size_inches()
        return Preview(
            IMAGE,
            value=figure,
            png=_png_from_figure(figure),
            type_name=type_name,
            description=f"matplotlib figure {width:g} × {height:g} in",
        )
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return Preview(
            TREE, value=value, type_name=type_name, description=f"{type_name} of {plural(len(value), 'item')}"
        )
    if isinstance(value, str):
        cut = len(value) > TEXT_LIMIT
        return Preview(
            TEXT,
            text=value[:TEXT_LIMIT] + ("\n…" if cut else ""),
            type_name=type_name,
            description=f"text, {plural(len(value), 'character')}",
        )
    if value is None or isinstance(value, (bool, int, float, complex, bytes)):
        return Preview(TEXT, text=repr(value)[:TEXT_LIMIT], type_name=type_name, description=type_name)
    return Preview(REPR, text=_safe_repr(value), type_name=type_name, description=type_name)


_PIL_NAMES = (
    "Image",
    "PngImageFile",
    "JpegImageFile",
    "GifImageFile",
    "BmpImageFile",
    "TiffImageFile",
    "WebPImageFile",
)


def _figure_of(value: Any) -> Any:
    """A matplotlib Figure for a figure or an Axes, else None."""
    cls = type(value)
    if not cls.__module__.startswith("matplotlib"):
        return None
    if cls.__name__ in ("Figure", "SubFigure"):
        return value
    figure = getattr(value, "figure", None)
    if figure is not None and type(figure).__name__ == "Figure":
        return figure
    return None


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001
        return f"<{type(value).__name__}: repr failed: {exc}>"
    if len(text) > REPR_LIMIT:
        text = text[:REPR_LIMIT] + f"\n… ({plural(len(text) - REPR_LIMIT, 'more character')})"
    return text


short_repr = reprlib.Repr()
short_repr.maxstring = 120
short_repr.maxother = 120
short_repr.maxlist = short_repr.maxtuple = short_repr.maxdict = short_repr.maxset = 8
