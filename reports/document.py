"""A small document model written out twice: GitHub-flavoured Markdown and one self-contained HTML file.

The report is built once as a list of blocks, so the two outputs cannot drift apart. Inline text
uses a tiny subset of Markdown, converted here for HTML: ```code```, ``**bold**`` and ``[label](href)``.
"""
from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

INLINE = re.compile(r"`(?P<code>[^`]+)`|\*\*(?P<bold>.+?)\*\*|\[(?P<label>[^\]]+)\]\((?P<href>[^)\s]+)\)")


def slug(text: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]", "", text.lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def inline_html(text: str) -> str:
    out, at = [], 0
    for m in INLINE.finditer(text):
        out.append(html.escape(text[at:m.start()]))
        if m.group("code") is not None:
            out.append(f"<code>{html.escape(m.group('code'))}</code>")
        elif m.group("bold") is not None:
            out.append(f"<strong>{inline_html(m.group('bold'))}</strong>")
        else:
            out.append(f'<a href="{html.escape(m.group("href"))}">{inline_html(m.group("label"))}</a>')
        at = m.end()
    out.append(html.escape(text[at:]))
    return "".join(out)


def code_span(text: str) -> str:
    """``text`` as an inline code span (backticks inside are replaced: the bodies here have none)."""
    return f"`{str(text).replace('`', chr(0x2035))}`"


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list


@dataclass
class Note:
    """A call-out: a missing section, a warning, a caveat."""

    label: str
    text: str


@dataclass
class Table:
    head: list
    rows: list
    align: str = ""  # one letter per column: l, r or c (default l)


@dataclass
class Figure:
    stem: str  # charts/<stem>.png and .svg, relative to the report
    alt: str
    caption: str


@dataclass
class Details:
    """Collapsed on both GitHub and in the HTML: long tables that most readers skip."""

    summary: str
    blocks: list = field(default_factory=list)


# --- Markdown ------------------------------------------------------------------------------------

def _md_cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list) -> str:
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Para):
            out.append(block.text)
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Note):
            out.append(f"> **{block.label}:** {block.text}")
        elif isinstance(block, Table):
            align = (block.align or "").ljust(len(block.head), "l")
            rule = {"l": "---", "r": "---:", "c": ":---:"}
            lines = ["| " + " | ".join(_md_cell(h) for h in block.head) + " |",
                     "|" + "|".join(rule[a] for a in align) + "|"]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            out.append("\n".join(lines))
        elif isinstance(block, Figure):
            out.append(f"![{block.alt}](charts/{block.stem}.png)\n\n"
                       f"*{block.caption}* ([SVG](charts/{block.stem}.svg))")
        elif isinstance(block, Details):
            out.append(f"<details><summary>{html.escape(block.summary)}</summary>\n\n"
                       f"{to_markdown(block.blocks)}\n</details>")
        else:
            raise TypeError(f"unknown block {block!r}")
    return "\n\n".join(out) + "\n"


# --- HTML ----------------------------------------------------------------------------------------

STYLE = """
body{font:15px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1f2328}
h1,h2{border-bottom:1px solid #d1d9e0;padding-bottom:.3em}
code{font:13px ui-monospace,Menlo,Consolas,monospace;background:#eff1f3;padding:.1em .3em;border-radius:4px}
.scroll{overflow-x:auto;margin:1em 0}
table{border-collapse:collapse}
th,td{border:1px solid #d1d9e0;padding:4px 9px;vertical-align:top}
th{background:#f6f8fa}
tr:nth-child(even) td{background:#fafbfc}
td.r,th.r{text-align:right}td.c,th.c{text-align:center}
blockquote{margin:1em 0;padding:.4em 1em;border-left:4px solid #d1d9e0;color:#3d444d}
figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-style:italic;color:#59636e}
details{margin:1em 0}summary{cursor:pointer;font-weight:600}
"""


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _html_blocks(blocks: list, folder: Path) -> list:
    out = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f'<h{block.level} id="{slug(block.text)}">{inline_html(block.text)}</h{block.level}>')
        elif isinstance(block, Para):
            out.append(f"<p>{inline_html(block.text)}</p>")
        elif isinstance(block, Bullets):
            out.append("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Note):
            out.append(f"<blockquote><strong>{html.escape(block.label)}:</strong> {inline_html(block.text)}</blockquote>")
        elif isinstance(block, Table):
            align = (block.align or "").ljust(len(block.head), "l")
            head = "".join(f'<th class="{a}">{inline_html(str(h))}</th>' for h, a in zip(block.head, align))
            rows = "".join("<tr>" + "".join(f'<td class="{a}">{inline_html(str(c))}</td>' for c, a in zip(row, align))
                           + "</tr>" for row in block.rows)
            out.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>')
        elif isinstance(block, Figure):
            png = folder / "charts" / f"{block.stem}.png"
            img = (f'<img src="{_data_uri(png)}" alt="{html.escape(block.alt)}">' if png.exists()
                   else f"<p>(chart {html.escape(block.stem)} missing)</p>")
            out.append(f"<figure>{img}<figcaption>{inline_html(block.caption)}</figcaption></figure>")
        elif isinstance(block, Details):
            out.append(f"<details><summary>{html.escape(block.summary)}</summary>"
                       + "\n".join(_html_blocks(block.blocks, folder)) + "</details>")
        else:
            raise TypeError(f"unknown block {block!r}")
    return out


def to_html(blocks: list, title: str, folder: Path) -> str:
    """One self-contained page: styles inline, charts as PNG data URIs read from ``folder/charts``."""
    body = "\n".join(_html_blocks(blocks, folder))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")
