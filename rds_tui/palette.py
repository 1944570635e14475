"""Command palette provider: every key binding of the current screen, searchable by name.

The palette is built from the bindings the footer shows (Screen.active_bindings),
so a new binding appears in both places with no second list to keep in sync, and a
binding disabled by `check_action` (for example dispatch in read-only mode) is
absent from both.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class DashboardCommands(Provider):
    """The actions of the screen the palette was opened from, plus the app's."""

    def _commands(self) -> list[tuple[str, str, object]]:
        seen: set[str] = set()
        commands = []
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not active.enabled or not binding.description or binding.action in seen:
                continue
            if binding.action in ("command_palette", "quit"):
                continue
            seen.add(binding.action)
            callback = partial(self.app.run_action, binding.action, active.node)
            shown_key = binding.key_display or self.app.get_key_display(binding)
            help_text = (
                f"{binding.tooltip}  (key: {shown_key})"
                if binding.tooltip
                else (f"key: {shown_key}")
            )
            commands.append((binding.description, help_text, callback))
        return sorted(commands, key=lambda command: command[0])

    async def discover(self) -> Hits:
        for label, help_text, callback in self._commands():
            yield DiscoveryHit(label, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, help_text, callback in self._commands():
            if (score := matcher.match(label)) > 0:
                yield Hit(score, matcher.highlight(label), callback, help=help_text)
