"""The report in Jira wiki markup (investigations like this one live in Jira tickets).
Every string is escaped: server and database text shows literally, never as markup."""

from __future__ import annotations

import re

from rds_tui.report.document import Block, Bullets, Document, Paragraph, Table, Writer
from rds_tui.untrusted import clean_text

EMPTY_CELL = "-"
# Characters Jira reads as markup (emphasis, tables, links, macros, lists, images).
_SPECIAL = re.compile(r"([\\*_?\-+^~|\[\]{}!#])")


def jira_text(value: object) -> str:
    """Text shown literally in Jira wiki markup, on one line."""
    text = clean_text(value).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return _SPECIAL.sub(r"\\\1", text)


class JiraWriter(Writer):
    def heading(self, level: int, text: str) -> str:
        return f"h{level}. {jira_text(text)}"

    def paragraph(self, paragraph: Paragraph) -> list[str]:
        return [jira_text(paragraph.text)]

    def bullets(self, bullets: Bullets) -> list[str]:
        lines = []
        for bullet in bullets.items:
            lead = f"*{jira_text(bullet.lead)}* " if bullet.lead else ""
            lines.append(f"* {lead}{jira_text(bullet.text)}")
        return lines

    def table(self, table: Table) -> list[str]:
        header = "||" + "||".join(jira_text(cell) for cell in table.header) + "||"
        rows = [
            "|" + "|".join(jira_text(c) if c else EMPTY_CELL for c in row) + "|"
            for row in table.rows
        ]
        return [header, *rows]

    def block(self, block: Block) -> list[str]:
        # {noformat} shows its content as is, up to the next {noformat}: defuse that one.
        lines = [clean_text(line).replace("{noformat}", "{ noformat}") for line in block.lines]
        return ["{noformat}", *lines, "{noformat}"]


def write(document: Document) -> str:
    return JiraWriter().write(document)
