"""The report as Markdown, for a ticket or a pull request. Every string is escaped:
server and database text shows literally, never as markup."""

from __future__ import annotations

import re

from rds_tui.report.document import Block, Bullets, Document, Paragraph, Table, Writer
from rds_tui.untrusted import clean_text, markdown_text

EMPTY_CELL = "–"


class MarkdownWriter(Writer):
    def heading(self, level: int, text: str) -> str:
        return f"{'#' * level} {markdown_text(text)}"

    def paragraph(self, paragraph: Paragraph) -> list[str]:
        return [markdown_text(paragraph.text)]

    def bullets(self, bullets: Bullets) -> list[str]:
        lines = []
        for bullet in bullets.items:
            lead = f"**{markdown_text(bullet.lead)}** " if bullet.lead else ""
            lines.append(f"- {lead}{markdown_text(bullet.text)}")
        return lines

    def table(self, table: Table) -> list[str]:
        def row(cells: list[str | None]) -> str:
            return "| " + " | ".join(markdown_text(c) if c else EMPTY_CELL for c in cells) + " |"

        return [row(list(table.header)), "|" + "---|" * len(table.header), *map(row, table.rows)]

    def block(self, block: Block) -> list[str]:
        lines = [clean_text(line) for line in block.lines]
        # A fence longer than any run of backticks inside: the block cannot end early.
        longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
        fence = "`" * max(3, longest + 1)
        return [f"{fence}text", *lines, fence]


def write(document: Document) -> str:
    return MarkdownWriter().write(document)
